"""pytest's hooks, translated into the run's steps.

Registered as a named plugin only when ``--devsession`` is on. Around a test: take a device and
lock it once (``devices.py``) → start → wait until ready → test → stop → wait until complete;
then, off the test's critical path, the verdict and the downloads (``closing.py`` on the pool of
``background.py``). What the run leaves on disk for the next one (ledger, journal, spool) and what
a dead worker left (``recovery.py``) are handled here at the run's start and end. Per-test state
lives in ``item.stash``; only plain dicts go on reports.
"""
from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from . import markers, outcome, recovery
from .backends.base import (
    AuthenticationError,
    BackendError,
    CallEnd,
    CaptureOptions,
    Device,
    Links,
    Proxied,
)
from .background import Background
from .closing import (  # noqa: F401
    CaptureState,
    Closer,
    DevSessionWarning,
    _warn,
    earlier_key,
    options_key,
    record_key,
    reports_key,
    state_key,
)
from .devices import Devices, stop_run
from .record import SessionRecord
from .folders import Folders
from .handle import DevSession, handle_key
from .journal import Journal, spool_orphans
from .leases import Ledger, process_info, release_stale
from .reporting import junit, manifest, summary
from .signals import deferred_signals, sigterm, timeout_paused
from .spool import Spool


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
        self.run_problems: list[str] = []
        self.folders = Folders(settings.artifacts_dir, self.run_id)
        self.manifest_path: Path | None = None
        self.notes: list[str] = []
        self.spool = Spool(settings.store_dir / "spool")
        # Naming, status, measurements and downloads, while the next test runs (background.py).
        self.background = Background(settings.background)
        self.ctrl_c_postponed = False  # Ctrl-C came while the leases were being released
        # Where the backend's sessions live and where its devices come from: the backend's, once made.
        self.service_url: str | None = None
        self.device_source = ""
        self.ledger: Ledger | None = None
        self._previous_sigterm = None
        # Which test holds which device, the locks at the service (devices.py); checks the worker count.
        self.devices = Devices(config, settings, self.run_id, self.run_problems, self.open, self._ledger)
        # Each session from its stop to its record (closing.py).
        self.closer = Closer(config, settings, self.background, self.spool, self.run_problems, self.open,
                             self._ledger, self._hook)
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
        self.service_url, self.device_source = backend.service_url, backend.device_source

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
            setting = backend.devices_setting
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
        # The backend's locks and sessions that outlive this process (HeadSpin's, an external capture
        # server's) are left to the next run when this one dies; an xdist worker keeps a ledger all
        # the same, so that the main process knows what a crashed worker ran.
        outlives = backend.outlives_process
        if outlives or self.is_worker:
            self.ledger = Ledger(self.settings.store_dir / "leases", backend.name, self.service_url,
                                 run=self.run_id, worker=self.worker_id, main=self.main_process, outlives=outlives)
        self.closer.backend, self.closer.service_url = backend, self.service_url
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
            self.closer.drain(interrupted=self.ctrl_c_postponed)
            if self.is_worker:
                # The records as closed (reports carried them as they were at the test's end).
                self.config.workeroutput["devsession"] = {"records": [r.to_dict() for r in self.closer.records],
                                                          "problems": self.run_problems}
            elif self.backend is not None:
                self.closer.records_final()
        except Exception as exc:  # noqa: BLE001 - a failure of ours never aborts the run
            self.run_problems.append(f"internal error at the end of the run: {type(exc).__name__}: {exc}")
        try:
            return (yield)
        finally:
            if not self.is_worker:
                self._write_manifest()
            if self.closer.interrupted_closing is not None:
                pytest.exit(f"pytest-devsession: KeyboardInterrupt at the end of the run, with "
                            f"{self.closer.interrupted_closing} session(s) still closing",
                            returncode=pytest.ExitCode.INTERRUPTED)

    def _write_manifest(self) -> None:
        self.folders.end_of_run()
        if not (self.tested or self.closer.records):
            return  # a run that tested nothing leaves the last run's manifest as it was
        try:
            self.manifest_path = manifest.write(self.settings.artifacts_dir, self.closer.records)
        except OSError as exc:
            self.run_problems.append(f"cannot write manifest.json: {exc}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        # Every worker, a replacement too, shares the run's id (pool, ledgers, folder names).
        node.workerinput["devsession_run"] = self.run_id
        node.workerinput["devsession_main"] = self.main_process

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        output = (getattr(node, "workeroutput", None) or {}).get("devsession") or {}
        # The worker's records as closed replace the ones its reports carried.
        final = [SessionRecord.of(r) for r in output.get("records", [])]
        done = {record_key(r) for r in final}
        self.closer.records = [r for r in self.closer.records if record_key(r) not in done] + final
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
            self.closer.records.append(record)
            self.crashed[record["nodeid"]] = record
            for problem in record["problems"]:
                _warn(f"pytest-devsession: {record['nodeid']}: {problem}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem, report, sched) -> None:
        # xdist's failure report of the test that crashed links the evidence closed above.
        record = self.crashed.get(crashitem)
        if record is None:
            return
        recovery.link_evidence(report, record, self.config)

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
        records = self.closer.records
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
        for nodeid in list(self.closer.pending):  # closed, but their teardown report never came
            self.closer.keep(self.closer.deliver(nodeid))
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
                        self.closer.keep(self.closer.finish(item, interrupted=True))
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
        handle.url = self.backend.session_url(session_id) if isinstance(self.backend, Links) else None
        try:
            self.backend.wait_ready(session_id, time.monotonic() + self.settings.ready_timeout)
        except AuthenticationError as exc:
            stop_run(exc)
        except BackendError as exc:
            pytest.fail(f"pytest-devsession: capture {session_id} on {address} did not become ready within "
                        f"{self.settings.ready_timeout:g} s (--devsession-ready-timeout): {exc}", pytrace=False)
        environment = self.backend.session_environment(session_id) if isinstance(self.backend, Proxied) else {}
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
            if state is not None and isinstance(self.backend, CallEnd):
                try:
                    self.backend.call_ended(state.session_id)
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
                self.closer.finish(item)
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
        self.closer.logged(report)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.closer.attempt_ended(nodeid)

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

