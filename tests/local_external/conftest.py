"""A capture server of our own on loopback (as NectoProxy really behaves, or as its API page says),
a loopback origin, and a runner for ``pytest --devsession --devsession-local-url ...``."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
# Imported here, not in a fixture: pytester drops modules first imported during a test, and a
# second import of cryptography's hashes is not the one its Rust part knows.
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from external_helpers import TOKEN, Api

from pytest_devsession.services.capture import CaptureServer


class _Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        body = b"ok " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Origin:
    url: str
    seen: list[str]


def _serve(server: ThreadingHTTPServer, scheme: str) -> Iterator[Origin]:
    server.seen = []  # type: ignore[attr-defined]
    server.daemon_threads = True
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
    """A plain HTTP server on loopback that answers ``ok <path>``."""
    yield from _serve(ThreadingHTTPServer(("127.0.0.1", 0), _Origin), "http")


@pytest.fixture(scope="session")
def tls_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    """The same behind TLS, with a self-signed certificate for 127.0.0.1 (the capture proxy is
    told not to check it: what is tested is the client trusting the proxy's CA)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls-origin")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _serve(server, "https")


@dataclass
class Server:
    capture: CaptureServer
    api: Api

    @property
    def api_url(self) -> str:
        return self.capture.api_url

    @property
    def proxy_url(self) -> str:
        return self.capture.proxy_url


def _server(behave: str) -> Iterator[Server]:
    # The proxy does not check the TLS origin's self-signed certificate.
    with CaptureServer(api_token=TOKEN, behave=behave, mitmproxy_options={"ssl_insecure": True}) as capture:
        api = Api(capture.api_url)
        yield Server(capture, api)
        api.http.close()


@pytest.fixture
def necto() -> Iterator[Server]:
    """Our capture server behaving as NectoProxy really does (a fresh one per test)."""
    yield from _server("nectoproxy")


@pytest.fixture
def documented() -> Iterator[Server]:
    """Our capture server behaving as NectoProxy's Sessions API page says (a fresh one per test)."""
    yield from _server("documented")


TEST_FILE = '''
import os
import pathlib

import requests

ORIGIN = os.environ["EXTERNAL_ORIGIN"]


def fetch(devsession, *paths, origin=ORIGIN, **kwargs):
    pathlib.Path("ran-" + os.environ.get("PYTEST_XDIST_WORKER", "main")).touch()
    with requests.Session() as http:
        http.trust_env = False
        for path in paths:
            assert http.get(origin + path, proxies=devsession.proxies, timeout=10, **kwargs).ok
'''


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, origin: Origin):
    """``run(server, *args, token=TOKEN)`` runs ``pytest --devsession`` against ``server`` in a subprocess;
    returns ``(result, manifest or None)``. ``server`` None: only ``args`` say where."""
    for name in ("DEVSESSION_BACKEND", "DEVSESSION_DEVICES", "DEVSESSION_LOCAL_URL", "DEVSESSION_LOCAL_PROXY",
                 "DEVSESSION_LOCAL_TOKEN", "DEVSESSION_ARTIFACTS", "HEADSPIN_API_TOKEN", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EXTERNAL_ORIGIN", origin.url)
    pytester.makepyfile(fetching=TEST_FILE)

    def run(server: Server | None, *args: str, token: str | None = TOKEN):
        if token is not None:
            monkeypatch.setenv("DEVSESSION_LOCAL_TOKEN", token)
        where = ["--devsession-local-url", server.api_url, "--devsession-local-proxy", server.proxy_url] if server else []
        result = pytester.runpytest_subprocess("--devsession", "-p", "no:cacheprovider", "--junitxml=junit.xml",
                                               "-o", "junit_family=xunit1", *where, *args, timeout=120)
        path = pytester.path / "devsession-artifacts" / "manifest.json"
        manifest = json.loads(path.read_text()) if path.exists() else None
        return result, manifest

    return run
