"""The run as a whole: what it holds from its first test to its end, and what it does at both ends.

Before the first test (``begin``): the artifacts folder, the backend (made by whichever plugin
answers ``pytest_devsession_make_backend``), what earlier runs left (``maintenance``: dead runs'
leases released, spooled results delivered), the device list and the pinned devices, the lease
ledger. At the end: every capture stopped and every device unlocked (``release_all``, whatever
ends the run), the manifest, the terminal summary. The controller calls this from pytest's hooks.
"""
from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from . import outcome, recovery
from .backends.base import AuthenticationError, BackendError, Device, Parts
from .background import Background
from .closing import Closer
from .devices import Devices
from .folders import Folders
from .journal import spool_orphans
from .leases import Ledger, process_info, release_stale
from .reporting import manifest, summary
from .signals import sigterm
from .spool import Spool
from .state import options_key, state_key, warn


class Run:
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
        self.crashed: dict[str, object] = {}  # node id -> record of a test whose worker died under it
        self.backend = None
        self.known: dict[str, Device] = {}
        self.open: dict[str, pytest.Item] = {}  # session id -> the test whose capture it is
        self.problems: list[str] = []
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
        self.devices = Devices(config, settings, self.run_id, self.problems, self.open, self.write_ledger)
        # Each session from its stop to its record (closing.py).
        self.closer = Closer(config, settings, self.background, self.spool, self.problems, self.open,
                             self.write_ledger, self.hook)
        self.tested = False  # a test of this run reported: its manifest replaces the last one
        self.scopes = None  # scopes.Scopes, set by the controller
        self.enrichers: list = []  # what adds to each test's evidence after it (DevRev's app session)

    # the start ---------------------------------------------------------------------
    def make_backend(self) -> None:
        backend = self.config.hook.pytest_devsession_make_backend(settings=self.settings, config=self.config)
        if backend is None:
            raise pytest.UsageError(f"pytest-devsession: --devsession-backend: no plugin provides {self.settings.backend!r}")
        self.backend = backend
        self.service_url, self.device_source = backend.service_url, backend.device_source

    def begin(self, items: list[pytest.Item]) -> None:
        """Before the first test: the artifacts folder, the backend, what earlier runs left
        (main process), the device list (the token and server checks) and the pinned devices."""
        _check_writable(self.settings.artifacts_dir)
        self.make_backend()
        backend = self.backend
        if not self.is_worker:
            self.maintenance()
        try:
            self.known = backend.devices()
        except AuthenticationError as exc:
            raise pytest.UsageError(f"pytest-devsession: {exc.message}") from None
        except BackendError as exc:
            raise pytest.UsageError(f"pytest-devsession: {backend.devices_setting}: cannot list devices at "
                                    f"{self.device_source}: {exc}") from None
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
        if not isinstance(backend, Parts):  # before any device is locked
            shared = ([f"--devsession-scope {self.settings.scope}"] if self.settings.scope != "test" else []) + \
                [f"{item.nodeid}: @pytest.mark.devsession(scope={options.scope!r})" for item in items
                 if (options := item.stash.get(options_key, None)) is not None and options.scope not in (None, "test")]
            if shared:
                raise pytest.UsageError(
                    f"pytest-devsession: the {backend.name} backend cannot share one capture between tests "
                    f"(accepted scope: test): {'; '.join(shared[:3])}{' ...' if len(shared) > 3 else ''}")
        # The backend's locks and sessions that outlive this process (HeadSpin's, an external capture
        # server's) are left to the next run when this one dies; an xdist worker keeps a ledger all
        # the same, so that the main process knows what a crashed worker ran.
        outlives = backend.outlives_process
        if outlives or self.is_worker:
            self.ledger = Ledger(self.settings.store_dir / "leases", backend.name, self.service_url,
                                 run=self.run_id, worker=self.worker_id, main=self.main_process, outlives=outlives)
        self.closer.backend, self.closer.service_url = backend, self.service_url
        for answer in self.config.hook.pytest_devsession_make_enrichers(settings=self.settings, config=self.config):
            for enricher in answer if isinstance(answer, (list, tuple)) else [answer]:
                if enricher is not None:
                    enricher.begin()  # a usage error for bad input, before any device is locked
                    self.enrichers.append(enricher)
        self.closer.enrichers = self.enrichers
        self.devices.begin(backend, self.known, self.service_url,
                           lambda: self.ledger.path if self.ledger is not None else None)
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, sigterm)

    def maintenance(self) -> None:
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

    # a dead worker -----------------------------------------------------------------
    def recover(self, worker: str, error) -> None:
        """A worker died (a crash, pytest-timeout's thread method): close the capture it left
        open, with the test's evidence, before xdist starts its replacement."""
        for ledger, session_id, info in recovery.dead_worker_sessions(
                self.settings.store_dir / "leases", self.run_id, worker):
            message = f"xdist worker {worker} crashed while running the test ({error})"
            record = recovery.close_session(self.backend, self.settings, self.spool, self.service_url,
                                            ledger, session_id, info, message)
            self.closer.records.append(record)
            self.crashed[record.nodeid] = record
            for problem in record.problems:
                warn(f"pytest-devsession: {record.nodeid}: {problem}")

    # the end -----------------------------------------------------------------------
    def release_all(self, interrupted: bool = True) -> None:
        """Stop every capture still open and unlock every device: the run's leases.

        A second Ctrl-C while this runs is noted, not obeyed: leaving now would
        leave the device locked for everyone else. ``interrupted=False``: the run stopped
        early (``-x``, ``--maxfail``), not by Ctrl-C: a shared capture's tests still get
        their downloads.
        """
        for nodeid in list(self.closer.pending):  # closed, but their teardown report never came
            self.closer.keep(self.closer.deliver(nodeid))
        if self.backend is None:
            return
        if self.scopes is not None:
            self.scopes.close_all(interrupted=interrupted)
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
                        self.problems.append(f"could not close the capture of {item.nodeid}: {exc}")
                if session_id not in self.open:
                    continue
                try:
                    self.backend.stop_capture(session_id, time.monotonic() + deadline)
                    self.write_ledger("close_session", session_id)
                except Exception as exc:  # noqa: BLE001 - reported, never raised at the end of a run
                    self.problems.append(f"could not stop capture {session_id}: {exc}")
                finally:
                    self.open.pop(session_id, None)
            self.devices.release()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _postpone(self, signum, frame) -> None:
        """Ctrl-C while the run releases its leases: finish releasing first, then act on it."""
        self.ctrl_c_postponed = True

    def close(self) -> None:
        """The last thing of the run (``pytest_unconfigure``): the leases, the signal handler, the backend."""
        try:
            self.release_all()
        finally:
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
                self._previous_sigterm = None
            if self.backend is not None:
                self.backend.close()
            for enricher in self.enrichers:
                try:
                    enricher.close()
                except Exception:  # noqa: BLE001 - the run is over
                    pass

    def write_manifest(self) -> None:
        self.folders.end_of_run()
        if not (self.tested or self.closer.records):
            return  # a run that tested nothing leaves the last run's manifest as it was
        try:
            self.manifest_path = manifest.write(self.settings.artifacts_dir, self.closer.records)
        except OSError as exc:
            self.problems.append(f"cannot write manifest.json: {exc}")

    def summary(self, terminalreporter) -> None:
        summary.write(terminalreporter, self.closer.records, self.config.option.verbose > 0,
                      str(self.manifest_path) if self.manifest_path else None)
        for problem in self.problems:
            terminalreporter.line(f"  run: {problem}", yellow=True)
        for note in self.notes:
            terminalreporter.line(f"  before the run: {note}")
        waiting = self.spool.count()
        if waiting:
            terminalreporter.line(
                f"{waiting} result(s) waiting in the spool ({self.spool.folder}): the next run delivers them, "
                "or pytest --devsession --devsession-flush", yellow=True)

    # shared ------------------------------------------------------------------------
    def write_ledger(self, action: str, *args, **kwargs) -> None:
        if self.ledger is not None:
            try:
                getattr(self.ledger, action)(*args, **kwargs)
            except OSError as exc:
                self.problems.append(f"cannot write the lease ledger {self.ledger.path}: {exc}")

    def hook(self, name: str, problems: list | None, **kwargs) -> None:
        """Call one of our hooks; a plugin's exception there is a problem to report, not a crash."""
        try:
            getattr(self.config.hook, f"pytest_devsession_{name}")(**kwargs)
        except Exception as exc:  # noqa: BLE001
            message = f"a pytest_devsession_{name} hook raised {type(exc).__name__}: {exc}"
            if problems is not None:
                problems.append(message)
            if name == "session_started":
                warn(f"pytest-devsession: {message}")


def _check_writable(folder: Path) -> None:
    probe = folder / f".devsession-probe-{os.getpid()}"  # one per process: xdist workers probe at once
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise pytest.UsageError(f"pytest-devsession: --devsession-artifacts-dir: cannot write to {folder}: "
                                f"{exc.strerror or exc}") from None
