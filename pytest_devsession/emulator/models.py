"""State of an emulated HeadSpin org: devices, capture sessions, user flows, faults.

No HTTP here. Every method expects the caller to hold ``Org.lock``; time comes
from the injectable ``clock`` and session states move on lazily when read.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

YOU = "you"
# How the emulator's own token owner appears as a device's owner_email.
OWNER_EMAIL = "you@emulator.local"

DEFAULT_DEVICES = (
    ("emu-android-1", "emulator.local", "android"),
    ("emu-android-2", "emulator.local", "android"),
    ("emu-ios-1", "emulator.local", "ios"),
)
OS_VERSIONS = {"android": "14", "ios": "17.4"}

# Settable statuses, by their lower-case spelling; "Not Set" is only the initial one.
STATUSES = {"passed": "Passed", "failed": "Failed", "excluded": "Excluded"}
STATUS_FILTERS = {**STATUSES, "not_set": "Not Set"}
DEFAULT_STATUS_FILTER = ("Passed", "Failed", "Not Set")
DEFAULT_MEASUREMENT_TYPE = "Custom Metrics"

FAULT_KINDS = ("status", "drop", "slow", "retry_after")


class ApiError(Exception):
    """An answer in the API's error envelope: {"status": message, "status_code": N}."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class Fault:
    """A misbehaviour injected into the emulator.

    ``method``: HTTP method to match (None or "*" for any). ``path``: regex searched
    in the path after ``/v0`` (no query). ``kind``: "status" (answer ``status`` with a
    JSON error or ``body``), "drop" (close the connection without an answer), "slow"
    (sleep ``delay`` seconds, then answer normally), "retry_after" (429 with a
    ``Retry-After: retry_after`` header). ``times``: how many matching requests it
    hits (None: all of them).
    """

    method: str | None = "GET"
    path: str = ".*"
    kind: str = "status"
    status: int = 503
    times: int | None = 1
    delay: float = 0.0
    retry_after: float = 1
    body: object = None
    hits: int = 0

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Fault kind must be one of {FAULT_KINDS}, not {self.kind!r}")
        self._regex = re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method not in (None, "*") and self.method.upper() != method.upper():
            return False
        return self._regex.search(path) is not None


@dataclass
class Device:
    serial: str
    hostname: str = "127.0.0.1"
    platform: str = "android"
    device_id: str = ""
    os_version: str = ""
    locked_by: str | None = None
    lock_count: int = 0
    unlock_count: int = 0

    def __post_init__(self):
        if self.platform not in OS_VERSIONS:
            raise ValueError(f"platform must be 'android' or 'ios', not {self.platform!r}")
        self.device_id = self.device_id or self.serial
        self.os_version = self.os_version or OS_VERSIONS[self.platform]

    @property
    def address(self) -> str:
        return f"{self.serial}@{self.hostname}"


@dataclass
class CaptureSession:
    session_id: str
    device_address: str
    created: float
    ready_at: float
    name: str | None = None
    description: str | None = None
    tags: list = field(default_factory=list)
    mitm_ignore: list = field(default_factory=list)
    network_keep_in_session_patterns: list = field(default_factory=list)
    capture_video: bool = True
    capture_network: bool = True
    active: bool = True
    state: str = "starting"
    started_at: float | None = None
    ended_at: float | None = None
    completed_at: float | None = None
    stop_requested_at: float | None = None
    complete_at: float | None = None
    # When a timestamps answer first showed the capture started / complete: how late a client noticed.
    ready_seen_at: float | None = None
    complete_seen_at: float | None = None
    downloads: list = field(default_factory=list)
    flaky_polls: int = 0
    seq: int = 0

    def advance(self, now: float) -> None:
        if self.state == "starting" and now >= self.ready_at:
            self.state, self.started_at = "active", self.ready_at
        if self.state == "stopping" and now >= self.complete_at:
            self.state, self.completed_at = "complete", self.complete_at

    def stop(self, now: float, complete_delay: float) -> None:
        self.advance(now)
        if not self.active:
            return
        if self.started_at is None:
            self.started_at = now
        self.active = False
        self.state = "stopping"
        self.stop_requested_at = self.ended_at = now
        self.complete_at = now + complete_delay
        self.flaky_polls = 0
        self.advance(now)

    def timestamps(self) -> dict:
        stamps = {}
        for key, value in (
            ("capture-started", self.started_at),
            ("capture-ended", self.ended_at),
            ("capture-complete", self.completed_at),
        ):
            if value is not None:
                stamps[key] = round(value, 3)
        return stamps

    def answer_timestamps(self, now: float) -> dict:
        """``timestamps()`` as answered to a client at ``now``, which is remembered as the moment the
        client could first see the start (``ready_seen_at``) and the completion (``complete_seen_at``)."""
        stamps = self.timestamps()
        if "capture-started" in stamps and self.ready_seen_at is None:
            self.ready_seen_at = now
        if "capture-complete" in stamps and self.complete_seen_at is None:
            self.complete_seen_at = now
        return stamps

    def has_tag(self, key: str, value: str) -> bool:
        return any(tag.get(key) == value for tag in self.tags)


