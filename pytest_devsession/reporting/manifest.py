"""``<artifacts-dir>/manifest.json``: one object per session of the run (docs/manifest.md)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..files import write_atomic
from ..record import SessionRecord

VERSION = 1
FIELDS = ("nodeid", "attempt", "final", "backend", "session_id", "device_address", "userflow", "status",
          "status_message", "scope", "part_id", "label_id", "video_offset", "video_duration", "sessions")
APP_FIELDS = ("service", "session_id", "crash", "anr", "crash_log")  # of app_session (its timeline is in the HTML)


def entry(record, base: Path) -> dict:
    record = SessionRecord.of(record)
    data = {name: getattr(record, name) for name in FIELDS}
    data["app_session"] = {name: record.app_session.get(name) for name in APP_FIELDS} if record.app_session else None
    data["artifacts"] = {name: Path(os.path.relpath(path, base)).as_posix() for name, path in record.artifacts.items()}
    # What each artifact holds (HAR entries, video duration and frames), so that emptiness shows.
    data["artifact_details"] = {name: dict(details) for name, details in record.artifact_details.items()}
    data["problems"] = list(record.problems)
    data["measurements"] = [
        {"key": m["key"], "value": m["value"], "units": m.get("units"), "type": m.get("type")}
        for m in record.measurements
    ]
    return data


def write(directory: Path, records: list) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "manifest.json"
    ordered = sorted((SessionRecord.of(r) for r in records), key=lambda r: (r.nodeid, r.attempt))
    document = {"version": VERSION, "sessions": [entry(r, directory) for r in ordered]}
    write_atomic(path, json.dumps(document, indent=2) + "\n")
    return path
