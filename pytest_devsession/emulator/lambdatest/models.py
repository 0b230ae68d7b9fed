"""What the emulated LambdaTest account knows: its sessions, their builds, and what may change them.

No HTTP here. ``Store`` holds every ``LtSession`` under one lock; the hub adds sessions and what
their browser did, the Automation API reads them and applies PATCH bodies (``apply_patch``). Time
comes from the injectable ``clock``; a session's artifacts (video, logs, HAR) are ready
``artifact_delay`` seconds after it ended (``artifacts_ready``).
"""

from __future__ import annotations

import secrets
import string
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Values PATCH /sessions/{id} and ``lambda-status=`` accept for status_ind.
STATUSES = ("passed", "failed", "skipped", "ignored", "unknown", "error")
DEFAULT_BUILD = "untitled build"
OPTIONS_KEY = "lt:options"  # LT:Options (Selenium) or lt:options (Appium): the key's case does not matter

# The API's words.
NOT_FOUND = "Either resource not found or already deleted"
BAD_PAYLOAD = "Please provide a valid payload"
UPDATED = "Session updated successfully"
RETRIEVED = "Retrieve session was successful"
ACCESS_DENIED = "HTTP Basic: Access denied."


class ApiError(Exception):
    """An answer other than success: ``status`` with ``{"message": message, "status": "fail"}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Command(NamedTuple):
    """One WebDriver command the hub served for a session."""
    time: float  # epoch seconds, when it came in
    method: str
    path: str  # after /wd/hub/session/{id}; "" for the session itself, "/session" for the new session
    body: Any  # the request's JSON (None without one)
    status: int
    response: Any  # the answer's "value", long strings cut short
    duration_ms: int


@dataclass
class LtSession:
    """A test session: what the client asked for, what happened, and what the API has set since."""

    session_id: str  # what driver.session_id says, and the API's id
    test_id: str  # the dashboard's id: another value
    capabilities: dict  # as requested (alwaysMatch merged with the first firstMatch)
    options: dict  # LT:Options as requested, keys as sent
    name: str | None
    build: str
    build_id: int
    created: float  # epoch seconds
    started: float | None = None
    ended: float | None = None
    status_ind: str = "running"  # "completed" once ended without a status; one of STATUSES once set
    reason: str | None = None
    tags: list = field(default_factory=list)
    custom_data: dict = field(default_factory=dict)
    exceptions: list = field(default_factory=list)
    commands: list = field(default_factory=list)  # Command, in order
    entries: list = field(default_factory=list)  # HAR 1.2 entries of what the browser fetched, in order
    console: list = field(default_factory=list)  # {"level", "message", "source", "timestamp"}
    browser: str = "chrome"
    browser_version: str = ""
    platform: str = "linux"
    driver_session: str | None = None  # chromedriver's own session id, while the browser runs
    auth_in_capabilities: bool = False  # created with LT:Options user/accessKey rather than Basic auth

    def option(self, name: str, default: Any = None) -> Any:
        """An LT:Options value, the key matched without regard to case."""
        for key, value in self.options.items():
            if key.lower() == name.lower():
                return value
        return default

    def enabled(self, name: str, default: bool = False) -> bool:
        value = self.option(name, default)
        if isinstance(value, str):
            return value.strip().lower() not in ("", "false", "0", "no", "off")
        return bool(value)

    @property
    def video(self) -> bool:
        return self.enabled("video", True)

    @property
    def network(self) -> bool:
        return self.enabled("network") or self.full_har

    @property
    def full_har(self) -> bool:
        return self.enabled("network.full.har")

    @property
    def console_enabled(self) -> bool:
        return self.enabled("console")

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def requests(self) -> list:
        """(method, url, status) of every request the browser made, in order."""
        return [(e["request"]["method"], e["request"]["url"], e["response"]["status"]) for e in self.entries]

    @property
    def duration(self) -> int:
        if self.started is None:
            return 0
        return round((self.ended if self.ended is not None else time.time()) - self.started)


def new_session_id() -> str:
    return secrets.token_hex(16)


def new_test_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def stamp(epoch: float | None) -> str | None:
    """``2019-02-05 08:24:36`` (UTC), as the API writes times; None stays None."""
    return None if epoch is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def lt_options(capabilities: dict) -> dict:
    """The LT:Options of merged capabilities ({} when absent or not an object)."""
    for key, value in capabilities.items():
        if key.lower() == OPTIONS_KEY and isinstance(value, dict):
            return value
    return {}


class Store:
    """Every session of the account. Hold ``lock`` around every use of ``sessions``."""

    def __init__(self, username: str, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.username = username
        self.user_id = zlib.crc32(username.encode()) % 900_000 + 100_000
        self.sessions: dict[str, LtSession] = {}
        self.builds: dict[str, int] = {}

    def reset(self) -> None:
        self.sessions.clear()
        self.builds.clear()

    def build_id(self, name: str) -> int:
        if name not in self.builds:
            self.builds[name] = len(self.builds) + 1
        return self.builds[name]

    def add(self, capabilities: dict, session_id: str | None = None) -> LtSession:
        """A new running session for ``capabilities`` (merged), named and built as LT:Options says."""
        options = lt_options(capabilities)
        session = LtSession(session_id or new_session_id(), new_test_id(), capabilities, options,
                            None, DEFAULT_BUILD, 0, self.clock())
        # LT:Options first; top-level name and build, as JSON Wire clients sent them, else
        name = session.option("name", capabilities.get("name"))
        build = session.option("build", capabilities.get("build"))
        session.name = None if name is None else str(name)
        session.build = DEFAULT_BUILD if build in (None, "") else str(build)
        session.build_id = self.build_id(session.build)
        platform = session.option("platformName") or session.option("platform") or capabilities.get("platformName")
        session.platform = str(platform).lower() if platform else "linux"
        self.sessions[session.session_id] = session
        return session

    def get(self, session_id: str) -> LtSession | None:
        return self.sessions.get(session_id)

    def end(self, session: LtSession) -> None:
        if session.ended is None:
            session.ended = self.clock()
            if session.started is None:
                session.started = session.created
            if session.status_ind == "running":
                session.status_ind = "completed"
        session.driver_session = None

    def artifacts_ready(self, session: LtSession, delay: float) -> bool:
        """Whether the session's video and logs are out: ``delay`` seconds after it ended."""
        return session.ended is not None and self.clock() >= session.ended + delay