@dataclass
class PerfEvent:
    perf_event_id: str
    user_flow_id: str
    device_id: str
    host: str
    event_time: float
    session_id: str | None = None
    status: str = "Not Set"
    status_message: str | None = None
    measurements: list = field(default_factory=list)


@dataclass
class UserFlow:
    user_flow_id: str
    name: str
    description: str | None
    created_time: float
    events: dict = field(default_factory=dict)


def parse_device(spec) -> tuple[str, str, str]:
    """(serial, hostname, platform) from "serial@host[:platform]" or a tuple."""
    if isinstance(spec, (tuple, list)):
        serial, hostname, *rest = spec
        platform = rest[0] if rest else "android"
    else:
        serial, sep, hostname = str(spec).partition("@")
        base, colon, platform = hostname.rpartition(":")
        if colon and platform in OS_VERSIONS:
            hostname = base
        else:
            platform = "android"
        if not sep:
            serial = ""
    if not serial or not hostname or platform not in OS_VERSIONS:
        raise ValueError(f"Invalid device {spec!r}: use serial@host or serial@host:android|ios")
    return serial, hostname, platform


def normalize_status(value, allowed=STATUSES) -> str:
    if not isinstance(value, str) or value.strip().lower().replace(" ", "_") not in allowed:
        raise ApiError(400, f"Invalid status {value!r}: must be one of Passed, Failed, Excluded.")
    return allowed[value.strip().lower().replace(" ", "_")]


def measurement_value(value):
    """Numbers (and numeric strings) become floats; anything else stays a string."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(str(value))
        except ValueError:
            return str(value)
    return number if math.isfinite(number) else str(value)


def normalize_measurements(data) -> list[dict]:
    if not isinstance(data, list) or not data:
        raise ApiError(400, "Invalid or missing measurement data: 'data' must be a non-empty list.")
    out = []
    for item in data:
        if not isinstance(item, dict) or item.get("key") in (None, "") or item.get("value") is None:
            raise ApiError(400, f"Invalid measurement {item!r}: each needs a 'key' and a 'value'.")
        out.append({
            "key": str(item["key"]),
            "value": measurement_value(item["value"]),
            "type": str(item.get("type") or DEFAULT_MEASUREMENT_TYPE),
            "units": None if item.get("units") is None else str(item["units"]),
        })
    return out


def parse_time(value: str) -> float:
    """A query bound given as a UNIX timestamp or an ISO datetime (UTC when naive)."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"Invalid time {value!r}: use an ISO datetime or a UNIX timestamp.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


