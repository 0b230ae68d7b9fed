from __future__ import annotations

import contextlib
import datetime
import glob
import http.client
import ipaddress
import os
import re
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

PAGE = '<!doctype html><html><head><title>{title}</title><link rel="icon" href="data:,"></head><body>hi</body></html>'


class RecordingProxy:
    """A forward HTTP proxy on loopback that records each URL and serves only loopback targets."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        urls = self.urls

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                urls.append(self.path)
                target = urlsplit(self.path)
                if target.hostname not in ("127.0.0.1", "localhost"):
                    # Chromium's own background requests: they must not leave this machine.
                    self.send_error(403)
                    return
                upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=5)
                try:
                    upstream.request("GET", target.path or "/", headers={"Host": target.netloc})
                    response = upstream.getresponse()
                    body = response.read()
                finally:
                    upstream.close()
                self.send_response(response.status)
                self.send_header("Content-Type", response.getheader("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self) -> None:
                urls.append(f"CONNECT {self.path}")
                self.send_error(403)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def proxy():
    proxy = RecordingProxy()
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def tls(tmp_path_factory, need_module):
    """A CA, and two 127.0.0.1 certificates it signed (PEM files):

    ``shared``: with the CA's own key, served alone, the way mitmproxy makes them;
    ``own``: with a key of its own, served with the CA in its chain.
    """
    need_module("cryptography", "cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, own_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def build(subject, public_key, ca):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devsession test CA")]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    def key_pem(key):
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    ca = build("devsession test CA", ca_key.public_key(), True)
    (folder / "ca.pem").write_bytes(ca)
    (folder / "shared.pem").write_bytes(build("127.0.0.1", ca_key.public_key(), False))
    (folder / "shared.key").write_bytes(key_pem(ca_key))
    (folder / "own.pem").write_bytes(build("127.0.0.1", own_key.public_key(), False) + ca)
    (folder / "own.key").write_bytes(key_pem(own_key))
    return folder


@contextlib.contextmanager
def https_server(cert, key):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = PAGE.format(title="secure page").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def args_of(options) -> list[str]:
    return list(options.arguments)


def test_options_route_loopback_through_the_proxy(need_module):
    need_module("selenium", "selenium")
    from pytest_devsession.drivers.browser import chrome_options

    args = args_of(chrome_options("http://127.0.0.1:8080"))
    assert "--headless=new" in args and "--disable-quic" in args
    assert "--proxy-server=http://127.0.0.1:8080" in args
    assert "--proxy-bypass-list=<-loopback>" in args
    assert "--ignore-certificate-errors" in args

    plain = args_of(chrome_options(None, headless=False, extra_args=["--window-size=800,600"]))
    assert not [a for a in plain if a.startswith(("--proxy", "--ignore-certificate", "--headless"))]
    assert plain[-1] == "--window-size=800,600"


def test_options_pin_the_ca_instead_of_ignoring_errors(tls, need_module):
    need_module("selenium", "selenium")
    from pytest_devsession.drivers.browser import chrome_options, spki_hash

    args = args_of(chrome_options("http://127.0.0.1:8080", ca_cert_path=tls / "ca.pem"))
    assert f"--ignore-certificate-errors-spki-list={spki_hash(tls / 'ca.pem')}" in args
    assert "--ignore-certificate-errors" not in args
    assert len(spki_hash(tls / "ca.pem")) == 44  # base64 of a SHA-256


def test_loopback_traffic_goes_through_the_proxy(chromium, proxy, page_server):
    from pytest_devsession.drivers.browser import debugger_address, start_chrome

    page_server.pages["/proxied"] = PAGE.format(title="through the proxy")
    driver = start_chrome(proxy_url=proxy.url, chromedriver=chromium[1], binary=chromium[0])
    profile = driver.user_data_dir
    try:
        assert os.path.isdir(profile)
        assert debugger_address(driver).rsplit(":", 1)[1].isdigit()
        driver.get(page_server.url + "/proxied")
        assert driver.title == "through the proxy"
    finally:
        driver.quit()
    assert page_server.url + "/proxied" in proxy.urls
    assert not os.path.exists(profile)


@pytest.mark.parametrize(
    ("served", "pin", "trusted"),
    [("shared", True, True), ("own", True, True), ("shared", False, False)],
    ids=["mitmproxy-style-leaf", "ca-in-chain", "no-pin"],
)
def test_pinned_ca_is_trusted_and_nothing_else(chromium, tls, served, pin, trusted):
    from pytest_devsession.drivers.browser import start_chrome

    with https_server(tls / f"{served}.pem", tls / f"{served}.key") as url:
        ca = tls / "ca.pem" if pin else None
        driver = start_chrome(ca_cert_path=ca, chromedriver=chromium[1], binary=chromium[0])
        try:
            driver.get(url)
            assert (driver.title == "secure page") is trusted, driver.title
        finally:
            driver.quit()


def test_missing_chromedriver_is_named(tmp_path, need_module):
    need_module("selenium", "selenium")
    from pytest_devsession.drivers.browser import start_chrome

    missing = tmp_path / "no-chromedriver"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        start_chrome(chromedriver=str(missing))


def test_failed_start_removes_its_profile(chromium, tmp_path, monkeypatch):
    from selenium.common.exceptions import WebDriverException

    from pytest_devsession.drivers.browser import start_chrome

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where mkdtemp puts the profile
    with pytest.raises(WebDriverException):
        start_chrome(chromedriver=chromium[1], binary=str(tmp_path / "no-chromium"))
    assert not glob.glob(str(tmp_path / "devsession-chrome-*"))
