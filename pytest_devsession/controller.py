"""The per-run and per-test lifecycle of capture sessions.

Registered as a named plugin only when ``--devsession`` is on. Per-run state
(the backend, the devices this process holds, the sessions still open) lives
here; per-test state lives in ``item.stash``; only plain dicts go on reports.

Around a test: lock (once per device) → start → wait until ready → test →
stop → wait until complete → name, tags, status, measurements → downloads.
"""
from __future__ import annotations

import os
import signal
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import contents, markers, outcome, recovery
from .backends.base import (
    Annotation,
    AuthenticationError,
    BackendError,
    CaptureOptions,
    Device,
)
from .background import Background
from .devices import Devices, stop_run
from .folders import Folders
from .handle import DevSession, handle_key
from .journal import Journal, spool_orphans
from .leases import Ledger, process_info, release_stale
from .reporting import html as html_report
from .reporting import junit, manifest, summary
from .signals import deferred_signals, sigterm, timeout_paused
from .spool import Spool, transient


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


class Controller:
    def __init__(self, config: pytest.Config, settings) -> None:
        self.config = config
        self.settings = settings
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        self.worker_id = workerinput["workerid"] if self.is_worker else None
        # One id for the run, the same in every xdist worker (pytest_configure_node hands it over).
        self.run_id = (workerinput or {}).get("devsession_run") or (workerinput or {}).get("testrunuid") \
            or uuid.uuid4().hex
        self.main_process = (workerinput or {}).get("devsession_main") or process_info()
        self.crashed: dict[str, dict] = {}  # node id -> record of a test whose worker died under it
        self.backend = None
        self.known: dict[str, Device] = {}
        self.open: dict[str, pytest.Item] = {}
        self.records: list[dict] = []
        self.run_problems: list[str] = []
        self.folders = Folders(settings.artifacts_dir, self.run_id)
        self.manifest_path: Path | None = None
        self.notes: list[str] = []
        self.late_records: list[dict] = []  # closed without a teardown report (an interrupted run)
        # Attempts whose capture is closed and whose verdict waits for their teardown report:
        # only then is it known whether pytest-rerunfailures runs the test again.
        self.pending: dict[str, Attempt] = {}
        self.spool = Spool(settings.store_dir / "spool")
        # Naming, status, measurements and downloads, while the next test runs (background.py).
        self.background = Background(settings.background)
        self.closing: dict[int, list] = {}  # id(record) -> [jobs still running, item, record]
        self._closing_lock = threading.Lock()
        self.placeholders: dict[str, dict] = {}  # session id -> its pytest-html extra, filled when closed
        self.interrupted_closing: int | None = None  # sessions still closing when Ctrl-C ended the drain
        self.ctrl_c_postponed = False  # Ctrl-C came while the leases were being released
        # HeadSpin's locks and sessions outlive this process; the embedded local server does not.
        self.service_url = settings.api_url if settings.backend == "headspin" else settings.local_url
        self.device_source = settings.api_url if settings.backend == "headspin" else "this machine"
        self.ledger: Ledger | None = None
        self._previous_sigterm = None
        # Which test holds which device, the locks at the service (devices.py); checks the worker count.
        self.devices = Devices(config, settings, self.run_id, self.run_problems, self.open, self._ledger)
        self.tested = False  # a test of this run reported: its manifest replaces the last one

    @staticmethod
    def _check_writable(folder: Path) -> None:
        probe = folder / f".devsession-probe-{os.getpid()}"  # one per process: xdist workers probe at once
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise pytest.UsageError(f"pytest-devsession: --devsession-artifacts-dir: cannot write to {folder}: "
                                    f"{exc.strerror or exc}") from None

    # run ---------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.settings.cleanup or self.settings.flush:
            self._make_backend()
            self._maintenance()  # exits
        elif not self.is_worker and self.config.pluginmanager.has_plugin("dsession"):
            self._begin([])  # xdist starts its workers right after this hook: check first, once

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        # Only a run that will test something calls a service: --co, --fixtures, a collection
        # error or nothing selected lock nothing, start no capture server and write no file.
        if self.backend is not None or session.config.option.collectonly or not getattr(session, "items", None):
            return
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            return
        self._begin(session.items)

    def _make_backend(self) -> None:
        backend = self.config.hook.pytest_devsession_make_backend(settings=self.settings, config=self.config)
        if backend is None:
            raise pytest.UsageError(f"pytest-devsession: --devsession-backend: no plugin provides {self.settings.backend!r}")
        self.backend = backend

    def _begin(self, items: list[pytest.Item]) -> None:
        """Before the first test: the artifacts folder, the backend, what earlier runs left
        (main process), the device list (the token and server checks) and the pinned devices."""
        self._check_writable(self.settings.artifacts_dir)
        self._make_backend()
        backend = self.backend
        if not self.is_worker:
            self._maintenance()
        try:
            self.known = backend.devices()
        except AuthenticationError as exc:
            raise pytest.UsageError(f"pytest-devsession: {exc.message}") from None
        except BackendError as exc:
            setting = "--devsession-api-url" if self.settings.backend == "headspin" else "--devsession-device"
            raise pytest.UsageError(
                f"pytest-devsession: {setting}: cannot list devices at {self.device_source}: {exc}") from None
        unknown = [d for d in self.settings.devices if d not in self.known]
        if unknown:
            raise pytest.UsageError(
                f"pytest-devsession: --devsession-device: {', '.join(unknown)} unknown to {self.device_source}; "
                f"its devices are: {', '.join(sorted(self.known)) or 'none'}"
            )
        pinned = [f"{item.nodeid}: @pytest.mark.devsession(device={options.device!r}) is unknown to "
                  f"{self.device_source}; its devices are: {', '.join(sorted(self.known))}"
                  for item in items if (options := item.stash.get(options_key, None)) is not None
                  and options.device and options.device not in self.known]
        if pinned:
            raise pytest.UsageError("pytest-devsession: wrong marker arguments:\n" + "\n".join(pinned))
        # HeadSpin's locks and sessions, and an external capture server's, outlive this process: a
        # run that dies leaves them to the next. The embedded server's end with it; an xdist worker
        # keeps a ledger all the same, so that the main process knows what a crashed worker ran.
        outlives = bool(self.service_url or self.settings.backend == "headspin")
        if outlives or self.is_worker:
            self.ledger = Ledger(self.settings.store_dir / "leases", backend.name, self.service_url,
                                 run=self.run_id, worker=self.worker_id, main=self.main_process, outlives=outlives)
        self.devices.begin(backend, self.known, self.service_url,
                           lambda: self.ledger.path if self.ledger is not None else None)
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, sigterm)

    def _maintenance(self) -> None:
        """Before any test: release what dead runs held, deliver what earlier runs could not."""
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        say = (lambda text: terminal.write_line(f"pytest-devsession: {text}")) if terminal else (lambda text: None)
        for line in release_stale(self.settings.store_dir / "leases", self.backend, self.service_url,
                                  min(self.settings.ready_timeout, 60)):
            say(line)
            self.notes.append(line)
        self.notes += spool_orphans(self.settings.store_dir / "journal", self.spool, self.backend.name,
                                    self.service_url, outcome.EXCLUDED)
        delivered, problems = self.spool.deliver(self.backend, self.service_url)
        if delivered:
            say(f"delivered {delivered} spooled result(s) from earlier runs")
            self.notes.append(f"delivered {delivered} spooled result(s) from earlier runs")
        self.notes += [f"spooled result not delivered yet: {problem}" for problem in problems]
        if self.settings.cleanup or self.settings.flush:
            waiting = self.spool.count()
            pytest.exit(f"pytest-devsession: done ({waiting} result(s) still waiting in the spool)"
                        if waiting else "pytest-devsession: done", returncode=pytest.ExitCode.OK)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        errors = []
        if self.settings.backend == "local":
            from .local.capture.proxy import MITMPROXY_WARNING_FILTERS

            # mitmproxy warns on its own thread for every intercepted TLS connection;
            # under -W error that would abort the handshake. Only item marks come last.
            for item in items:
                for entry in MITMPROXY_WARNING_FILTERS:
                    item.add_marker(pytest.mark.filterwarnings(entry))
        for item in items:
            try:
                options = markers.parse(item)
            except markers.MarkerError as exc:
                errors.append(f"{item.nodeid}: {exc}")
                continue
            item.stash[options_key] = options  # a pinned device is checked against the list in _begin
        if errors:
            raise pytest.UsageError("pytest-devsession: wrong marker arguments:\n" + "\n".join(errors))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session):
        # Before JUnit XML, pytest-html and allure write their files (plain implementations, which
        # every wrapper surrounds): every session closed, every report complete. The innermost
        # wrapper (trylast), inside pytest's warnings wrapper, so that the problems' warnings show.
        try:
            self.release_all()
            self._drain(interrupted=self.ctrl_c_postponed)
            if self.is_worker:
                # The records as closed (reports carried them as they were at the test's end).
                self.config.workeroutput["devsession"] = {"records": self.records, "problems": self.run_problems}
            elif self.backend is not None:
                self._records_final()
        except Exception as exc:  # noqa: BLE001 - a failure of ours never aborts the run
            self.run_problems.append(f"internal error at the end of the run: {type(exc).__name__}: {exc}")
        try:
            return (yield)
        finally:
            if not self.is_worker:
                self._write_manifest()
            if self.interrupted_closing is not None:
                pytest.exit(f"pytest-devsession: KeyboardInterrupt at the end of the run, with "
                            f"{self.interrupted_closing} session(s) still closing",
                            returncode=pytest.ExitCode.INTERRUPTED)

    def _write_manifest(self) -> None:
        self.folders.end_of_run()
        if not (self.tested or self.records):
            return  # a run that tested nothing leaves the last run's manifest as it was
        try:
            self.manifest_path = manifest.write(self.settings.artifacts_dir, self.records)
        except OSError as exc:
            self.run_problems.append(f"cannot write manifest.json: {exc}")

    def _drain(self, interrupted: bool = False) -> None:
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

    def _records_final(self) -> None:
        """Every session of the run is closed: the reporters complete what they showed at each test's end."""
        junit.amend(self.config, self.records)
        for record in self.records:
            placeholder = self.placeholders.get(record.get("session_id") or "")
            if placeholder is not None:
                htmlpath = getattr(self.config.option, "htmlpath", None)
                report_dir = Path(htmlpath).resolve().parent if htmlpath else None
                placeholder["content"] = html_report.artifacts_html(record, report_dir)
        self._hook("records_final", self.run_problems, config=self.config, records=list(self.records))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        # Every worker, a replacement too, shares the run's id (pool, ledgers, folder names).
        node.workerinput["devsession_run"] = self.run_id
        node.workerinput["devsession_main"] = self.main_process

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        output = (getattr(node, "workeroutput", None) or {}).get("devsession") or {}
        # The worker's records as closed replace the ones its reports carried.
        final = output.get("records", [])
        done = {_record_key(r) for r in final}
        self.records = [r for r in self.records if _record_key(r) not in done] + final
        worker = getattr(node, "gateway", None)
        prefix = f"{worker.id}: " if worker is not None else ""
        self.run_problems.extend(prefix + p for p in output.get("problems", []))
        if error is not None and worker is not None and self.backend is not None:
            self._recover(worker.id, error)

    def _recover(self, worker: str, error) -> None:
        """A worker died (a crash, pytest-timeout's thread method): close the capture it left
        open, with the test's evidence, before xdist starts its replacement."""
        for ledger, session_id, info in recovery.dead_worker_sessions(
                self.settings.store_dir / "leases", self.run_id, worker):
            message = f"xdist worker {worker} crashed while running the test ({error})"
            record = recovery.close_session(self.backend, self.settings, self.spool, self.service_url,
                                            ledger, session_id, info, message)
            self.records.append(record)
            self.crashed[record["nodeid"]] = record
            for problem in record["problems"]:
                _warn(f"pytest-devsession: {record['nodeid']}: {problem}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem, report, sched) -> None:
        # xdist's failure report of the test that crashed links the evidence closed above.
        record = self.crashed.get(crashitem)
        if record is None:
            return
        report.user_properties = list(report.user_properties) + junit.properties(record)
        if isinstance(report.longrepr, str):  # JUnit writes a crash's text, not its properties
            evidence = [f"capture session {record['session_id']}: {record.get('url') or 'no link'}"]
            evidence += [f"{name}: {path}" for name, path in record["artifacts"].items()]
            evidence += [f"problem: {problem}" for problem in record["problems"]]
            report.longrepr += "\n\npytest-devsession, the crashed test's capture:\n  " + "\n  ".join(evidence)
        lines = junit.attachment_lines(record)
        if lines:
            report.sections.append(("Captured stdout devsession", lines))
        if self.config.pluginmanager.has_plugin("html"):
            htmlpath = getattr(self.config.option, "htmlpath", None)
            report_dir = Path(htmlpath).resolve().parent if htmlpath else None
            extras = html_report.extras(record)
            for extra in extras:  # closed already, by this process: the artifacts are on disk
                if html_report.is_placeholder(extra, record):
                    extra["content"] = html_report.artifacts_html(record, report_dir)
            report.extras = list(getattr(report, "extras", [])) + extras

    def pytest_unconfigure(self) -> None:
        try:
            self.release_all()
        finally:
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
                self._previous_sigterm = None
            if self.backend is not None:
                self.backend.close()

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.is_worker or self.backend is None:  # nothing began: --co, --fixtures, a marker error
            return
        records = self.records
        summary.write(terminalreporter, records, self.config.option.verbose > 0,
                      str(self.manifest_path) if self.manifest_path else None)
        for problem in self.run_problems:
            terminalreporter.line(f"  run: {problem}", yellow=True)
        for note in self.notes:
            terminalreporter.line(f"  before the run: {note}")
        waiting = self.spool.count()
        if waiting:
            terminalreporter.line(
                f"{waiting} result(s) waiting in the spool ({self.spool.folder}): the next run delivers them, "
                "or pytest --devsession --devsession-flush", yellow=True)

    def release_all(self) -> None:
        """Stop every capture still open and unlock every device: the run's leases.

        A second Ctrl-C while this runs is noted, not obeyed: leaving now would
        leave the device locked for everyone else.
        """
        for nodeid in list(self.pending):  # closed, but their teardown report never came
            self._keep(self._deliver(nodeid))
        if self.backend is None:
            return
        if not (self.open or self.devices.busy()):
            self.devices.sweep()
            return
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._postpone) if main else None
        try:
            deadline = min(self.settings.ready_timeout, 60)
            for session_id, item in list(self.open.items()):
                state = item.stash.get(state_key, None)
                if state is not None and state.session_id == session_id and not state.finished:
                    # The test never reached its teardown (Ctrl-C, SIGTERM): close it as far as is quick.
                    try:
                        record = self.finish(item, interrupted=True)
                        if record is not None:
                            self.records.append(record)
                            self.late_records.append(record)
                    except Exception as exc:  # noqa: BLE001
                        self.run_problems.append(f"could not close the capture of {item.nodeid}: {exc}")
                if session_id not in self.open:
                    continue
                try:
                    self.backend.stop_capture(session_id, time.monotonic() + deadline)
                    self._ledger("close_session", session_id)
                except Exception as exc:  # noqa: BLE001 - reported, never raised at the end of a run
                    self.run_problems.append(f"could not stop capture {session_id}: {exc}")
                finally:
                    self.open.pop(session_id, None)
            self.devices.release()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _postpone(self, signum, frame) -> None:
        """Ctrl-C while the run releases its leases: finish releasing first, then act on it."""
        self.ctrl_c_postponed = True

    def _ledger(self, action: str, *args, **kwargs) -> None:
        if self.ledger is not None:
            try:
                getattr(self.ledger, action)(*args, **kwargs)
            except OSError as exc:
                self.run_problems.append(f"cannot write the lease ledger {self.ledger.path}: {exc}")

    # test --------------------------------------------------------------
    def _options(self, item: pytest.Item) -> markers.MarkerOptions:
        if options_key not in item.stash:
            item.stash[options_key] = markers.parse(item)
        return item.stash[options_key]

    def wants_capture(self, options: markers.MarkerOptions) -> bool:
        return options.capture and (self.settings.capture == "all" or options.marked)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        # One protocol runs every attempt of a test (pytest-rerunfailures loops inside it).
        item.stash[reports_key] = []
        item.stash[earlier_key] = []

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # A plain implementation: it runs after the skip marks (tryfirst) and
        # before the test's fixtures, so skipped tests open no capture.
        # Each attempt (pytest-rerunfailures runs a failed test again) has its own
        # session, measurements and report properties.
        item.stash[handle_key] = DevSession(nodeid=item.nodeid)
        if state_key in item.stash:
            del item.stash[state_key]
        item.user_properties[:] = [p for p in item.user_properties if not junit.is_ours(p)]
        options = self._options(item)
        handle = item.stash[handle_key]
        handle.userflow = options.userflow or self.settings.userflow
        if not self.wants_capture(options):
            return
        with timeout_paused(item):  # a per-test timeout measures the test, not the capture's start
            self._open_capture(item, options, handle)

    def _open_capture(self, item: pytest.Item, options: markers.MarkerOptions, handle: DevSession) -> None:
        """Take a device, lock it once, start the capture and wait until it is ready."""
        address = self.devices.take(item, options.device)
        device = self.devices.lock(address)
        folder = self.folders.take(item.nodeid)
        try:
            with deferred_signals():  # a create half done would open a session we never hear of
                session_id = self.backend.start_capture(device, CaptureOptions(
                    item.nodeid, options.mitm_ignore, options.network_keep_in_session_patterns))
        except AuthenticationError as exc:
            stop_run(exc)
        except BackendError as exc:
            if exc.status is None:  # no answer: the session may exist all the same
                self.devices.uncertain.add(address)
            pytest.fail(f"pytest-devsession could not start a capture on {address}: {exc}", pytrace=False)
        except BaseException:
            self.devices.uncertain.add(address)
            raise
        item.stash[state_key] = CaptureState(session_id, device, folder, options)
        self.open[session_id] = item
        self._ledger("open_session", session_id, address, nodeid=item.nodeid, userflow=handle.userflow,
                     folder=str(folder), artifacts=list(options.artifacts if options.artifacts is not None
                                                        else self.settings.artifacts))
        handle.session_id, handle.device_address, handle.artifacts_dir = session_id, address, folder
        handle.url = self.backend.session_url(session_id)
        try:
            self.backend.wait_ready(session_id, time.monotonic() + self.settings.ready_timeout)
        except AuthenticationError as exc:
            stop_run(exc)
        except BackendError as exc:
            pytest.fail(f"pytest-devsession: capture {session_id} on {address} did not become ready within "
                        f"{self.settings.ready_timeout:g} s (--devsession-ready-timeout): {exc}", pytrace=False)
        environment = self.backend.session_environment(session_id)
        handle.proxy_url, handle.ca_cert_path = environment.get("proxy_url"), environment.get("ca_cert_path")
        handle._backend = self.backend
        if handle.userflow or self.is_worker:  # a worker's crash must not take its measurements along
            handle._journal = Journal(self.settings.store_dir / "journal", {
                "session_id": session_id, "nodeid": item.nodeid, "userflow": handle.userflow,
                "backend": self.backend.name, "api_url": self.service_url,
                "main": self.main_process if self.is_worker else None})
        self._hook("session_started", [], item=item, session_id=session_id, device_address=address)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        try:
            return (yield)
        finally:
            # The test's last moment, before any fixture quits a browser: the video ends here.
            state = item.stash.get(state_key, None)
            call_ended = getattr(self.backend, "call_ended", None)
            if state is not None and call_ended is not None:
                try:
                    call_ended(state.session_id)
                except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
                    _warn(f"pytest-devsession: {item.nodeid}: cannot end the recording: {type(exc).__name__}: {exc}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        report = yield
        if report.when == "setup":  # an attempt begins
            item.stash[reports_key] = []
        # The same objects pytest-rerunfailures marks "rerun" before it logs them.
        item.stash.setdefault(reports_key, []).append(report)
        if report.when == "teardown":
            # The test is over: a per-test timeout (pytest-timeout) measures the test, not the stop,
            # the wait for the capture to complete and the downloads that follow.
            cancel_timer = getattr(self.config.hook, "pytest_timeout_cancel_timer", None)
            try:
                if cancel_timer is not None:
                    cancel_timer(item=item)
                self.finish(item)
            # pytest.fail() (pytest-timeout's own timeout among them) is no Exception: caught as well,
            # a failure of ours never changes the outcome or aborts the run.
            except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001
                _warn(f"pytest-devsession: {item.nodeid}: internal error after the "
                      f"test: {type(exc).__name__}: {exc}")
            finally:
                self.devices.give_back(item)  # the capture is closed: the device is free for any process
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report) -> None:
        # tryfirst: the verdict is on the report before xdist sends it on and junitxml reads it.
        self.tested = True
        self.background.run_soon()
        if report.when == "teardown" and report.nodeid in self.pending:
            self._deliver(report.nodeid, report)
        record = getattr(report, "devsession", None)
        if report.when == "teardown" and record:
            self.records.append(record)
            for extra in getattr(report, "extras", None) or ():
                if html_report.is_placeholder(extra, record):
                    self.placeholders[record["session_id"]] = extra

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.background.run_soon()
        # The attempt ended without a teardown report in the log (pytest-rerunfailures before
        # 16 leaves it out for an attempt it reruns): give the verdict all the same.
        if nodeid in self.pending:
            self._keep(self._deliver(nodeid))

    def _keep(self, record: dict | None) -> None:
        """A record that no report carries: it reaches the manifest here (through the main process)."""
        if record is not None:
            self.records.append(record)
            self.late_records.append(record)

    def finish(self, item: pytest.Item, interrupted: bool = False) -> dict | None:
        """Close the test's capture: stop it and download its artifacts; never raises for a service's failure.

        The verdict (name, status, measurements) follows with the attempt's teardown
        report (``_deliver``): only then is it known whether pytest-rerunfailures runs
        the test again. ``interrupted``: the run is ending before the test's teardown
        report; the verdict follows at once, and artifacts are not downloaded, so that
        Ctrl-C stays quick.
        """
        if item.nodeid in self.pending:  # an earlier attempt's verdict never came: give it first
            self._keep(self._deliver(item.nodeid))
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
        record = {
            "nodeid": item.nodeid, "backend": self.backend.name if state else None,
            "session_id": state.session_id if state else None,
            "device_address": state.device.address if state else None,
            "userflow": handle.userflow if handle else None,
            "status": status, "status_message": message,
            "url": handle.url if handle else None,
            "artifacts": {}, "artifact_details": {}, "artifact_bytes": 0, "measurements": measurements,
            "measurements_uploaded": False, "problems": [],
            # pytest-rerunfailures counts attempts on the item, from 1.
            "attempt": getattr(item, "execution_count", None) or 1, "final": True,
        }
        # Pending from here: an interruption while closing still leaves a verdict to give.
        self.pending[item.nodeid] = Attempt(item, record, reports, state, handle)
        if state is not None:
            state.closed = True
            # Two jobs close it: the downloads (submitted here) and the verdict (with the teardown report).
            self.closing[id(record)] = [2, item, record]
            try:
                self._close_capture(item, state, record, download=not interrupted)
            except BaseException:
                self._job_done(record, state)
                raise
        if interrupted:
            self._deliver(item.nodeid)
        return record

    def _job_done(self, record: dict, state: CaptureState) -> None:
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
            self._ledger("close_session", state.session_id)
        try:
            self.backend.discard(state.session_id)
        except Exception as exc:  # noqa: BLE001
            record["problems"].append(f"cannot free what the session held: {exc}")
        self.background.call_soon(lambda: self._closed(entry[1], record))

    def _closed(self, item: pytest.Item, record: dict) -> None:
        """A session is closed (pytest's thread): its artifacts are on disk, its verdict delivered or spooled."""
        if record["artifacts"]:
            self._hook("artifacts_collected", record["problems"], item=item, record=record,
                       artifacts=dict(record["artifacts"]))
        for problem in record["problems"]:
            _warn(f"pytest-devsession: {item.nodeid}: {problem}")

    def _deliver(self, nodeid: str, report=None) -> dict:
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
                self._ledger("mark_session", state.session_id, status=record["status"],
                             status_message=record["status_message"], attempt=record["attempt"], final=record["final"])
                self.background.submit(lambda: self._verdict_job(item, state, record, handle),
                                       cancel=lambda: self._spool_verdict(item, state, record, handle))
            elif record["measurements"]:
                record["problems"].append("measurements not uploaded: the test ran without a capture session")
            self._hook("session_finished", record["problems"], item=item, record=record)
            if state is None:
                for problem in record["problems"]:
                    _warn(f"pytest-devsession: {item.nodeid}: {problem}")
            if report is not None:
                self._attach(item, report, record)
        # As after the test: a failure of ours never changes the outcome or aborts the run.
        except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001
            _warn(f"pytest-devsession: {item.nodeid}: internal error after the test: {type(exc).__name__}: {exc}")
        return record

    def _spool_verdict(self, item: pytest.Item, state: CaptureState, record: dict, handle) -> None:
        """The run was interrupted before the verdict went out: it waits in the spool for the next run."""
        try:
            userflow = record["userflow"]
            if userflow:
                common = dict(session_id=state.session_id, userflow=userflow)
                self.spool.put("status", self.backend.name, self.service_url, description=state.options.userflow_description,
                               status=record["status"], message=record["status_message"], **common)
                if record["measurements"]:
                    self.spool.put("measurements", self.backend.name, self.service_url,
                                   measurements=record["measurements"], **common)
                record["spooled"] = record.get("spooled", 0) + 1
                record["problems"].append("status and measurements kept in the spool: the run was interrupted")
            if handle is not None and handle._journal is not None:
                handle._journal.close()
                handle._journal = None
        except OSError as exc:
            record["problems"].append(f"cannot write the spool: {exc}; the journal keeps the measurements")
        finally:
            self._job_done(record, state)

    def _verdict_job(self, item: pytest.Item, state: CaptureState, record: dict, handle) -> None:
        try:
            self._give_verdict(item, state, record)
            self._ledger("mark_session", state.session_id, verdict_sent=True)  # delivered or spooled
            state.finished = True
            if handle is not None and handle._journal is not None:
                handle._journal.close()  # delivered or spooled by now
                handle._journal = None
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            record["problems"].append(f"internal error after the test: {type(exc).__name__}: {exc}")
        finally:
            self._job_done(record, state)

    def _step(self, record: dict, label: str, action, spool=None) -> bool:
        """One request after the test: its failure becomes a problem of the record (spooled when it may pass later)."""
        problems = record["problems"]
        try:
            action()
            return True
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            if spool is not None and transient(exc):
                try:
                    self.spool.put(spool[0], self.backend.name, self.service_url, **spool[1])
                    problems.append(f"{_describe(label, exc)}; kept in the spool for a later run")
                    record["spooled"] = record.get("spooled", 0) + 1
                    return False
                except OSError as spool_error:
                    problems.append(f"cannot write the spool: {spool_error}")
            problems.append(_describe(label, exc))
            return False

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
            self._ledger("mark_session", session_id, stopped=True)
        mode = self.settings.download
        exts = state.options.artifacts if state.options.artifacts is not None else self.settings.artifacts
        if mode == "off" or (mode == "only-on-failure" and record["status"] != outcome.FAILED) or not exts:
            self._job_done(record, state)
            return
        if not download:
            problems.append("artifacts not downloaded: the run was interrupted")
            self._job_done(record, state)
            return
        if not stopped:
            problems.append("artifacts not downloaded: the capture did not complete")
            self._job_done(record, state)
            return
        self.background.submit(lambda: self._download_job(item, state, record, exts),
                               cancel=lambda: self._cancelled_download(record, state))

    def _cancelled_download(self, record: dict, state: CaptureState) -> None:
        record["problems"].append("artifacts not downloaded: the run was interrupted")
        self._job_done(record, state)

    def _download_job(self, item: pytest.Item, state: CaptureState, record: dict, exts) -> None:
        try:
            self._download(item, state, record, exts)
        except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
            record["problems"].append(f"internal error while downloading: {type(exc).__name__}: {exc}")
        finally:
            self._job_done(record, state)

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
        self._step(record, "name the session",
                   lambda: self.backend.annotate(session_id, Annotation(item.nodeid, doc, tags)))
        userflow = record["userflow"]
        if userflow:
            description = state.options.userflow_description
            self._step(record, "set the user flow status", lambda: self.backend.report_status(
                session_id, userflow, description, record["status"], record["status_message"]),
                spool=("status", dict(session_id=session_id, userflow=userflow, description=description,
                                      status=record["status"], message=record["status_message"])))
            if record["measurements"]:
                record["measurements_uploaded"] = self._step(
                    record, "upload measurements",
                    lambda: self.backend.upload_measurements(session_id, userflow, record["measurements"]),
                    spool=("measurements", dict(session_id=session_id, userflow=userflow,
                                                measurements=record["measurements"])))
        elif record["measurements"]:
            record["problems"].append(f"{len(record['measurements'])} measurement(s) not uploaded: the test has no "
                                      "user flow (add @pytest.mark.userflow or --devsession-userflow)")

    def _hook(self, name: str, problems: list, **kwargs) -> None:
        """Call one of our hooks; a plugin's exception there is a problem to report, not a crash."""
        try:
            getattr(self.config.hook, f"pytest_devsession_{name}")(**kwargs)
        except Exception as exc:  # noqa: BLE001
            message = f"a pytest_devsession_{name} hook raised {type(exc).__name__}: {exc}"
            if problems is not None:
                problems.append(message)
            if name == "session_started":
                _warn(f"pytest-devsession: {message}")

    def _attach(self, item: pytest.Item, report, record: dict) -> None:
        """What the reports show at the test's end; the artifacts, downloaded in the background,
        join them when the run has closed every session (``_records_final``)."""
        report.devsession = record  # plain data: it reaches the main process and the manifest
        if not record["final"]:
            return  # the final attempt's testcase and row link this session
        props = junit.properties(record, artifacts=False)
        item.user_properties.extend(props)
        report.user_properties.extend(props)
        if self.config.pluginmanager.has_plugin("html"):
            report.extras = list(getattr(report, "extras", [])) + html_report.extras(record)


def _record_key(record: dict) -> tuple:
    return record.get("nodeid"), record.get("attempt"), record.get("session_id")


def _reruns_allowed(item: pytest.Item) -> int | None:
    """How many reruns pytest-rerunfailures allows this test (for the message only)."""
    try:
        from pytest_rerunfailures import get_reruns_count

        return get_reruns_count(item)
    except Exception:  # noqa: BLE001 - another version, or another plugin that marks reports "rerun"
        return None


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
