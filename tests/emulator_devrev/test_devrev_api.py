import time

import pytest
import requests

NO_DELAY = [{"upload_delay": 0}]


def _list(api, app, **body):
    answer = api.post("/observability.sessions.list", json={"version_key": app, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_no_token_or_a_wrong_one_is_401_in_devrev_shape(devrev_emulator, api):
    url = devrev_emulator.url + "/observability.sessions.list"
    for headers in ({"X-Devrev-Scope": "beta"}, {"X-Devrev-Scope": "beta", "Authorization": "Bearer wrong"}):
        answer = requests.post(url, json={"version_key": devrev_emulator.app_id}, headers=headers, timeout=10)
        assert answer.status_code == 401
        body = answer.json()
        assert body["type"] == "unauthorized" and set(body) == {"type", "message", "detail"}
        assert devrev_emulator.token not in answer.text
    assert [r.authorized for r in devrev_emulator.requests] == [False, False]


def test_beta_routes_need_the_scope_header(devrev_emulator, api):
    del api.headers["X-Devrev-Scope"]
    answer = api.post("/observability.sessions.list", json={"version_key": devrev_emulator.app_id})
    assert answer.status_code == 404 and answer.json()["type"] == "not_found"
    api.headers["X-Devrev-Scope"] = "beta"
    assert api.post("/observability.sessions.list", json={"version_key": devrev_emulator.app_id}).status_code == 200
    logged = devrev_emulator.requests
    assert [(r.method, r.status, r.scoped) for r in logged] == [("POST", 404, False), ("POST", 200, True)]
    assert logged[0].path == "/observability.sessions.list"


def test_unknown_app_is_not_found_and_a_missing_one_bad_request(devrev_emulator, api):
    for route in ("/observability.sessions.list", "/observability.sessions.data.get"):
        answer = api.post(route, json={"version_key": "no-such-app", "session_id": "x", "recording_id": "y"})
        assert answer.status_code == 404 and answer.json()["type"] == "not_found", route
    answer = api.get("/observability.sessions.get", params={"version_key": "no-such-app", "session_id": "x"})
    assert answer.status_code == 404
    assert api.post("/observability.sessions.list", json={}).json()["type"] == "bad_request"
    other = devrev_emulator.add_app("second-app")
    assert _list(api, other) == {"sessions": []}


@pytest.mark.parametrize("devrev_emulator", [{"upload_delay": 0.4}], indirect=True)
def test_a_session_is_listed_only_after_the_upload_delay(devrev_emulator, api):
    uploaded = api.post("/_emulator/sessions.upload", json={"version_key": devrev_emulator.app_id, "frames": 2},
                        headers={"Authorization": ""})  # the SDK's route: no token
    assert uploaded.status_code == 202, uploaded.text
    session_id, recording_id = uploaded.json()["session_id"], uploaded.json()["recording_id"]
    assert session_id in devrev_emulator.sessions
    assert _list(api, devrev_emulator.app_id)["sessions"] == []
    params = {"version_key": devrev_emulator.app_id, "session_id": session_id, "platform": "android"}
    assert api.get("/observability.sessions.get", params=params).status_code == 404
    time.sleep(0.5)
    listed = _list(api, devrev_emulator.app_id)["sessions"]
    assert [s["session_id"] for s in listed] == [session_id] and listed[0]["recording_ids"] == [recording_id]
    session = api.get("/observability.sessions.get", params=params).json()["session"]
    assert {"type", "platform", "session_id", "created_at", "device_metadata", "has_exception_occurred", "is_anr",
            "is_crash", "rage_tap", "recording_ids", "rev_org_id", "rev_user_id",
            "session_duration_ms"} <= set(session)
    assert session["recording_ids"] == [recording_id]


@pytest.mark.parametrize("devrev_emulator", NO_DELAY, indirect=True)
def test_list_filters(devrev_emulator, api):
    upload = devrev_emulator.upload_session
    a = upload(created_at="2024-05-01T10:00:00Z", device_metadata={"model": "Pixel 8", "app_version": "2.1"},
               properties={"test_id": "t-1"})
    b = upload(created_at="2024-05-01T11:00:00Z", device_metadata={"model": "Galaxy S23", "os_version": "13"},
               is_crash=True, log="java.lang.IllegalStateException", properties={"test_id": "t-2"})
    c = upload(created_at=1714568400000, platform="ios", is_anr=True,  # 2024-05-01T13:00Z
               device_metadata={"model": "iPhone 15", "os_version": "17.4"})

    def ids(**body):
        return [s["session_id"] for s in _list(api, devrev_emulator.app_id, **body)["sessions"]]

    assert ids() == [c.session_id, b.session_id, a.session_id]  # created_at:desc
    assert ids(sort_by=["created_at:asc"]) == [a.session_id, b.session_id, c.session_id]
    assert ids(created_at={"type": "range", "after": "2024-05-01T10:30:00Z", "before": 1714568400000}) == \
        [c.session_id, b.session_id]
    assert ids(created_at={"before": "2024-05-01T10:00:00.000Z"}) == [a.session_id]
    assert ids(device_model=["Pixel 8", "iPhone 15"]) == [c.session_id, a.session_id]
    assert ids(app_version=["2.1"]) == [a.session_id]
    assert ids(os_version=["13", "17.4"]) == [c.session_id, b.session_id]
    assert ids(is_crash=True) == [b.session_id] and ids(is_anr=True) == [c.session_id]
    assert ids(is_crash=False, is_anr=False) == [a.session_id]
    assert ids(properties={"test_id": "t-2"}) == [b.session_id]
    assert ids(properties={"test_id": ["t-1", "t-2"]}) == [b.session_id, a.session_id]
    assert ids(platform="ios") == [c.session_id]
    got = api.get("/observability.sessions.list", params={"version_key": devrev_emulator.app_id,
                                                          "device_model": ["Pixel 8", "Galaxy S23"],
                                                          "created_at.after": "2024-05-01T10:30:00Z",
                                                          "properties.test_id": "t-2"})
    assert [s["session_id"] for s in got.json()["sessions"]] == [b.session_id]
    bad = api.post("/observability.sessions.list", json={"version_key": devrev_emulator.app_id,
                                                         "created_at": {"after": "yesterday"}})
    assert bad.status_code == 400 and bad.json()["type"] == "bad_request"


@pytest.mark.parametrize("devrev_emulator", NO_DELAY, indirect=True)
def test_paging_forward_and_back(devrev_emulator, api):
    made = [devrev_emulator.upload_session(created_at=1_700_000_000_000 + i * 1000).session_id for i in range(5)]
    newest_first = made[::-1]
    first = _list(api, devrev_emulator.app_id, limit=2)
    assert [s["session_id"] for s in first["sessions"]] == newest_first[:2]
    assert "prev_cursor" not in first
    second = _list(api, devrev_emulator.app_id, limit=2, cursor=first["next_cursor"])
    assert [s["session_id"] for s in second["sessions"]] == newest_first[2:4]
    third = _list(api, devrev_emulator.app_id, limit=2, cursor=second["next_cursor"])
    assert [s["session_id"] for s in third["sessions"]] == newest_first[4:] and "next_cursor" not in third
    back = _list(api, devrev_emulator.app_id, limit=2, cursor=third["prev_cursor"])
    assert [s["session_id"] for s in back["sessions"]] == newest_first[2:4]
    last = _list(api, devrev_emulator.app_id, limit=2, mode="before")
    assert [s["session_id"] for s in last["sessions"]] == newest_first[3:]
    assert api.post("/observability.sessions.list", json={"version_key": devrev_emulator.app_id,
                                                          "cursor": "garbage"}).status_code == 400


@pytest.mark.parametrize("devrev_emulator", NO_DELAY, indirect=True)
def test_data_get_has_the_recording(devrev_emulator, api):
    timeline = [{"timestamp_offset_ms": 1200, "event_type": "plug", "event_name": "screen_view", "screen": "Login"},
                {"timestamp_offset_ms": 4100, "event_name": "crash", "exception_class_name": "java.lang.NPE"}]
    session = devrev_emulator.upload_session(
        created_at="2024-05-01T10:00:00Z", session_duration_ms=6000, app_launch={"launch_time_ms": 950,
                                                                                  "launch_type": "warm"},
        available_ram=1000, total_ram=4000, is_crash=True, log="boom at Login", timeline=timeline, frames=12,
        device_metadata={"model": "Pixel 8"}, user_attributes={"plan": "pro"})
    answer = api.post("/observability.sessions.data.get", json={
        "session_id": session.session_id, "version_key": devrev_emulator.app_id,
        "recording_id": session.recording_id})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["recording"] == "mobile_recording" and data["recording_id"] == session.recording_id
    assert data["app_launch"] == {"launch_time_ms": 950, "launch_type": "warm"}
    assert (data["available_ram"], data["total_ram"]) == (1000, 4000)
    assert data["created_at"] == "2024-05-01T10:00:00.000Z"
    assert data["device_metadata"]["model"] == "Pixel 8" and "screen_width" in data["device_metadata"]
    assert data["observability_sessions_log_data"] == {"is_anr": False, "is_crash": True, "value": "boom at Login"}
    events = data["recording_events_timeline"]
    assert [e["timestamp_offset_ms"] for e in events] == [1200, 4100] and events[1]["exception_class_name"]
    assert data["user_attributes"] == {"plan": "pro"} and data["rev_org_id"].startswith("REV-")
    chunks = data["video_playback_data"]
    assert [len(c["frames"]) for c in chunks] == [10, 2]
    assert chunks[0]["start_frame"] == "0" and chunks[1]["end_frame"] == "5500"
    for chunk in chunks:
        assert set(chunk) == {"presigned_url", "start_frame", "end_frame", "frames", "frame_image_map"}
        assert list(chunk["frame_image_map"]) == chunk["frames"]
    wrong = api.post("/observability.sessions.data.get", json={
        "session_id": session.session_id, "version_key": devrev_emulator.app_id, "recording_id": "rec-nope"})
    assert wrong.status_code == 404 and wrong.json()["type"] == "not_found"
    assert api.post("/observability.sessions.data.get", json={
        "session_id": session.session_id, "version_key": devrev_emulator.app_id}).status_code == 400


def test_upload_refuses_bad_fields(devrev_emulator, api):
    post = api.post
    assert post("/_emulator/sessions.upload", json={"version_key": "no-such-app"}).status_code == 404
    assert post("/_emulator/sessions.upload", json={"version_key": devrev_emulator.app_id,
                                                    "platform": "symbian"}).json()["type"] == "bad_request"
    assert post("/_emulator/sessions.upload", json={"version_key": devrev_emulator.app_id,
                                                    "colour": "red"}).status_code == 400
    assert devrev_emulator.sessions == {}
    devrev_emulator.upload_session()
    devrev_emulator.reset()
    assert devrev_emulator.sessions == {} and devrev_emulator.requests == []
