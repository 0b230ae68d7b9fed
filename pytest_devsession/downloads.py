"""A closed session's artifacts, downloaded into its test's folder and read back.

Each artifact is one step (``verdict.step``): a download that fails is a problem of the record,
an artifact the session does not have is left out, and an empty one (a video with no frames, a
HAR with no entries from a test that used the capture) is a problem too (``contents.py``).
"""
from __future__ import annotations

from pathlib import Path

from . import contents
from .record import SessionRecord


def download_all(backend, record: SessionRecord, folder: Path, exts, request, sent_traffic: bool = False) -> None:
    """Download ``exts`` of the record's session into ``folder``; ``request(label, action)`` runs each."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        record.problems.append(f"cannot create {folder}: {exc}")
        return
    for ext in exts:
        dest = folder / f"session.{ext}"

        def fetch(ext=ext, dest=dest):
            size = backend.download(record.session_id, ext, dest)
            if size is None:  # this session has no such artifact
                return
            record.artifact_bytes += size
            record.artifacts[ext] = str(dest.resolve())
            record.artifact_details[ext] = details = contents.describe(ext, dest)
            empty = contents.emptiness(ext, details, sent_traffic=sent_traffic)
            if empty:
                record.problems.append(f"session.{ext} {empty}")

        request(f"download {ext}", fetch)
