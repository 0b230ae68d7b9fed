"""Closing a test's capture session: the steps after the test, and the record they fill.

In the teardown (the device is still the test's): stop the capture and wait until it is complete.
Then, on the background pool (``background.py``), off the test's critical path: the downloads
(``downloads.py``), and, once the attempt's teardown report says whether pytest-rerunfailures runs
the test again, the verdict (``verdict.py``: name, tags, user flow status, measurements). The
record (``record.py``) crosses xdist on the report as plain data; the reporters complete what they
showed at the test's end when every session of the run is closed (``reporting/live.py``).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from . import outcome, verdict
from .backends.base import Artifacts, HeldPerSession, Links, RemoteSessions, UserFlows, Verdicts
from .downloads import download_all
from .handle import DevSession, handle_key
from .http.client import TRANSFERS
from .record import SessionRecord
from .reporting.live import LiveReports
from .state import CaptureState, TestWindow, earlier_key, reports_key, state_key, warn


@dataclass
class Attempt:
    """One attempt of a test whose capture is closed and whose verdict waits for its teardown report."""
    item: pytest.Item
    record: SessionRecord
    reports: list
    state: CaptureState | None
    handle: DevSession | None


class Closer:
    """The sessions of this process from their stop to their record."""

    def __init__(self, config: pytest.Config, settings, background, spool, problems: list[str],
                 open_sessions: dict, ledger, hook) -> None:
        """``problems``, ``open_sessions`` (session id -> test), ``ledger`` (a call that writes the
        lease ledger) and ``hook`` (a call of one of our hooks) are the run's."""
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
        self.scopes = None  # scopes.Scopes: the captures tests share
        self.enrichers: list = []  # what adds to each captured test's evidence after it (run.py)
        self.records: list[SessionRecord] = []
        self.reports = LiveReports(config)
        # Attempts whose capture is closed and whose verdict waits for their teardown report:
        # only then is it known whether pytest-rerunfailures runs the test again.
        self.pending: dict[str, Attempt] = {}
        self.closing: dict[int, list] = {}  # id(record) -> [jobs still running, item, record]
        self._closing_lock = threading.Lock()
        self.live: dict[tuple, SessionRecord] = {}  # records on reports not yet logged, by key
        self.interrupted_closing: int | None = None  # sessions still closing when Ctrl-C ended the drain

    # the end of the run ------------------------------------------------------------
    def drain(self, interrupted: bool = False) -> None:
        """Wait for the sessions still closing in the background, saying what is left."""
        if not self.background.outstanding() and not interrupted:
            self.background.run_soon()
            return
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        say = terminal.write_line if terminal is not None else (lambda text: None)
        try:
            if interrupted:
                raise KeyboardInterrupt
            self.background.drain(lambda: say(self.progress()))
        except KeyboardInterrupt:
            # Not started: verdicts go to the spool, downloads become problems; under way: waited for.
            self.interrupted_closing = len(self.closing)
            if self.background.interrupt(say):
                # A second Ctrl-C left the downloads under way: their sessions end here, stopped and
                # out of the ledger (nothing for a later run to release), with no half file.
                for item, record in [(entry[1], entry[2]) for entry in list(self.closing.values())]:
                    record.problems.append("artifacts not downloaded: the run was interrupted")
                    state = item.stash.get(state_key, None)
                    for partial in state.folder.glob("*.part") if state is not None else ():
                        partial.unlink(missing_ok=True)
                    if state is not None:
                        self._ended(record, state)
        finally:
            self.background.shutdown()

    def progress(self) -> str:
        """What is left to close: sessions, the bytes left of the downloads under way, steps not started."""
        downloads, left, unsized = TRANSFERS.left()
        parts = [f"{downloads} download(s) under way, {left / 1e6:.1f} MB left"
                 + (f" (+{unsized} of unknown size)" if unsized else "")] if downloads else []
        waiting = self.background.waiting()
        if waiting:
            parts.append(f"{waiting} step(s) not started")
        return f"pytest-devsession: {len(self.closing)} session(s) still closing" + \
            (f": {'; '.join(parts)}" if parts else "")

    def records_final(self) -> None:
        """Every session of the run is closed: the reporters complete what they showed at each test's end."""
        self.reports.complete(self.records)
        self.hook("records_final", self.problems, config=self.config, records=list(self.records))

    # reports -----------------------------------------------------------------------
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
            self.reports.logged(report, record)

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

    # a test's capture --------------------------------------------------------------
    def finish(self, item: pytest.Item, interrupted: bool = False) -> SessionRecord | None:
        """Close the test's capture: stop it and download its artifacts; never raises for a service's failure.

        The verdict (name, status, measurements) follows with the attempt's teardown
        report (``deliver``): only then is it known whether pytest-rerunfailures runs
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
        capture = state.capture if state is not None else None
        record = SessionRecord(
            item.nodeid, backend=self.backend.name if capture else None,
            session_id=capture.session_id if capture else None,
            device_address=capture.address if capture else None,
            url=capture.url if capture else None,
            userflow=handle.userflow if handle else None,
            status=status, status_message=message, measurements=measurements,
            # pytest-rerunfailures counts attempts on the item, from 1.
            attempt=getattr(item, "execution_count", None) or 1,
            scope=capture.scope if capture else "test",
            part_id=state.part.id(capture.session_id) if capture and state.part else None,
        )
        if capture is not None and isinstance(self.backend, RemoteSessions):
            self._remote_sessions(capture, record)
        # Pending from here: an interruption while closing still leaves a verdict to give.
        self.pending[item.nodeid] = Attempt(item, record, reports, state, handle)
        if state is not None:
            state.closed = True
            # Two jobs close it: the downloads (submitted here) and the verdict (with the teardown report);
            # and one per enricher (DevRev's app session), which may wait for its service a while.
            self.closing[id(record)] = [2 + len(self.enrichers), item, record]
            self._enrich(item, state, record)
            try:
                if state.part is not None:  # inside a capture its scope shares: the test's window ends
                    self.scopes.finish_part(item, state, record, not interrupted, self)
                else:
                    self._close_capture(item, state, record, download=not interrupted)
            except BaseException:
                self.job_done(record, state)
                raise
        if interrupted:
            self.deliver(item.nodeid)
        return record

    def _enrich(self, item: pytest.Item, state: CaptureState, record: SessionRecord) -> None:
        handle = item.stash.get(handle_key, None)
        window = TestWindow(state.started or time.time(), time.time(), state.device.platform,
                            handle.app_session_id if handle else None)
        for enricher in self.enrichers:
            self.background.submit(lambda e=enricher: self._enrich_job(e, window, state, record),
                                   cancel=lambda e=enricher: self._enrich_cancelled(e, state, record))

    def _enrich_job(self, enricher, window: TestWindow, state: CaptureState, record: SessionRecord) -> None:
        try:
            enricher.enrich(window, record, state.folder, lambda ms: self._upload_more(state, record, enricher.name, ms))
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            record.problems.append(f"{enricher.name}: {exc}")
        finally:
            self.job_done(record, state)

    def _enrich_cancelled(self, enricher, state: CaptureState, record: SessionRecord) -> None:
        record.problems.append(f"{enricher.name}: not looked for: the run was interrupted")
        self.job_done(record, state)

    def _upload_more(self, state: CaptureState, record: SessionRecord, source: str, measurements: list[dict]) -> None:
        """Measurements an enricher found, to the test's user flow like its own."""
        if record.userflow and isinstance(self.backend, UserFlows) and state.part is None and record.session_id:
            self._request(record)(f"upload {source} measurements", lambda: self.backend.upload_measurements(
                record.session_id, record.userflow, measurements))
        else:
            record.problems.append(f"{len(measurements)} {source} measurement(s) not uploaded: "
                                   + ("the test has no user flow" if not record.userflow else
                                      f"the {self.backend.name} backend takes no more after the verdict"))

    def _remote_sessions(self, capture, record: SessionRecord) -> None:
        """At a cloud grid the test's drivers made its sessions: the record names them (the first is
        its ``session_id``); a test that attached no driver has no session there."""
        try:
            record.sessions = list(self.backend.sessions_of(capture.session_id))
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            record.problems.append(f"cannot tell the test's sessions at {self.backend.name}: {exc}")
        record.session_id = record.sessions[0] if record.sessions else None
        record.url = None
        if record.session_id and isinstance(self.backend, Links):
            self._request(record)("find the session's page",
                                  lambda: setattr(record, "url", self.backend.session_url(record.session_id)))

    def job_done(self, record: SessionRecord, state: CaptureState) -> None:
        """One closing job of a session ended (on any thread); after the last, report it on pytest's thread."""
        with self._closing_lock:
            entry = self.closing.get(id(record))
            if entry is None:
                return
            entry[0] -= 1
            if entry[0] > 0:
                return
        self._ended(record, state)
        self.background.call_soon(lambda: self.closed(entry[1], record))

    def _ended(self, record: SessionRecord, state: CaptureState) -> None:
        """The session is closed, or left by a second Ctrl-C: out of the ledger, its hold freed."""
        with self._closing_lock:
            self.closing.pop(id(record), None)
        if state.session_id not in self.open:
            self.ledger("close_session", state.session_id)
        try:
            if isinstance(self.backend, HeldPerSession):  # a shared session's own: when its scope is done
                self.backend.discard(state.part.id(state.session_id) if state.part else state.session_id)
        except Exception as exc:  # noqa: BLE001
            record.problems.append(f"cannot free what the session held: {exc}")

    def closed(self, item: pytest.Item, record: SessionRecord) -> None:
        """A session is closed (pytest's thread): its artifacts are on disk, its verdict delivered or spooled."""
        if record.artifacts:
            self.hook("artifacts_collected", record.problems, item=item, record=record,
                      artifacts=dict(record.artifacts))
        for problem in record.problems:
            warn(f"pytest-devsession: {item.nodeid}: {problem}")

    def deliver(self, nodeid: str, report=None) -> SessionRecord:
        """Give a closed attempt its verdict and, with its teardown report, put the record on that report.

        An attempt that pytest-rerunfailures reran joins its user flow as Excluded,
        not Failed: the test's outcome is its final attempt's.
        """
        attempt = self.pending.pop(nodeid)
        item, record, state, handle = attempt.item, attempt.record, attempt.state, attempt.handle
        try:
            if any(r.outcome == "rerun" for r in attempt.reports):
                reruns = _reruns_allowed(item)
                record.status, record.final = outcome.EXCLUDED, False
                record.status_message = (f"rerun {record.attempt}{f' of {reruns}' if reruns else ''}: "
                                         f"{record.status_message or record.status}")
                if record.session_id:
                    item.stash.setdefault(earlier_key, []).append({
                        name: getattr(record, name)
                        for name in ("attempt", "session_id", "url", "status_message", "artifacts")})
            else:
                record.earlier_attempts = list(item.stash.get(earlier_key, []))
            if state is not None:
                # Known from here: a worker that dies before the verdict is sent leaves it to the main process.
                self.ledger("mark_session", state.session_id, status=record.status,
                            status_message=record.status_message, attempt=record.attempt, final=record.final)
                own = list(record.measurements)  # the test's own: an enricher may add its service's later
                self.background.submit(lambda: self._verdict_job(item, state, record, handle, own),
                                       cancel=lambda: self._spool_verdict(state, record, handle))
            elif record.measurements:
                record.problems.append("measurements not uploaded: the test ran without a capture session")
            self.hook("session_finished", record.problems, item=item, record=record)
            if state is None:
                for problem in record.problems:
                    warn(f"pytest-devsession: {item.nodeid}: {problem}")
            if report is not None:
                self.reports.attach(item, report, record)
                self.live[record.key] = record  # the record itself, which the background pool still fills
        # As after the test: a failure of ours never changes the outcome or aborts the run.
        except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001
            warn(f"pytest-devsession: {item.nodeid}: internal error after the test: {type(exc).__name__}: {exc}")
        return record

    # the jobs on the background pool -----------------------------------------------
    def _spool_verdict(self, state: CaptureState, record: SessionRecord, handle) -> None:
        """The run was interrupted before the verdict went out: it waits in the spool for the next run."""
        try:
            if isinstance(self.backend, Verdicts):  # the spool keeps user flow results, not a grid's verdict
                if record.sessions:
                    record.problems.append("verdict not given: the run was interrupted (the session keeps no status)")
            else:
                verdict.spool(self.backend.name, self.service_url, self.spool, record,
                              state.options.userflow_description)
            _close_journal(handle)
        except OSError as exc:
            record.problems.append(f"cannot write the spool: {exc}; the journal keeps the measurements")
        finally:
            self.job_done(record, state)

    def _verdict_job(self, item: pytest.Item, state: CaptureState, record: SessionRecord, handle,
                     own: list[dict] | None = None) -> None:
        try:
            doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
            if state.part is not None:
                verdict.give_part(self.backend, record, state.device, state.part,
                                  description=state.options.userflow_description)
            elif isinstance(self.backend, RemoteSessions) and not record.sessions:
                if record.measurements:
                    record.problems.append(f"{len(record.measurements)} measurement(s) not kept at "
                                           f"{self.backend.name}: the test attached no driver to its capture")
            else:
                verdict.give(self.backend, self.spool, self.service_url, record, doc=doc,
                             description=state.options.userflow_description, build_id=self.settings.build_id,
                             measurements=own)
            self.ledger("mark_session", state.session_id, verdict_sent=True)  # delivered or spooled
            state.finished = True
            _close_journal(handle)  # delivered or spooled by now
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            record.problems.append(f"internal error after the test: {type(exc).__name__}: {exc}")
        finally:
            self.job_done(record, state)

    def _request(self, record: SessionRecord):
        return lambda label, action: verdict.step(record, label, action, None, self.spool, self.backend.name,
                                                  self.service_url)

    def _close_capture(self, item: pytest.Item, state: CaptureState, record: SessionRecord,
                       download: bool = True) -> None:
        """Stop the capture and download its artifacts (with ``only-on-failure``, a failed attempt's too)."""
        session_id = state.session_id
        stop_deadline = self.settings.ready_timeout if download else min(self.settings.ready_timeout, 60)
        stopped = self._request(record)(
            "stop capture", lambda: self.backend.stop_capture(session_id, time.monotonic() + stop_deadline))
        if stopped:
            self.open.pop(session_id, None)
            # Stopped, not yet closed: a worker that dies now still leaves its verdict and
            # downloads to the main process (recovery.py).
            self.ledger("mark_session", session_id, stopped=True)
        exts = self.to_download(state, record)
        if not exts:
            self.job_done(record, state)
            return
        if not download or not stopped:
            record.problems.append("artifacts not downloaded: " + ("the run was interrupted" if not download
                                                                  else "the capture did not complete"))
            self.job_done(record, state)
            return
        handle = item.stash.get(handle_key, None)
        sent = bool(handle and handle.sent_traffic)
        self.background.submit(lambda: self._download_job(state, record, exts, sent),
                               cancel=lambda: self._cancelled_download(record, state))

    def to_download(self, state: CaptureState, record: SessionRecord) -> tuple[str, ...]:
        """The artifacts to download for this attempt: none with ``--devsession-download off``, or
        ``only-on-failure`` and an attempt that did not fail, or a backend that has none."""
        mode = self.settings.download
        exts = state.options.artifacts if state.options.artifacts is not None else self.settings.artifacts
        if mode == "off" or (mode == "only-on-failure" and record.status != outcome.FAILED) \
                or not isinstance(self.backend, Artifacts):
            return ()
        return tuple(exts)

    def _cancelled_download(self, record: SessionRecord, state: CaptureState) -> None:
        record.problems.append("artifacts not downloaded: the run was interrupted")
        self.job_done(record, state)

    def _download_job(self, state: CaptureState, record: SessionRecord, exts, sent_traffic: bool) -> None:
        try:
            if isinstance(self.backend, RemoteSessions):  # each session of the test's drivers at the grid
                for n, session_id in enumerate(record.sessions, start=1):
                    download_all(self.backend, record, state.folder, exts, self._request(record), sent_traffic,
                                 session_id=session_id, n=n)
            else:
                download_all(self.backend, record, state.folder, exts, self._request(record), sent_traffic)
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            record.problems.append(f"internal error while downloading: {type(exc).__name__}: {exc}")
        finally:
            self.job_done(record, state)


def _close_journal(handle) -> None:
    if handle is not None and handle._journal is not None:
        handle._journal.close()
        handle._journal = None


def _reruns_allowed(item: pytest.Item) -> int | None:
    """How many reruns pytest-rerunfailures allows this test (for the message only)."""
    try:
        from pytest_rerunfailures import get_reruns_count

        return get_reruns_count(item)
    except Exception:  # noqa: BLE001 - another version, or another plugin that marks reports "rerun"
        return None
