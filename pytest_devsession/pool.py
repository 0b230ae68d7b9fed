"""The devices of a service, shared by the pytest processes of one store: one test per device at a time.

A test takes a device from the pool when its capture starts and gives it back when its
capture is closed. Holding is an advisory file lock (``flock``) on ``<address>.lock`` under
the store (``--devsession-store``): no two processes (xdist workers, a worker that replaced a
crashed one, another run from the same folder) ever hold a device at once, and the kernel
gives a device back the moment the process holding it dies. A pinned test waits while another
process's test holds its device.

Some services' locks belong to the account, not the process (HeadSpin's): one lock serves
every process of the run, and the run's main process gives it up when the run ends. The pool
remembers, in ``<address>.json``, which run holds that lock; it is read and changed only by
the process that holds the device.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .files import write_atomic

try:
    import fcntl
except ImportError:  # Windows: no flock; each process keeps to the devices it was given
    fcntl = None

POLL_SECONDS = 0.05


def available() -> bool:
    return fcntl is not None


def folder_for(store: Path, backend: str, service_url: str | None) -> Path:
    """One pool per service: the same device address on two services is two devices."""
    digest = hashlib.sha1(f"{backend} {service_url or ''}".encode()).hexdigest()[:12]
    return store / "pool" / f"{backend}-{digest}"


def _file_name(address: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", address)
    return f"{safe}-{hashlib.sha1(address.encode()).hexdigest()[:8]}"


class DeviceBusy(Exception):
    """No device of the ones asked for became free in time; ``holders`` says who has them."""

    def __init__(self, addresses: list[str], holders: dict[str, dict | None], waited: float) -> None:
        self.addresses = addresses
        self.holders = holders
        self.waited = waited
        super().__init__("; ".join(f"{address} is held by {_describe(holders.get(address))}" for address in addresses))


def _describe(holder: dict | None) -> str:
    if not holder:
        return "another process"
    where = holder.get("worker") or f"process {holder.get('pid')}"
    return f"{holder.get('nodeid') or 'a test'} ({where})"


@dataclass
class Held:
    address: str
    fd: int


class Pool:
    """This process's view of the machine's devices of one service."""

    def __init__(self, folder: Path, run_id: str, worker: str | None) -> None:
        self.folder = folder
        self.run_id = run_id
        self.worker = worker
        self.held: dict[str, Held] = {}

    # holding -------------------------------------------------------------------
    def try_take(self, address: str, nodeid: str | None) -> bool:
        if address in self.held:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / f"{_file_name(address)}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.held[address] = Held(address, fd)
        state = self.state(address)
        state["holder"] = {"pid": os.getpid(), "worker": self.worker, "nodeid": nodeid, "since": time.time()}
        self._write(address, state)
        return True

    def take(self, candidates: list[str], nodeid: str | None, timeout: float, say=None, every: float = 10.0) -> str:
        """The first of ``candidates`` that is free, waiting up to ``timeout`` seconds for one;
        ``say(line)`` hears, every ``every`` seconds of waiting, who holds them."""
        started = said = time.monotonic()
        while True:
            for address in candidates:
                if self.try_take(address, nodeid):
                    return address
            waited = time.monotonic() - started
            if waited >= timeout:
                raise DeviceBusy(candidates, {a: self.state(a).get("holder") for a in candidates}, round(waited, 1))
            if say is not None and time.monotonic() - said >= every:
                busy = DeviceBusy(candidates, {a: self.state(a).get("holder") for a in candidates}, round(waited, 1))
                say(f"pytest-devsession: {nodeid} waits for a free device ({waited:.0f} s of {timeout:g}): {busy}")
                said = time.monotonic()
            time.sleep(POLL_SECONDS)

    def give_back(self, address: str) -> None:
        held = self.held.pop(address, None)
        if held is None:
            return
        try:
            state = self.state(address)
            state.pop("holder", None)
            self._write(address, state)
        except OSError:
            pass  # the lock is what counts; a stale holder only shows in a busy message
        finally:
            os.close(held.fd)  # closing the file releases the flock

    def give_back_all(self) -> None:
        for address in list(self.held):
            self.give_back(address)

    # the service's lock, for services whose locks belong to the account --------------
    def locked_by_run(self, address: str) -> bool:
        """This run has locked the device at the service (read while holding it)."""
        return self.state(address).get("locked_by_run") == self.run_id

    def set_locked(self, address: str, locked: bool) -> None:
        state = self.state(address)
        if locked:
            state["locked_by_run"] = self.run_id
        else:
            state.pop("locked_by_run", None)
        self._write(address, state)

    def locked_for_run(self) -> list[str]:
        """Every device this run locked at the service (any process of it), by address."""
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else ():
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if state.get("locked_by_run") == self.run_id and state.get("address"):
                found.append(state["address"])
        return found

    # state file ------------------------------------------------------------------
    def state(self, address: str) -> dict:
        try:
            return json.loads((self.folder / f"{_file_name(address)}.json").read_text())
        except (OSError, ValueError):
            return {"address": address}

    def _write(self, address: str, state: dict) -> None:
        state["address"] = address
        write_atomic(self.folder / f"{_file_name(address)}.json", json.dumps(state))
