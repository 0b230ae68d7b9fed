"""Capture sessions: their life (starting, active, stopping, complete) on the org's clock, the
cooldown of a device after a capture, and the labels that mark stretches of a session.

``CapturesMixin`` is the part of ``Org`` that owns ``sessions`` (id -> CaptureSession, each with
its labels).
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field

from .devices import YOU
from .errors import START_FAILED, ApiError


@dataclass
class Label:
    """A stretch of a session, from ``ts_start`` to ``ts_end`` (epoch seconds)."""

    label_id: str
    session_id: str
    name: str
    label_type: str
    category: str | None
    ts_start: float
    ts_end: float
    extra: dict = field(default_factory=dict)  # what else the client sent (data, pinned, video_box...)


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
    labels: dict = field(default_factory=dict)  # label_id -> Label, in the order they were added
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

    def span(self, now: float) -> tuple[float, float | None]:
        """When the capture started and when it ended (``now`` while it runs; None before it has
        started): what its traffic and time series cover."""
        if self.started_at is None:
            return self.created, None
        return self.started_at, self.ended_at if self.ended_at is not None else now

    def has_tag(self, key: str, value: str) -> bool:
        return any(tag.get(key) == value for tag in self.tags)


def _seconds(body: dict, name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid {name}: {value!r} is not a number of seconds.") from None
    if not math.isfinite(seconds):
        raise ApiError(400, f"Invalid {name}: {value!r} is not a number of seconds.")
    return seconds


class CapturesMixin:
    """Creating, finding, stopping and listing capture sessions, and their labels. Expects
    ``self.sessions``, the settings ``ready_delay``, ``complete_delay`` and ``cooldown``, ``now()``,
    ``advance()`` and ``device()``."""

    sessions: dict[str, CaptureSession]

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
        # The real service refuses a new capture for a while after one ends on the same device.
        if self.cooldown and device.capture_ended_at is not None and now < device.capture_ended_at + self.cooldown:
            raise ApiError(500, START_FAILED)
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
        was_active, now = session.active, self.now()
        session.stop(now, self.complete_delay)
        device = self.devices.get(session.device_address)
        if was_active and device is not None:
            device.capture_ended_at = now

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

    # labels

    def add_label(self, session: CaptureSession, body: dict) -> Label:
        """A label from ``start_time``/``end_time`` (seconds after the session's start) or
        ``ts_start``/``ts_end`` (epoch seconds); numbers or numeric strings."""
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Missing or invalid argument: name.")
        for key in ("label_type", "category"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise ApiError(400, f"Invalid {key}: must be a string.")
        bounds = []
        for relative, epoch in (("start_time", "ts_start"), ("end_time", "ts_end")):
            offset, stamp = _seconds(body, relative), _seconds(body, epoch)
            if offset is None and stamp is None:
                raise ApiError(400, f"Missing argument: {relative} (seconds after the session start) or {epoch}.")
            if offset is not None and offset < 0:
                raise ApiError(400, f"Invalid {relative}: must be 0 or more.")
            bounds.append(session.created + offset if offset is not None else stamp)
        if bounds[1] < bounds[0]:
            raise ApiError(400, "Invalid label: it ends before it starts.")
        known = {"name", "label_type", "category", "start_time", "end_time", "ts_start", "ts_end"}
        label = Label(str(uuid.uuid4()), session.session_id, name, body.get("label_type") or "user",
                      body.get("category"), bounds[0], bounds[1],
                      extra={k: v for k, v in body.items() if k not in known})
        session.labels[label.label_id] = label
        return label

    def label(self, label_id, session: CaptureSession | None = None) -> Label:
        """The label ``label_id`` (of ``session`` when given); 404 otherwise."""
        for candidate in [session] if session is not None else self.sessions.values():
            if isinstance(label_id, str) and label_id in candidate.labels:
                return candidate.labels[label_id]
        raise ApiError(404, "Label not found.")
