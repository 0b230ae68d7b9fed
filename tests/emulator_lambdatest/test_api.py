import pytest
import requests

NOT_FOUND = {"message": "Either resource not found or already deleted", "status": "fail"}
BAD_PAYLOAD = {"message": "Please provide a valid payload", "status": "fail"}
SEED_FIELDS = {"test_id", "build_id", "name", "user_id", "username", "duration", "platform", "browser",
               "browser_version", "device", "status_ind", "session_id", "build_name", "create_timestamp",
               "start_timestamp", "end_timestamp", "remark", "console_logs_url", "network_logs_url",
               "command_logs_url", "selenium_logs_url", "screenshot_url", "video_url", "customData"}


@pytest.mark.parametrize("auth", [None, ("emulator-user", "wrong"), ("someone", "KEY"), "bearer"])
def test_wrong_credentials_are_refused(lambdatest_emulator, auth):
    kwargs = {"timeout": 10}
    if auth == "bearer":
        kwargs["headers"] = {"Authorization": f"Bearer {lambdatest_emulator.access_key}"}
    elif auth is not None:
        user, key = auth
        kwargs["auth"] = (user, lambdatest_emulator.access_key if key == "KEY" else key)
    response = requests.get(lambdatest_emulator.url + "/sessions", **kwargs)
    assert response.status_code == 401
    assert response.text == "HTTP Basic: Access denied."
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert lambdatest_emulator.requests[-1][2:] == (401, False)


def test_session_details(api, lambdatest_emulator):
    session = lambdatest_emulator.add_session({"name": "t1", "build": "b1", "platformName": "Windows 10"})
    response = api.get(f"/sessions/{session.session_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success" and body["message"] == "Retrieve session was successful"
    data = body["data"]
    assert SEED_FIELDS <= set(data)
    assert (data["session_id"], data["name"], data["build_name"], data["status_ind"]) == (
        session.session_id, "t1", "b1", "completed")
    assert data["username"] == lambdatest_emulator.username and data["platform"] == "windows 10"
    assert data["console_logs_url"] == f"{lambdatest_emulator.url}/sessions/{session.session_id}/log/console"
    assert len(data["test_id"].split("-")) == 4 and data["test_id"] != data["session_id"]
    assert data["create_timestamp"] and data["end_timestamp"]
    assert lambdatest_emulator.requests[-1][2:] == (200, True)


def test_patch_round_trip_after_the_session_ended(api, lambdatest_emulator):
    session = lambdatest_emulator.add_session({"name": "before"})
    assert not session.running
    patch = {"name": "after", "status_ind": "failed", "reason": "assert 1 == 2", "tags": ["smoke", "eu"],
             "custom_data": {"ticket": "QA-1"}}
    response = api.patch(f"/sessions/{session.session_id}", json=patch)
    assert response.status_code == 200
    assert response.json() == {"message": "Session updated successfully", "status": "success"}
    data = api.get(f"/sessions/{session.session_id}").json()["data"]
    assert (data["name"], data["status_ind"], data["remark"]) == ("after", "failed", "assert 1 == 2")
    assert data["tags"] == ["smoke", "eu"] and data["customData"] == {"ticket": "QA-1"}
    assert (session.status_ind, session.reason, session.tags, session.custom_data) == (
        "failed", "assert 1 == 2", ["smoke", "eu"], {"ticket": "QA-1"})
    assert api.patch(f"/sessions/{session.session_id}", json={"status_ind": "PASSED"}).status_code == 200
    assert session.status_ind == "passed"


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"status_ind": "great"}', b'{"tags": "x"}',
                                  b'{"custom_data": [1]}', b'{"name": 7}', b'{"other": 1}',
                                  b'{"status_ind": "passed", "tags": [1]}'])
def test_patch_rejects_a_bad_payload_whole(api, lambdatest_emulator, body):
    session = lambdatest_emulator.add_session({"name": "keep"})
    response = api.patch(f"/sessions/{session.session_id}", data=body,
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json() == BAD_PAYLOAD
    assert (session.name, session.status_ind, session.tags) == ("keep", "completed", [])


def test_unknown_session_404_on_session_routes_400_on_log_routes(api):
    for method, path in (("GET", "/sessions/nope"), ("PATCH", "/sessions/nope"), ("GET", "/sessions/nope/video")):
        response = api.request(method, path, json={"status_ind": "passed"})
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path
    for kind in ("command", "console", "selenium", "network", "full-har"):
        response = api.get(f"/sessions/nope/log/{kind}")
        assert (response.status_code, response.json()) == (400, NOT_FOUND), kind


def test_list_sessions_by_build(api, lambdatest_emulator):
    first = lambdatest_emulator.add_session({"build": "nightly", "name": "a"})
    second = lambdatest_emulator.add_session({"build": "nightly", "name": "b"})
    other = lambdatest_emulator.add_session({"build": "release", "name": "c"})
    everything = api.get("/sessions").json()
    assert everything["Meta"]["result_set"] == {"count": 3, "limit": 10, "offset": 0, "total": 3}
    nightly = api.get("/sessions", params={"build_id": first.build_id}).json()
    assert {s["session_id"] for s in nightly["data"]} == {first.session_id, second.session_id}
    by_name = api.get("/sessions", params={"build_name": "release"}).json()
    assert [s["session_id"] for s in by_name["data"]] == [other.session_id]
    page = api.get("/sessions", params={"limit": 1, "offset": 1, "sort": "asc"}).json()
    assert [s["session_id"] for s in page["data"]] == [second.session_id]
    assert page["Meta"]["result_set"]["total"] == 3
    api.patch(f"/sessions/{second.session_id}", json={"status_ind": "failed", "tags": ["flaky"]})
    assert [s["name"] for s in api.get("/sessions", params={"status": "failed"}).json()["data"]] == ["b"]
    assert [s["name"] for s in api.get("/sessions", params={"tags": "flaky,x"}).json()["data"]] == ["b"]
    assert api.get("/sessions", params={"limit": "ten"}).status_code == 400


def test_reset_and_settings(lambdatest_emulator, api):
    lambdatest_emulator.add_session()
    lambdatest_emulator.add_fault(path="^/sessions$", status=500, times=None)
    lambdatest_emulator.artifact_delay = 3
    lambdatest_emulator.reset()
    assert lambdatest_emulator.sessions == {} and lambdatest_emulator.faults == []
    assert lambdatest_emulator.requests == [] and lambdatest_emulator.artifact_delay == 0.2
    assert api.get("/sessions").status_code == 200
    with pytest.raises(ValueError, match="artifact_delay"):
        lambdatest_emulator.artifact_delay = -1


@pytest.mark.parametrize("lambdatest_emulator", [{"signed_link_ttl": 5, "latency": 0.2}], indirect=True)
def test_fixture_parameter_sets_settings(lambdatest_emulator, api):
    assert lambdatest_emulator.signed_link_ttl == 5
    import time

    started = time.monotonic()
    assert api.get("/sessions").status_code == 200
    assert time.monotonic() - started >= 0.2  # latency: half each way
