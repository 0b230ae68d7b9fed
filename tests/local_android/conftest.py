"""Fixtures for the Android part: a fake adb server on loopback; real adb is never run or contacted."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_adb_server import FakeAdbServer  # noqa: E402

from android_helpers import SERIAL, write_script  # noqa: E402


@pytest.fixture(autouse=True)
def no_real_adb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point adbutils' `adb` at a trap that records any call; fail the test if it was run."""
    trap_log = tmp_path / "trap-adb-calls.txt"
    trap = write_script(
        tmp_path / "trap-adb",
        "import sys\n"
        f"open({str(trap_log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "sys.exit(3)\n",
    )
    monkeypatch.setenv("ADBUTILS_ADB_PATH", str(trap))
    monkeypatch.delenv("ANDROID_SERIAL", raising=False)
    yield trap_log
    if trap_log.exists():
        pytest.fail(f"the code ran adb: {trap_log.read_text()!r}")


@pytest.fixture
def fake_adb() -> Iterator[FakeAdbServer]:
    server = FakeAdbServer()
    server.add_device(SERIAL)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def device(fake_adb: FakeAdbServer):
    return fake_adb.devices[SERIAL]


@pytest.fixture
def capture(fake_adb: FakeAdbServer, tmp_path: Path):
    from pytest_devsession.drivers.android import AndroidCapture

    cap = AndroidCapture(SERIAL, "127.0.0.1", fake_adb.port, tmp_path / "work", timeout=5)
    cap.connect()
    try:
        yield cap
    finally:
        cap.close()
