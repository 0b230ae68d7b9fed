"""Devices as HeadSpin has them: iOS devices addressed by a UDID that is not their serial, devices
that only the by-id route locks, locking by selector, and the token as HTTP Basic credentials."""
import base64

import pytest
import requests

from pytest_devsession.emulator import HeadSpinEmulator
from pytest_devsession.emulator.models import parse_device
from pytest_devsession.emulator.models.devices import Device

UDID = "00008030-000559D902F0C02E"


def _capture(api, address):
    return api.post("/sessions", json={"session_type": "capture", "device_address": address, "nowait": True})


def test_ios_device_is_addressed_and_locked_by_its_udid(api, headspin_emulator):
    address = headspin_emulator.add_device("F2LXK0ABCD12", "lab.example", "ios", device_id=UDID)
    assert address == f"{UDID}@lab.example"
    [listed] = [d for d in api.get("/devices").json()["devices"] if d["device_address"] == address]
    assert (listed["device_id"], listed["serial"], listed["device_type"]) == (UDID, "F2LXK0ABCD12", "ios")

    by_serial = api.post("/idevice/F2LXK0ABCD12/lock")  # a client that takes the serial for the UDID
    assert by_serial.status_code == 404 and by_serial.json()["status_code"] == 404
    assert headspin_emulator.devices[address].locked_by is None
    assert api.post(f"/idevice/{UDID}/lock").json() == {"status": 0, "message": f"{address} locked."}
    assert _capture(api, "F2LXK0ABCD12@lab.example").json() == {"status": "Invalid device ID.", "status_code": 404}
    assert _capture(api, address).status_code == 200
    assert api.post(f"/idevice/{address}/unlock").json()["status"] == 0  # the whole address reaches it too


def test_ios_device_by_id_route_takes_the_udid(api, headspin_emulator):
    address = headspin_emulator.add_device("F2LXK0ABCD12", "lab.example", "ios", device_id=UDID)
    assert api.post("/devices/lock", json={"device_id": "F2LXK0ABCD12"}).status_code == 404
    locked = api.post("/devices/lock", json={"device_id": UDID})
    assert locked.json() == {"status_code": 200, "status": f"Locked device {UDID}.", "hostname": "lab.example",
                             "serial": "F2LXK0ABCD12"}
    assert headspin_emulator.devices[address].locked_by == "you"


@pytest.mark.parametrize("kind", ["roku", "desktop"])
def test_a_device_that_only_the_by_id_route_locks(api, headspin_emulator, kind):
    address = headspin_emulator.add_device(f"{kind}-serial-9", "lab.example", kind, device_id=f"{kind}-1")
    for path in (f"/adb/{kind}-serial-9/lock", f"/adb/{kind}-1/lock", f"/idevice/{kind}-1/lock",
                 f"/idevice/{address}/lock"):
        assert api.post(path).status_code == 404, path
    assert headspin_emulator.devices[address].locked_by is None
    assert _capture(api, address).json()["status"] == "Device must be locked before capture."
    assert api.post("/devices/lock", json={"device_id": f"{kind}-1"}).json()["serial"] == f"{kind}-serial-9"
    assert _capture(api, address).status_code == 200
    [listed] = [d for d in api.get("/devices").json()["devices"] if d["device_address"] == address]
    assert listed["device_type"] == kind and listed["owner_email"] == "you@emulator.local"


@pytest.mark.parametrize("spec, parsed", [
    ("a1@lab", ("a1", "lab", "android", "a1")),
    ("a1@lab:android", ("a1", "lab", "android", "a1")),
    (f"{UDID}@lab:ios:F2LXK0ABCD12", ("F2LXK0ABCD12", "lab", "ios", UDID)),
    ("i1@lab:ios", ("i1", "lab", "ios", "i1")),
    ("r1@lab:roku:RK-9", ("RK-9", "lab", "roku", "r1")),
    (("ser", "lab", "ios", UDID), ("ser", "lab", "ios", UDID)),
    (("a1", "lab"), ("a1", "lab", "android", "a1")),
])
def test_parse_device(spec, parsed):
    assert parse_device(spec) == parsed


