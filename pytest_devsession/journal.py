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
        folder.mkdir(parents=True, exist_ok=True)
        header = {"pid": os.getpid(), "host": socket.gethostname(), "process_start": _process_start(os.getpid()),
                  **header}
        self.path.write_text(json.dumps(header) + "\n")

    def add(self, measurement: dict) -> None:
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
