"""The emulated WebDriver hub (``/wd/hub``): W3C WebDriver in front of a real local chromedriver.

A new session becomes a session of the account (``Store``) with its LT:Options read, and a
headless Chromium behind it; ``driver.session_id`` is the account's session id (chromedriver's
own id stays inside). Every command is passed on and written to the session's command log;
``lambda-status=...``, ``lambda-name=...``, ``lambda-action``, ``lambda-hook: {...}`` and
``lambda-exceptions`` scripts are the hub's, as on LambdaTest. After each command that may load
something, the browser's network events and console messages are taken into the session (its
HAR entries, bodies too when ``network.full.har`` is on); ``quit`` takes the rest and ends it.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from ...http.server import HttpError, Request, Response, json_response
from .chromedriver import ChromeDriver, DriverUnavailable, browser_capabilities
from .har import BODY_LIMIT, Exchange, NetworkRecorder, entry
from .models import STATUSES, Command, LtSession, Store, lt_options

# Commands after which the page may have fetched something: its events are read then.
LOADING = ("/url", "/back", "/forward", "/refresh", "/execute/sync", "/execute/async", "/window", "/frame")
CUT = 2000  # longer strings in the command log are cut to this


def w3c_error(status: int, error: str, message: str) -> Response:
    return json_response({"value": {"error": error, "message": message, "stacktrace": ""}}, status)


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > CUT:
        return value[:CUT] + f"...({len(value)} characters)"
    if isinstance(value, dict):
        return {key: _short(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_short(item) for item in value]
    return value


def _redacted(value: Any) -> Any:
    """``value`` with every ``accessKey`` masked: what the command log may keep."""
    if isinstance(value, dict):
        return {k: "***" if k.lower() in ("accesskey", "access_key") else _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def merged_capabilities(body: Any) -> dict:
    """alwaysMatch with the first firstMatch entry (or legacy desiredCapabilities)."""
    if not isinstance(body, dict):
        return {}
    w3c = body.get("capabilities")
    if isinstance(w3c, dict):
        merged = dict(w3c.get("alwaysMatch") or {})
        first = w3c.get("firstMatch") or [{}]
        if isinstance(first, list) and first and isinstance(first[0], dict):
            merged.update(first[0])
        return merged
    legacy = body.get("desiredCapabilities")
    return dict(legacy) if isinstance(legacy, dict) else {}


class Hub:
    """The hub's handlers, over the account's ``store`` and one ``driver``."""

    def __init__(self, store: Store, driver: ChromeDriver, loopback_only: bool = True) -> None:
        self.store, self.driver, self.loopback_only = store, driver, loopback_only
        self._recorders: dict[str, NetworkRecorder] = {}
        self._locks: dict[str, threading.Lock] = {}

    # credentials -------------------------------------------------------------------
    def body_credentials(self, request: Request) -> tuple[str, str] | None:
        """(user, accessKey) from a new session's LT:Options, the other way LambdaTest takes them."""
        if request.method != "POST" or request.path.rstrip("/") != "/wd/hub/session":
            return None
        try:
            options = lt_options(merged_capabilities(json.loads(request.body or b"null")))
        except ValueError:
            return None
        user, key = options.get("user") or options.get("username"), options.get("accessKey")
        return (str(user), str(key)) if user and key else None

    def session_without_header(self, request: Request) -> bool:
        """Whether ``request`` is a command of a session whose credentials came in its capabilities."""
        parts = request.path.split("/")
        if len(parts) < 5 or parts[3] != "session":
            return False
        with self.store.lock:
            session = self.store.get(parts[4])
            return session is not None and session.auth_in_capabilities

    # routes ------------------------------------------------------------------------
    def status(self, request: Request) -> Response:
        return json_response({"value": {"ready": True, "message": "LambdaTest emulator hub ready"}})

    def new_session(self, request: Request, auth_in_capabilities: bool = False) -> Response:
        started = time.monotonic()
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return w3c_error(400, "invalid argument", "the new session body is not JSON")
        capabilities = merged_capabilities(body)
        browser = str(capabilities.get("browserName") or "chrome").lower()
        if browser not in ("chrome", "chromium", "googlechrome"):
            return w3c_error(500, "session not created",
                             f"the LambdaTest emulator runs Chromium only, not {capabilities.get('browserName')!r}")
        try:
            self.driver.start()
        except DriverUnavailable as exc:
            return w3c_error(500, "session not created", str(exc))
        status, answer = self.driver.call("POST", "/session",
                                          browser_capabilities(capabilities, self.driver.binary, self.loopback_only))
        value = (answer or {}).get("value") or {}
        if status != 200 or "sessionId" not in value:
            return json_response(answer, status if status >= 400 else 500)
        inner = value["sessionId"]
        self.driver.call("POST", f"/session/{inner}/url", {"url": "about:blank"})  # off its start page
        recorder = NetworkRecorder()
        self.driver.call("POST", f"/session/{inner}/se/log", {"type": "performance"})  # the start page's traffic
        self.driver.call("POST", f"/session/{inner}/se/log", {"type": "browser"})
        returned = dict(value.get("capabilities") or {})
        chrome = dict(returned.get("goog:chromeOptions") or {})
        chrome.pop("debuggerAddress", None)  # a cloud browser's DevTools are not the client's to reach
        returned["goog:chromeOptions"] = chrome
        with self.store.lock:
            session = self.store.add(capabilities)
            session.driver_session = inner
            session.started = self.store.clock()
            session.browser_version = str(returned.get("browserVersion") or "")
            session.auth_in_capabilities = auth_in_capabilities
            self._recorders[session.session_id] = recorder
            self._locks[session.session_id] = threading.Lock()
            session.commands.append(Command(session.created, "POST", "/session", _short(_redacted(body)), 200,
                                            {"sessionId": session.session_id},
                                            int((time.monotonic() - started) * 1000)))
        return json_response({"value": {"sessionId": session.session_id, "capabilities": returned}})

    def command(self, request: Request) -> Response:
        session_id, rest = request.params["session_id"], request.params.get("rest") or ""
        with self.store.lock:
            session = self.store.get(session_id)
            inner = None if session is None else session.driver_session
        if session is None or inner is None:
            return w3c_error(404, "invalid session id", "session deleted or not started: quit, timed out, or unknown")
        started, when = time.monotonic(), self.store.clock()
        try:
            body = request.json(empty=None)
        except HttpError:
            return w3c_error(400, "invalid argument", "the command body is not JSON")
        if request.method == "DELETE" and rest == "":
            self.quit(session)
            status, answer = 200, {"value": None}
        elif request.method == "POST" and rest in ("/execute/sync", "/execute/async") and _is_lambda(body):
            status, answer = self._lambda(session, body.get("script", ""), body.get("args") or [])
        else:
            payload = body if body is not None or request.method != "POST" else {}
            if request.method == "POST":
                status, answer = self.driver.call("POST", f"/session/{inner}{rest}", payload)
            else:
                status, answer = self.driver.call(request.method, f"/session/{inner}{rest}")
            if rest in LOADING or rest.endswith(("/click", "/value")):
                self.drain(session)
        with self.store.lock:
            session.commands.append(Command(when, request.method, rest, _short(body), status,
                                            _short((answer or {}).get("value")),
                                            int((time.monotonic() - started) * 1000)))
        return json_response(answer, status)

    # the session's evidence ----------------------------------------------------------
    def drain(self, session: LtSession, final: bool = False) -> None:
        """Take the browser's new network events and console messages into ``session``."""
        lock = self._locks.get(session.session_id)
        if lock is None:
            return
        with lock:
            inner, recorder = session.driver_session, self._recorders.get(session.session_id)
            if inner is None or recorder is None:
                return
            status, answer = self.driver.call("POST", f"/session/{inner}/se/log", {"type": "performance"})
            done = recorder.feed((answer or {}).get("value") or []) if status == 200 else []
            if final:
                done += recorder.close()
            if session.full_har:
                for exchange in done:
                    self._body(inner, exchange)
            entries = [entry(exchange) for exchange in done]
            status, answer = self.driver.call("POST", f"/session/{inner}/se/log", {"type": "browser"})
            messages = (answer or {}).get("value") if status == 200 else None
            console = [item for item in messages or [] if isinstance(item, dict)]
            with self.store.lock:
                session.entries.extend(entries)
                session.console.extend(console)

    def _body(self, inner: str, exchange: Exchange) -> None:
        if exchange.error or exchange.data_length > BODY_LIMIT or exchange.finished is None:
            return
        status, answer = self.driver.call("POST", f"/session/{inner}/goog/cdp/execute",
                                          {"cmd": "Network.getResponseBody",
                                           "params": {"requestId": exchange.request_id}})
        value = (answer or {}).get("value") if status == 200 else None
        if isinstance(value, dict) and isinstance(value.get("body"), str):
            exchange.body, exchange.body_base64 = value["body"], bool(value.get("base64Encoded"))

    def quit(self, session: LtSession) -> bool:
        """End ``session``: its last evidence taken, its browser closed. False if it had ended."""
        with self.store.lock:
            inner = session.driver_session
            if session.ended is not None or inner is None:
                return False
        try:
            self.drain(session, final=True)
        finally:
            self.driver.call("DELETE", f"/session/{inner}", timeout=30.0)
            with self.store.lock:
                self.store.end(session)
                self._recorders.pop(session.session_id, None)
        return True

    def reset(self) -> None:
        """Close every browser and forget the sessions' recorders."""
        self.quit_all()
        self._recorders.clear()
        self._locks.clear()

    def quit_all(self) -> None:
        """Close every browser still open (reset, stop)."""
        with self.store.lock:
            live = [s for s in self.store.sessions.values() if s.driver_session is not None and s.ended is None]
        for session in live:
            try:
                self.quit(session)
            except Exception:  # noqa: BLE001, S110 - a browser gone already: nothing left to close
                pass

    # lambda-* scripts --------------------------------------------------------------
    def _lambda(self, session: LtSession, script: str, args: list) -> tuple[int, dict]:
        text = script.strip()
        head, _, value = text.partition("=")
        changes: dict[str, Any] = {}
        if text.startswith("lambda-hook:"):
            try:
                hook = json.loads(text.removeprefix("lambda-hook:"))
            except ValueError:
                return 400, _invalid("lambda-hook takes a JSON object")
            changes = _action(hook)
        elif head == "lambda-status":
            changes = {"status_ind": value}
        elif head == "lambda-name":
            changes = {"name": value}
        elif text == "lambda-action":
            first = args[0] if args else {}
            if isinstance(first, str):
                try:
                    first = json.loads(first)
                except ValueError:
                    first = {}
            changes = _action(first if isinstance(first, dict) else {})
        elif text == "lambda-exceptions":
            items = args[0] if args and isinstance(args[0], list) else list(args)
            with self.store.lock:
                session.exceptions.extend(str(item) for item in items)
            return 200, {"value": None}
        status = changes.get("status_ind")
        if status is not None and str(status).strip().lower() not in STATUSES:
            return 400, _invalid(f"lambda-status takes one of {', '.join(STATUSES)}, not {status!r}")
        with self.store.lock:
            if status is not None:
                session.status_ind = str(status).strip().lower()
            if changes.get("name"):
                session.name = str(changes["name"])
            if changes.get("reason") is not None:
                session.reason = str(changes["reason"])
        return 200, {"value": None}


def _is_lambda(body: Any) -> bool:
    script = body.get("script") if isinstance(body, dict) else None
    return isinstance(script, str) and script.lstrip().startswith("lambda-")


def _invalid(message: str) -> dict:
    return {"value": {"error": "invalid argument", "message": message, "stacktrace": ""}}


def _action(hook: dict) -> dict:
    """status / name / reason from ``{"status", "reason"}`` or ``{"action": ..., "arguments": {...}}``."""
    arguments = hook.get("arguments") if isinstance(hook.get("arguments"), dict) else hook
    changes = {}
    if hook.get("action") in (None, "setTestStatus") and "status" in arguments:
        changes["status_ind"] = arguments["status"]
        reason = arguments.get("reason", arguments.get("remark"))
        if reason is not None:
            changes["reason"] = reason
    if hook.get("action") == "setTestName" and arguments.get("name"):
        changes["name"] = arguments["name"]
    return changes
