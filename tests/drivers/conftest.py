"""Real Chromium and Appium for the drivers; skipped when missing unless required."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
REQUIRE_ENV = "DEVSESSION_REQUIRE_REAL"


def require(found: object, what: str, how: str) -> None:
    """Skip (or fail, with DEVSESSION_REQUIRE_REAL=1) when a real dependency is missing."""
    if found:
        return
    message = f"{what} is missing: {how}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(message)


def require_module(name: str, package: str) -> None:
    require(importlib.util.find_spec(name), f"Python package {package}", f"pip install {package}")


@pytest.fixture(scope="session")
def need_module():
    """``need_module(import_name, pip_name)``: skip, or fail when real dependencies are required."""
    return require_module


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    require_module("selenium", "selenium")
    require_module("websocket", "websocket-client")
    require_module("imageio_ffmpeg", "imageio-ffmpeg")
    from pytest_devsession.drivers.browser import INSTALL_HINT, find_chromium

    binary, driver = find_chromium()
    require(binary and driver, "Chromium or chromedriver", INSTALL_HINT)
    return binary, driver


@pytest.fixture(scope="session")
def appium_bin() -> str:
    require_module("appium", "appium-python-client")
    from pytest_devsession.drivers.appium import INSTALL_HINT, find_appium

    binary = find_appium(PROJECT_DIR)
    require(binary, "Appium", INSTALL_HINT)
    return binary


class PageServer:
    """Serves ``pages`` (path -> HTML) on loopback; 404 for anything else."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                data = (body or "not found").encode()
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture(scope="session")
def page_server() -> Iterator[PageServer]:
    server = PageServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        server.thread.join()
