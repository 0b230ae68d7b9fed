"""A device's cooldown after a capture, and the create that is cut short after opening a session."""
import pytest

from pytest_devsession.emulator import Fault, HeadSpinEmulator

ANDROID, ANDROID_2, IOS = HeadSpinEmulator.DEFAULT_DEVICES
START_ERROR = {"status": "Error starting session.", "status_code": 500}


def _create(api, address=ANDROID):
    return api.post("/sessions", json={"session_type": "capture", "device_address": address, "nowait": True})


def test_new_capture_within_the_cooldown_is_500_until_it_passes(clocked_api, clock):
    api, emulator = clocked_api, clocked_api.emulator
    emulator.cooldown = 30
    first = api.start_capture()
    clock.advance(5)
    api.stop_capture(first)
    clock.advance(29.9)
    refused = _create(api)
    assert refused.status_code == 500 and refused.json() == START_ERROR
    assert list(emulator.sessions) == [first]  # nothing was opened
    assert _create(api, ANDROID_2).status_code == 403  # another device: not locked, not cooling down
    clock.advance(0.1)
    assert _create(api).status_code == 200


def test_no_cooldown_by_default(api, headspin_emulator):
    assert headspin_emulator.cooldown == 0
    api.stop_capture(api.start_capture())
    assert _create(api).status_code == 200


@pytest.mark.parametrize("headspin_emulator", [{"cooldown": 60}], indirect=True)
def test_cooldown_through_the_fixture_parameter(headspin_emulator, api):
    assert headspin_emulator.cooldown == 60
    api.stop_capture(api.start_capture())
    assert _create(api).json() == START_ERROR
    api.post("/idevice/emu-ios-1/lock")
    assert _create(api, IOS).status_code == 200  # only the device that captured cools down


def test_the_fixture_parameter_lasts_one_test(headspin_emulator):
    assert headspin_emulator.cooldown == 0 and headspin_emulator.video_metadata_delay == 0


def test_an_unknown_fixture_setting_is_an_error(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.parametrize("headspin_emulator", [{"coldown": 5}], indirect=True)
        def test_it(headspin_emulator):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*headspin_emulator has no setting coldown*"])


def test_cooldown_setting_is_checked_and_reset(headspin_emulator):
    with pytest.raises(ValueError):
        headspin_emulator.cooldown = -1
    with pytest.raises(ValueError):
        HeadSpinEmulator(cooldown="30")
    headspin_emulator.cooldown = 12.5
    headspin_emulator.reset()
    assert headspin_emulator.cooldown == 0


def test_cut_short_create_opens_the_session_but_answers_500(api, headspin_emulator):
    fault = headspin_emulator.add_fault(Fault.cut_short_create())
    api.post("/adb/emu-android-1/lock")
    response = _create(api)
    assert response.status_code == 500 and response.json() == START_ERROR
    assert fault.hits == 1
    [session] = headspin_emulator.sessions.values()
    assert session.device_address == ANDROID and session.active
    listed = api.get("/sessions").json()["sessions"]
    assert [s["session_id"] for s in listed] == [session.session_id]
    # the client's retry meets the capture it does not know it has
    assert _create(api).status_code == 409
    creates = [status for method, target, status in headspin_emulator.requests
               if (method, target) == ("POST", "/v0/sessions")]
    assert creates == [500, 409]


def test_cut_short_is_any_request_served_then_answered_otherwise(api, headspin_emulator):
    session_id = api.start_capture()
    headspin_emulator.add_fault(Fault(method="PATCH", path="^/sessions/", kind="cut_short", status=502, body="gateway"))
    response = api.patch(f"/sessions/{session_id}", json={"active": False, "nowait": True})
    assert (response.status_code, response.text) == (502, "gateway")
    assert headspin_emulator.sessions[session_id].active is False  # the stop happened
    refused = headspin_emulator.add_fault(Fault(method="POST", path="^/sessions$", kind="cut_short", status=500))
    assert _create(api).json() == {"status": "Internal Server Error", "status_code": 500}
    assert refused.hits == 1 and len(headspin_emulator.sessions) == 2
