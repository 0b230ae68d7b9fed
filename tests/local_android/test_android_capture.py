"""AndroidCapture against the fake adb server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from android_helpers import SERIAL, write_script
from fake_adb_server import FakeAdbServer, DEFAULT_LOGCAT

from pytest_devsession.drivers.android import AndroidCapture, AndroidError

PROJECT_DIR = Path(__file__).resolve().parents[2]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ connect


def test_connect_finds_the_device(capture: AndroidCapture, fake_adb: FakeAdbServer) -> None:
    assert capture.device.serial == SERIAL
    assert "host:devices" in fake_adb.requests
    assert not capture.started_server


def test_connect_names_missing_serial_and_lists_the_others(fake_adb: FakeAdbServer, tmp_path: Path) -> None:
    fake_adb.add_device("ZX1G22", state="unauthorized")
    cap = AndroidCapture("R58M123", "127.0.0.1", fake_adb.port, tmp_path)
    with pytest.raises(AndroidError) as info:
        cap.connect()
    msg = str(info.value)
    assert "adb:R58M123 is not attached" in msg
    assert f"{SERIAL} (device)" in msg and "ZX1G22 (unauthorized)" in msg
    cap.close()


def test_connect_refuses_a_device_that_is_not_ready(fake_adb: FakeAdbServer, tmp_path: Path) -> None:
    fake_adb.add_device("ZX1G22", state="unauthorized")
    with pytest.raises(AndroidError, match="adb:ZX1G22 is unauthorized"):
        AndroidCapture("ZX1G22", "127.0.0.1", fake_adb.port, tmp_path).connect()


def test_connect_with_no_devices(tmp_path: Path) -> None:
    with FakeAdbServer() as empty:
        with pytest.raises(AndroidError, match="sees: no devices"):
            AndroidCapture(SERIAL, "127.0.0.1", empty.port, tmp_path).connect()


def test_no_server_and_starting_disabled_runs_no_adb(tmp_path: Path) -> None:
    port = free_port()
    cap = AndroidCapture(SERIAL, "127.0.0.1", port, tmp_path, start_server=False)
    with pytest.raises(AndroidError, match=f"no adb server answers on 127.0.0.1:{port}"):
        cap.connect()
    cap.close()  # the autouse trap fails the test if adb was run


def test_no_server_on_a_remote_host_is_not_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pytest_devsession.drivers.adb as adb

    monkeypatch.setattr(adb, "_server_answers", lambda *a, **k: False)  # no network needed
    cap = AndroidCapture(SERIAL, "192.0.2.1", 5037, tmp_path, timeout=1)
    with pytest.raises(AndroidError, match="only started for a loopback address"):
        cap.connect()
    assert not cap.started_server


def test_close_after_the_server_went_away_raises_but_runs_no_adb(tmp_path: Path) -> None:
    fake = FakeAdbServer()
    fake.add_device(SERIAL)
    fake.start()
    cap = AndroidCapture(SERIAL, "127.0.0.1", fake.port, tmp_path, timeout=2)
    cap.connect()
    cap.route_through("127.0.0.1", 18086)
    fake.stop()
    with pytest.raises(AndroidError) as info:
        cap.close()  # adbutils alone would run `adb start-server` here; the autouse trap checks
    assert "could not restore http_proxy" in str(info.value)
    assert "connect to adb server failed" in str(info.value)


# ------------------------------------------------------------------ proxy routing


def test_route_through_and_restore_a_previous_proxy(capture: AndroidCapture, device, fake_adb) -> None:
    device.settings["http_proxy"] = "10.1.2.3:3128"
    capture.route_through("127.0.0.1", 18080)
    assert device.settings["http_proxy"] == "127.0.0.1:18080"
    assert device.reverses == {"tcp:18080": "tcp:18080"}
    assert "reverse:forward:tcp:18080;tcp:18080" in fake_adb.requests

    capture.restore()
    assert device.settings["http_proxy"] == "10.1.2.3:3128"
    assert device.reverses == {}
    assert "reverse:killforward:tcp:18080" in fake_adb.requests

    seen = len(fake_adb.requests)
    capture.restore()  # idempotent: nothing more is sent
    assert len(fake_adb.requests) == seen


def test_restore_when_there_was_no_proxy(capture: AndroidCapture, device, fake_adb) -> None:
    assert "http_proxy" not in device.settings
    capture.route_through("127.0.0.1", 18081)
    assert device.settings["http_proxy"] == "127.0.0.1:18081"
    capture.restore()
    assert "http_proxy" not in device.settings
    assert fake_adb.shell_commands[-2:] == [
        "settings put global http_proxy :0",
        "settings delete global http_proxy",
    ]
    assert device.reverses == {}


def test_second_route_keeps_the_original_value(capture: AndroidCapture, device) -> None:
    device.settings["http_proxy"] = "proxy.corp:8080"
    capture.route_through("127.0.0.1", 18082)
    capture.route_through("127.0.0.1", 18083)
    capture.restore()
    assert device.settings["http_proxy"] == "proxy.corp:8080"
    assert "tcp:18083" not in device.reverses


def test_restore_with_a_gone_device_raises_once(capture: AndroidCapture, fake_adb) -> None:
    capture.route_through("127.0.0.1", 18084)
    del fake_adb.devices[SERIAL]
    with pytest.raises(AndroidError) as info:
        capture.restore()
    msg = str(info.value)
    assert "http_proxy" in msg and "reverse tcp:18084" in msg
    capture.restore()  # state was cleared: no second error


def test_close_restores(fake_adb, device, tmp_path: Path) -> None:
    cap = AndroidCapture(SERIAL, "127.0.0.1", fake_adb.port, tmp_path)
    cap.connect()
    cap.route_through("127.0.0.1", 18085)
    cap.close()
    assert "http_proxy" not in device.settings and device.reverses == {}
    cap.close()  # idempotent


# ------------------------------------------------------------------ recording


def test_recording_gives_video_and_logcat(capture: AndroidCapture, device, fake_adb, tmp_path: Path) -> None:
    capture.start_recording("tests/test_x.py::test_y[1]")
    remote = "/sdcard/devsession-tests_test_x.py_test_y_1.mp4"
    deadline = time.monotonic() + 3
    while remote not in device.recordings and time.monotonic() < deadline:
        time.sleep(0.01)
    assert remote in device.recordings
    out = tmp_path / "out"
    video, logcat = capture.stop_recording(out / "video.mp4", out / "logcat.txt")

    assert (out / "video.mp4").read_bytes() == device.video_bytes
    assert video == len(device.video_bytes)
    text = (out / "logcat.txt").read_text()
    assert text == "".join(line + "\n" for line in DEFAULT_LOGCAT)
    assert logcat == len(text.encode())
    assert sorted(p.name for p in out.iterdir()) == ["logcat.txt", "video.mp4"]  # no .part left
    assert device.files == {} and device.recordings == {}
    assert device.logcat_cleared == 1
    cmds = fake_adb.shell_commands
    assert cmds.index("logcat -c") < cmds.index("logcat -v threadtime")
    assert "pkill -2 screenrecord" in cmds
    assert f"sync:RECV {remote}" in fake_adb.requests


def test_two_recordings_in_a_row(capture: AndroidCapture, tmp_path: Path) -> None:
    for i in range(2):
        capture.start_recording(f"t{i}")
        sizes = capture.stop_recording(tmp_path / f"v{i}.mp4", tmp_path / f"l{i}.txt")
        assert sizes[0] and sizes[1]


def test_video_that_could_not_be_pulled_is_none(capture: AndroidCapture, device, tmp_path: Path) -> None:
    device.video_bytes = b""  # screenrecord produced nothing
    capture.start_recording("empty")
    video, logcat = capture.stop_recording(tmp_path / "v.mp4", tmp_path / "l.txt")
    assert video is None and not (tmp_path / "v.mp4").exists()
    assert logcat > 0 and (tmp_path / "l.txt").exists()
    assert list(tmp_path.glob("*.part")) == []


def test_stop_right_after_start_still_gets_the_video(capture: AndroidCapture, device, tmp_path: Path) -> None:
    device.start_delay = 0.3  # screenrecord is not running yet when the first SIGINT is sent
    capture.start_recording("quick")
    video, _ = capture.stop_recording(tmp_path / "v.mp4", tmp_path / "l.txt")
    assert video == len(device.video_bytes)


def test_recording_twice_is_refused(capture: AndroidCapture) -> None:
    capture.start_recording("a")
    with pytest.raises(AndroidError, match="already recording"):
        capture.start_recording("b")


def test_close_stops_a_running_recording(fake_adb, device, tmp_path: Path) -> None:
    cap = AndroidCapture(SERIAL, "127.0.0.1", fake_adb.port, tmp_path / "w")
    cap.connect()
    cap.start_recording("left-running")
    started = time.monotonic()
    cap.close()
    assert time.monotonic() - started < 3
    assert device.recordings == {} and device.files == {}
    assert list((tmp_path / "w").glob("*")) == []


# ------------------------------------------------------------------ adb server ownership


def test_close_leaves_a_server_it_did_not_start(fake_adb, tmp_path: Path) -> None:
    cap = AndroidCapture(SERIAL, "127.0.0.1", fake_adb.port, tmp_path)
    cap.connect()
    cap.close()
    assert not fake_adb.killed.is_set()
    assert "host:kill" not in fake_adb.requests
    assert answers(fake_adb.port)


@pytest.fixture
def fake_adb_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An `adb` stand-in whose start-server runs the fake server as its own process, like adb does."""
    calls = tmp_path / "adb-calls.txt"
    pidfile = tmp_path / "server.pid"
    server_py = Path(__file__).with_name("fake_adb_server.py")
    exe = write_script(tmp_path / "adb", f"""
import socket, subprocess, sys, time
args = sys.argv[1:]
open({str(calls)!r}, "a").write(" ".join(args) + "\\n")
port = int(args[args.index("-P") + 1])
if args[-1] == "start-server":
    p = subprocess.Popen([sys.executable, {str(server_py)!r}, "--port", str(port), "--device", {SERIAL!r}],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    open({str(pidfile)!r}, "w").write(str(p.pid))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
elif args[-1] == "kill-server":
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"0009host:kill")
    s.recv(4)
    s.close()
""")
    monkeypatch.setenv("ADBUTILS_ADB_PATH", str(exe))
    yield calls, pidfile
    if pidfile.exists():  # never leave the stand-in server running
        import os, signal
        pid = int(pidfile.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def test_starts_a_server_when_none_answers_and_kills_only_that(fake_adb_binary, tmp_path: Path) -> None:
    calls, pidfile = fake_adb_binary
    port = free_port()
    cap = AndroidCapture(SERIAL, "127.0.0.1", port, tmp_path / "w")
    cap.connect()
    assert cap.started_server and answers(port)
    cap.route_through("127.0.0.1", 18090)
    cap.close()
    assert calls.read_text().splitlines() == [f"-P {port} start-server", f"-P {port} kill-server"]
    deadline = time.monotonic() + 5
    while answers(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not answers(port)


def test_a_started_server_is_killed_when_the_device_is_missing(fake_adb_binary, tmp_path: Path) -> None:
    calls, _ = fake_adb_binary
    port = free_port()
    with pytest.raises(AndroidError, match="adb:other-serial is not attached"):
        AndroidCapture("other-serial", "127.0.0.1", port, tmp_path).connect()
    assert calls.read_text().splitlines() == [f"-P {port} start-server", f"-P {port} kill-server"]


def test_importing_the_module_does_not_import_adbutils() -> None:
    code = "import sys, pytest_devsession.drivers.android; assert 'adbutils' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_DIR, timeout=30)
