"""Loopback origin servers, a capture server per module, and small clients for both."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from pytest_devsession.services.capture import CaptureServer


class _OriginHandler(BaseHTTPRequestHandler):
    """``GET /bytes/N``: N bytes; ``POST /echo``: the body back; ``GET /slow/MS``: waits; else ``ok``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _OriginServer

    def _reply(self, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Host")))
        parts = self.path.strip("/").split("/")
        if parts[0] == "bytes":
            self._reply(b"x" * int(parts[1]))
        elif parts[0] == "slow":
            time.sleep(int(parts[1]) / 1000)
            self._reply(b"slow")
        else:
            self._reply(b"ok")

    def do_POST(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Host")))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(body, self.headers.get("Content-Type", "application/octet-stream"))

    def log_message(self, format: str, *args: object) -> None:
        pass


class _OriginServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _OriginHandler)
        self.seen: list[tuple[str, str, str | None]] = []


@dataclass
class Origin:
    url: str
    seen: list[tuple[str, str, str | None]]


def _serve(server: ThreadingHTTPServer, scheme: str) -> Iterator[Origin]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Origin(f"{scheme}://127.0.0.1:{server.server_address[1]}", server.seen)  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def origin() -> Iterator[Origin]:
    """A plain HTTP server on loopback."""
    yield from _serve(_OriginServer(), "http")


@dataclass
class TlsFiles:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and a certificate it signs for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devsession test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("test-ca")
    paths = TlsFiles(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths.ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture(scope="session")
def tls_origin(test_ca: TlsFiles) -> Iterator[Origin]:
    """The origin behind TLS, with a certificate from ``test_ca``."""
    server = _OriginServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(test_ca.cert_pem, test_ca.key_pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server, "https")


@pytest.fixture(scope="module")
def capture() -> Iterator[CaptureServer]:
    """One capture server per module (mitmproxy allows one per process at a time)."""
    with CaptureServer() as server:
        yield server


class Api:
    """Calls the Sessions API; ``api("GET", "/sessions")`` returns the requests Response."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.trust_env = False
        if token is not None:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return self.http.request(method, f"{self.base_url}/api{path}", timeout=10, **kwargs)  # type: ignore[arg-type]

    def ok(self, method: str, path: str, **kwargs: object) -> dict:
        response = self(method, path, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def new_session(self, name: str = "test", *, activate: bool = True) -> dict:
        session = self.ok("POST", "/sessions", json={"name": name})
        return self.ok("POST", f"/sessions/{session['id']}/activate") if activate else session

    def session(self, session_id: str) -> dict:
        return self.ok("GET", f"/sessions/{session_id}")

    def delete_all(self) -> None:
        for session in self.ok("GET", "/sessions")["sessions"]:
            self("DELETE", f"/sessions/{session['id']}")


@pytest.fixture
def api(capture: CaptureServer) -> Iterator[Api]:
    """A client for ``capture``'s API; removes every session after the test."""
    client = Api(capture.api_url, capture.api_token)
    yield client
    client.delete_all()
    client.http.close()


@pytest.fixture
def anonymous_api(capture: CaptureServer) -> Iterator[Api]:
    """A client for ``capture``'s API that sends no token."""
    client = Api(capture.api_url)
    yield client
    client.http.close()


@pytest.fixture
def client(capture: CaptureServer) -> Iterator[requests.Session]:
    """A requests session that goes through ``capture``'s proxy and trusts its CA."""
    with requests.Session() as session:
        session.trust_env = False
        session.proxies = {"http": capture.proxy_url, "https": capture.proxy_url}
        session.verify = str(capture.ca_cert_path)
        yield session