@pytest.mark.parametrize("spec", ["no-at-sign", "@lab", "a1@", "a1@lab:phone", "a1@lab:ios:s:extra", ("a1", "")])
def test_parse_device_refuses(spec):
    with pytest.raises(ValueError):
        parse_device(spec)


def test_an_android_device_is_addressed_by_its_serial():
    with pytest.raises(ValueError, match="serial"):
        Device("serial-1", "lab", "android", device_id="other")
    with pytest.raises(ValueError):
        HeadSpinEmulator(devices=["a1@lab:android:different-serial"])


def test_devices_from_specs_keep_their_ids_across_reset():
    with HeadSpinEmulator(devices=[f"{UDID}@lab:ios:F2LX", "r1@lab:roku"]) as emulator:
        assert list(emulator.devices) == [f"{UDID}@lab", "r1@lab"]
        emulator.reset()
        device = emulator.devices[f"{UDID}@lab"]
        assert (device.serial, device.device_id, device.platform) == ("F2LX", UDID, "ios")


@pytest.mark.parametrize("selector", [{"device_type": "android"}, "device_type:android", '{"device_type": "android"}'])
def test_lock_by_selector_takes_the_first_free_match(api, headspin_emulator, selector):
    first = api.post("/devices/lock", json={"selector": selector})
    second = api.post("/devices/lock", json={"selector": selector})
    assert [first.json()["serial"], second.json()["serial"]] == ["emu-android-1", "emu-android-2"]
    busy = api.post("/devices/lock", json={"selector": selector})
    assert busy.status_code == 403 and busy.json()["status_code"] == 403
    assert headspin_emulator.devices["emu-ios-1@emulator.local"].locked_by is None
    released = api.post("/devices/unlock", json={"selector": selector})
    assert released.json()["status"] == "Unlocked device emu-android-1."
    assert api.post("/devices/lock", json={"selector": selector}).json()["serial"] == "emu-android-1"


def test_lock_by_selector_body_as_some_clients_send_it(api, headspin_emulator):
    locked = api.post("/devices/lock", json={"device_type": "ios", "os_version": "17.4"})
    assert locked.status_code == 200 and locked.json()["serial"] == "emu-ios-1"
    assert headspin_emulator.devices["emu-ios-1@emulator.local"].locked_by == "you"
    assert api.post("/devices/lock", json={"selector": "device_type:roku"}).status_code == 404
    assert api.post("/devices/lock", json={"model": "Pixel 8"}).status_code == 404  # no such field here
    for bad in ({"selector": "device_type"}, {"selector": 7}, {"selector": {}}, {}):
        assert api.post("/devices/lock", json=bad).status_code == 400, bad


def test_device_list_selector_as_key_value_text(api):
    devices = api.get("/devices", params={"selector": "device_type:ios"}).json()["devices"]
    assert [d["serial"] for d in devices] == ["emu-ios-1"]
    both = api.get("/devices", params={"selector": "device_type:android,serial:emu-android-2"}).json()["devices"]
    assert [d["serial"] for d in both] == ["emu-android-2"]


def _basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_token_as_basic_credentials(headspin_emulator):
    token, url = headspin_emulator.token, headspin_emulator.url + "/devices"
    for headers in (_basic(token, ""), _basic("", token), _basic("someone", token)):
        assert requests.get(url, headers=headers, timeout=5).status_code == 200, headers
    assert requests.get(url, auth=(token, ""), timeout=5).status_code == 200
    for headers in (_basic("someone", "else"), _basic(token[:-1], ""), {"Authorization": "Basic !!notbase64"}):
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 401 and response.json()["status_code"] == 401


@pytest.mark.parametrize("headspin_emulator", [{"basic_auth": False}], indirect=True)
def test_basic_credentials_can_be_refused(headspin_emulator):
    url = headspin_emulator.url + "/devices"
    assert requests.get(url, headers=_basic(headspin_emulator.token, ""), timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": f"Bearer {headspin_emulator.token}"}, timeout=5).ok
