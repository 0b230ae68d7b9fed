import pytest

from pytest_devsession.emulator import HeadSpinEmulator

ANDROID, ANDROID_2, IOS = HeadSpinEmulator.DEFAULT_DEVICES


def test_list_devices(api):
    devices = api.get("/devices").json()["devices"]
    assert [d["device_address"] for d in devices] == [ANDROID, "emu-android-2@emulator.local", IOS]
    first = devices[0]
    assert set(first) >= {"device_id", "serial", "hostname", "device_type", "os_version", "status", "owner_email"}
    assert first["device_type"] == "android" and devices[2]["device_type"] == "ios"
    assert first["status"] == "online" and first["owner_email"] is None


def test_selector_filters_devices(api):
    response = api.get("/devices", params={"selector": '{"device_type": "ios"}'})
    assert [d["serial"] for d in response.json()["devices"]] == ["emu-ios-1"]
    assert api.get("/devices", params={"selector": "not json"}).status_code == 400


@pytest.mark.parametrize("route, address", [("adb/emu-android-1", ANDROID), ("idevice/emu-ios-1", IOS)])
def test_lock_and_unlock(api, headspin_emulator, route, address):
    assert api.post(f"/{route}/lock").json() == {"status": 0, "message": f"{address} locked."}
    assert api.post(f"/{route}/lock").json()["status"] == 0  # idempotent for the holder
    device = headspin_emulator.devices[address]
    assert device.locked_by == "you" and device.lock_count == 2
    owner = {d["device_address"]: d["owner_email"] for d in api.get("/devices").json()["devices"]}[address]
    assert owner == "you@emulator.local"
    assert api.post(f"/{route}/unlock").json() == {"status": 0, "message": f"{address} unlocked."}
    assert api.post(f"/{route}/unlock").json() == {"status": 1, "message": "Did not unlock."}
    assert device.locked_by is None and device.unlock_count == 1


def test_someone_elses_device(api, headspin_emulator):
    address = headspin_emulator.add_device("busy-1", "lab.example", locked_by="someone@else.example")
    assert address == "busy-1@lab.example"
    listed = [d for d in api.get("/devices").json()["devices"] if d["device_address"] == address]
    assert listed[0]["owner_email"] == "someone@else.example"
    response = api.post("/adb/busy-1/lock")
    assert response.status_code == 200 and response.json() == {"status": 1, "message": "Did not lock."}
    assert api.post("/adb/busy-1/unlock").json() == {"status": 1, "message": "Did not unlock."}
    assert headspin_emulator.devices[address].locked_by == "someone@else.example"


def test_wrong_platform_route_or_unknown_serial_is_404(api):
    for path in ("/adb/emu-ios-1/lock", "/idevice/emu-android-1/lock", "/adb/nope/lock", "/adb/nope/unlock"):
        response = api.post(path)
        assert response.status_code == 404, path
        assert response.json()["status_code"] == 404


def test_lock_by_device_id(api, headspin_emulator):
    response = api.post("/devices/lock", json={"device_id": "emu-ios-1"})
    assert response.status_code == 200
    assert response.json() == {"status_code": 200, "status": "Locked device emu-ios-1.",
                               "hostname": "emulator.local", "serial": "emu-ios-1"}
    assert headspin_emulator.devices[IOS].locked_by == "you"
    assert api.post("/devices/unlock", json={"device_id": "emu-ios-1"}).status_code == 200
    assert api.post("/devices/unlock", json={"device_id": "emu-ios-1"}).status_code == 403
    assert api.post("/devices/lock", json={"device_id": "nope"}).status_code == 404
    assert api.post("/devices/lock", json={}).status_code == 400
    headspin_emulator.add_device("held", locked_by="other@example.com")
    assert api.post("/devices/lock", json={"device_id": "held"}).status_code == 403
