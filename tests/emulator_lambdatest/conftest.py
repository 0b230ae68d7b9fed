import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

# The lambdatest_emulator fixture comes with the package's devsession_emulator plugin (emulator/fixture.py).


class _Pages(BaseHTTPRequestHandler):
    """/NAME answers a page titled "Page NAME" with <p id="text">Hello from NAME</p>."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        name = self.path.strip("/").split("?")[0] or "index"
        # A data: icon, so that Chromium asks for no /favicon.ico: the pages are all it fetches.
        body = (f"<!doctype html><html><head><title>Page {name}</title><link rel='icon' href='data:,'></head>"
                f"<body><p id='text'>Hello from {name}</p><script>console.log('loaded {name}')</script>"
                f"</body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Page", name)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def pages():
    """Base URL of a loopback HTTP server of small pages."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def api(lambdatest_emulator):
    """requests against the emulator's API, with its credentials and a timeout; no proxy from the environment."""

    class Api(requests.Session):
        def request(self, method, path, **kwargs):
            kwargs.setdefault("timeout", 10)
            return super().request(method, lambdatest_emulator.url + path, **kwargs)

    session = Api()
    session.trust_env = False
    session.auth = (lambdatest_emulator.username, lambdatest_emulator.access_key)
    yield session
    session.close()


@pytest.fixture
def remote(lambdatest_emulator):
    """remote(**lt_options) -> a Selenium Remote driver on the emulated hub (credentials in the URL);
    every driver is quit at teardown."""
    from selenium import webdriver

    drivers = []

    def start(url=None, **lt_options):
        options = webdriver.ChromeOptions()
        options.set_capability("LT:Options", lt_options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Selenium frowns at credentials in the URL
            driver = webdriver.Remote(command_executor=url or lambdatest_emulator.hub_url_with_credentials,
                                      options=options)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                driver.quit()
        except Exception:  # noqa: BLE001, S110 - a driver the test quit already
            pass
