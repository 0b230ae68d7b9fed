"""Acceptance tests of the embedded local backend: real mitmproxy, Chromium and Appium."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

APP = '''
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = (f"<html><body><h1 id='path'>{self.path}</h1>"
                "<script>let n = 0; setInterval(() => {document.getElementById('path').textContent = "
                "location.pathname + ' ' + (n++);}, 100); console.log('page ' + location.pathname);</script>"
                "</body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
'''


def require(what: str, found: bool, hint: str) -> None:
    if not found:
        if os.environ.get("DEVSESSION_REQUIRE_REAL") == "1":
            pytest.fail(f"{what} is required here (DEVSESSION_REQUIRE_REAL=1): {hint}")
        pytest.skip(f"{what} is not installed: {hint}")


@pytest.fixture
def needs_chromium():
    from pytest_devsession.drivers.browser import find_chromium

    binary, driver = find_chromium()
    require("Chromium", bool(binary and driver), "python -m pytest_devsession setup")


@pytest.fixture(scope="session")
def appium_binary() -> str | None:
    """The Appium the plugin would use here, looked for once before pytester moves HOME
    (and with it the cache folder that ``python -m pytest_devsession setup`` installs into)."""
    from pytest_devsession.drivers.appium import find_appium

    try:
        return find_appium(Path(__file__).parents[2])
    except FileNotFoundError:
        return None


@pytest.fixture
def needs_appium(appium_binary):
    require("Appium", bool(appium_binary), "python -m pytest_devsession setup")


@pytest.fixture
def local_run(pytester: pytest.Pytester, monkeypatch, appium_binary):
    """Run pytest --devsession (local backend) in a subprocess; returns (result, manifest)."""
    for name in ("DEVSESSION_BACKEND", "DEVSESSION_DEVICES", "DEVSESSION_LOCAL_URL", "DEVSESSION_LOCAL_PROXY",
                 "DEVSESSION_LOCAL_TOKEN", "DEVSESSION_ARTIFACTS", "HEADSPIN_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    if appium_binary and "DEVSESSION_APPIUM_BIN" not in os.environ:
        monkeypatch.setenv("DEVSESSION_APPIUM_BIN", appium_binary)
    pytester.makeconftest(APP)

    def run(*args: str):
        result = pytester.runpytest_subprocess("--devsession", "-p", "no:cacheprovider", "--junitxml=junit.xml",
                                               "-o", "junit_family=xunit1", *args, timeout=240)
        path = pytester.path / "devsession-artifacts" / "manifest.json"
        manifest = json.loads(path.read_text()) if path.exists() else None
        return result, manifest

    return run
