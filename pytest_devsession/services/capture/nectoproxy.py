"""The session store as NectoProxy's server really behaves, not as its Sessions API page says.

For testing a client against that behaviour (``CaptureServer(behave="nectoproxy")``,
``python -m pytest_devsession.local --behave nectoproxy``). What NectoProxy was seen
doing, built from its source and run on loopback:

- at start there is one session, active and recording (it creates ``Session 2/28/2026``
  if none is active), and the proxy records *all* traffic into that session, for good;
- a created session is active and recording at once, and the others stay active;
- activating a session deactivates every session first, then answers 404 for an
  unknown id; activating and PATCH change only stored flags, never where traffic goes;
- ``GET /api/sessions/active`` is the oldest active session; the list is oldest first;
- ``trafficCount`` and ``totalBytes`` stay 0;
- deleting the session it records into makes it drop all later traffic;
- its HAR export lists entries newest first (at most 10,000), creator NectoProxy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .sessions import SESSION_KEY, SessionStore, _Session, now_ms

HAR_CREATOR = {"name": "NectoProxy", "version": "1.0.0"}
HAR_MAX_ENTRIES = 10_000


def startup_name(when: datetime) -> str:
    """The name NectoProxy gives the session it creates at start: ``Session 2/28/2026``."""
    return f"Session {when.month}/{when.day}/{when.year}"


class NectoProxyStore(SessionStore):
    """Sessions with NectoProxy's real semantics (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__()
        # The proxy fixes its session once at start and never looks at the flags again.
        self.recording_id: str = self.create(startup_name(datetime.now()))["id"]

    def _json(self, session: _Session) -> dict[str, Any]:
        return {**session.to_json(), "trafficCount": 0, "totalBytes": 0}

    def create(self, name: str | None = None) -> dict[str, Any]:
        created = super().create(name)
        with self._lock:
            session = self._get(created["id"])
            session.is_active = session.is_recording = True
            return self._json(session)

    def list(self) -> list[dict[str, Any]]:
        """Oldest first."""
        return list(reversed(super().list()))

    def update(
        self,
        session_id: str,
        *,
        name: str | None = None,
        is_active: bool | None = None,
        is_recording: bool | None = None,
    ) -> dict[str, Any]:
        """Stored flags only: no other session changes, and traffic goes where it went."""
        with self._lock:
            session = self._get(session_id)
            if name is not None:
                session.name = name
            if is_active is not None:
                session.is_active = is_active
            if is_recording is not None:
                session.is_recording = is_recording
            session.updated_at = now_ms()
            return self._json(session)

    def activate(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            for session in self._sessions.values():
                session.is_active = False  # even when the id turns out to be unknown
            session = self._get(session_id)
            session.is_active = True
            session.updated_at = now_ms()
            return self._json(session)

    def export_flows(self, session_id: str) -> list[Any]:
        """Newest first, at most 10,000."""
        return list(reversed(self.flows(session_id)))[:HAR_MAX_ENTRIES]

    def record(self, flow: Any) -> str | None:
        with self._lock:
            session = self._sessions.get(self.recording_id)
            if session is None:  # NectoProxy: FOREIGN KEY constraint failed, until restart
                return None
            session.flows.append(flow)
            flow.metadata[SESSION_KEY] = session.id
            return session.id


def as_nectoproxy_har(har: dict[str, Any]) -> dict[str, Any]:
    """mitmproxy's HAR with NectoProxy as its creator."""
    har["log"]["creator"] = dict(HAR_CREATOR)
    return har

