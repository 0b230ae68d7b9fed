"""Closing a test's capture session: the steps after the test, and the record they fill.

In the teardown (the device is still the test's): stop the capture and wait until it is complete.
Then, on the background pool (``background.py``), off the test's critical path: the downloads,
and, once the attempt's teardown report says whether pytest-rerunfailures runs the test again,
the verdict (name, tags, user flow status, measurements). The record is a plain dict (it crosses
xdist on the report and becomes a manifest entry); the reporters complete what they showed at the
test's end when every session of the run is closed (``records_final``).
"""
from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import contents, markers, outcome
from .backends.base import (
    Annotation,
    Artifacts,
    BackendError,
    Device,
    HeldPerSession,
    Naming,
    UserFlows,
)
from .handle import DevSession, handle_key
from .record import SessionRecord
from .reporting import html as html_report
from .reporting import junit
from .spool import transient


class DevSessionWarning(UserWarning):
    """Something went wrong after a test ran; the test's outcome is unchanged."""


@dataclass
class CaptureState:
    session_id: str
    device: Device
    folder: Path
    options: markers.MarkerOptions
    closed: bool = False  # capture stopped and artifacts downloaded (or given up)
    finished: bool = False  # status and measurements delivered or spooled


@dataclass
class Attempt:
    """One attempt of a test whose capture is closed and whose verdict waits for its teardown report."""
    item: pytest.Item
    record: dict
    reports: list
    state: CaptureState | None
    handle: DevSession | None


options_key = pytest.StashKey[markers.MarkerOptions]()
state_key = pytest.StashKey[CaptureState]()
reports_key = pytest.StashKey[list]()  # the reports of the test's current attempt
earlier_key = pytest.StashKey[list]()  # earlier attempts that pytest-rerunfailures reran


