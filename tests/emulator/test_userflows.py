import time

import pytest

from pytest_devsession.emulator import HeadSpinEmulator

ANDROID, ANDROID_2, IOS = HeadSpinEmulator.DEFAULT_DEVICES
MEASUREMENT_KEYS = {"user_flow_id", "user_flow_name", "perf_event_id", "event_time", "session_id",
                    "perf_key_id", "key_name", "key_type", "key_units", "value"}
CSV_HEADER = "user_flow_id,user_flow_name,perf_event_id,event_time,session_id,perf_key_id,key_name,key_type,key_units,value"


@pytest.fixture
def flow(api):
    return api.put("/userflows", json={"name": "Login", "description": "log in"}).json()


def test_userflow_crud(api, headspin_emulator, flow):
    assert set(flow) == {"user_flow_id", "name", "description", "created_time"}
    again = api.put("/userflows", json={"name": "Login", "description": "other"}).json()
    assert again == flow  # idempotent by name, description kept
    assert api.get("/userflows").json() == {"user_flows": [flow]}
    assert api.get(f"/userflows/{flow['user_flow_id']}").json() == flow
    assert headspin_emulator.userflow_by_name("Login").user_flow_id == flow["user_flow_id"]
    assert api.put("/userflows", json={"description": "no name"}).status_code == 400
    assert api.delete(f"/userflows/{flow['user_flow_id']}").json() == {"status": "Success", "status_code": 200}
    assert api.get(f"/userflows/{flow['user_flow_id']}").status_code == 404
    assert api.delete(f"/userflows/{flow['user_flow_id']}").status_code == 404


def test_sessions_in_a_flow(api, headspin_emulator, flow):
    fid = flow["user_flow_id"]
    session_id = api.start_capture()
    attached = api.post(f"/userflows/{fid}/sessions", json={"session_id": session_id})
    assert attached.status_code == 200
    event = attached.json()
    assert set(event) == {"user_flow_id", "perf_event_id", "session_id", "status", "status_message",
                          "host", "device_id", "event_time"}
    assert (event["status"], event["host"], event["device_id"]) == ("Not Set", "emulator.local", "emu-android-1")
    time.strptime(event["event_time"], "%Y-%m-%d %H:%M:%S")
    assert api.get(f"/userflows/{fid}/sessions").json() == {"sessions": [event]}
    assert api.get(f"/userflows/{fid}/sessions/{session_id}").json() == event

    patched = api.patch(f"/userflows/{fid}/sessions/{session_id}", json={"status": "passed", "status_message": "ok"})
    assert (patched.json()["status"], patched.json()["status_message"]) == ("Passed", "ok")
    stored = headspin_emulator.userflows[fid].events[event["perf_event_id"]]
    assert (stored.status, stored.session_id) == ("Passed", session_id)
    assert api.patch(f"/userflows/{fid}/sessions/{session_id}", json={"status": "great"}).status_code == 400
    assert api.patch(f"/userflows/{fid}/sessions/{session_id}", json={}).status_code == 400

    other = api.put("/userflows", json={"name": "Other"}).json()["user_flow_id"]
    refused = api.post(f"/userflows/{other}/sessions", json={"session_id": session_id})
    assert refused.status_code == 400
    moved = api.patch(f"/userflows/{fid}/sessions/{session_id}", json={"user_flow_id": other})
    assert moved.json()["user_flow_id"] == other and moved.json()["status"] == "Passed"
    assert api.get(f"/userflows/{fid}/sessions/{session_id}").status_code == 404
    assert api.delete(f"/userflows/{other}/sessions/{session_id}").json()["status"] == "Success"
    assert api.get(f"/userflows/{other}/sessions").json() == {"sessions": []}


@pytest.mark.parametrize("body, status", [
    ({}, 400), ({"session_id": 5}, 400), ({"session_id": "nope"}, 404),
    ({"session_id": "SESSION", "status": "Great"}, 400),
])
def test_attach_errors(api, flow, body, status):
    session_id = api.start_capture()
    body = {k: (session_id if v == "SESSION" else v) for k, v in body.items()}
    assert api.post(f"/userflows/{flow['user_flow_id']}/sessions", json=body).status_code == status
    assert api.post("/userflows/nope/sessions", json={"session_id": session_id}).status_code == 404


def test_attach_with_status(api, flow):
    session_id = api.start_capture()
    event = api.post(f"/userflows/{flow['user_flow_id']}/sessions",
                     json={"session_id": session_id, "status": "FAILED", "status_message": "boom"}).json()
    assert (event["status"], event["status_message"]) == ("Failed", "boom")