class Org:
    """Everything the emulated service knows. Guard every call with ``self.lock``."""

    def __init__(self, clock: Callable[[], float] = time.time, ready_delay: float = 0.05,
                 complete_delay: float = 0.05, devices=DEFAULT_DEVICES, video_bytes: int | None = None):
        self.lock = threading.RLock()
        self.clock = clock
        self._defaults = (ready_delay, complete_delay, video_bytes, tuple(devices))
        self.reset()

    def reset(self) -> None:
        # video_bytes: the size of a complete capture's video download (None: the 1 s clip as it is).
        self.ready_delay, self.complete_delay, self.video_bytes, devices = self._defaults
        self.devices: dict[str, Device] = {}
        self.sessions: dict[str, CaptureSession] = {}
        self.userflows: dict[str, UserFlow] = {}
        self.faults: list[Fault] = []
        self.flaky_capture_setup = False
        self._seq = 0
        for serial, hostname, platform in devices:
            self.add_device(serial, hostname, platform)

    def now(self) -> float:
        return self.clock()

    def advance(self) -> None:
        now = self.now()
        for session in self.sessions.values():
            session.advance(now)

    # faults

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.hits += 1
                return fault
        return None

    # devices

    def add_device(self, serial: str, hostname: str = "127.0.0.1", platform: str = "android",
                   locked_by: str | None = None) -> str:
        device = Device(serial=serial, hostname=hostname, platform=platform, locked_by=locked_by)
        self.devices[device.address] = device
        return device.address

    def device(self, address) -> Device:
        if not isinstance(address, str) or address not in self.devices:
            raise ApiError(404, "Invalid device ID.")
        return self.devices[address]

    def device_by_serial(self, serial: str, platform: str) -> Device:
        for device in self.devices.values():
            if device.serial == serial and device.platform == platform:
                return device
        raise ApiError(404, f"No {platform} device {serial!r}.")

    def device_by_id(self, device_id, hostname=None) -> Device:
        for device in self.devices.values():
            if device.device_id == device_id and hostname in (None, device.hostname):
                return device
        raise ApiError(404, "Invalid device ID.")

    def lock_device(self, device: Device) -> bool:
        if device.locked_by not in (None, YOU):
            return False
        device.locked_by = YOU
        device.lock_count += 1
        return True

    def unlock_device(self, device: Device) -> bool:
        if device.locked_by != YOU:
            return False
        device.locked_by = None
        device.unlock_count += 1
        return True

    # capture sessions

    def create_session(self, device_address, mitm_ignore=(), network_keep_in_session_patterns=(),
                       capture_video=True, capture_network=True) -> CaptureSession:
        device = self.device(device_address)
        if device.locked_by not in (None, YOU):
            raise ApiError(403, "Device is currently in use by someone else.")
        if device.locked_by is None:
            raise ApiError(403, "Device must be locked before capture.")
        self.advance()
        if any(s.active and s.device_address == device.address for s in self.sessions.values()):
            raise ApiError(409, "Device already has an active capture session.")
        now = self.now()
        self._seq += 1
        session = CaptureSession(
            session_id=str(uuid.uuid4()), device_address=device.address, created=now,
            ready_at=now + self.ready_delay, mitm_ignore=list(mitm_ignore),
            network_keep_in_session_patterns=list(network_keep_in_session_patterns),
            capture_video=capture_video, capture_network=capture_network, seq=self._seq,
        )
        session.advance(now)
        self.sessions[session.session_id] = session
        return session

    def session(self, session_id, status_code: int = 404) -> CaptureSession:
        session = self.sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise ApiError(status_code, "Session not found.")
        session.advance(self.now())
        return session

    def stop_session(self, session: CaptureSession) -> None:
        session.stop(self.now(), self.complete_delay)

    def delete_session(self, session: CaptureSession) -> None:
        if session.active:
            raise ApiError(409, "Session is still active: stop it before deleting it.")
        del self.sessions[session.session_id]

    def list_sessions(self, include_all=False, num_sessions=10, tags=(), offset=0):
        self.advance()
        chosen = [
            s for s in sorted(self.sessions.values(), key=lambda s: (s.created, s.seq), reverse=True)
            if (include_all or s.active) and (not tags or any(s.has_tag(k, v) for k, v in tags))
        ]
        page = chosen[offset:offset + num_sessions]
        # Like the real service: every non-empty page has a token; an empty page ends it.
        return page, (str(offset + len(page)) if page else None)

    def tls_exceptions(self, session: CaptureSession, pinned: dict) -> dict:
        if not session.capture_network:
            return {}
        ignored = [re.compile(p) for p in session.mitm_ignore if isinstance(p, str)]
        return {
            host: count for host, count in pinned.items()
            if not any(r.fullmatch(host) or r.fullmatch(f"{host}:443") for r in ignored)
        }

    # user flows

    def userflow(self, user_flow_id) -> UserFlow:
        flow = self.userflows.get(user_flow_id) if isinstance(user_flow_id, str) else None
        if flow is None:
            raise ApiError(404, "User flow does not exist.")
        return flow

    def userflow_by_name(self, name) -> UserFlow | None:
        return next((f for f in self.userflows.values() if f.name == name), None)

    def put_userflow(self, name, description=None) -> UserFlow:
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Missing or invalid argument: name.")
        if description is not None and not isinstance(description, str):
            raise ApiError(400, "Invalid argument: description.")
        flow = self.userflow_by_name(name)
        if flow is None:
            flow = UserFlow(str(uuid.uuid4()), name, description, round(self.now(), 3))
            self.userflows[flow.user_flow_id] = flow
        return flow

    def delete_userflow(self, flow: UserFlow) -> None:
        del self.userflows[flow.user_flow_id]

    def event_of_session(self, session_id) -> PerfEvent | None:
        for flow in self.userflows.values():
            for event in flow.events.values():
                if event.session_id is not None and event.session_id == session_id:
                    return event
        return None

    def flow_session(self, flow: UserFlow, session_id) -> PerfEvent:
        event = self.event_of_session(session_id)
        if event is None or event.user_flow_id != flow.user_flow_id:
            raise ApiError(404, "Session does not exist in this user flow.")
        return event

    def flow_event(self, flow: UserFlow, perf_event_id) -> PerfEvent:
        event = flow.events.get(perf_event_id) if isinstance(perf_event_id, str) else None
        if event is None:
            raise ApiError(404, "Performance event does not exist in this user flow.")
        return event

    def attach_session(self, flow: UserFlow, session_id, status=None, status_message=None) -> PerfEvent:
        if not isinstance(session_id, str) or not session_id:
            raise ApiError(400, "Missing or invalid argument: session_id.")
        if status is not None:
            status = normalize_status(status)
        session = self.session(session_id)
        event = self.event_of_session(session_id)
        if event is not None and event.user_flow_id != flow.user_flow_id:
            raise ApiError(400, "Session already belongs to another user flow.")
        if event is None:
            device = self.devices.get(session.device_address)
            serial, host = session.device_address.split("@", 1)
            event = PerfEvent(
                perf_event_id=str(uuid.uuid4()), user_flow_id=flow.user_flow_id,
                device_id=device.device_id if device else serial, host=host,
                event_time=session.created, session_id=session_id,
            )
            flow.events[event.perf_event_id] = event
        if status is not None:
            event.status = status
        if status_message is not None:
            event.status_message = str(status_message)
        return event

    def create_event(self, flow: UserFlow, device: Device) -> PerfEvent:
        event = PerfEvent(str(uuid.uuid4()), flow.user_flow_id, device.device_id, device.hostname, self.now())
        flow.events[event.perf_event_id] = event
        return event

    def update_event(self, event: PerfEvent, body: dict) -> PerfEvent:
        known = {"status", "status_message", "user_flow_id"}
        if not isinstance(body, dict) or not body or not known.intersection(body):
            raise ApiError(400, "Invalid arguments: give status, status_message or user_flow_id.")
        status = normalize_status(body["status"]) if body.get("status") is not None else None
        target = self.userflow(body["user_flow_id"]) if "user_flow_id" in body else None
        if status is not None:
            event.status = status
        if "status_message" in body:
            message = body["status_message"]
            event.status_message = None if message is None else str(message)
        if target is not None and target.user_flow_id != event.user_flow_id:
            del self.userflows[event.user_flow_id].events[event.perf_event_id]
            event.user_flow_id = target.user_flow_id
            target.events[event.perf_event_id] = event
        return event

    def remove_event(self, event: PerfEvent) -> None:
        del self.userflows[event.user_flow_id].events[event.perf_event_id]

    @staticmethod
    def add_measurements(event: PerfEvent, data) -> None:
        # One value per (key, type) in an event: a new one replaces the old.
        for item in normalize_measurements(data):
            for existing in event.measurements:
                if (existing["key"], existing["type"]) == (item["key"], item["type"]):
                    existing.update(item)
                    break
            else:
                event.measurements.append(item)

    def measurements(self, events, session_ids=(), keys=(), start_time=None, end_time=None,
                     statuses=None) -> list[tuple[PerfEvent, dict]]:
        rows = []
        for event in events:
            if session_ids and event.session_id not in session_ids:
                continue
            if statuses is not None and event.status not in statuses:
                continue
            second = int(event.event_time)  # bounds are compared at the rendered precision
            if (start_time is not None and second < start_time) or (end_time is not None and second > end_time):
                continue
            rows.extend((event, m) for m in event.measurements if not keys or m["key"] in keys)
        return rows

    def legacy_upload(self, body) -> tuple[UserFlow | None, PerfEvent | None]:
        if not isinstance(body, dict) or not body:
            raise ApiError(400, "Missing arguments: give test_name, session_id, status or data.")
        test_name, session_id = body.get("test_name"), body.get("session_id")
        if session_id is None:
            if body.get("status") is not None or body.get("data") is not None:
                raise ApiError(400, "Missing argument: session_id.")
            return self.put_userflow(test_name), None
        status = normalize_status(body["status"]) if body.get("status") is not None else None
        data = normalize_measurements(body["data"]) if body.get("data") is not None else None
        self.session(session_id)
        if test_name is not None:
            flow = self.put_userflow(test_name)
            event = self.attach_session(flow, session_id)
        else:
            event = self.event_of_session(session_id)
            if event is None:
                raise ApiError(400, "Session is not in a user flow: give test_name.")
            flow = self.userflows[event.user_flow_id]
        if status is not None:
            event.status = status
        if data is not None:
            self.add_measurements(event, data)
        return flow, event
