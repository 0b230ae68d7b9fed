"""User flows and their performance events (with or without a capture session), statuses and
custom measurements: the Performance Monitoring API's state.

``UserFlowsMixin`` is the part of ``Org`` that owns ``userflows`` (id -> UserFlow, each with its events).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .devices import Device
from .errors import ApiError

# Settable statuses, by their lower-case spelling; "Not Set" is only the initial one.
STATUSES = {"passed": "Passed", "failed": "Failed", "excluded": "Excluded"}
STATUS_FILTERS = {**STATUSES, "not_set": "Not Set"}
DEFAULT_STATUS_FILTER = ("Passed", "Failed", "Not Set")
DEFAULT_MEASUREMENT_TYPE = "Custom Metrics"


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


class UserFlowsMixin:
    """User flows, their events and measurements, and the legacy ``perftests`` upload. Expects
    ``self.userflows``, ``self.devices``, ``now()`` and ``session()``."""

    userflows: dict[str, UserFlow]


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

    def create_event(self, flow: UserFlow, device: Device, session_id=None, status=None,
                     status_message=None) -> PerfEvent:
        """A performance event for ``device``, of capture session ``session_id`` if given."""
        if status is not None:
            status = normalize_status(status)
        if session_id is not None:
            if not isinstance(session_id, str) or not session_id:
                raise ApiError(400, "Invalid argument: session_id.")
            # Several events may name one session: each test inside a capture its module shared has its
            # own event (attaching a session through /sessions stays one per flow).
            self.session(session_id)
        event = PerfEvent(str(uuid.uuid4()), flow.user_flow_id, device.device_id, device.hostname, self.now(),
                          session_id=session_id, status=status or "Not Set",
                          status_message=None if status_message is None else str(status_message))
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
