"""pytest-html extras for one session record: plain dicts, so they cross xdist."""
from __future__ import annotations

import html
import os
from pathlib import Path


def extras(record: dict, report_dir: Path | None = None) -> list[dict]:
    """The session's link, artifacts (the video inline) and measurements; links to earlier attempts."""
    try:
        from pytest_html import extras as ex
    except ImportError:
        return []
    items: list[dict] = []
    if record.get("url"):
        items.append(ex.url(record["url"], name="HeadSpin session"))
    for name, path in record.get("artifacts", {}).items():
        link = _relative(path, report_dir)
        if name == "mp4":
            items.append(ex.html(f'<video controls width="480" src="{html.escape(link)}"></video>'))
        items.append(ex.url(link, name=name))
    if record.get("measurements"):
        rows = "".join(
            f"<tr><td>{html.escape(str(m['key']))}</td><td>{html.escape(str(m['value']))}</td>"
            f"<td>{html.escape(str(m.get('units') or ''))}</td><td>{html.escape(str(m.get('type') or ''))}</td></tr>"
            for m in record["measurements"]
        )
        items.append(ex.html(
            "<table class=\"devsession-measurements\"><tr><th>measurement</th><th>value</th>"
            f"<th>units</th><th>type</th></tr>{rows}</table>"
        ))
    # Attempts that pytest-rerunfailures reran: their sessions and artifacts, as links only.
    for earlier in record.get("earlier_attempts", []):
        label = f"attempt {earlier['attempt']} (rerun)"
        if earlier.get("url"):
            items.append(ex.url(earlier["url"], name=f"{label} session"))
        for name, path in earlier.get("artifacts", {}).items():
            items.append(ex.url(_relative(path, report_dir), name=f"{label} {name}"))
    return items


def _relative(path: str, report_dir: Path | None) -> str:
    if report_dir is None:
        return Path(path).as_uri()
    try:
        return Path(path).resolve().relative_to(report_dir.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, report_dir)).as_posix()
