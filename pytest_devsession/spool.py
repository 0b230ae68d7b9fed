"""Results that could not be delivered wait on disk until a later run delivers them.

One JSON file per undelivered result (a session's status, or its measurements),
written atomically; delivered by the next run before its tests, or by
``pytest --devsession --devsession-flush``.
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from .backends.base import AuthenticationError, BackendError
from .files import write_atomic


def transient(exc: BaseException) -> bool:
    """Worth trying again later: the service was unreachable, overloaded or failing (what the
    error calls ``temporary``, as the HTTP client's retries do), or it refused the token."""
    return isinstance(exc, BackendError) and (exc.temporary or isinstance(exc, AuthenticationError))


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, kind: str, backend: str, api_url: str | None, **payload) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{kind}-{uuid.uuid4().hex[:8]}.json"
        write_atomic(path, json.dumps({"kind": kind, "backend": backend, "api_url": api_url, **payload}))
        return path

    def entries(self) -> list[tuple[Path, dict]]:
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else ():
            try:
                found.append((path, json.loads(path.read_text())))
            except (OSError, ValueError):
                continue
        return found

    def count(self) -> int:
        return len(self.entries())

    def deliver(self, backend, api_url: str | None) -> tuple[int, list[str]]:
        """Deliver what this service is owed; returns (delivered, problems). Statuses go before measurements."""
        delivered, problems = 0, []
        entries = [(p, e) for p, e in self.entries() if e.get("backend") == backend.name and e.get("api_url") == api_url]
        for path, entry in sorted(entries, key=lambda pe: (pe[1]["kind"] != "status", pe[0].name)):
            try:
                if entry["kind"] == "status":
                    backend.report_status(entry["session_id"], entry["userflow"], entry.get("description"),
                                          entry["status"], entry.get("message"))
                else:
                    backend.upload_measurements(entry["session_id"], entry["userflow"], entry["measurements"])
            except Exception as exc:  # noqa: BLE001 - it stays in the spool for the next try
                problems.append(f"{path.name}: {exc}")
                continue
            path.unlink(missing_ok=True)
            delivered += 1
        return delivered, problems
