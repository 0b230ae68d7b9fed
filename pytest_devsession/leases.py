"""The run's leases on disk: which process holds which device and which capture.

A run that dies without cleaning up (SIGKILL, power loss, os._exit) leaves its
ledger behind; the next run, or ``pytest --devsession --devsession-cleanup``,
releases what a dead process held.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import asdict
from pathlib import Path

from .backends.base import Device
from .files import write_atomic


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a reused pid from the original."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _zombie(pid: int) -> bool:
    """``pid`` has ended and waits for its parent to notice (Linux): it holds nothing any more."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def alive(entry: dict) -> bool:
    """The process that wrote ``entry`` runs still, or the run it belongs to does (an xdist
    worker's leases are the run's until its main process has released them)."""
    if entry.get("host") != socket.gethostname():
        return True  # another machine's run: not ours to judge
    main = entry.get("main")
    return _running(entry) or (isinstance(main, dict) and _running({**main, "host": entry.get("host")}))


def _running(entry: dict) -> bool:
    pid = int(entry.get("pid", 0))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _zombie(pid):
        return False
    started = entry.get("process_start")
    return started is None or _process_start(pid) in (None, started)


class Ledger:
    """This process's leases, rewritten on every change and removed when empty."""

    def __init__(self, folder: Path, backend: str, api_url: str | None, run: str | None = None,
                 worker: str | None = None, main: dict | None = None, outlives: bool = True) -> None:
        self.folder = folder
        self.path = folder / f"run-{socket.gethostname()}-{os.getpid()}.json"
        self.header = {"pid": os.getpid(), "host": socket.gethostname(), "process_start": _process_start(os.getpid()),
                       "backend": backend, "api_url": api_url, "started": time.time(),
                       "run": run, "worker": worker, "main": main, "outlives": outlives}
        self.devices: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self._lock = threading.RLock()  # sessions close on background threads too

    def take_device(self, device: Device) -> None:
        with self._lock:
            self.devices[device.address] = asdict(device)
            self._write()

    def drop_device(self, address: str) -> None:
        with self._lock:
            if self.devices.pop(address, None) is not None:
                self._write()

    def open_session(self, session_id: str, address: str, **test) -> None:
        with self._lock:
            # What the test was (node id, user flow, folder, artifacts) lets the main process close
            # the capture of a worker that crashed.
            self.sessions[session_id] = {"address": address, **test}
            self._write()

    def mark_session(self, session_id: str, **fields) -> None:
        with self._lock:
            if session_id in self.sessions:
                self.sessions[session_id].update(fields)
                self._write()

    def close_session(self, session_id: str) -> None:
        with self._lock:
            if self.sessions.pop(session_id, None) is not None:
                self._write()

    def _write(self) -> None:
        with self._lock:
            self._write_now()

    def _write_now(self) -> None:
        if not self.devices and not self.sessions:
            self.path.unlink(missing_ok=True)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps({**self.header, "devices": self.devices, "sessions": self.sessions}))


def process_info() -> dict:
    """This process, as a ledger names it (an xdist worker's ledger names its run's main process)."""
    return {"pid": os.getpid(), "process_start": _process_start(os.getpid())}


def _ledgers(folder: Path):
    """Every ledger under ``folder`` that can be read: (path, entry)."""
    for path in sorted(folder.glob("run-*.json")) if folder.is_dir() else ():
        try:
            yield path, json.loads(path.read_text())
        except (OSError, ValueError):
            continue


def of_run(folder: Path, run: str, worker: str | None = None) -> list[tuple[Path, dict]]:
    """The ledgers this run's processes wrote (one worker's, when ``worker`` is given)."""
    return [(path, entry) for path, entry in _ledgers(folder)
            if entry.get("run") == run and (worker is None or entry.get("worker") == worker)]


def forget(path: Path, devices=(), sessions=()) -> None:
    """Drop what has been released from another process's ledger (the main process, for its workers)."""
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    for address in devices:
        entry.get("devices", {}).pop(address, None)
    for session_id in sessions:
        entry.get("sessions", {}).pop(session_id, None)
    if entry.get("devices") or entry.get("sessions"):
        write_atomic(path, json.dumps(entry))
    else:
        path.unlink(missing_ok=True)


def stale(folder: Path) -> list[tuple[Path, dict]]:
    """Ledgers of processes that are gone."""
    return [(path, entry) for path, entry in _ledgers(folder) if not alive(entry)]


def release_stale(folder: Path, backend, api_url: str | None, deadline_seconds: float) -> list[str]:
    """Release what dead runs of the same service held; returns one line per ledger."""
    lines = []
    for path, entry in stale(folder):
        if entry.get("outlives") is False:  # its captures and device holds ended with the process
            path.unlink(missing_ok=True)
            continue
        if entry.get("backend") != backend.name or entry.get("api_url") != api_url:
            lines.append(f"left alone: leases of ended process {entry.get('pid')} on another service "
                         f"({entry.get('backend')} at {entry.get('api_url')}): {path}")
            continue
        problems = []
        for session_id, info in entry.get("sessions", {}).items():
            if isinstance(info, dict) and info.get("stopped"):
                continue  # stopped already; its verdict waits in the journal
            try:
                backend.stop_capture(session_id, time.monotonic() + deadline_seconds)
            except Exception as exc:  # noqa: BLE001 - reported; the device still gets unlocked
                problems.append(f"capture {session_id}: {exc}")
        for address, fields in entry.get("devices", {}).items():
            try:
                backend.unlock(Device(**fields))
            except Exception as exc:  # noqa: BLE001
                problems.append(f"device {address}: {exc}")
        path.unlink(missing_ok=True)
        text = (f"released {len(entry.get('devices', {}))} device(s) and {len(entry.get('sessions', {}))} capture(s) "
                f"left by process {entry.get('pid')}, which ended without cleaning up")
        lines.append(text + (f" (problems: {'; '.join(problems)})" if problems else ""))
    return lines
