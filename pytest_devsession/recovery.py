"""Closing the captures of an xdist worker that died in the middle of a test.

A worker can die with a capture open: a crash, ``os._exit``, pytest-timeout's ``thread``
method. The kernel gives its device back to the pool at once; the main process learns of the
death from xdist (``pytest_testnodedown`` with an error) and closes what the worker's lease
ledger says it had open: it stops the capture, marks the session Failed on its user flow with
the measurements the worker's journal kept, and downloads the artifacts, so that the test
that crashed has its evidence like any other failed test.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import outcome, verdict
from .backends.base import Artifacts, HeldPerSession, Links
from .downloads import download_all
from .leases import forget, of_run
from .record import SessionRecord


def dead_worker_sessions(leases: Path, run: str, worker: str) -> list[tuple[Path, str, dict]]:
    """(ledger, session id, what the ledger says of it) for the captures a dead worker left open;
    ``info["outlives"]`` is False when the capture ran inside the worker and ended with it."""
    found = []
    for path, entry in of_run(leases, run, worker):  # xdist never reuses a worker's name in a run
        for session_id, info in entry.get("sessions", {}).items():
            info = info if isinstance(info, dict) else {"address": info}
            found.append((path, session_id, {**info, "outlives": entry.get("outlives", True)}))
        if entry.get("outlives") is False:
            path.unlink(missing_ok=True)  # nothing of it is left to release
    return found


def _journal(journals: Path, session_id: str) -> tuple[Path | None, dict, list[dict]]:
    for path in journals.glob(f"*-{session_id}.jsonl") if journals.is_dir() else ():
        try:
            lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except (OSError, ValueError):
            continue
        if lines:
            return path, lines[0], lines[1:]
    return None, {}, []


def close_session(backend, settings, spool, service_url: str | None, ledger: Path, session_id: str, info: dict,
                  message: str) -> SessionRecord:
    """Close one capture a dead worker left open; returns its record (never raises)."""
    journal, header, measurements = _journal(settings.store_dir / "journal", session_id)
    nodeid = info.get("nodeid") or header.get("nodeid") or f"(a test on {info.get('address')})"
    userflow = info.get("userflow") or header.get("userflow")
    record = SessionRecord(
        nodeid, backend=backend.name, session_id=session_id, device_address=info.get("address"), userflow=userflow,
        # A test that ended before the worker died has its own verdict; the one it died in failed.
        status=info.get("status") or outcome.FAILED, status_message=info.get("status_message") or message,
        measurements=measurements, attempt=info.get("attempt", 1), final=info.get("final", True))
    problems = record.problems

    def step(label, action, spool_as=None) -> bool:
        return verdict.step(record, label, action, spool_as, spool, backend.name, service_url)

    outlives = info.get("outlives", True)
    stopped = False
    if outlives:
        try:
            record.url = backend.session_url(session_id) if isinstance(backend, Links) else None
        except Exception:  # noqa: BLE001
            pass
        # A capture the worker stopped already (it died while the session was closing in the background).
        stopped = info.get("stopped") or step(
            "stop capture", lambda: backend.stop_capture(session_id, time.monotonic() + settings.ready_timeout))
        if stopped:
            forget(ledger, sessions=[session_id])
    else:
        problems.append("no artifacts: the capture ran inside the worker and ended with it")
    if info.get("verdict_sent"):
        record.measurements_uploaded = bool(userflow and measurements)  # by the worker, before it died
    else:  # a session that ended with the worker cannot be named: its user flow still hears of it
        verdict.give(backend, spool, service_url, record, build_id=settings.build_id, name=outlives)
    if journal is not None:
        journal.unlink(missing_ok=True)  # delivered or spooled: the next run must not mark it Excluded
    folder = Path(info["folder"]) if info.get("folder") else None
    if settings.download == "off" or not outlives or not isinstance(backend, Artifacts):
        return record
    if not stopped or folder is None:
        problems.append("artifacts not downloaded: " + ("the capture did not complete" if not stopped
                                                        else "the worker left no folder for them"))
        return record
    download_all(backend, record, folder, info.get("artifacts", settings.artifacts), step)
    try:
        if isinstance(backend, HeldPerSession):
            backend.discard(session_id)
    except Exception:  # noqa: BLE001
        pass
    return record


def link_evidence(report, record: SessionRecord, config) -> None:
    """xdist's failure report of the test whose worker died: the capture closed above, linked as
    the reports link any test's (JUnit writes a crash's text, not its properties)."""
    from .reporting import html as html_report
    from .reporting import junit

    report.user_properties = list(report.user_properties) + junit.properties(record)
    if isinstance(report.longrepr, str):
        evidence = [f"capture session {record.session_id}: {record.url or 'no link'}"]
        evidence += [f"{name}: {path}" for name, path in record.artifacts.items()]
        evidence += [f"problem: {problem}" for problem in record.problems]
        report.longrepr += "\n\npytest-devsession, the crashed test's capture:\n  " + "\n  ".join(evidence)
    lines = junit.attachment_lines(record)
    if lines:
        report.sections.append(("Captured stdout devsession", lines))
    if config.pluginmanager.has_plugin("html"):
        extras = html_report.extras(record)
        for extra in extras:  # closed already, by this process: the artifacts are on disk
            if html_report.is_placeholder(extra, record):
                extra["content"] = html_report.artifacts_html(record, html_report.report_dir(config))
        report.extras = list(getattr(report, "extras", [])) + extras
