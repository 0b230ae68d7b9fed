import time

import pytest
import requests

from pytest_devsession.emulator import Fault


def test_status_fault_hits_times_then_clears(api, headspin_emulator):
    fault = headspin_emulator.add_fault(Fault(method="GET", path=r"^/devices$", kind="status", status=503, times=2))
    first, second, third = (api.get("/devices") for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.json() == {"status": "Service Unavailable", "status_code": 503}
    assert fault.hits == 2
    assert api.post("/devices/lock", json={"device_id": "emu-ios-1"}).status_code == 200


def test_status_fault_with_own_body_and_method_matching(api, headspin_emulator):
    headspin_emulator.add_fault(Fault(method="POST", path="/sessions", status=500,
                                      body={"status": "Error starting session.", "status_code": 500}, times=None))
    assert api.get("/sessions").status_code == 200  # GET is not matched
    for _ in range(3):
        response = api.post("/sessions", json={})
        assert response.status_code == 500 and response.json()["status"] == "Error starting session."
    headspin_emulator.add_fault(Fault(method=None, path="/userflows", status=418, body="teapot"))
    response = api.put("/userflows", json={"name": "x"})
    assert response.status_code == 418 and response.text == "teapot"


def test_faults_come_before_auth(headspin_emulator):
    headspin_emulator.add_fault(Fault(path="/devices", status=502))
    assert requests.get(headspin_emulator.url + "/devices", timeout=5).status_code == 502


def test_drop_fault_closes_the_connection(api, headspin_emulator):
    headspin_emulator.add_fault(Fault(path="/devices", kind="drop"))
    with pytest.raises(requests.ConnectionError):
        api.get("/devices")
    assert api.get("/devices").status_code == 200
    assert headspin_emulator.requests[0] == ("GET", "/v0/devices", None)


def test_slow_fault_delays_a_normal_answer(api, headspin_emulator):
    headspin_emulator.add_fault(Fault(path="/devices", kind="slow", delay=0.3))
    started = time.monotonic()
    assert api.get("/devices").status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.Timeout):
        headspin_emulator.add_fault(Fault(path="/devices", kind="slow", delay=0.5))
        api.get("/devices", timeout=0.1)


def test_retry_after_fault(api, headspin_emulator):
    headspin_emulator.add_fault(Fault(method="*", path="/userflows", kind="retry_after", retry_after=2, times=1))
    limited = api.get("/userflows")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json()["status_code"] == 429
    assert api.get("/userflows").status_code == 200


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError):
        Fault(kind="explode")


def test_flaky_capture_setup_sequence(api, headspin_emulator):
    headspin_emulator.ready_delay = 5
    headspin_emulator.complete_delay = 5
    headspin_emulator.flaky_capture_setup = True
    session_id = api.start_capture()
    path = f"/sessions/{session_id}/timestamps"

    def poll():
        try:
            return api.get(path).status_code
        except requests.ConnectionError:
            return "dropped"

    assert [poll() for _ in range(6)] == ["dropped", 502, 404, "dropped", 502, 404]
    headspin_emulator.sessions[session_id].ready_at = 0  # start now
    assert [poll() for _ in range(2)] == [200, 200]  # active: steady
    api.stop_capture(session_id)
    assert [poll() for _ in range(3)] == ["dropped", 502, 200]
    assert headspin_emulator.sessions[session_id].state == "stopping"
    headspin_emulator.sessions[session_id].complete_at = 0  # complete now
    assert [poll() for _ in range(2)] == [200, 200]
    assert "capture-complete" in api.get(path).json()
