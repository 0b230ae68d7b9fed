"""The real browser behind the emulated hub: one local chromedriver, started on first use, that
drives a headless Chromium per session.

``ChromeDriver`` owns the chromedriver process (a free loopback port, its own process group so
that a Ctrl-C meant for a command run by the CLI does not kill it under the emulator) and speaks
plain W3C WebDriver to it. ``browser_capabilities`` turns what a client asked LambdaTest for into
what chromedriver gets: Chromium only, headless, the performance and browser logs on (the HAR
and the console log come from them) and, unless told otherwise, every host name but loopback
unresolvable, so that nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from typing import Any

# W3C capabilities passed on to chromedriver as the client sent them; the rest (platformName,
# browserVersion, vendor capabilities) describe the cloud machine and stay with the session.
PASSED_CAPABILITIES = ("acceptInsecureCerts", "pageLoadStrategy", "proxy", "timeouts", "unhandledPromptBehavior",
                       "strictFileInteractability")
LOOPBACK_ONLY_RULES = "MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1 , EXCLUDE [::1]"
DEFAULT_WINDOW = (1280, 720)
_DROPPED_ARGS = ("--headless", "--user-data-dir", "--remote-debugging", "--host-resolver-rules")
_NO_BODY = object()


class DriverUnavailable(RuntimeError):
    """chromedriver or Chromium is missing, or chromedriver would not start."""


def browser_capabilities(requested: dict, binary: str | None, loopback_only: bool = True,
                         window: tuple[int, int] = DEFAULT_WINDOW) -> dict:
    """The new-session body for chromedriver, from the client's merged capabilities."""
    chrome = dict(requested.get("goog:chromeOptions") or {})
    for key in ("binary", "debuggerAddress", "detach"):
        chrome.pop(key, None)
    from ...drivers.browser import BASE_ARGS

    args = [str(a) for a in chrome.get("args") or [] if not str(a).startswith(_DROPPED_ARGS)]
    if not any(a.startswith("--window-size") for a in args):
        args.append(f"--window-size={window[0]},{window[1]}")
    args = ["--headless=new", *BASE_ARGS, *args]
    if loopback_only:
        args.append(f"--host-resolver-rules={LOOPBACK_ONLY_RULES}")
    chrome["args"] = args
    if binary:
        chrome["binary"] = binary
    chrome["perfLoggingPrefs"] = {"enableNetwork": True, "enablePage": False}
    logging = dict(requested.get("goog:loggingPrefs") or {})
    logging.update({"performance": "ALL", "browser": "ALL"})
    always = {key: requested[key] for key in PASSED_CAPABILITIES if key in requested}
    always.update({"browserName": "chrome", "goog:chromeOptions": chrome, "goog:loggingPrefs": logging})
    return {"capabilities": {"alwaysMatch": always, "firstMatch": [{}]}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChromeDriver:
    """A chromedriver process on loopback, started by the first ``call`` (or ``start``)."""

    def __init__(self, chromedriver: str | None = None, chromium: str | None = None,
                 start_timeout: float = 15.0) -> None:
        self._paths = (chromedriver, chromium)
        self._start_timeout = start_timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._base: str | None = None
        self._http = None
        self.binary: str | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """The base URL of a running chromedriver; started (again, should it have died) if needed."""
        with self._lock:
            if self.running:
                return self._base
            self._cleanup()
            from ...drivers.browser import INSTALL_HINT, find_chromium

            found_binary, found_driver = find_chromium()
            driver = shutil.which(self._paths[0] or found_driver or "chromedriver")
            self.binary = self._paths[1] or found_binary
            if not driver:
                raise DriverUnavailable(f"chromedriver not found: {INSTALL_HINT}")
            import urllib3

            self._http = urllib3.PoolManager(maxsize=16)
            last = "did not answer"
            for _attempt in range(3):  # a port taken between choosing and binding: try another
                port = _free_port()
                process = subprocess.Popen([driver, f"--port={port}", "--allowed-ips=127.0.0.1"],
                                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, start_new_session=True)
                base = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + self._start_timeout
                while process.poll() is None and time.monotonic() < deadline:
                    try:
                        if self._http.request("GET", base + "/status", timeout=1.0, retries=False).status == 200:
                            self._process, self._base = process, base
                            return base
                    except Exception as exc:  # noqa: BLE001 - not listening yet, whatever urllib3 says
                        last = type(exc).__name__
                    time.sleep(0.05)
                _end(process)
            raise DriverUnavailable(f"chromedriver would not start ({last})")

    def call(self, method: str, path: str, body: Any = _NO_BODY, timeout: float = 330.0) -> tuple[int, Any]:
        """(status, parsed JSON answer) of one WebDriver call; an answer that is not JSON becomes a W3C
        "unknown error"."""
        base = self.start()
        data = None if body is _NO_BODY else json.dumps(body).encode()
        import urllib3

        try:
            response = self._http.request(method, base + path, body=data, retries=False,
                                          headers={"Content-Type": "application/json; charset=utf-8"},
                                          timeout=urllib3.Timeout(connect=5.0, read=timeout))
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is the client's 500
            return 500, {"value": {"error": "unknown error", "stacktrace": "",
                                   "message": f"the emulator lost its browser: {type(exc).__name__}"}}
        try:
            return response.status, json.loads(response.data or b"null")
        except ValueError:
            return 500, {"value": {"error": "unknown error", "message": "chromedriver answered no JSON",
                                   "stacktrace": ""}}

    def stop(self) -> None:
        with self._lock:
            self._cleanup()

    def _cleanup(self) -> None:
        if self._process is not None:
            _end(self._process)
        self._process = self._base = None
        if self._http is not None:
            self._http.clear()
            self._http = None


def _end(process: subprocess.Popen) -> None:
    """Stop chromedriver and whatever it left in its process group (its own, made at start)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(5)
            return
        except subprocess.TimeoutExpired:
            continue


__all__ = ["LOOPBACK_ONLY_RULES", "ChromeDriver", "DriverUnavailable", "browser_capabilities"]
