"""What the emulated DevRev organisation knows: its apps, its observability sessions and their
recordings, and the errors its API answers. No HTTP here.

A session is made by an upload (``session_from_upload``, what the SDK would send) and is listed
only from ``listed_at`` on (``upload_delay`` seconds after the upload). Times are epoch
milliseconds inside, ISO 8601 (``2023-01-01T12:00:00.000Z``) on the wire; ``parse_time`` takes
either.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

PLATFORMS = ("android", "ios")  # mobile only: web sessions (tab_id) are not emulated
LAUNCH_TYPES = ("cold", "warm")
REV_ORG_ID = "REV-EmuLat0r"
DEFAULT_DEVICE = {
    "app_version": "1.0.0", "manufacturer": "Google", "model": "Pixel 7", "network_type": "wifi",
    "os_version": "14", "plug_sdk_version": "2.0.0", "screen_height": 2400, "screen_width": 1080,
    "sdk_version": "2.0.0",
}
# The extra field each error type carries, after type, message and detail.
_STATUS_TYPES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
                 413: "request_entity_too_large", 429: "too_many_requests", 500: "internal_error",
                 503: "service_unavailable"}


class ApiError(Exception):
    """An error answer: ``status`` with ``{"type", "message", "detail", ...extra}``."""

    def __init__(self, status: int, message: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.detail, self.extra = status, message, detail or message, extra

    @property
    def type(self) -> str:
        return _STATUS_TYPES.get(self.status, "internal_error" if self.status >= 500 else "bad_request")

    def body(self) -> dict:
        body = {"type": self.type, "message": self.message, "detail": self.detail}
        if self.type == "internal_error":
            body["reference_id"] = self.extra.get("reference_id") or secrets.token_hex(8)
        if self.type == "too_many_requests":
            body["retry_after"] = self.extra.get("retry_after", 1)
        if self.type == "request_entity_too_large":
            body["max_bytes"] = self.extra.get("max_bytes", 0)
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def parse_time(value: Any, name: str) -> int:
    """Epoch milliseconds from epoch milliseconds (a number or its digits) or an ISO 8601 string."""
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an ISO 8601 time or epoch milliseconds, not {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return int(moment.timestamp() * 1000)
    raise bad_request(f"{name} must be an ISO 8601 time or epoch milliseconds, not {value!r}")


def iso(ms: int) -> str:
    """``2023-01-01T12:00:00.000Z`` for epoch milliseconds."""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass
class DevRevSession:
    """One observability session with its one recording, as the SDK uploaded it."""

    session_id: str
    recording_id: str
    version_key: str  # the app's App ID
    platform: str
    created_at: int  # epoch ms
    session_duration_ms: int
    device_metadata: dict
    app_launch: dict
    available_ram: int
    total_ram: int
    is_crash: bool
    is_anr: bool
    has_exception_occurred: bool
    rage_tap: bool
    log: str
    timeline: list
    frames: int
    properties: dict
    user_attributes: dict
    rev_user_id: str
    uploaded_at: float  # emulator clock, seconds
    listed_at: float  # from then on it is listed (uploaded_at + upload_delay)

    def listed(self, now: float) -> bool:
        return now >= self.listed_at

    def frame_offsets(self) -> list[int]:
        """Each frame's offset from the start of the recording, in ms (also the frame's key)."""
        step = self.session_duration_ms / self.frames if self.frames else 0
        return [int(index * step) for index in range(self.frames)]

    def summary(self) -> dict:
        """The ``session`` object of sessions.get and sessions.list."""
        return {
            "type": "mobile", "platform": self.platform, "session_id": self.session_id,
            "created_at": iso(self.created_at), "device_metadata": dict(self.device_metadata),
            "has_exception_occurred": self.has_exception_occurred, "is_anr": self.is_anr,
            "is_crash": self.is_crash, "rage_tap": self.rage_tap, "recording_ids": [self.recording_id],
            "rev_org_id": REV_ORG_ID, "rev_user_id": self.rev_user_id,
            "session_duration_ms": self.session_duration_ms, "properties": dict(self.properties),
        }


def _flag(body: dict, name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false, not {value!r}")
    return value


def _count(body: dict, name: str, default: int, upper: int = 10**12) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= upper:
        raise bad_request(f"{name} must be a whole number from 0 to {upper}, not {value!r}")
    return value


def _mapping(body: dict, name: str) -> dict:
    value = body.get(name) or {}
    if not isinstance(value, dict):
        raise bad_request(f"{name} must be an object, not {value!r}")
    return dict(value)


def _event(event: Any, index: int) -> dict:
    if not isinstance(event, dict):
        raise bad_request(f"timeline[{index}] must be an object, not {event!r}")
    filled = {"event_type": "plug", "event_name": "screen_view", "name": "", "screen": "",
              "timestamp_offset_ms": 0, "coordinates": [], "event_properties": {}}
    filled.update(event)
    _count(filled, "timestamp_offset_ms", 0)
    return filled


def session_from_upload(body: Any, now_s: float, default_delay: float) -> DevRevSession:
    """A session from an upload body (see docs/emulator.md, DevRev), checked field by field."""
    if not isinstance(body, dict):
        raise bad_request("the upload body must be a JSON object")
    platform = body.get("platform", "android")
    if platform not in PLATFORMS:
        raise bad_request(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}")
    created = body.get("created_at")
    created_ms = int(now_s * 1000) if created is None else parse_time(created, "created_at")
    launch = {"launch_time_ms": 800, "launch_type": "cold", **_mapping(body, "app_launch")}
    if launch["launch_type"] not in LAUNCH_TYPES:
        raise bad_request(f"app_launch.launch_type must be cold or warm, not {launch['launch_type']!r}")
    _count(launch, "launch_time_ms", 0)
    delay = body.get("upload_delay", default_delay)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise bad_request(f"upload_delay must be a number of seconds, 0 or more, not {delay!r}")
    timeline = body.get("timeline") or []
    if not isinstance(timeline, list):
        raise bad_request("timeline must be a list of events")
    events = [_event(event, index) for index, event in enumerate(timeline)]
    is_crash, is_anr = _flag(body, "is_crash"), _flag(body, "is_anr")
    thrown = any(e.get("event_name") in ("crash", "exception") or e.get("exception_class_name") for e in events)
    log = body.get("log", "")
    if not isinstance(log, str):
        raise bad_request("log must be a string")
    session_id = body.get("session_id") or "obs-session-" + secrets.token_hex(8)
    if not isinstance(session_id, str):
        raise bad_request("session_id must be a string")
    return DevRevSession(
        session_id=session_id, recording_id="rec-" + secrets.token_hex(8),
        version_key=str(body.get("version_key") or ""), platform=platform, created_at=created_ms,
        session_duration_ms=_count(body, "session_duration_ms", 10_000),
        device_metadata={**DEFAULT_DEVICE, **_mapping(body, "device_metadata")}, app_launch=launch,
        available_ram=_count(body, "available_ram", 2 * 1024**3), total_ram=_count(body, "total_ram", 8 * 1024**3),
        is_crash=is_crash, is_anr=is_anr,
        has_exception_occurred=_flag(body, "has_exception_occurred", is_crash or thrown),
        rage_tap=_flag(body, "rage_tap"), log=log, timeline=events, frames=_count(body, "frames", 10, 1000),
        properties=_mapping(body, "properties"), user_attributes=_mapping(body, "user_attributes"),
        rev_user_id=str(body.get("rev_user_id") or "anonymous"), uploaded_at=now_s, listed_at=now_s + delay,
    )


@dataclass
class Store:
    """Apps (App IDs) and sessions by id, under one lock; time from ``clock`` (epoch seconds)."""

    default_app: str
    clock: Callable[[], float]
    apps: set = field(default_factory=set)
    sessions: dict = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.apps.add(self.default_app)

    def reset(self) -> None:
        with self.lock:
            self.apps.clear()
            self.apps.add(self.default_app)
            self.sessions.clear()

    def app(self, version_key: Any) -> str:
        """``version_key`` if it is a known app; 400 without one, 404 for an unknown one."""
        if not version_key or not isinstance(version_key, str):
            raise bad_request("version_key (the app's App ID) is required")
        if version_key not in self.apps:
            raise ApiError(404, "app not found", f"no app with version_key {version_key!r}")
        return version_key

    def listed(self, version_key: str) -> list[DevRevSession]:
        now = self.clock()
        return [s for s in self.sessions.values() if s.version_key == version_key and s.listed(now)]

    def find(self, version_key: str, session_id: Any) -> DevRevSession:
        if not session_id or not isinstance(session_id, str):
            raise bad_request("session_id is required")
        session = self.sessions.get(session_id)
        if session is None or session.version_key != version_key or not session.listed(self.clock()):
            raise ApiError(404, "session not found", f"no session {session_id!r} in app {version_key!r}")
        return session
