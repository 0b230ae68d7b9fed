"""The devices of this process: which test holds which, their locks at the service, releasing them.

Every capturing test takes a device from the pool (``pool.py``) for as long as its capture is
open; the device is locked at the service once (a HeadSpin lock is the account's, so once for
the whole run); the run's end gives back and unlocks what was held (``release``), the main
process last (``sweep``). The controller calls this; nothing here knows pytest's hooks.
"""
from __future__ import annotations

import re
import sys
import time

import pytest

from .backends.base import (
    AuthenticationError,
    BackendError,
    Device,
    DeviceUnavailable,
    LiveSessions,
    Locking,
)
from .leases import forget, of_run
from .pool import DeviceBusy, Pool
from .pool import available as pool_available
from .pool import folder_for as pool_folder
from .signals import deferred_signals

taken_key = pytest.StashKey[str]()  # the pool device this test holds


def stop_run(exc: AuthenticationError):
    pytest.exit(f"pytest-devsession: {exc.message}", returncode=pytest.ExitCode.USAGE_ERROR)


class Devices:
    def __init__(self, config: pytest.Config, settings, run_id: str, problems: list[str], open_sessions: dict,
                 ledger) -> None:
        """``problems``, ``open_sessions`` (session id -> test) and ``ledger`` (a call that writes the
        lease ledger) are the run's, shared with the controller."""
        self.settings = settings
        self.run_id = run_id
        self.problems = problems
        self.open = open_sessions
        self.ledger = ledger
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        self.worker_id = workerinput["workerid"] if self.is_worker else None
        # The device this process tries first (worker gwN: the N-th); any free one of the pool will do.
        index = int(re.sub(r"\D", "", self.worker_id) or 0) if self.is_worker else 0
        # A service whose "device" is a whole grid (LambdaTest) is not held: every test of every worker uses it.
        self.unpooled = not getattr(settings.section, "pool_devices", True)
        if settings.devices == ("local",) or (self.unpooled and len(settings.devices) == 1):
            self.preferred = settings.devices[0]
        else:
            self.preferred = settings.devices[index] if index < len(settings.devices) else None
        self.backend = None
        self.pool: Pool | None = None
        self.known: dict[str, Device] = {}
        self.locked: dict[str, Device] = {}
        self.lock_errors: dict[str, str] = {}
        self.uncertain: set[str] = set()  # devices where a create may have opened a session we never heard of
        self.ledger_path = lambda: None

    def begin(self, backend, known: dict[str, Device], service_url: str | None, ledger_path) -> None:
        self.backend = backend
        self.known = known
        self.ledger_path = ledger_path
        if pool_available():
            self.pool = Pool(pool_folder(self.settings.store_dir, backend.name, service_url), self.run_id,
                             self.worker_id)

    def busy(self) -> bool:
        """Something is held or locked: ``release`` has work to do."""
        return bool(self.locked or (self.pool is not None and self.pool.held))

    def take(self, item: pytest.Item, pinned: str | None) -> str:
        """The device for this test, held by this process until the test's capture is closed.

        A pinned test waits for its device while another process's test holds it; any other
        test takes this process's usual device, else any free one of the pool.
        """
        if self.pool is None or (pinned or self.preferred) == "local" or self.unpooled:
            address = pinned or self.preferred
            if address is None:
                pytest.fail(f"pytest-devsession: no device for this process ({self.worker_id}): "
                            "pass one --devsession-device per xdist worker", pytrace=False)
            return address
        if pinned:
            candidates = [pinned]
        else:
            pool = [d for d in self.settings.devices if d != "local"]
            candidates = ([self.preferred] if self.preferred in pool else []) + \
                [d for d in pool if d != self.preferred]
            # A device this process could not lock stays out, while another one may do.
            candidates = [d for d in candidates if d not in self.lock_errors] or candidates
        try:
            # The line lands in the test's captured output (a worker has no terminal of its own).
            address = self.pool.take(candidates, item.nodeid, self.settings.ready_timeout,
                                     say=lambda line: print(line, file=sys.stderr, flush=True))
        except DeviceBusy as exc:
            what = f"{pinned} (pinned by @pytest.mark.devsession(device=...))" if pinned else \
                f"any device of the pool ({', '.join(candidates)})"
            pytest.fail(f"pytest-devsession: waited {exc.waited:g} s (--devsession-ready-timeout) for {what}: {exc}",
                        pytrace=False)
        except OSError as exc:
            pytest.fail(f"pytest-devsession: cannot use the device pool in {self.pool.folder}: {exc}", pytrace=False)
        item.stash[taken_key] = address
        return address

    def give_back(self, item: pytest.Item) -> None:
        """The test's capture is closed: its device goes back to the pool for any process's next test."""
        address = item.stash.get(taken_key, None)
        if address is None:
            return
        del item.stash[taken_key]
        self.give_back_address(address)

    def give_back_address(self, address: str) -> None:
        """A capture on ``address`` is closed (a test's, or one its class, module or run shared)."""
        if self.pool is None or address not in self.pool.held:
            return
        try:
            self.stop_unknown_sessions(address)
        finally:
            self.pool.give_back(address)

    def stop_unknown_sessions(self, address: str) -> None:
        """A create cut short may have opened a session whose id never reached us: close it
        while the device is still ours."""
        device = self.locked.get(address) or self.known.get(address)
        if address not in self.uncertain or device is None or not isinstance(self.backend, LiveSessions):
            return
        try:
            for session_id in self.backend.live_sessions(device):
                if session_id not in self.open:
                    self.backend.stop_capture(session_id, time.monotonic() + min(self.settings.ready_timeout, 60))
            self.uncertain.discard(address)
        except Exception as exc:  # noqa: BLE001
            self.problems.append(f"could not check {address} for open captures: {exc}")

    def lock(self, address: str) -> Device:
        if address in self.lock_errors:
            pytest.fail(self.lock_errors[address], pytrace=False)
        device = self.known[address]
        if not isinstance(self.backend, Locking):  # a service whose devices need no lock
            return device
        shared = self.account_lock(address) and address in self.pool.held
        if shared and self.pool.locked_by_run(address):
            return device
        if not shared and address in self.locked:
            return self.locked[address]
        # The lease is ours from the moment we ask: an answer lost on the way
        # must still be unlocked at the end (unlocking a free device is harmless).
        self.locked[address] = device
        self.ledger("take_device", device)
        if shared:  # the run's, from the moment we ask: the main process's sweep unlocks it
            self.pool.set_locked(address, True)
        try:
            with deferred_signals():  # the server may carry out a lock after we stopped listening
                self.backend.lock(device)
        except AuthenticationError as exc:
            stop_run(exc)
        except BackendError as exc:
            self.locked.pop(address, None)
            self.ledger("drop_device", address)
            if shared:
                self.pool.set_locked(address, False)
            self.lock_errors[address] = self.busy_message(address, exc)
            pytest.fail(self.lock_errors[address], pytrace=False)
        return device

    def busy_message(self, address: str, exc: BackendError) -> str:
        message = f"pytest-devsession: cannot lock {address}: {exc}"
        if isinstance(exc, DeviceUnavailable):
            try:
                free = [a for a, d in self.backend.devices().items() if not d.owner and a not in self.locked]
            except BackendError:
                free = []
            message += f". Free devices: {', '.join(sorted(free)) or 'none'}"
        return message

    def account_lock(self, address: str) -> bool:
        """The service's lock on this device belongs to the account: one lock serves every
        process of the run, and the run's main process gives it up at the end (``_sweep``)."""
        return self.pool is not None and address != "local" and getattr(self.backend, "account_locks", False)

    def sweep(self) -> None:
        """The run's main process, when every test is done: unlock the devices any process of
        the run locked, each once it is free (another run's test may still be on it)."""
        if self.is_worker or self.pool is None or not getattr(self.backend, "account_locks", False):
            return
        deadline = min(self.settings.ready_timeout, 60)
        leases = self.settings.store_dir / "leases"
        for address in self.pool.locked_for_run():
            device = self.known.get(address)
            if device is None:
                continue
            try:
                self.pool.take([address], "the end of the run", deadline)
            except (DeviceBusy, OSError) as exc:
                self.problems.append(f"could not unlock {address}: {exc}")
                continue
            try:
                if self.pool.locked_by_run(address):
                    self.backend.unlock(device)
                    self.pool.set_locked(address, False)
                    self.ledger("drop_device", address)
                    for path, _ in of_run(leases, self.run_id):
                        if path != self.ledger_path():
                            forget(path, devices=[address])
            except Exception as exc:  # noqa: BLE001 - the ledgers keep it for the next run
                self.problems.append(f"could not unlock {address}: {exc}")
            finally:
                self.pool.give_back(address)

    def release(self) -> None:
        """The end of the run in this process: give back what its tests held, unlock what it locked
        (the run's main process: what any process of the run locked at the service)."""
        for address in list(self.pool.held) if self.pool is not None else ():
            try:  # a test that never reached its teardown held it
                self.stop_unknown_sessions(address)
            finally:
                self.pool.give_back(address)
        for address, device in list(self.locked.items()):
            self.stop_unknown_sessions(address)
            if self.account_lock(address):
                self.locked.pop(address, None)  # one lock for the whole run: _sweep gives it up
                continue
            try:
                self.backend.unlock(device)
                self.ledger("drop_device", address)
            except Exception as exc:  # noqa: BLE001 - the ledger keeps it for the next run
                self.problems.append(f"could not unlock {address}: {exc}")
            finally:
                self.locked.pop(address, None)
        self.sweep()
