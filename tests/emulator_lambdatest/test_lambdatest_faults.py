import pytest
import requests

from pytest_devsession.emulator.lambdatest import Fault


def test_status_fault_then_success(api, lambdatest_emulator):
    session = lambdatest_emulator.add_session()
    fault = lambdatest_emulator.add_fault(path=r"^/sessions/[^/]+$", status=500, times=2)
    codes = [api.get(f"/sessions/{session.session_id}").status_code for _ in range(3)]
    assert codes == [500, 500, 200] and fault.hits == 2


def test_fault_with_a_200_fail_body(api, lambdatest_emulator):
    session = lambdatest_emulator.add_session()
    lambdatest_emulator.add_fault(Fault(method="PATCH", path="^/sessions/", status=200,
                                        body={"message": "Something went wrong", "status": "fail"}))
    response = api.patch(f"/sessions/{session.session_id}", json={"status_ind": "passed"})
    assert response.status_code == 200 and response.json()["status"] == "fail"
    assert session.status_ind == "completed"  # not applied
    assert api.patch(f"/sessions/{session.session_id}", json={"status_ind": "passed"}).json()["status"] == "success"


def test_retry_after_and_drop(api, lambdatest_emulator):
    lambdatest_emulator.add_fault(path="^/sessions$", kind="retry_after", retry_after=3)
    limited = api.get("/sessions")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.json() == {"message": "Too Many Requests", "status": "fail"}
    lambdatest_emulator.add_fault(path="^/sessions$", kind="drop")
    with pytest.raises(requests.ConnectionError):
        api.get("/sessions")
    assert api.get("/sessions").status_code == 200
    assert [r.status for r in lambdatest_emulator.requests] == [429, None, 200]


def test_cut_short_patch_takes_effect(api, lambdatest_emulator):
    session = lambdatest_emulator.add_session()
    lambdatest_emulator.add_fault(method="PATCH", path="^/sessions/", kind="cut_short", status=502)
    assert api.patch(f"/sessions/{session.session_id}", json={"status_ind": "error"}).status_code == 502
    assert session.status_ind == "error"


def test_hub_fault_is_a_webdriver_error(lambdatest_emulator):
    lambdatest_emulator.add_fault(method="POST", path=r"^/wd/hub/session$", status=503)
    auth = (lambdatest_emulator.username, lambdatest_emulator.access_key)
    body = {"capabilities": {"alwaysMatch": {"browserName": "chrome"}}}
    response = requests.post(lambdatest_emulator.hub_url + "/session", json=body, auth=auth, timeout=10)
    assert response.status_code == 503 and response.json()["value"]["error"] == "unknown error"
    assert lambdatest_emulator.sessions == {}
