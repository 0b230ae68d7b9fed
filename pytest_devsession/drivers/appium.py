"""A real Appium server as a subprocess, its per-session logs, and the fake driver's app."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BIN_ENV = "DEVSESSION_APPIUM_BIN"
# An Appium home is a folder with a package.json whose node_modules hold appium and its drivers.
HOME_BIN = Path("node_modules", ".bin", "appium")
HOME_ENV = "DEVSESSION_APPIUM_HOME"
INSTALL_HINT = (
    "run `python -m pytest_devsession setup` (it installs Appium and its fake driver), "
    f"set {BIN_ENV}, or pass --devsession-appium-url"
)

# A session's own requests name it in their URL, whatever context Appium attached to the line.
_SESSION_URL = re.compile(r"/session/([^/\s?\"']+)")

# Loopback only: never route these requests through a proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class AppiumStartError(RuntimeError):
    """The Appium server exited or did not answer /status in time."""


def find_appium(project_dir: str | os.PathLike[str] | None = None) -> str | None:
    """The appium binary: ``$DEVSESSION_APPIUM_BIN``, then ``<project_dir or cwd>/.appium/...``,
    then the folder ``python -m pytest_devsession setup`` installs into (:func:`appium_cache_dir`),
    then PATH.

    A ``DEVSESSION_APPIUM_BIN`` that names no file raises FileNotFoundError rather than
    falling through to another Appium.
    """
    configured = os.environ.get(BIN_ENV)
    if configured:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"{BIN_ENV}={configured} is not a file")
        return configured
    for home in (Path(project_dir or os.getcwd()) / ".appium", appium_cache_dir()):
        if (home / HOME_BIN).is_file():
            return str(home / HOME_BIN)
    return shutil.which("appium")


def appium_cache_dir() -> Path:
    """Where ``python -m pytest_devsession setup`` installs Appium: ``$DEVSESSION_APPIUM_HOME``,
    else ``$XDG_CACHE_HOME/pytest-devsession/appium`` (``~/.cache/...`` by default)."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache, "pytest-devsession", "appium")


def appium_home_of(binary: str) -> str | None:
    """Where Appium started as ``binary`` looks for drivers: ``$APPIUM_HOME``, else the folder
    whose ``node_modules/.bin`` holds ``binary``; None leaves it to Appium (``~/.appium``)."""
    return os.environ.get("APPIUM_HOME") or _home_of(binary)


class AppiumServer:
    """``appium server`` on loopback, logging JSON lines to ``log_path``.

    ``APPIUM_HOME`` (where Appium looks for drivers) is ``appium_home``, else the
    environment's ``APPIUM_HOME``, else the folder whose ``node_modules/.bin`` holds
    ``binary``. ``port=0`` picks a free port. ``log_path`` is truncated on start.
    """

    def __init__(
        self,
        binary: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_path: str | os.PathLike[str],
        appium_home: str | os.PathLike[str] | None = None,
        extra_args: Iterable[str] = (),
    ) -> None:
        self.binary = binary
        self.host = host
        self.port = port
        self.log_path = Path(log_path)
        self.appium_home = appium_home or appium_home_of(binary)
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen[bytes] | None = None
        self._console: Any = None  # the server's stdout/stderr, read only to explain a failed start

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> AppiumServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, timeout: float = 30.0) -> AppiumServer:
        if self.process is not None:
            raise AppiumStartError("the Appium server is already started")
        picked, attempt = self.port == 0, 1
        while True:
            if picked:
                self.port = _free_port(self.host)
            try:
                self._launch(timeout)
                return self
            except AppiumStartError as exc:
                # Another process may take a picked port between our probe and Appium's bind.
                if not picked or attempt == 3 or "EADDRINUSE" not in str(exc):
                    raise
            attempt += 1

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (then kill it if it lingers); idempotent."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._console is not None:
            self._console.close()
            self._console = None

    def _launch(self, timeout: float) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b"")
        env = dict(os.environ)
        if self.appium_home:
            env["APPIUM_HOME"] = str(self.appium_home)
        cmd = [
            self.binary, "server",
            "--address", self.host, "--port", str(self.port),
            "--log", str(self.log_path), "--log-format", "json", "--log-level", "info:debug",
            *self.extra_args,
        ]  # fmt: skip
        self._console = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise AppiumStartError(self._failure(f"exited with code {code}"))
            if self._ready():
                return
            if time.monotonic() > deadline:
                raise AppiumStartError(self._failure(f"did not answer {self.url}/status within {timeout:g} s"))
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            with _NO_PROXY.open(f"{self.url}/status", timeout=1) as response:
                return bool((json.load(response).get("value") or {}).get("ready", True))
        except (OSError, ValueError, AttributeError):
            return False

    def _failure(self, what: str, lines: int = 20) -> str:
        # Start-up errors (a port in use, a missing driver) reach the console but not the log file.
        console = ""
        if self._console is not None:
            self._console.seek(0)
            console = self._console.read().decode(errors="replace")
        self.stop()
        tail = _render(_records(console))[-lines:]
        if not tail and self.log_path.exists():
            tail = _render(_records(self.log_path.read_text(errors="replace")))[-lines:]
        shown = "\n  ".join(tail) or "(nothing)"
        return f"Appium server {self.binary} {what} (log: {self.log_path}). Its last output:\n  {shown}"