def check_status(value: Any) -> str:
    """``value`` as a status_ind, or ApiError 400."""
    if not isinstance(value, str) or value.strip().lower() not in STATUSES:
        raise ApiError(400, BAD_PAYLOAD)
    return value.strip().lower()


def apply_patch(session: LtSession, body: Any) -> None:
    """Apply a PATCH /sessions/{id} body (name, status_ind, reason, tags, custom_data): all of it
    or, when any part is wrong or none is there, nothing (ApiError 400)."""
    if not isinstance(body, dict):
        raise ApiError(400, BAD_PAYLOAD)
    known = {"name", "status_ind", "reason", "tags", "custom_data"}
    if not known & set(body):
        raise ApiError(400, BAD_PAYLOAD)
    changes: dict[str, Any] = {}
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise ApiError(400, BAD_PAYLOAD)
        changes["name"] = body["name"]
    if "status_ind" in body:
        changes["status_ind"] = check_status(body["status_ind"])
    if "reason" in body:
        if not isinstance(body["reason"], str):
            raise ApiError(400, BAD_PAYLOAD)
        changes["reason"] = body["reason"]
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ApiError(400, BAD_PAYLOAD)
        changes["tags"] = list(tags)
    if "custom_data" in body:
        if not isinstance(body["custom_data"], dict):
            raise ApiError(400, BAD_PAYLOAD)
        changes["custom_data"] = dict(body["custom_data"])
    for name, value in changes.items():
        setattr(session, name, value)