def test_session_measurements(api, headspin_emulator, flow):
    fid = flow["user_flow_id"]
    session_id = api.start_capture()
    api.post(f"/userflows/{fid}/sessions", json={"session_id": session_id})
    base = f"/userflows/{fid}/sessions/{session_id}/measurements"
    for bad in ({}, {"data": "x"}, {"data": [{"key": "k"}]}, {"data": [{"value": 1}]}, {"data": [5]}):
        assert api.post(base, json=bad).status_code == 400, bad
    posted = api.post(base, json={"data": [{"key": "Idle Time", "value": 3992.0, "type": "Custom Metrics",
                                            "units": "seconds"}, {"key": "Load Time", "value": "3421.2"},
                                           {"key": "Build", "value": "abc"}]})
    assert posted.json() == {"status": "Sucesss", "status_code": 200}
    rows = api.get(base).json()["measurements"]
    assert [(r["key_name"], r["value"]) for r in rows] == [("Idle Time", 3992.0), ("Load Time", 3421.2), ("Build", "abc")]
    assert set(rows[0]) == MEASUREMENT_KEYS
    assert (rows[0]["user_flow_name"], rows[0]["key_type"], rows[0]["key_units"]) == ("Login", "Custom Metrics", "seconds")
    assert [r["key_name"] for r in api.get(base, params={"key": "Build"}).json()["measurements"]] == ["Build"]
    csv_text = api.get(base, params={"format": "csv", "limit": 1}).text
    assert csv_text.splitlines()[0] == CSV_HEADER and csv_text.splitlines()[1].endswith(",Idle Time,Custom Metrics,seconds,3992.0")
    stored = headspin_emulator.userflows[fid].events[rows[0]["perf_event_id"]].measurements
    assert stored[0] == {"key": "Idle Time", "value": 3992.0, "type": "Custom Metrics", "units": "seconds"}
    assert api.get(f"/userflows/{fid}/sessions/nope/measurements").status_code == 404


def test_flow_measurements_filters_paging_and_csv(api, flow):
    fid = flow["user_flow_id"]
    sessions = {}
    for address, status in ((ANDROID, "passed"), (ANDROID_2, "excluded"), (IOS, None)):
        session_id = api.start_capture(address)
        body = {"session_id": session_id, **({"status": status} if status else {})}
        api.post(f"/userflows/{fid}/sessions", json=body)
        api.post(f"/userflows/{fid}/sessions/{session_id}/measurements",
                 json={"data": [{"key": "A", "value": 1}, {"key": "B", "value": 2}]})
        sessions[address] = session_id
    url = f"/userflows/{fid}/measurements"

    def measure(**params):
        return api.get(url, params=params).json()["measurements"]

    assert {r["session_id"] for r in measure()} == {sessions[ANDROID], sessions[IOS]}  # excluded left out
    assert len(measure(status=["passed", "excluded", "not_set", "failed"])) == 6
    assert {r["session_id"] for r in measure(status="excluded")} == {sessions[ANDROID_2]}
    assert {r["session_id"] for r in measure(session_id=sessions[IOS])} == {sessions[IOS]}
    assert {r["key_name"] for r in measure(key="B")} == {"B"}
    assert measure(start_time=str(time.time() + 3600)) == []
    assert len(measure(start_time="2000-01-01 00:00:00", end_time=str(time.time() + 60))) == 4
    assert api.get(url, params={"status": "meh"}).status_code == 400
    assert api.get(url, params={"start_time": "yesterday"}).status_code == 400

    pages, offset = [], 0
    while page := measure(limit=3, offset=offset):
        pages.append(page)
        offset += 3
    assert [len(p) for p in pages] == [3, 1]

    csv_response = api.get(url, params={"format": "csv"})
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    lines = csv_response.text.splitlines()
    assert lines[0] == CSV_HEADER and len(lines) == 5
    assert lines[1].split(",")[-1] == "1.0"
    empty = api.get(url, params={"format": "csv", "key": "none"})
    assert empty.status_code == 204 and empty.content == b"" and "Content-Length" not in empty.headers
    assert api.get(url, params={"format": "xml"}).status_code == 400
    assert api.get("/userflows/nope/measurements").status_code == 404


def test_events(api, headspin_emulator, flow):
    fid = flow["user_flow_id"]
    created = api.post(f"/userflows/{fid}/events", json={"device_address": IOS}).json()
    assert (created["status"], created["session_id"], created["device_id"], created["host"]) == \
        ("Not Set", None, "emu-ios-1", "emulator.local")
    by_id = api.post(f"/userflows/{fid}/events", json={"device_id": "emu-android-1", "hostname": "emulator.local"})
    assert by_id.status_code == 200
    for bad in ({}, {"device_address": "nope@x"}, {"device_id": "emu-ios-1"}):
        assert api.post(f"/userflows/{fid}/events", json=bad).status_code == 400
    assert api.post("/userflows/nope/events", json={"device_address": IOS}).status_code == 404

    eid = created["perf_event_id"]
    events = api.get(f"/userflows/{fid}/events").json()["events"]
    assert [e["perf_event_id"] for e in events] == [eid, by_id.json()["perf_event_id"]]
    assert api.get(f"/userflows/{fid}/events/{eid}").json() == created
    assert api.patch(f"/userflows/{fid}/events/{eid}", json={"status": "Excluded"}).json()["status"] == "Excluded"
    assert api.post(f"/userflows/{fid}/events/{eid}/measurements", json={"data": [{"key": "k", "value": 5}]}).ok
    assert api.post(f"/userflows/{fid}/events/{eid}/measurements", json={"data": []}).status_code == 400
    rows = api.get(f"/userflows/{fid}/events/{eid}/measurements").json()["measurements"]
    assert [(r["key_name"], r["value"], r["session_id"]) for r in rows] == [("k", 5.0, None)]
    assert headspin_emulator.userflows[fid].events[eid].measurements[0]["value"] == 5.0

    other = api.put("/userflows", json={"name": "Other"}).json()["user_flow_id"]
    assert api.patch(f"/userflows/{fid}/events/{eid}", json={"user_flow_id": "nope"}).status_code == 404
    assert api.patch(f"/userflows/{fid}/events/{eid}", json={"user_flow_id": other}).json()["user_flow_id"] == other
    assert api.get(f"/userflows/{fid}/events/{eid}").status_code == 404
    assert api.delete(f"/userflows/{other}/events/{eid}").json()["status_code"] == 200
    assert api.get(f"/userflows/{other}/events").json() == {"events": []}


