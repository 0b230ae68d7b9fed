"""The org's log of every lock and unlock: enough to assert no device was ever locked twice at once."""
import threading

import requests

from pytest_devsession.emulator import HeadSpinEmulator
from pytest_devsession.emulator.models import LockEvent

ANDROID, ANDROID_2, IOS = HeadSpinEmulator.DEFAULT_DEVICES


def test_every_lock_and_unlock_is_logged_with_its_route(api, headspin_emulator):
    busy = headspin_emulator.add_device("busy", "lab", locked_by="someone@else.example")
    api.post("/adb/emu-android-1/lock")
    api.post("/idevice/emu-ios-1/lock")
    api.post("/devices/lock", json={"selector": {"serial": "emu-android-2"}})
    api.post("/adb/busy/lock")  # someone else's: not locked
    api.post("/adb/emu-android-1/unlock")
    api.post("/devices/unlock", json={"device_id": "emu-ios-1"})
    api.post("/idevice/emu-ios-1/unlock")  # not held any more
    log = headspin_emulator.lock_log
    assert [(e.action, e.address, e.route, e.ok, e.held_before) for e in log] == [
        ("lock", ANDROID, "adb", True, False),
        ("lock", IOS, "idevice", True, False),
        ("lock", ANDROID_2, "devices", True, False),
        ("lock", busy, "adb", False, False),
        ("unlock", ANDROID, "adb", True, True),
        ("unlock", IOS, "devices", True, True),
        ("unlock", IOS, "idevice", False, False),
    ]
    assert all(isinstance(e, LockEvent) for e in log)
    assert [e.time for e in log] == sorted(e.time for e in log) and log[0].time > 1e9
    assert headspin_emulator.double_locks() == []


def test_a_device_locked_twice_at_once_is_found(headspin_emulator):
    """Two workers sharing one token both "succeed" in locking the same device: the log shows it."""
    barrier = threading.Barrier(2)
    answers = []

    def worker():
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {headspin_emulator.token}"
        barrier.wait()
        answers.append(http.post(headspin_emulator.url + "/adb/emu-android-1/lock", timeout=5).json()["status"])
        http.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [0, 0]  # both were told they hold it
    [double] = headspin_emulator.double_locks()
    assert (double.address, double.action, double.ok, double.held_before) == (ANDROID, "lock", True, True)


def test_lock_unlock_lock_is_no_double_lock(api, headspin_emulator):
    for _ in range(3):
        api.post("/adb/emu-android-1/lock")
        api.post("/adb/emu-android-1/unlock")
    assert len(headspin_emulator.lock_log) == 6 and headspin_emulator.double_locks() == []


def test_lock_log_is_a_copy_and_reset_clears_it(api, headspin_emulator):
    api.post("/adb/emu-android-1/lock")
    log = headspin_emulator.lock_log
    log.clear()
    assert len(headspin_emulator.lock_log) == 1
    headspin_emulator.reset()
    assert headspin_emulator.lock_log == []
