import time

import pytest

from pytest_devsession.emulator.devrev import Fault


def _list(api, devrev_emulator):
    return api.post("/observability.sessions.list", json={"version_key": devrev_emulator.app_id})


@pytest.mark.parametrize("devrev_emulator", [{"rate_limit": 3, "rate_window": 1}], indirect=True)
def test_rate_limit_answers_429_with_retry_after(devrev_emulator, api):
    assert [_list(api, devrev_emulator).status_code for _ in range(3)] == [200, 200, 200]
    limited = _list(api, devrev_emulator)
    assert limited.status_code == 429
    body = limited.json()
    assert body["type"] == "too_many_requests" and body["retry_after"] == 1
    assert set(body) == {"type", "message", "detail", "retry_after"}
    assert limited.headers["Retry-After"] == "1" and limited.headers["X-Ratelimit-Remaining"] == "0"
    time.sleep(1.05)
    assert _list(api, devrev_emulator).status_code == 200


def test_no_rate_limit_by_default(devrev_emulator, api):
    assert {_list(api, devrev_emulator).status_code for _ in range(20)} == {200}


def test_a_burst_of_injected_429s(devrev_emulator, api):
    devrev_emulator.add_fault(kind="retry_after", retry_after=7, times=2)
    answers = [_list(api, devrev_emulator) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json()["retry_after"] == 7 and answers[0].headers["Retry-After"] == "7"


def test_injected_500_has_a_reference_id_and_503_is_service_unavailable(devrev_emulator, api):
    devrev_emulator.add_fault(status=500, path=r"sessions\.list$")
    devrev_emulator.add_fault(Fault(method="POST", path=r"data\.get$", status=503))
    failed = _list(api, devrev_emulator)
    assert failed.status_code == 500
    body = failed.json()
    assert body["type"] == "internal_error" and body["reference_id"] and set(body) >= {"message", "detail"}
    unavailable = api.post("/observability.sessions.data.get", json={"version_key": devrev_emulator.app_id})
    assert unavailable.status_code == 503 and unavailable.json()["type"] == "service_unavailable"
    assert _list(api, devrev_emulator).status_code == 200  # each fault hit once
    assert [r.status for r in devrev_emulator.requests] == [500, 503, 200]


def test_faults_over_http_need_the_token(devrev_emulator, api):
    assert api.post("/_emulator/faults", json={"status": 503, "times": 1},
                    headers={"Authorization": "Bearer wrong"}).status_code == 401
    added = api.post("/_emulator/faults", json={"status": 503, "times": 1})
    assert added.status_code == 201 and added.json()["path"] == r"^/observability\."
    assert _list(api, devrev_emulator).status_code == 503
    assert api.post("/_emulator/faults", json={"kind": "explode"}).status_code == 400