def test_legacy_perftests(api, headspin_emulator):
    session_id = api.start_capture()
    upload = api.post("/perftests/upload", json={
        "test_name": "Checkout", "session_id": session_id, "status": "passed",
        "data": [{"key": "TTI", "value": 100, "type": "Custom", "units": "ms"}, {"key": "TTI", "value": 1}],
    })
    assert upload.status_code == 200, upload.text
    flow = headspin_emulator.userflow_by_name("Checkout")
    [event] = flow.events.values()
    assert (event.session_id, event.status) == (session_id, "Passed")
    assert len(event.measurements) == 2  # same key, different type

    again = api.post("/perftests/upload", json={"session_id": session_id, "status": "Failed",
                                                "data": [{"key": "TTI", "value": 250, "type": "Custom"}]})
    assert again.status_code == 200
    assert event.status == "Failed"
    assert [(m["type"], m["value"]) for m in event.measurements] == [("Custom", 250.0), ("Custom Metrics", 1.0)]

    listed = api.get("/perftests").json()["perf_tests"]
    assert listed == [{"created_time": flow.created_time, "perf_test_id": flow.user_flow_id,
                       "description": None, "name": "Checkout"}]
    assert api.get(f"/perftests/{flow.user_flow_id}").json() == listed[0]
    assert api.get("/perftests/nope").status_code == 404

    other_session = api.start_capture(IOS)
    assert api.post("/perftests/upload", json={"session_id": other_session, "status": "passed"}).status_code == 400
    assert api.post("/perftests/upload", json={"test_name": "X", "session_id": "nope"}).status_code == 404
    assert api.post("/perftests/upload", json={"session_id": session_id, "status": "bad"}).status_code == 400
    assert api.post("/perftests/upload", json={}).status_code == 400
    assert headspin_emulator.userflow_by_name("X") is None


def test_event_of_a_capture_session_with_status(api, headspin_emulator, flow):
    fid = flow["user_flow_id"]
    session_id = api.start_capture(IOS)
    response = api.post(f"/userflows/{fid}/events", json={
        "device_address": IOS, "session_id": session_id, "status": "failed", "status_message": "crashed at login"})
    assert response.status_code == 200
    event = response.json()
    assert (event["session_id"], event["status"], event["status_message"]) == (session_id, "Failed", "crashed at login")
    assert (event["device_id"], event["host"]) == ("emu-ios-1", "emulator.local")
    assert api.get(f"/userflows/{fid}/events").json()["events"] == [event]
    # the event is the session's in the flow: its session routes reach it
    assert api.get(f"/userflows/{fid}/sessions").json()["sessions"] == [event]
    assert api.get(f"/userflows/{fid}/sessions/{session_id}").json()["perf_event_id"] == event["perf_event_id"]
    assert headspin_emulator.userflows[fid].events[event["perf_event_id"]].status_message == "crashed at login"

    # A capture shared by several tests (a module's): each test has an event of its own naming it.
    second = api.post(f"/userflows/{fid}/events", json={"device_address": IOS, "session_id": session_id})
    assert second.status_code == 200 and second.json()["perf_event_id"] != event["perf_event_id"]
    events = api.get(f"/userflows/{fid}/events").json()["events"]
    assert [e["perf_event_id"] for e in events if e["session_id"] == session_id] == [
        event["perf_event_id"], second.json()["perf_event_id"]]
    unknown = api.post(f"/userflows/{fid}/events", json={"device_address": IOS, "session_id": "nope"})
    assert unknown.status_code == 404
    bad_status = api.post(f"/userflows/{fid}/events", json={"device_address": IOS, "status": "green"})
    assert bad_status.status_code == 400
    plain = api.post(f"/userflows/{fid}/events", json={"device_address": ANDROID}).json()
    assert (plain["session_id"], plain["status"], plain["status_message"]) == (None, "Not Set", None)
    assert len(api.get(f"/userflows/{fid}/events").json()["events"]) == 3  # the two of the session, and this one
