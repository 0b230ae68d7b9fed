"""`--devsession-device adb:SERIAL` end to end: pytest itself against the fake adb server."""
from __future__ import annotations

import json

from android_helpers import SERIAL


def test_android_device_is_routed_recorded_and_restored(pytester, fake_adb, device, monkeypatch):
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(fake_adb.port))
    monkeypatch.delenv("DEVSESSION_BACKEND", raising=False)
    device.settings["http_proxy"] = "10.0.0.9:3128"  # the tester's own setting, to be put back
    pytester.makepyfile(test_phone='''
        import pytest

        @pytest.mark.userflow("Phone")
        def test_one(devsession):
            assert devsession.device_address == "adb:%s"
            devsession.measure("proxy", devsession.proxy_url)

        def test_two(devsession):
            pass
    ''' % SERIAL)
    result = pytester.runpytest_subprocess("--devsession", "-p", "no:cacheprovider", "--devsession-device",
                                           f"adb:{SERIAL}", timeout=120)
    result.assert_outcomes(passed=2)
    manifest = json.loads((pytester.path / "devsession-artifacts" / "manifest.json").read_text())
    root = pytester.path / "devsession-artifacts"
    proxy = manifest["sessions"][0]["measurements"][0]["value"]
    port = proxy.rsplit(":", 1)[1]
    # Routed through the capture while the run held the device...
    assert f"settings put global http_proxy 127.0.0.1:{port}" in fake_adb.shell_commands
    assert any(r == f"reverse:forward:tcp:{port};tcp:{port}" for r in fake_adb.requests)
    # ...and put back afterwards, with nothing left behind on the device.
    assert device.settings["http_proxy"] == "10.0.0.9:3128"
    assert device.reverses == {}
    assert not [f for f in device.files if f.startswith("/sdcard/devsession-")]
    for entry in manifest["sessions"]:
        assert entry["device_address"] == f"adb:{SERIAL}"
        assert (root / entry["artifacts"]["mp4"]).read_bytes() == device.video_bytes
        logcat = (root / entry["artifacts"]["device.log"]).read_text()
        assert device.logcat_lines[0].strip() in logcat
    assert not list((pytester.path / ".devsession" / "leases").glob("*.proxy.json"))
    # The plugin never started or killed an adb server it did not own.
    assert "host:kill" not in fake_adb.requests


def test_busy_android_device_is_refused_with_the_holder(pytester, fake_adb, monkeypatch, tmp_path):
    from pytest_devsession.drivers.android import DeviceLease

    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(fake_adb.port))
    held = DeviceLease(SERIAL, pytester.path / ".devsession" / "leases")
    held.acquire()
    try:
        pytester.makepyfile(test_phone="def test_one(devsession): pass")
        result = pytester.runpytest_subprocess("--devsession", "-p", "no:cacheprovider", "--devsession-device",
                                               f"adb:{SERIAL}", timeout=120)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines([f"*cannot lock adb:{SERIAL}*is in use by process*"])
    finally:
        held.release()


def test_a_proxy_setting_left_by_a_killed_run_is_put_back(pytester, fake_adb, device, monkeypatch):
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(fake_adb.port))
    # A run that was killed while it held the phone: the setting it made is still there, and the
    # value it meant to put back is on disk.
    device.settings["http_proxy"] = "127.0.0.1:9"
    leases = pytester.path / ".devsession" / "leases"
    leases.mkdir(parents=True)
    (leases / f"adb-{SERIAL}.proxy.json").write_text(json.dumps({"serial": SERIAL, "previous": "10.0.0.9:3128"}))
    pytester.makepyfile(test_phone="def test_one(devsession): pass")
    result = pytester.runpytest_subprocess("--devsession", "-p", "no:cacheprovider", "--devsession-device",
                                           f"adb:{SERIAL}", timeout=120)
    result.assert_outcomes(passed=1)
    assert device.settings["http_proxy"] == "10.0.0.9:3128"
    assert not (leases / f"adb-{SERIAL}.proxy.json").exists()
