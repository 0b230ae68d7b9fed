"""DevRevEmulator: the emulated DevRev observability API on the project's HTTP server base, with
the state, settings, rate limit and faults a test reads and sets.

Every request goes through, in order: an injected fault (the shared ``Fault``; its ``path`` regex
is searched in the path, by default only the observability routes'), the bearer token (401
``unauthorized``; not on the SDK's upload or the presigned frame links), the rate limit (429
``too_many_requests`` with ``retry_after`` and ``Retry-After``), the ``X-Devrev-Scope: beta``
header on the observability routes (404 ``not_found`` without it, as a beta route is unknown to
a caller outside the beta), then the route. Errors are DevRev's ``{"type", "message", "detail"}``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from ...http import server as base
from ..models.faults import Fault, check_seconds, meet_fault
from . import api
from .models import ApiError, DevRevSession, Store, bad_request, session_from_upload

BETA_PREFIX = "/observability."
UPLOAD_FIELDS = frozenset({
    "version_key", "platform", "device_metadata", "created_at", "session_duration_ms", "app_launch",
    "available_ram", "total_ram", "is_crash", "is_anr", "has_exception_occurred", "rage_tap", "log", "timeline",
    "frames", "properties", "user_attributes", "rev_user_id", "upload_delay", "session_id",
})


class LoggedRequest(NamedTuple):
    method: str
    path: str  # path and query as sent
    status: int | None  # None: the connection was dropped
    scoped: bool  # whether X-Devrev-Scope: beta came with it
    authorized: bool  # whether the bearer token matched




def _limit(value: Any) -> int | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"rate_limit must be a whole number of requests (0 or None: off), not {value!r}")
    return value


class DevRevEmulator(base.HttpServer):
    """An offline DevRev: ``with DevRevEmulator() as devrev: requests.post(devrev.url + "/observability.sessions.list", ...)``.

    ``upload_delay``: seconds after an upload before the session is listed (an upload may say its
    own). ``frame_link_ttl``: seconds a presigned frame link stays good (403 after). ``rate_limit``
    requests per ``rate_window`` seconds, counted over every call with the token (None: no limit).
    ``clock`` replaces ``time.time``.
    """

    SETTINGS = ("upload_delay", "frame_link_ttl", "rate_limit", "rate_window")

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None, app_id: str = "emulator-app",
                 *, upload_delay: float = 1.0, frame_link_ttl: float = 60.0, rate_limit: int | None = None,
                 rate_window: float = 300.0, clock: Callable[[], float] | None = None) -> None:
        if not app_id or not isinstance(app_id, str):
            raise ValueError(f"app_id must be a non-empty string, not {app_id!r}")
        self.app_id = app_id
        self._defaults = {"upload_delay": check_seconds(upload_delay, "upload_delay"),
                          "frame_link_ttl": check_seconds(frame_link_ttl, "frame_link_ttl"),
                          "rate_limit": _limit(rate_limit), "rate_window": check_seconds(rate_window, "rate_window")}
        for name, value in self._defaults.items():
            setattr(self, name, value)
        self.store = Store(app_id, clock or time.time)
        self._secret = secrets.token_bytes(32)
        self._faults: list[Fault] = []
        self._calls: deque[float] = deque()
        self._requests: list[LoggedRequest] = []
        self._requests_lock = threading.Lock()
        self._generation = 0
        table = [base.Route(method, pattern, self._handler(getattr(api, name)), public=kind == "public")
                 for method, pattern, name, kind in api.ROUTES]
        super().__init__(table, host=host, port=port, token=token or "devrev-pat-" + secrets.token_urlsafe(24),
                         name="devrev-emulator")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "rate_limit":
            value = _limit(value)
        elif name in self.SETTINGS:
            value = check_seconds(value, name)
        super().__setattr__(name, value)

    # state ---------------------------------------------------------------------------
    @property
    def sessions(self) -> dict[str, DevRevSession]:
        """Every uploaded session by id, listed yet or not (``listed(now)`` says which)."""
        with self.store.lock:
            return dict(self.store.sessions)

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request served so far: method, path, status, scoped, authorized."""
        with self._requests_lock:
            return list(self._requests)

    @property
    def faults(self) -> list[Fault]:
        return self._faults

    def add_app(self, app_id: str | None = None) -> str:
        """Another known app (App ID, the API's ``version_key``); a random one by default."""
        app_id = app_id or "app-" + secrets.token_hex(6)
        with self.store.lock:
            self.store.apps.add(app_id)
        return app_id

    def upload_session(self, version_key: str | None = None, **fields: Any) -> DevRevSession:
        """What the SDK does when the app goes to the background: upload a session of the app
        ``version_key`` (default: ``app_id``) with one recording. Fields as the upload route's body
        (see docs/emulator.md); listed ``upload_delay`` seconds later. ApiError 400/404 when refused."""
        unknown = sorted(set(fields) - UPLOAD_FIELDS)
        if unknown:
            raise bad_request(f"unknown upload field(s) {', '.join(unknown)}")
        with self.store.lock:
            app = self.store.app(version_key or self.app_id)
            session = session_from_upload({**fields, "version_key": app}, self.store.clock(), self.upload_delay)
            if session.session_id in self.store.sessions:
                raise ApiError(409, "session exists", f"session {session.session_id!r} was uploaded already")
            self.store.sessions[session.session_id] = session
            return session

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """Inject ``fault``, or ``Fault(**fields)`` with method any and path the observability routes
        by default: ``status=500`` (internal_error), ``503`` (service_unavailable), ``429`` or
        ``kind="retry_after"`` (too_many_requests, ``retry_after`` seconds), ``kind="drop"``/``"slow"``;
        ``times`` requests (None: all)."""
        if fault is None:
            fields.setdefault("method", None)
            fields.setdefault("path", r"^/observability\.")
            fault = Fault(**fields)
        with self.store.lock:
            self._faults.append(fault)
        return fault

    def reset(self) -> None:
        """Back to the start: only the default app, no sessions, faults, calls or logged requests,
        settings as made."""
        with self.store.lock:
            self.store.reset()
            self._faults.clear()
            self._calls.clear()
            for name, value in self._defaults.items():
                setattr(self, name, value)
        with self._requests_lock:
            self._requests.clear()
            self._generation += 1

    # presigned frame links ------------------------------------------------------------
    def _sign(self, recording_id: str, index: int, expires: str) -> str:
        return hmac.new(self._secret, f"{recording_id}/{index}:{expires}".encode(), hashlib.sha256).hexdigest()

    def frame_link(self, recording_id: str, index: int) -> str:
        """A link to frame ``index`` good for ``frame_link_ttl`` seconds, opened without the token."""
        expires = f"{self.store.clock() + self.frame_link_ttl:.3f}"
        return (f"{self.url}/_emulator/frames/{recording_id}/{index}.png"
                f"?X-Amz-Expires-At={expires}&X-Amz-Signature={self._sign(recording_id, index, expires)}")

    def frame_signature_ok(self, recording_id: str, index: int, expires: str, signature: str) -> bool:
        try:
            float(expires)
        except ValueError:
            return False
        return hmac.compare_digest(self._sign(recording_id, index, expires), signature)

    # serving -------------------------------------------------------------------------
    def respond(self, request: base.Request) -> base.Response:
        generation = self._generation
        authorized = self.authorized(request)
        scoped = (request.headers.get("X-Devrev-Scope") or "").strip().lower() == "beta"
        response = self._respond(request, authorized, scoped)
        with self._requests_lock:
            if generation == self._generation:
                self._requests.append(LoggedRequest(request.method, request.target,
                                                    None if response.drop else response.status, scoped, authorized))
        return response

    def _respond(self, request: base.Request, authorized: bool, scoped: bool) -> base.Response:
        route, _ = self._route(request)
        public = route is not None and route.public
        fault = self._fault(request)
        if fault is not None and fault.kind == "cut_short":
            self._answer(request, authorized, scoped, public)
        if fault is not None:
            return self._fault_response(fault)
        return self._answer(request, authorized, scoped, public)

    def _answer(self, request: base.Request, authorized: bool, scoped: bool, public: bool) -> base.Response:
        if public:
            return super().respond(request)
        if not authorized:
            return self._api_error(ApiError(401, "unauthorized", "a valid 'Authorization: Bearer <token>' is required"),
                                   {"WWW-Authenticate": "Bearer"})
        limited = self._rate(request)
        if limited is not None:
            return limited
        if request.path.startswith(BETA_PREFIX) and not scoped:
            return self._api_error(ApiError(404, "not found", f"{request.path} is a beta route: send X-Devrev-Scope: beta"))
        return super().respond(request)

    def _rate(self, request: base.Request) -> base.Response | None:
        with self.store.lock:
            if self.rate_limit is None:
                return None
            now = self.store.clock()
            while self._calls and self._calls[0] <= now - self.rate_window:
                self._calls.popleft()
            if len(self._calls) >= self.rate_limit:
                wait = max(1, math.ceil(self._calls[0] + self.rate_window - now))
                return self._api_error(ApiError(429, "too many requests",
                                                f"more than {self.rate_limit} requests in {self.rate_window:g} s",
                                                retry_after=wait),
                                       {"Retry-After": str(wait), "X-Ratelimit-Limit": str(self.rate_limit),
                                        "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": str(math.ceil(now + wait))})
            self._calls.append(now)
        return None

    def _api_error(self, error: ApiError, headers: dict | None = None) -> base.Response:
        return base.json_response(error.body(), error.status, headers)

    def error(self, status: int, message: str, headers: dict | None = None) -> base.Response:
        return self._api_error(ApiError(status, message), headers)

    def _handler(self, handler: Callable) -> Callable[[base.Request], base.Response]:
        def call(request: base.Request) -> base.Response:
            try:
                return handler(self, request)
            except ApiError as exc:
                return self._api_error(exc)
        return call

    def _fault(self, request: base.Request) -> Fault | None:
        return meet_fault(self._faults, self.store.lock, request.method, request.path)

    def _fault_response(self, fault: Fault) -> base.Response:
        if fault.kind == "drop":
            return base.Response(status=0, drop=True)
        if fault.kind == "retry_after" or fault.status == 429:
            wait = fault.retry_after
            return self._api_error(ApiError(429, "too many requests", "injected fault", retry_after=wait),
                                   {"Retry-After": str(math.ceil(wait))})
        if fault.body is not None:
            return base.json_response(fault.body, fault.status)
        message = {500: "internal error", 503: "service unavailable"}.get(fault.status, "injected fault")
        return self._api_error(ApiError(fault.status, message, "injected fault"))


__all__ = ["DevRevEmulator", "Fault", "LoggedRequest"]
