"""LambdaTestEmulator: the emulated LambdaTest (hub, Automation API, signed links) on the project's
HTTP server base, with the state, settings and faults a test reads and sets.

Credentials are HTTP Basic ``username:access_key`` (the base's bearer check is replaced): a
refused API call answers 401 ``HTTP Basic: Access denied.``, a refused hub call a W3C error
with 401. Faults (the HeadSpin emulator's ``Fault``) come before the credentials; their ``path``
is searched in the path after ``/automation/api/v1`` for API routes and in the whole path
otherwise (``^/wd/hub/session$`` is the new session).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, NamedTuple

from ...http import server as base
from ..models.faults import Fault, check_seconds, meet_fault
from . import api
from .chromedriver import ChromeDriver
from .hub import Hub, w3c_error
from .models import ACCESS_DENIED, ApiError, LtSession, Store
from .routes import API, API_ROUTES, HUB, HUB_ROUTES, PUBLIC_ROUTES


class LoggedRequest(NamedTuple):
    method: str
    path: str  # path and query as sent
    status: int | None  # None: the connection was dropped
    authorized: bool  # whether the credentials matched




class LambdaTestEmulator(base.HttpServer):
    """An offline LambdaTest: ``with LambdaTestEmulator() as lt: webdriver.Remote(lt.hub_url_with_credentials, ...)``.

    ``artifact_delay``: seconds after a session ends before its video and logs are out (until
    then those routes answer 200 with ``"status": "fail"``). ``signed_link_ttl``: seconds a
    video link stays good. ``latency``: seconds added to every round trip. ``loopback_only``:
    the browsers resolve no host name but loopback (nothing leaves the machine). ``clock``
    replaces ``time.time``; ``chromedriver`` and ``chromium`` the binaries found on PATH.
    """

    SETTINGS = ("artifact_delay", "signed_link_ttl", "latency")

    def __init__(self, host: str = "127.0.0.1", port: int = 0, username: str = "emulator-user",
                 access_key: str | None = None, *, artifact_delay: float = 0.2, signed_link_ttl: float = 60.0,
                 latency: float = 0.0, loopback_only: bool = True, clock: Callable[[], float] | None = None,
                 chromedriver: str | None = None, chromium: str | None = None) -> None:
        if not username or ":" in username:
            raise ValueError(f"username must be a non-empty name without ':', not {username!r}")
        self.username = username
        self.access_key = access_key or "LT_" + secrets.token_urlsafe(30)
        self._defaults = {"artifact_delay": check_seconds(artifact_delay, "artifact_delay"),
                          "signed_link_ttl": check_seconds(signed_link_ttl, "signed_link_ttl"),
                          "latency": check_seconds(latency, "latency")}
        self.artifact_delay, self.signed_link_ttl, self.latency = self._defaults.values()
        self.store = Store(username, clock or time.time)
        self.driver = ChromeDriver(chromedriver, chromium)
        self.hub = Hub(self.store, self.driver, loopback_only)
        self._secret = secrets.token_bytes(32)
        self._faults: list[Fault] = []
        self._requests: list[LoggedRequest] = []
        self._requests_lock = threading.Lock()
        self._generation = 0
        self._local = threading.local()
        table = [base.Route(m, API + p, self._api(getattr(api, name))) for m, p, name in API_ROUTES]
        table += [base.Route(m, HUB + p, self._hub(name)) for m, p, name in HUB_ROUTES]
        table += [base.Route(m, p, self._api(getattr(api, name)), public=True) for m, p, name in PUBLIC_ROUTES]
        super().__init__(table, host=host, port=port, name="lambdatest-emulator")

    # addresses ---------------------------------------------------------------------
    @property
    def root_url(self) -> str:
        return super().url

    @property
    def url(self) -> str:
        """The Automation API's base (``LT_API_URL``)."""
        return self.root_url + API

    @property
    def hub_url(self) -> str:
        """The hub, without credentials (``LT_HUB_URL``)."""
        return self.root_url + HUB

    @property
    def hub_url_with_credentials(self) -> str:
        """``http://USER:KEY@127.0.0.1:PORT/wd/hub``, what a client hands to ``webdriver.Remote``."""
        return self.hub_url.replace("://", f"://{self.username}:{self.access_key}@", 1)

    # settings and state ----------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.SETTINGS:
            value = check_seconds(value, name)
        super().__setattr__(name, value)

    @property
    def sessions(self) -> dict[str, LtSession]:
        """Every session by id (``LtSession``: capabilities, options, name, build, status_ind, reason,
        tags, custom_data, created/started/ended, commands, entries, console, requests)."""
        with self.store.lock:
            return dict(self.store.sessions)

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request served so far (API, hub and links): method, path, status, authorized."""
        with self._requests_lock:
            return list(self._requests)

    @property
    def faults(self) -> list[Fault]:
        return self._faults

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """Inject ``fault``, or ``Fault(**fields)`` (method, path, kind, status, times, delay,
        retry_after, body)."""
        fault = fault if fault is not None else Fault(**fields)
        with self.store.lock:
            self._faults.append(fault)
        return fault

    def add_session(self, options: dict | None = None, *, ended: bool = True, entries: list | None = None,
                    console: list | None = None) -> LtSession:
        """A session without a browser (LT:Options ``options``), ended now unless ``ended`` is False,
        with HAR ``entries`` and ``console`` messages of its own: the API without Chromium."""
        with self.store.lock:
            session = self.store.add({"browserName": "chrome", "LT:Options": dict(options or {})})
            session.started = session.created
            session.entries.extend(entries or [])
            session.console.extend(console or [])
            if ended:
                self.store.end(session)
            return session

    def stop_session(self, session: LtSession) -> None:
        """End ``session`` as a quit would (its browser closed, if it has one)."""
        if not self.hub.quit(session):
            with self.store.lock:
                self.store.end(session)

    def reset(self) -> None:
        """Back to the start: browsers closed, no sessions, faults or logged requests, settings as made."""
        self.hub.reset()
        with self.store.lock:
            self.store.reset()
            self._faults.clear()
        for name, value in self._defaults.items():
            setattr(self, name, value)
        with self._requests_lock:
            self._requests.clear()
            self._generation += 1

    def stop(self) -> None:
        super().stop()
        self.hub.quit_all()
        self.driver.stop()

    # signed links --------------------------------------------------------------------
    def _sign(self, session_id: str, expires: str) -> str:
        return hmac.new(self._secret, f"{session_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def video_link(self, session: LtSession) -> str:
        """A link to the session's video good for ``signed_link_ttl`` seconds, opened without credentials."""
        expires = f"{self.store.clock() + self.signed_link_ttl:.3f}"
        return (f"{self.root_url}/videos/{session.session_id}/video.mp4"
                f"?Expires={expires}&Signature={self._sign(session.session_id, expires)}")

    def signature_ok(self, session_id: str, expires: str, signature: str) -> bool:
        try:
            float(expires)
        except ValueError:
            return False
        return hmac.compare_digest(self._sign(session_id, expires), signature)

    def view_link(self, session: LtSession) -> str:
        return f"{self.root_url}/test?testID={session.test_id}"

    # serving -------------------------------------------------------------------------
    def respond(self, request: base.Request) -> base.Response:
        generation = self._generation
        self._travel()
        fault = self._fault(request)
        authorized = self.authorized(request)
        if fault is not None and fault.kind == "cut_short":
            self._answer(request, authorized)  # served, with its effects; the client hears otherwise
        response = self._fault_response(fault, request) if fault is not None else None
        response = response or self._answer(request, authorized)
        self._travel()
        with self._requests_lock:
            if generation == self._generation:
                self._requests.append(LoggedRequest(request.method, request.target,
                                                    None if response.drop else response.status, authorized))
        return response

    def _answer(self, request: base.Request, authorized: bool) -> base.Response:
        on_hub = request.path == HUB or request.path.startswith(HUB + "/")
        self._local.hub = on_hub
        if not authorized and on_hub:
            return w3c_error(401, "unauthorized",
                             "Authorization failed: the username or access key in the hub URL is wrong")
        if not authorized and (request.path == API or request.path.startswith(API + "/")):
            return base.Response(401, ACCESS_DENIED.encode(), "text/plain; charset=utf-8",
                                 {"WWW-Authenticate": 'Basic realm="Application"'})
        return super().respond(request)

    def error(self, status: int, message: str, headers: dict | None = None) -> base.Response:
        if getattr(self._local, "hub", False):
            code = {404: "unknown command", 405: "unknown method"}.get(status, "unknown error")
            response = w3c_error(status, code, message)
        else:
            response = base.json_response({"message": message, "status": "fail"}, status)
        response.headers.update(headers or {})
        return response

    def _basic(self, request: base.Request) -> bool | None:
        """Whether the Basic credentials match; None without Basic credentials."""
        scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, key = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return self._matches(user, key)

    def _matches(self, user: str, key: str) -> bool:
        return (hmac.compare_digest(user.encode(), self.username.encode())
                & hmac.compare_digest(key.encode(), self.access_key.encode()))

    def authorized(self, request: base.Request) -> bool:
        """HTTP Basic ``username:access_key``; on the hub also LT:Options ``user``/``accessKey`` of a
        new session, and no credentials on a session made that way."""
        basic = self._basic(request)
        if basic is not None:
            return basic
        if request.path.startswith(HUB + "/"):
            credentials = self.hub.body_credentials(request)
            if credentials is not None:
                return self._matches(*credentials)
            return self.hub.session_without_header(request)
        return False

    def _api(self, handler: Callable) -> Callable[[base.Request], base.Response]:
        def call(request: base.Request) -> base.Response:
            try:
                if getattr(handler, "locks_itself", False):
                    return handler(self, request)
                with self.store.lock:
                    return handler(self, request)
            except ApiError as exc:
                return api.fail(exc.message, exc.status)
        return call

    def _hub(self, name: str) -> Callable[[base.Request], base.Response]:
        if name == "new_session":
            return lambda request: self.hub.new_session(request, auth_in_capabilities=self._basic(request) is None)
        return getattr(self.hub, name)

    def _fault(self, request: base.Request) -> Fault | None:
        path = request.path.removeprefix(API) if request.path.startswith(API + "/") else request.path
        return meet_fault(self._faults, self.store.lock, request.method, path)

    def _fault_response(self, fault: Fault, request: base.Request) -> base.Response:
        self._local.hub = request.path.startswith(HUB + "/")
        if fault.kind == "drop":
            return base.Response(status=0, drop=True)
        if fault.kind == "retry_after":
            return self.error(429, "Too Many Requests", {"Retry-After": str(fault.retry_after)})
        if fault.body is None:
            try:
                reason = HTTPStatus(fault.status).phrase
            except ValueError:
                reason = "Injected fault"
            return self.error(fault.status, reason)
        if isinstance(fault.body, (bytes, str)):
            body = fault.body.encode() if isinstance(fault.body, str) else fault.body
            return base.Response(fault.status, body, "text/plain; charset=utf-8")
        return base.json_response(fault.body, fault.status)

    def _travel(self) -> None:
        if self.latency:
            time.sleep(self.latency / 2)


__all__ = ["Fault", "LambdaTestEmulator", "LoggedRequest"]
