"""Finding a test's app session at DevRev.

The DevRev SDKs give no session id to a test, and upload a recording only when the app goes to the
background or stops recording: the session shows up some time after the test. So after each test
``sessions.list`` is polled for the app's sessions created within the test's window (widened by
``tolerance`` seconds for clock skew) until one of them has ``recording_ids``, or until ``timeout``.

Two tests close together must never take the same session: a ``Claims`` registry (one per run,
shared by the threads of the background pool) knows every test's window and which session each
test took. A session belongs to the test whose window holds its ``created_at`` (or, outside every
window, the nearest one); among those, the one created nearest the test's start is taken. A test
that names its session (``session_id``) gets that one.

No session at the deadline is no problem (the test did not run the app): ``find_session`` returns
None. A session that appeared but had no recording by the deadline is a ``BackendError``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from ..backends.base import BackendError
from ..http.client import Backoff
from .client import DevRevClient

TIMEOUT = 120.0
TOLERANCE = 5.0  # seconds either side of the window: clocks of the device and of the run differ
POLLING = Backoff(first=0.5, factor=1.5, most=5.0)


def epoch(value) -> float | None:
    """A DevRev time (ISO 8601, or epoch milliseconds/seconds) in seconds since the epoch."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000.0 if value > 1e11 else float(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Claims:
    """The run's tests' windows and the sessions they took; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, float]] = {}  # owner -> (start, end), epoch seconds
        self._owners: dict[str, str] = {}  # session id -> owner

    def window(self, owner: str, start: float, end: float) -> None:
        """``owner`` (a test's node id, or any unique key) ran from ``start`` to ``end``."""
        with self._lock:
            self._windows[owner] = (start, end)

    def claim(self, session_id: str, owner: str) -> bool:
        """Take ``session_id`` for ``owner``; False when another owner has it."""
        with self._lock:
            return self._owners.setdefault(session_id, owner) == owner

    def owner(self, session_id: str) -> str | None:
        with self._lock:
            return self._owners.get(session_id)

    def belongs(self, created: float, owner: str) -> bool:
        """Whether a session created at ``created`` fits ``owner``'s window best of all windows known."""
        with self._lock:
            windows = dict(self._windows)
        if owner not in windows:
            return True
        mine = _distance(created, windows[owner])
        return all(mine <= _distance(created, window) for other, window in windows.items() if other != owner)


def _distance(moment: float, window: tuple[float, float]) -> float:
    start, end = window
    return 0.0 if start <= moment <= end else min(abs(moment - start), abs(moment - end))


def _model(session: dict) -> str:
    return str((session.get("device_metadata") or {}).get("model") or "").strip().lower()


def find_session(client: DevRevClient, *, platform: str, start: float, end: float, claims: Claims, owner: str,
                 device_model: str | None = None, session_id: str | None = None, timeout: float = TIMEOUT,
                 tolerance: float = TOLERANCE, backoff: Backoff = POLLING,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> dict | None:
    """The app session of the test ``owner`` (window ``start``..``end``, epoch seconds), with its
    ``recording_ids``, claimed for it; None when it had none. ``session_id``: the test named it."""
    claims.window(owner, start, end)
    deadline = clock() + timeout
    wanted = (device_model or "").strip().lower()
    seen: dict[str, dict] = {}
    last_error: BackendError | None = None
    for interval in backoff.intervals():
        try:
            if session_id:
                found = client.get_session(platform, session_id)
                if found.get("recording_ids"):
                    claims.claim(session_id, owner)  # named by the test: it is its own even if claimed
                    return found
                seen[session_id] = found
            else:
                seen.clear()
                sessions = client.list_sessions(platform, iso(start - tolerance), iso(end + tolerance),
                                                device_model=device_model)
                chosen = _choose(sessions, start, end, tolerance, wanted, claims, owner, seen)
                if chosen is not None:
                    return chosen
            last_error = None
        except BackendError as exc:
            if not (exc.temporary or exc.status == 404) or exc.request is None:
                raise
            last_error = exc  # not now (the client has already sent it again): the next poll
        remaining = deadline - clock()
        if remaining <= 0:
            break
        sleep(min(interval, remaining))
    if seen:
        names = ", ".join(sorted(seen))
        raise BackendError(f"DevRev session {names} had no recording within {timeout:g} s "
                           "(--devsession-devrev-timeout): the app uploads it when it goes to the background "
                           "or stops recording", action="find the test's DevRev session")
    if last_error is not None:
        raise last_error
    return None


def _choose(sessions: list[dict], start: float, end: float, tolerance: float, wanted: str, claims: Claims,
            owner: str, seen: dict[str, dict]) -> dict | None:
    """The best unclaimed session of the window that has recordings, claimed; ``seen`` gets the
    fitting ones still without recordings."""
    fitting = []
    for session in sessions:
        created, sid = epoch(session.get("created_at")), session.get("session_id")
        if created is None or not sid or not (start - tolerance <= created <= end + tolerance):
            continue
        if wanted and _model(session) and _model(session) != wanted:
            continue
        if claims.owner(sid) not in (None, owner) or not claims.belongs(created, owner):
            continue
        fitting.append((abs(created - start), sid, session))
    for _, sid, session in sorted(fitting, key=lambda item: item[:2]):
        if not session.get("recording_ids"):
            seen[sid] = session
            continue
        if claims.claim(sid, owner):
            seen.pop(sid, None)
            return session
    return None
