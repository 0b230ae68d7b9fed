"""Measurements written to disk the moment a test takes them.

A run killed outright (SIGKILL, os._exit) never reaches its teardown; its
journal survives, and the next run turns it into spooled results.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from .leases import _process_start, alive


class Journal:
    """One session's measurements, one JSON line each after a header line."""

    def __init__(self, folder: Path, header: dict) -> None:
        self.path = folder / f"{socket.gethostname()}-{os.getpid()}-{header['session_id']}.jsonl"
        self.header = {"pid": os.getpid(), "host": socket.gethostname(),
                       "process_start": _process_start(os.getpid()), **header}

    def add(self, measurement: dict) -> None:
        # Written on the first measurement only: a test that measures nothing costs no I/O.
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.header) + "\n")
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(measurement) + "\n")

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


def orphans(folder: Path) -> list[tuple[Path, dict, list[dict]]]:
    """Journals of processes that are gone: (path, header, measurements)."""
    found = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else ():
        try:
            lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except (OSError, ValueError):
            continue
        if lines and not alive(lines[0]):
            found.append((path, lines[0], lines[1:]))
    return found


def spool_orphans(folder: Path, spool, backend: str, api_url: str | None, status: str) -> list[str]:
    """Turn the journals of killed runs of this service into spooled results; one line each."""
    lines = []
    for path, header, measurements in orphans(folder):
        if header.get("backend") != backend or header.get("api_url") != api_url:
            continue
        if not header.get("userflow"):  # nowhere to upload them: the killed run's manifest never had them
            path.unlink(missing_ok=True)
            lines.append(f"{len(measurements)} measurement(s) of {header.get('nodeid')} from process "
                         f"{header.get('pid')}, which was killed, had no user flow to go to: dropped")
            continue
        common = dict(session_id=header["session_id"], userflow=header["userflow"])
        spool.put("status", backend, api_url, description=None, status=status,
                  message=f"the run ended before the test finished (process {header.get('pid')} was killed)", **common)
        if measurements:
            spool.put("measurements", backend, api_url, measurements=measurements, **common)
        path.unlink(missing_ok=True)
        lines.append(f"recovered {len(measurements)} measurement(s) of {header.get('nodeid')} "
                     f"from process {header.get('pid')}, which was killed")
    return lines
