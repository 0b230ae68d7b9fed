"""DeviceLease: one process per device."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_devsession.drivers.android import AndroidError, DeviceLease

HOLDER = """
import sys
from pathlib import Path
from pytest_devsession.drivers.android import DeviceLease
lease = DeviceLease(sys.argv[1], Path(sys.argv[2]))
lease.acquire()
print("held", flush=True)
sys.stdin.readline()          # hold until told to go
if sys.argv[3] == "release":
    lease.release()
    print("released", flush=True)
    sys.stdin.readline()
"""


def hold(serial: str, lock_dir: Path, how: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, serial, str(lock_dir), how],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_lock_file_name(tmp_path: Path) -> None:
    assert DeviceLease("emulator-5554", tmp_path).path == tmp_path / "adb-emulator-5554.lock"
    assert DeviceLease("10.0.0.7:5555", tmp_path).path == tmp_path / "adb-10.0.0.7_5555.lock"


def test_another_process_is_excluded_until_it_exits(tmp_path: Path) -> None:
    proc = hold("emulator-5554", tmp_path, "exit")
    try:
        with pytest.raises(AndroidError, match=f"adb:emulator-5554 is in use by process {proc.pid}"):
            DeviceLease("emulator-5554", tmp_path).acquire()
        other = DeviceLease("emulator-5556", tmp_path)  # another device is free
        other.acquire()
        other.release()
    finally:
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()
    lease = DeviceLease("emulator-5554", tmp_path)
    lease.acquire()  # the OS freed the lock when the holder exited
    assert lease.held
    lease.release()


def test_release_frees_it_for_another_process(tmp_path: Path) -> None:
    proc = hold("ZX1", tmp_path, "release")
    try:
        with pytest.raises(AndroidError, match="in use"):
            DeviceLease("ZX1", tmp_path).acquire()
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "released"
        lease = DeviceLease("ZX1", tmp_path)
        lease.acquire()
        lease.release()
    finally:
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()


def test_acquire_and_release_are_idempotent(tmp_path: Path) -> None:
    lease = DeviceLease("s1", tmp_path / "locks")
    lease.acquire()
    lease.acquire()
    assert lease.path.read_text().strip() == str(__import__("os").getpid())
    second = DeviceLease("s1", tmp_path / "locks")  # a second holder, even in this process, is refused
    with pytest.raises(AndroidError):
        second.acquire()
    lease.release()
    lease.release()
    with second:
        assert second.held
    assert not second.held