def cut_session_log(
    log_path: str | os.PathLike[str],
    session_id: str,
    dest: str | os.PathLike[str],
    wait_for_quit: float = 1.0,
) -> int:
    """Write one session's entries of a JSON Appium log to ``dest`` as text lines; returns their count.

    A line belongs to the session when it names the session in a request URL, or
    carries ``context.sessionId`` and names no other session's URL (Appium sometimes
    stamps a response line with the previous request's context on the same
    connection), or is part of the request that created it. Appium writes its log
    asynchronously: when the session's DELETE response is not in the log yet, this
    waits up to ``wait_for_quit`` seconds for it.
    """
    log_path = Path(log_path)
    deadline = time.monotonic() + wait_for_quit
    marker = f"<-- DELETE /session/{session_id}"
    while True:
        text = log_path.read_text(errors="replace")
        if marker in text or session_id not in text or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    kept = _session_records(_records(text), session_id)
    lines = _render(kept)
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    part.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(part, dest)
    return len(lines)


def fake_app_path() -> Path:
    """The fake driver's app: an XML login screen with ids username, password, login, status."""
    path = Path(__file__).with_name("fakeapp.xml")
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the package was installed without its data files")
    return path


def fake_capabilities() -> dict[str, str]:
    """Capabilities for a session of Appium's fake driver on :func:`fake_app_path`."""
    return {
        "platformName": "Fake",
        "appium:automationName": "Fake",
        "appium:deviceName": "Fake",
        "appium:app": str(fake_app_path()),
    }


def appium_options(caps: dict[str, Any]) -> Any:
    """``AppiumOptions`` loaded with ``caps``, for ``appium.webdriver.Remote(url, options=...)``."""
    from appium.options.common import AppiumOptions

    return AppiumOptions().load_capabilities(caps)


def _session_records(records: list[dict[str, Any]], session_id: str) -> list[dict[str, Any]]:
    created = next(
        (i for i, r in enumerate(records) if _context(r).get("sessionId") == session_id), None
    )
    if created is None:
        return []
    creation_request = _context(records[created]).get("requestId")
    kept = []
    for i, record in enumerate(records):
        context = _context(record)
        message = str(record.get("message", ""))
        named = set(_SESSION_URL.findall(message))
        if named:
            mine = session_id in named
        elif context.get("sessionId"):
            mine = context["sessionId"] == session_id
        elif i < created:
            # Before the id existed: the lines of the request that created the session.
            mine = creation_request is not None and context.get("requestId") == creation_request
        else:
            # The creation's response line carries no context; it follows the creation at once.
            mine = (
                i > 0
                and kept
                and kept[-1] is records[i - 1]
                and "createSession() result" in str(records[i - 1].get("message", ""))
                and message.startswith("[HTTP] <-- POST /session ")
            )
            mine = mine or session_id in message
        if mine:
            kept.append(record)
    return kept


def _context(record: dict[str, Any]) -> dict[str, Any]:
    context = record.get("context")
    return context if isinstance(context, dict) else {}


def _records(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = {"message": line}  # a line Appium did not write as JSON is kept as is
        if isinstance(record, dict):
            records.append(record)
    return records


def _render(records: Iterable[dict[str, Any]]) -> list[str]:
    lines = []
    for r in records:
        level = f"{str(r['level']).upper():5} " if "level" in r else ""
        stamp = f"{r['timestamp']} " if "timestamp" in r else ""
        lines.append(f"{stamp}{level}{r.get('message', '')}")
    return lines


def _home_of(binary: str) -> str | None:
    bin_dir = Path(binary).parent
    if bin_dir.name == ".bin" and bin_dir.parent.name == "node_modules":
        return str(bin_dir.parent.parent)
    return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
