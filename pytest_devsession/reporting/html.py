"""pytest-html extras for one session record: plain dicts, so they cross xdist."""
from __future__ import annotations

import html
import os
from pathlib import Path

from ..record import SessionRecord

PLACEHOLDER = "devsession artifacts"


def extras(record: SessionRecord) -> list[dict]:
    """The session's link and measurements, and a place for its artifacts, which are downloaded
    after the test (in the background): ``artifacts_html`` fills it when the run has closed every
    session, before pytest-html writes the report."""
    try:
        from pytest_html import extras as ex
    except ImportError:
        return []
    record = SessionRecord.of(record)
    items: list[dict] = []
    if record.url:
        items.append(ex.url(record.url, name=f"{record.backend or 'capture'} session"))
    if record.measurements:
        rows = "".join(
            f"<tr><td>{html.escape(str(m['key']))}</td><td>{html.escape(str(m['value']))}</td>"
            f"<td>{html.escape(str(m.get('units') or ''))}</td><td>{html.escape(str(m.get('type') or ''))}</td></tr>"
            for m in record.measurements
        )
        items.append(ex.html(
            "<table class=\"devsession-measurements\"><tr><th>measurement</th><th>value</th>"
            f"<th>units</th><th>type</th></tr>{rows}</table>"
        ))
    if record.session_id:
        place = ex.html("<p>devsession: the artifacts were still downloading when the report was written; "
                        "see manifest.json</p>")
        place["name"] = f"{PLACEHOLDER} {record.evidence_id}"
        items.append(place)
    return items


def report_dir(config) -> Path | None:
    """The folder of the pytest-html report (``--html``): artifact links are relative to it."""
    htmlpath = getattr(config.option, "htmlpath", None)
    return Path(htmlpath).resolve().parent if htmlpath else None


def is_placeholder(extra, record: SessionRecord) -> bool:
    return isinstance(extra, dict) and extra.get("name") == f"{PLACEHOLDER} {SessionRecord.of(record).evidence_id}"


def artifacts_html(record: SessionRecord, report_dir: Path | None = None) -> str:
    """The session's artifacts (the video inline) and the earlier attempts' sessions and artifacts."""
    record = SessionRecord.of(record)
    parts = []
    for name, path in record.artifacts.items():
        link = html.escape(_relative(path, report_dir))
        if name == "mp4" or name.endswith(".mp4"):
            # A video shared by the test's class, module or run starts and ends at the test's part of it.
            window = f"#t={record.video_offset:.2f},{record.video_offset + (record.video_duration or 0):.2f}" \
                if record.video_offset is not None else ""
            parts.append(f'<video controls width="480" src="{link}{window}"></video>')
        parts.append(f'<a class="devsession-artifact" href="{link}">{html.escape(name)}</a>')
    if record.app_session:  # the app's own recorded session (DevRev): its flags, crash log and timeline
        from ..devrev.enricher import timeline_html

        parts.append(timeline_html(record))
    for problem in record.problems:
        parts.append(f'<p class="devsession-problem">problem: {html.escape(problem)}</p>')
    # Attempts that pytest-rerunfailures reran: their sessions and artifacts, as links only.
    for earlier in record.earlier_attempts:
        label = f"attempt {earlier['attempt']} (rerun)"
        if earlier.get("url"):
            parts.append(f'<a href="{html.escape(earlier["url"])}">{html.escape(label)} session</a>')
        for name, path in earlier.get("artifacts", {}).items():
            parts.append(f'<a href="{html.escape(_relative(path, report_dir))}">{html.escape(label)} {html.escape(name)}</a>')
    return "<div class=\"devsession-artifacts\">" + " ".join(parts) + "</div>" if parts else ""


def _relative(path: str, report_dir: Path | None) -> str:
    if report_dir is None:
        return Path(path).as_uri()
    try:
        return Path(path).resolve().relative_to(report_dir.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(path, report_dir)).as_posix()
