"""Exclusive use of one Android device across processes: ``DeviceLease``, a file lock per serial.

Two processes (xdist workers) never drive the same device: each takes the device's lock file
(``adb-SERIAL.lock`` in the lock directory) first, and a process that finds it taken is told
which process holds it. Nothing here talks to adb.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from .adb import AndroidError

__all__ = ["DeviceLease"]


def _safe(text: str) -> str:
    """A string usable in a file name (serials look like ``emulator-5554`` or ``10.0.0.2:5555``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return cleaned or "device"


class DeviceLease:
    """Exclusive use of one Android device across processes (xdist workers never share one)."""

    def __init__(self, serial: str, lock_dir: Path):
        self.serial = serial
        self.lock_dir = Path(lock_dir)
        self.path = self.lock_dir / f"adb-{_safe(serial)}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the device, or raise ``AndroidError`` naming the process that holds it."""
        if self._fd is not None:
            return
        import fcntl

        self.lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            try:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            except OSError:
                pass
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise AndroidError(
                    f"adb:{self.serial} is in use by process {holder or 'unknown'}"
                ) from None
            raise AndroidError(f"adb:{self.serial}: cannot lock {self.path}: {exc}") from exc
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # the lock is what matters; the pid is only for the message
        self._fd = fd

    def release(self) -> None:
        """Give the device back; idempotent. (The OS also frees it when the process exits.)"""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        import fcntl

        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> "DeviceLease":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"DeviceLease({self.serial!r}, held={self.held})"