class Closer:
    """The sessions of this process from their stop to their record."""

    def __init__(self, config: pytest.Config, settings, background, spool, problems: list[str],
                 open_sessions: dict, ledger, hook) -> None:
        """``problems``, ``open_sessions`` (session id -> test), ``ledger`` (a call that writes the
        lease ledger) and ``hook`` (a call of one of our hooks) are the run's, shared with the controller."""
        self.config = config
        self.settings = settings
        self.background = background
        self.spool = spool
        self.problems = problems
        self.open = open_sessions
        self.ledger = ledger
        self.hook = hook
        self.backend = None
        self.service_url: str | None = None
        self.records: list[SessionRecord] = []
        # Attempts whose capture is closed and whose verdict waits for their teardown report:
        # only then is it known whether pytest-rerunfailures runs the test again.
        self.pending: dict[str, Attempt] = {}
        self.closing: dict[int, list] = {}  # id(record) -> [jobs still running, item, record]
        self._closing_lock = threading.Lock()
        self.live: dict[tuple, SessionRecord] = {}  # records on reports not yet logged, by key
        self.placeholders: dict[str, dict] = {}  # session id -> its pytest-html extra, filled when closed
        self.interrupted_closing: int | None = None  # sessions still closing when Ctrl-C ended the drain

    def drain(self, interrupted: bool = False) -> None:
        """Wait for the sessions still closing in the background, saying what is left."""
        if not self.background.outstanding() and not interrupted:
            self.background.run_soon()
            return
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")

        def progress(sessions: int, downloaded: int) -> None:
            if terminal is not None:
                terminal.write_line(f"pytest-devsession: {sessions} session(s) still closing "
                                    f"({downloaded / 1e6:.1f} MB downloaded so far)")
        try:
            if interrupted:
                raise KeyboardInterrupt
            self.background.drain(progress)
        except KeyboardInterrupt:
            # Not started: verdicts go to the spool, downloads become problems; under way: waited for.
            self.interrupted_closing = len(self.closing)
            say = terminal.write_line if terminal is not None else (lambda text: None)
            if self.background.interrupt(say):
                for item, record in [(entry[1], entry[2]) for entry in list(self.closing.values())]:
                    record["problems"].append("artifacts not downloaded: the run was interrupted")
                    state = item.stash.get(state_key, None)
                    for partial in state.folder.glob("*.part") if state is not None else ():
                        partial.unlink(missing_ok=True)
        finally:
            self.background.shutdown()

    def records_final(self) -> None:
        """Every session of the run is closed: the reporters complete what they showed at each test's end."""
        junit.amend(self.config, self.records)
        report_dir = html_report.report_dir(self.config)
        for record in self.records:
            placeholder = self.placeholders.get(record.session_id or "")
            if placeholder is not None:
                placeholder["content"] = html_report.artifacts_html(record, report_dir)
        self.hook("records_final", self.problems, config=self.config, records=list(self.records))

    def logged(self, report) -> None:
        """A report was logged (before xdist sends it on and junitxml reads it): the verdict of an
        attempt whose teardown report this is, and the record it carries."""
        self.background.run_soon()
        if report.when == "teardown" and report.nodeid in self.pending:
            self.deliver(report.nodeid, report)
        data = getattr(report, "devsession", None)
        if report.when == "teardown" and data:
            # This process's own record, or one from an xdist worker (a copy as it was at the test's end).
            record = SessionRecord.of(data)
            record = self.live.pop(record.key, record)
            self.records.append(record)
            for extra in getattr(report, "extras", None) or ():
                if html_report.is_placeholder(extra, record):
                    self.placeholders[record["session_id"]] = extra

    def attempt_ended(self, nodeid: str) -> None:
        self.background.run_soon()
        # The attempt ended without a teardown report in the log (pytest-rerunfailures before
        # 16 leaves it out for an attempt it reruns): give the verdict all the same.
        if nodeid in self.pending:
            self.keep(self.deliver(nodeid))

    def keep(self, record: SessionRecord | None) -> None:
        """A record that no report carries: it reaches the manifest here (through the main process)."""
        if record is not None:
            self.records.append(record)

    def finish(self, item: pytest.Item, interrupted: bool = False) -> dict | None:
        """Close the test's capture: stop it and download its artifacts; never raises for a service's failure.

        The verdict (name, status, measurements) follows with the attempt's teardown
        report (``_deliver``): only then is it known whether pytest-rerunfailures runs
        the test again. ``interrupted``: the run is ending before the test's teardown
        report; the verdict follows at once, and artifacts are not downloaded, so that
        Ctrl-C stays quick.
        """
        if item.nodeid in self.pending:  # an earlier attempt's verdict never came: give it first
            self.keep(self.deliver(item.nodeid))
        state = item.stash.get(state_key, None)
        if state is not None and state.closed:
            return None  # an earlier attempt's, closed already
        handle = item.stash.get(handle_key, None)
        measurements = list(handle.measurements) if handle else []
        if state is None and not measurements:
            return None
        reports = item.stash.get(reports_key, [])
        if interrupted and not any(r.when == "call" for r in reports):
            status, message = outcome.EXCLUDED, "interrupted before the test finished"
        else:
            status, message = outcome.decide(reports)
        record = SessionRecord(
            item.nodeid, backend=self.backend.name if state else None,
            session_id=state.session_id if state else None,
            device_address=state.device.address if state else None,
            userflow=handle.userflow if handle else None,
            status=status, status_message=message, url=handle.url if handle else None,
            measurements=measurements,
            # pytest-rerunfailures counts attempts on the item, from 1.
            attempt=getattr(item, "execution_count", None) or 1,
        )
        # Pending from here: an interruption while closing still leaves a verdict to give.
        self.pending[item.nodeid] = Attempt(item, record, reports, state, handle)
        if state is not None:
            state.closed = True
            # Two jobs close it: the downloads (submitted here) and the verdict (with the teardown report).
            self.closing[id(record)] = [2, item, record]
            try:
                self._close_capture(item, state, record, download=not interrupted)
            except BaseException:
                self.job_done(record, state)
                raise
        if interrupted:
            self.deliver(item.nodeid)
        return record

    def job_done(self, record: dict, state: CaptureState) -> None:
        """One closing job of a session ended (on any thread); after the last, report it on pytest's thread."""
        with self._closing_lock:
            entry = self.closing.get(id(record))
            if entry is None:
                return
            entry[0] -= 1
            if entry[0] > 0:
                return
            self.closing.pop(id(record), None)
        if state.session_id not in self.open:
            self.ledger("close_session", state.session_id)
        try:
            if isinstance(self.backend, HeldPerSession):
                self.backend.discard(state.session_id)
        except Exception as exc:  # noqa: BLE001
            record["problems"].append(f"cannot free what the session held: {exc}")
        self.background.call_soon(lambda: self.closed(entry[1], record))

    def closed(self, item: pytest.Item, record: dict) -> None:
        """A session is closed (pytest's thread): its artifacts are on disk, its verdict delivered or spooled."""
        if record["artifacts"]:
            self.hook("artifacts_collected", record["problems"], item=item, record=record,
                       artifacts=dict(record["artifacts"]))
        for problem in record["problems"]:
            _warn(f"pytest-devsession: {item.nodeid}: {problem}")

    def deliver(self, nodeid: str, report=None) -> dict:
        """Give a closed attempt its verdict and, with its teardown report, put the record on that report.

        An attempt that pytest-rerunfailures reran joins its user flow as Excluded,
        not Failed: the test's outcome is its final attempt's.
        """
        attempt = self.pending.pop(nodeid)
        item, record, state, handle = attempt.item, attempt.record, attempt.state, attempt.handle
        try:
            if any(r.outcome == "rerun" for r in attempt.reports):
                reruns = _reruns_allowed(item)
                record["status"], record["final"] = outcome.EXCLUDED, False
                record["status_message"] = (f"rerun {record['attempt']}{f' of {reruns}' if reruns else ''}: "
                                            f"{record['status_message'] or record['status']}")
                if record["session_id"]:
                    item.stash.setdefault(earlier_key, []).append({
                        name: record[name] for name in ("attempt", "session_id", "url", "status_message", "artifacts")})
            else:
                record["earlier_attempts"] = list(item.stash.get(earlier_key, []))
            if state is not None:
                # Known from here: a worker that dies before the verdict is sent leaves it to the main process.
                self.ledger("mark_session", state.session_id, status=record["status"],
                             status_message=record["status_message"], attempt=record["attempt"], final=record["final"])
                self.background.submit(lambda: self._verdict_job(item, state, record, handle),
                                       cancel=lambda: self._spool_verdict(item, state, record, handle))
            elif record["measurements"]:
                record["problems"].append("measurements not uploaded: the test ran without a capture session")
            self.hook("session_finished", record["problems"], item=item, record=record)
            if state is None:
                for problem in record["problems"]:
                    _warn(f"pytest-devsession: {item.nodeid}: {problem}")
            if report is not None:
                self.attach(item, report, record)
        # As after the test: a failure of ours never changes the outcome or aborts the run.
        except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001
            _warn(f"pytest-devsession: {item.nodeid}: internal error after the test: {type(exc).__name__}: {exc}")
        return record

    def _spool_verdict(self, item: pytest.Item, state: CaptureState, record: dict, handle) -> None:
        """The run was interrupted before the verdict went out: it waits in the spool for the next run."""
        try:
            if record.userflow:
                for kind, payload in verdict_payloads(state.session_id, record, state.options.userflow_description):
                    if kind == "status" or record.measurements:
                        self.spool.put(kind, self.backend.name, self.service_url, **payload)
                record.spooled += 1
                record["problems"].append("status and measurements kept in the spool: the run was interrupted")
            if handle is not None and handle._journal is not None:
                handle._journal.close()
                handle._journal = None
        except OSError as exc:
            record["problems"].append(f"cannot write the spool: {exc}; the journal keeps the measurements")
        finally:
            self.job_done(record, state)

    def _verdict_job(self, item: pytest.Item, state: CaptureState, record: dict, handle) -> None:
        try:
            self._give_verdict(item, state, record)
            self.ledger("mark_session", state.session_id, verdict_sent=True)  # delivered or spooled
            state.finished = True
            if handle is not None and handle._journal is not None:
                handle._journal.close()  # delivered or spooled by now
                handle._journal = None
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            record["problems"].append(f"internal error after the test: {type(exc).__name__}: {exc}")
        finally:
            self.job_done(record, state)

    def _step(self, record: SessionRecord, label: str, action, spool=None) -> bool:
        return step(record, label, action, spool, self.spool, self.backend.name, self.service_url)

    def _close_capture(self, item: pytest.Item, state: CaptureState, record: dict, download: bool = True) -> None:
        """Stop the capture and download its artifacts (with ``only-on-failure``, a failed attempt's too)."""
        problems = record["problems"]
        session_id = state.session_id
        stop_deadline = self.settings.ready_timeout if download else min(self.settings.ready_timeout, 60)
        stopped = self._step(record, "stop capture",
                             lambda: self.backend.stop_capture(session_id, time.monotonic() + stop_deadline))
        if stopped:
            self.open.pop(session_id, None)
            # Stopped, not yet closed: a worker that dies now still leaves its verdict and
            # downloads to the main process (recovery.py).
            self.ledger("mark_session", session_id, stopped=True)
        mode = self.settings.download
        exts = state.options.artifacts if state.options.artifacts is not None else self.settings.artifacts
        if mode == "off" or (mode == "only-on-failure" and record["status"] != outcome.FAILED) or not exts \
                or not isinstance(self.backend, Artifacts):
            self.job_done(record, state)
            return
        if not download:
            problems.append("artifacts not downloaded: the run was interrupted")
            self.job_done(record, state)
            return
        if not stopped:
            problems.append("artifacts not downloaded: the capture did not complete")
            self.job_done(record, state)
            return
        self.background.submit(lambda: self._download_job(item, state, record, exts),
                               cancel=lambda: self._cancelled_download(record, state))

    def _cancelled_download(self, record: dict, state: CaptureState) -> None:
        record["problems"].append("artifacts not downloaded: the run was interrupted")
        self.job_done(record, state)

    def _download_job(self, item: pytest.Item, state: CaptureState, record: dict, exts) -> None:
        try:
            self._download(item, state, record, exts)
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            record["problems"].append(f"internal error while downloading: {type(exc).__name__}: {exc}")
        finally:
            self.job_done(record, state)

    def _download(self, item: pytest.Item, state: CaptureState, record: dict, exts) -> None:
        problems = record["problems"]
        handle = item.stash.get(handle_key, None)
        session_id = state.session_id
        try:
            state.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(f"cannot create {state.folder}: {exc}")
            return
        for ext in exts:
            dest = state.folder / f"session.{ext}"

            def fetch(ext=ext, dest=dest):
                size = self.backend.download(session_id, ext, dest)
                if size is not None:  # None: this session has no such artifact
                    self.background.downloaded += size
                    record["artifact_bytes"] += size
                    record["artifacts"][ext] = str(dest.resolve())
                    record["artifact_details"][ext] = details = contents.describe(ext, dest)
                    empty = contents.emptiness(ext, details, sent_traffic=bool(handle and handle.sent_traffic))
                    if empty:
                        problems.append(f"session.{ext} {empty}")

            self._step(record, f"download {ext}", fetch)

    def _give_verdict(self, item: pytest.Item, state: CaptureState, record: dict) -> None:
        """Name and tag the session, set its user flow status, upload its measurements."""
        session_id = state.session_id
        tags = {"outcome": (record["status"] or "unknown").lower() if record["final"] else "rerun"}
        if self.settings.build_id:
            tags["build"] = self.settings.build_id
        doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
        if isinstance(self.backend, Naming):
            self._step(record, "name the session",
                       lambda: self.backend.annotate(session_id, Annotation(item.nodeid, doc, tags)))
        userflow = record["userflow"]
        if userflow and not isinstance(self.backend, UserFlows):
            if record["measurements"]:
                record["problems"].append(f"{len(record['measurements'])} measurement(s) not uploaded: the "
                                          f"{self.backend.name} backend has no user flows")
        elif userflow:
            description = state.options.userflow_description
            status_spool, measurements_spool = verdict_payloads(session_id, record, description)
            self._step(record, "set the user flow status", lambda: self.backend.report_status(
                session_id, userflow, description, record.status, record.status_message), spool=status_spool)
            if record.measurements:
                record.measurements_uploaded = self._step(
                    record, "upload measurements",
                    lambda: self.backend.upload_measurements(session_id, userflow, record.measurements),
                    spool=measurements_spool)
        elif record["measurements"]:
            record["problems"].append(f"{len(record['measurements'])} measurement(s) not uploaded: the test has no "
                                      "user flow (add @pytest.mark.userflow or --devsession-userflow)")

    def attach(self, item: pytest.Item, report, record: dict) -> None:
        """What the reports show at the test's end; the artifacts, downloaded in the background,
        join them when the run has closed every session (``_records_final``)."""
        report.devsession = record.to_dict()  # plain data: it reaches the main process and the manifest
        self.live[record.key] = record  # the record itself, which the background pool still fills
        if not record["final"]:
            return  # the final attempt's testcase and row link this session
        props = junit.properties(record, artifacts=False)
        item.user_properties.extend(props)
        report.user_properties.extend(props)
        if self.config.pluginmanager.has_plugin("html"):
            report.extras = list(getattr(report, "extras", [])) + html_report.extras(record)



