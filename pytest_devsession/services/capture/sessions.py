"""Capture sessions and the flows recorded into them: state only, no HTTP, no mitmproxy."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SESSION_KEY = "devsession.session_id"
"""Key in ``flow.metadata`` naming the session a flow was recorded into."""
COUNTED_KEY = "devsession.bytes_counted"
"""Key in ``flow.metadata`` set once the flow's bodies are in its session's ``totalBytes``."""


class SessionNotFound(KeyError):
    """No session has this id."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def default_name(when: datetime) -> str:
    """NectoProxy's default: ``Session 2/28/2026, 3:00:00 PM`` (en-US, local time)."""
    hour = when.hour % 12 or 12
    half = "AM" if when.hour < 12 else "PM"
    return (
        f"Session {when.month}/{when.day}/{when.year}, "
        f"{hour}:{when.minute:02d}:{when.second:02d} {half}"
    )


@dataclass
class _Session:
    id: str
    name: str
    created_at: int
    updated_at: int
    seq: int
    is_active: bool = False
    is_recording: bool = False
    flows: list[Any] = field(default_factory=list)
    total_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "isActive": self.is_active,
            "isRecording": self.is_recording,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "trafficCount": len(self.flows),
            "totalBytes": self.total_bytes,
        }


class SessionStore:
    """Thread-safe sessions. Read methods return plain JSON-ready dicts (snapshots).

    At most one session is active. Traffic goes into the session that is active
    *and* recording when a request starts; with no such session it is not stored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._seq = 0

    def _get(self, session_id: str) -> _Session:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise SessionNotFound(session_id) from None

    def _json(self, session: _Session) -> dict[str, Any]:
        return session.to_json()

    def create(self, name: str | None = None) -> dict[str, Any]:
        with self._lock:
            now = now_ms()
            self._seq += 1
            session = _Session(
                id=str(uuid.uuid4()),
                name=name if name is not None else default_name(datetime.now()),
                created_at=now,
                updated_at=now,
                seq=self._seq,
            )
            self._sessions[session.id] = session
            return self._json(session)

    def list(self) -> list[dict[str, Any]]:
        """Newest first, as in the example of NectoProxy's Sessions API page."""
        with self._lock:
            ordered = sorted(self._sessions.values(), key=lambda s: s.seq, reverse=True)
            return [self._json(s) for s in ordered]

    def get(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            return self._json(self._get(session_id))

    def active(self) -> dict[str, Any] | None:
        with self._lock:
            for session in self._sessions.values():
                if session.is_active:
                    return self._json(session)
            return None

    def update(
        self,
        session_id: str,
        *,
        name: str | None = None,
        is_active: bool | None = None,
        is_recording: bool | None = None,
    ) -> dict[str, Any]:
        """Change a session. Activating starts recording and deactivating stops it,
        unless ``is_recording`` says otherwise; activating deactivates the others."""
        with self._lock:
            session = self._get(session_id)
            now = now_ms()
            if name is not None:
                session.name = name
            if is_active is True:
                for other in self._sessions.values():
                    if other.is_active and other is not session:
                        other.is_active = other.is_recording = False
                        other.updated_at = now
                session.is_active = True
                session.is_recording = True
            elif is_active is False:
                session.is_active = session.is_recording = False
            if is_recording is not None:
                session.is_recording = is_recording
            session.updated_at = now
            return self._json(session)

    def activate(self, session_id: str) -> dict[str, Any]:
        return self.update(session_id, is_active=True)

    def delete(self, session_id: str) -> None:
        """Remove a session and its flows."""
        with self._lock:
            self._get(session_id)
            del self._sessions[session_id]

    def record(self, flow: Any) -> str | None:
        """Store ``flow`` in the session now active and recording; returns its id or None."""
        with self._lock:
            for session in self._sessions.values():
                if session.is_active and session.is_recording:
                    session.flows.append(flow)
                    flow.metadata[SESSION_KEY] = session.id
                    return session.id
            return None

    def add_bytes(self, session_id: str, count: int) -> None:
        """Count bytes of a flow recorded earlier (ignored if its session was deleted)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                session.total_bytes += count

    def flows(self, session_id: str) -> list[Any]:
        """The session's flows in the order their requests started."""
        with self._lock:
            return list(self._get(session_id).flows)

    def export_flows(self, session_id: str) -> list[Any]:
        """The flows its HAR export lists, in that order."""
        return self.flows(session_id)

    def traffic(self) -> list[tuple[str, Any]]:
        """Every stored flow with its session's id, in the order the requests started."""
        with self._lock:
            pairs = [(s.id, flow) for s in self._sessions.values() for flow in s.flows]
        return sorted(pairs, key=lambda pair: pair[1].request.timestamp_start or 0.0)

    def delete_flow(self, flow_id: str) -> bool:
        """Remove one flow, wherever it is stored; False if no session holds it."""
        with self._lock:
            for session in self._sessions.values():
                for index, flow in enumerate(session.flows):
                    if flow.id == flow_id:
                        del session.flows[index]
                        if flow.metadata.get(COUNTED_KEY):
                            session.total_bytes -= sum(
                                len(m.raw_content or b"") for m in (flow.request, flow.response) if m is not None)
                        return True
            return False
