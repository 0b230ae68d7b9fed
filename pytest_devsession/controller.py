"""pytest's hooks, translated into the run's steps.

Registered as a named plugin only when ``--devsession`` is on. Around a test: take a device and
lock it once, start, wait until ready (``opening.py``) → test → stop, wait until complete; then,
off the test's critical path, the verdict and the downloads (``closing.py`` on the pool of
``background.py``). The run's start and end (the backend, what earlier runs left, releasing every
lease, the manifest and the summary) are ``run.py``'s; a dead xdist worker's captures are closed
by ``recovery.py``. Per-test state lives in ``item.stash`` (``state.py``); only plain dicts go on reports.
"""
from __future__ import annotations

import pytest

from . import markers, recovery
from .backends.base import CallEnd
from .handle import DevSession, handle_key
from .record import SessionRecord
from .reporting import junit
from .run import Run
from .scopes import Scopes
from .signals import timeout_paused
from .state import DevSessionWarning, earlier_key, options_key, reports_key, state_key, warn  # noqa: F401


next_key = pytest.StashKey[object]()  # the test this process runs next (None: the last)


class Controller:
    def __init__(self, config: pytest.Config, settings) -> None:
        self.config = config
        self.settings = settings
        self.run = Run(config, settings)
        # The capture a class, module or run shares (--devsession-scope); a test's own otherwise.
        self.run.scopes = self.run.closer.scopes = Scopes(self.run, self._options, self.wants_capture)

    # the run -----------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        run = self.run
        if self.settings.cleanup or self.settings.flush:
            run.make_backend()
            run.maintenance()  # exits
        elif not run.is_worker and self.config.pluginmanager.has_plugin("dsession"):
            run.begin([])  # xdist starts its workers right after this hook: check first, once

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        # Only a run that will test something calls a service: --co, --fixtures, a collection
        # error or nothing selected lock nothing, start no capture server and write no file.
        if self.run.backend is not None or session.config.option.collectonly or not getattr(session, "items", None):
            return
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            return
        self.run.begin(session.items)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        errors = []
        for item in items:
            try:
                options = markers.parse(item)
            except markers.MarkerError as exc:
                errors.append(f"{item.nodeid}: {exc}")
                continue
            item.stash[options_key] = options  # a pinned device is checked against the list in Run.begin
        if errors:
            raise pytest.UsageError("pytest-devsession: wrong marker arguments:\n" + "\n".join(errors))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session):
        # Before JUnit XML, pytest-html and allure write their files (plain implementations, which
        # every wrapper surrounds): every session closed, every report complete. The innermost
        # wrapper (trylast), inside pytest's warnings wrapper, so that the problems' warnings show.
        run = self.run
        try:
            run.release_all(interrupted=session.exitstatus == pytest.ExitCode.INTERRUPTED)
            run.closer.drain(interrupted=run.ctrl_c_postponed)
            if run.is_worker:
                # The records as closed (reports carried them as they were at the test's end).
                self.config.workeroutput["devsession"] = {"records": [r.to_dict() for r in run.closer.records],
                                                          "problems": run.problems}
            elif run.backend is not None:
                run.closer.records_final()
        except Exception as exc:  # noqa: BLE001 - a failure of ours never aborts the run
            run.problems.append(f"internal error at the end of the run: {type(exc).__name__}: {exc}")
        try:
            return (yield)
        finally:
            if not run.is_worker:
                run.write_manifest()
            if run.closer.interrupted_closing is not None:
                pytest.exit(f"pytest-devsession: KeyboardInterrupt at the end of the run, with "
                            f"{run.closer.interrupted_closing} session(s) still closing",
                            returncode=pytest.ExitCode.INTERRUPTED)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        # Every worker, a replacement too, shares the run's id (pool, ledgers, folder names).
        node.workerinput["devsession_run"] = self.run.run_id
        node.workerinput["devsession_main"] = self.run.main_process

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        closer = self.run.closer
        output = (getattr(node, "workeroutput", None) or {}).get("devsession") or {}
        # The worker's records as closed replace the ones its reports carried.
        final = [SessionRecord.of(r) for r in output.get("records", [])]
        done = {r.key for r in final}
        closer.records = [r for r in closer.records if r.key not in done] + final
        worker = getattr(node, "gateway", None)
        prefix = f"{worker.id}: " if worker is not None else ""
        self.run.problems.extend(prefix + p for p in output.get("problems", []))
        if error is not None and worker is not None and self.run.backend is not None:
            self.run.recover(worker.id, error)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem, report, sched) -> None:
        # xdist's failure report of the test that crashed links the evidence closed above.
        record = self.run.crashed.get(crashitem)
        if record is not None:
            recovery.link_evidence(report, record, self.config)

    def pytest_unconfigure(self) -> None:
        self.run.close()

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.run.is_worker and self.run.backend is not None:  # not for --co, --fixtures, a marker error
            self.run.summary(terminalreporter)

    def release_all(self) -> None:
        self.run.release_all()

    # a test ------------------------------------------------------------------------
    def _options(self, item: pytest.Item) -> markers.MarkerOptions:
        if options_key not in item.stash:
            item.stash[options_key] = markers.parse(item)
        return item.stash[options_key]

    def wants_capture(self, options: markers.MarkerOptions) -> bool:
        return options.capture and (self.settings.capture == "all" or options.marked)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        # One protocol runs every attempt of a test (pytest-rerunfailures loops inside it).
        item.stash[reports_key] = []
        item.stash[earlier_key] = []
        item.stash[next_key] = nextitem  # whether a capture its scope shares goes on after it

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # A plain implementation: it runs after the skip marks (tryfirst) and
        # before the test's fixtures, so skipped tests open no capture.
        # Each attempt (pytest-rerunfailures runs a failed test again) has its own
        # session, measurements and report properties.
        handle = item.stash[handle_key] = DevSession(nodeid=item.nodeid)
        if state_key in item.stash:
            del item.stash[state_key]
        item.user_properties[:] = [p for p in item.user_properties if not junit.is_ours(p)]
        options = self._options(item)
        handle.userflow = options.userflow or self.settings.userflow
        if not self.wants_capture(options):
            return
        with timeout_paused(item):  # a per-test timeout measures the test, not the capture's start
            self.run.scopes.enter(item, options, handle)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        try:
            return (yield)
        finally:
            # The test's last moment, before any fixture quits a browser: the video ends here.
            state = item.stash.get(state_key, None)
            backend = self.run.backend
            if state is not None and isinstance(backend, CallEnd):
                try:
                    backend.call_ended(state.part.id(state.session_id) if state.part else state.session_id)
                except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
                    warn(f"pytest-devsession: {item.nodeid}: cannot end the recording: {type(exc).__name__}: {exc}")

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
                self.run.closer.finish(item)
            # pytest.fail() (pytest-timeout's own timeout among them) is no Exception: caught as well,
            # a failure of ours never changes the outcome or aborts the run.
            except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001
                warn(f"pytest-devsession: {item.nodeid}: internal error after the "
                     f"test: {type(exc).__name__}: {exc}")
            finally:
                self.run.devices.give_back(item)  # the capture is closed: the device is free for any process
                self._after(item)
        return report

    def _after(self, item: pytest.Item) -> None:
        """The test's teardown is over: the capture its scope shares ends when the next test is not in it."""
        try:
            with timeout_paused(item):
                self.run.scopes.after(item, item.stash.get(next_key, None))
        except (Exception, pytest.fail.Exception) as exc:  # noqa: BLE001 - never the test's outcome
            warn(f"pytest-devsession: {item.nodeid}: cannot close the capture of its {self.settings.scope}: "
                 f"{type(exc).__name__}: {exc}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report) -> None:
        # tryfirst: the verdict is on the report before xdist sends it on and junitxml reads it.
        self.run.tested = True
        self.run.closer.logged(report)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.run.closer.attempt_ended(nodeid)