def record_key(record) -> tuple:
    return SessionRecord.of(record).key


def _reruns_allowed(item: pytest.Item) -> int | None:
    """How many reruns pytest-rerunfailures allows this test (for the message only)."""
    try:
        from pytest_rerunfailures import get_reruns_count

        return get_reruns_count(item)
    except Exception:  # noqa: BLE001 - another version, or another plugin that marks reports "rerun"
        return None


def step(record: SessionRecord, label: str, action, spool_as, spool, backend: str, service_url: str | None) -> bool:
    """One request after the test: its failure becomes a problem of the record; a failure that may
    pass later (``transient``) with ``spool_as`` (kind, payload) goes to the spool for the next run."""
    try:
        action()
        return True
    except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
        if spool_as is not None and transient(exc):
            try:
                spool.put(spool_as[0], backend, service_url, **spool_as[1])
                record.problems.append(f"{_describe(label, exc)}; kept in the spool for a later run")
                record.spooled += 1
                return False
            except OSError as spool_error:
                record.problems.append(f"cannot write the spool: {spool_error}")
        record.problems.append(_describe(label, exc))
        return False


def verdict_payloads(session_id: str, record: SessionRecord, description: str | None) -> tuple[tuple, tuple]:
    """What the spool keeps of a verdict: (kind, payload) for the status and for the measurements."""
    common = dict(session_id=session_id, userflow=record.userflow)
    return (("status", dict(common, description=description, status=record.status, message=record.status_message)),
            ("measurements", dict(common, measurements=record.measurements)))


def _describe(label: str, exc: Exception) -> str:
    # A service error already says which request failed.
    return str(exc) if isinstance(exc, BackendError) and exc.action else f"{label}: {exc}"


def _warn(message: str) -> None:
    """Warn, but never raise: under ``-W error`` a warning of ours would become a crash in a
    reporting hook. The problem is in the summary and the manifest either way."""
    try:
        warnings.warn(DevSessionWarning(message), stacklevel=3)
    except Warning:
        pass
