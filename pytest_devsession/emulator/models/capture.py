"""Capture sessions: their life (starting, active, stopping, complete) on the org's clock.

``CapturesMixin`` is the part of ``Org`` that owns ``sessions`` (id -> CaptureSession).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from .devices import YOU
from .errors import ApiError


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


class CapturesMixin:
    """Creating, finding, stopping and listing capture sessions. Expects ``self.sessions``, the
    settings ``ready_delay`` and ``complete_delay``, ``now()``, ``advance()`` and ``device()``."""

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
