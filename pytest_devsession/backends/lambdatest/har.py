"""LambdaTest's full HAR: a ZIP of one or more HAR files (``0-network.har``, ``1-network.har``, ...)
merged into one HAR 1.2 document, its entries in the order they started."""
from __future__ import annotations

import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from ..base import BackendError

CREATOR = {"name": "pytest-devsession", "version": "1"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _order(name: str) -> tuple:
    """``10-network.har`` after ``9-network.har``: by the leading number, then by name."""
    match = re.match(r"(?:.*/)?(\d+)", name)
    return (int(match[1]) if match else float("inf"), name)


def _started(item: dict) -> datetime:
    """When an entry or page started (ISO 8601, any offset); an unreadable time sorts first."""
    raw = item.get("startedDateTime") if isinstance(item, dict) else None
    if not isinstance(raw, str) or not raw:
        return _EPOCH
    text = raw.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Python before 3.11 takes at most 6 digits of a second's fraction.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return _EPOCH
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def har_members(archive: zipfile.ZipFile) -> list[str]:
    names = [i.filename for i in archive.infolist() if not i.is_dir()]
    hars = [n for n in names if n.lower().endswith((".har", ".json"))] or names
    return sorted(hars, key=_order)


def merge(documents: list[dict]) -> dict:
    """One HAR 1.2 document of ``documents``: entries sorted by startedDateTime (stable), pages
    merged (one per id, the first kept), creator and browser of the first that names them."""
    entries: list[dict] = []
    pages: dict[str, dict] = {}
    unnamed_pages: list[dict] = []
    creator = browser = comment = None
    for document in documents:
        log = document.get("log") if isinstance(document, dict) else None
        if not isinstance(log, dict):
            continue
        creator = creator or (log.get("creator") if isinstance(log.get("creator"), dict) else None)
        browser = browser or (log.get("browser") if isinstance(log.get("browser"), dict) else None)
        comment = comment or log.get("comment")
        entries += [e for e in log.get("entries") or () if isinstance(e, dict)]
        for page in log.get("pages") or ():
            if not isinstance(page, dict):
                continue
            if page.get("id") is None:
                unnamed_pages.append(page)
            else:
                pages.setdefault(str(page["id"]), page)
    merged: dict = {"version": "1.2", "creator": creator or dict(CREATOR)}
    if browser:
        merged["browser"] = browser
    all_pages = list(pages.values()) + unnamed_pages
    if all_pages:
        merged["pages"] = sorted(all_pages, key=_started)
    merged["entries"] = sorted(entries, key=_started)
    if comment:
        merged["comment"] = comment
    return {"log": merged}


def merge_zip(source: Path) -> dict:
    """The HAR files of the ZIP at ``source`` as one document (a ZIP of none: a HAR with no entries)."""
    documents = []
    try:
        with zipfile.ZipFile(source) as archive:
            for name in har_members(archive):
                try:
                    documents.append(json.loads(archive.read(name)))
                except ValueError as exc:
                    raise BackendError(f"the full HAR's {name} is not JSON ({exc})", action="download har") from None
    except zipfile.BadZipFile as exc:
        raise BackendError(f"the full HAR is not a readable ZIP ({exc})", action="download har") from None
    return merge(documents)
