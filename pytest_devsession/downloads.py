"""A closed session's artifacts, downloaded into its test's folder and read back.

Each artifact is one step (``verdict.step``): a download that fails is a problem of the record,
an artifact the session does not have is left out, and an empty one (a video with no frames, a
HAR with no entries from a test that used the capture) is a problem too (``contents.py``).
"""
from __future__ import annotations

from pathlib import Path

from . import contents
from .record import SessionRecord


def download_all(backend, record: SessionRecord, folder: Path, exts, request, sent_traffic: bool = False,
                 session_id: str | None = None, n: int = 1, get=None) -> None:
    """Download ``exts`` of the record's session (or of ``session_id``, the test's ``n``-th session at
    the service) into ``folder``; ``request(label, action)`` runs each. The first session's files are
    ``session.EXT`` (artifact ``EXT``), the n-th's ``session-n.EXT`` (artifact ``n.EXT``).
    ``get(ext, dest)``: fetches one artifact instead, and answers (the file it is in, its size), or
    (None, None) when there is none (a test's part of a shared capture, ``scopes.py``)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        record.problems.append(f"cannot create {folder}: {exc}")
        return
    session_id = session_id or record.session_id
    for ext in exts:
        dest = folder / (f"session.{ext}" if n == 1 else f"session-{n}.{ext}")

        def fetch(ext=ext, dest=dest):
            if get is not None:
                dest, size = get(ext, dest)
            else:
                size = backend.download(session_id, ext, dest)
            if size is None:  # this session has no such artifact
                return
            record.artifact_bytes += size
            ext_key = ext if n == 1 else f"{n}.{ext}"
            record.artifacts[ext_key] = str(dest.resolve())
            record.artifact_details[ext_key] = details = contents.describe(ext, dest)
            empty = contents.emptiness(ext, details, sent_traffic=sent_traffic)
            if empty:
                record.problems.append(f"{dest.name} {empty}")

        request(f"download {ext}" if n == 1 else f"download {ext} of session {n}", fetch)
