"""Labels on a capture session, and the HAR cut by a label's time window."""
from datetime import datetime

import pytest


def _epoch(started: str) -> float:
    return datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()


def _capture(api, clock, seconds):
    """A capture of ``seconds`` seconds on the clocked emulator, stopped and complete."""
    session_id = api.start_capture()
    clock.advance(0.5)  # ready
    clock.advance(seconds)
    api.stop_capture(session_id)
    clock.advance(0.5)  # complete
    return session_id


def test_add_and_list_labels_relative_and_epoch(clocked_api, clock):
    session_id = clocked_api.start_capture()
    created = clocked_api.get(f"/sessions/{session_id}").json()["start_time"]
    relative = clocked_api.post(f"/sessions/{session_id}/label/add", json={
        "name": "login", "label_type": "user", "category": "steps", "start_time": "1.5", "end_time": "4"})
    assert relative.status_code == 200 and set(relative.json()) == {"label_id"}
    epoch = clocked_api.post(f"/sessions/{session_id}/label/add", json={
        "name": "checkout", "ts_start": created + 6, "ts_end": created + 7.25, "pinned": True})
    assert epoch.status_code == 200

    labels = clocked_api.get(f"/sessions/{session_id}/label/list").json()["labels"]
    assert [label["label_id"] for label in labels] == [relative.json()["label_id"], epoch.json()["label_id"]]
    first, second = labels
    assert first == {"label_id": relative.json()["label_id"], "session_id": session_id, "name": "login",
                     "label_type": "user", "category": "steps", "start_time": 1.5, "end_time": 4.0,
                     "ts_start": round(created + 1.5, 3), "ts_end": round(created + 4, 3)}
    assert (second["start_time"], second["end_time"], second["category"]) == (6.0, 7.25, None)
    assert second["label_type"] == "user" and second["pinned"] is True  # what else was sent comes back
    one = clocked_api.get(f"/sessions/label/{first['label_id']}")
    assert one.status_code == 200 and one.json() == first


@pytest.mark.parametrize("body", [
    {"start_time": 1, "end_time": 2},  # no name
    {"name": "", "start_time": 1, "end_time": 2},
    {"name": "x", "end_time": 2},  # no start
    {"name": "x", "start_time": 1},  # no end
    {"name": "x", "start_time": "soon", "end_time": 2},
    {"name": "x", "start_time": 3, "end_time": 2},  # ends before it starts
    {"name": "x", "start_time": -1, "end_time": 2},
    {"name": "x", "start_time": True, "end_time": 2},
    {"name": "x", "category": 7, "start_time": 1, "end_time": 2},
])
def test_bad_label_is_400(api, body):
    session_id = api.start_capture()
    response = api.post(f"/sessions/{session_id}/label/add", json=body)
    assert response.status_code == 400 and response.json()["status_code"] == 400
    assert api.get(f"/sessions/{session_id}/label/list").json() == {"labels": []}


def test_labels_of_an_unknown_session_or_label_are_404(api):
    assert api.post("/sessions/nope/label/add", json={"name": "x", "start_time": 0, "end_time": 1}).status_code == 404
    assert api.get("/sessions/nope/label/list").status_code == 404
    assert api.get("/sessions/label/nope").status_code == 404


def test_har_entries_spread_over_the_capture(clocked_api, clock):
    session_id = _capture(clocked_api, clock, 10)
    started = clocked_api.get(f"/sessions/{session_id}/timestamps").json()["capture-started"]
    entries = clocked_api.get(f"/sessions/{session_id}.har").json()["log"]["entries"]
    times = [_epoch(e["startedDateTime"]) for e in entries]
    assert times == sorted(times) and len(entries) >= 30
    assert times[0] < started + 1 and times[-1] > started + 9  # from the start of the capture to its end
    assert all(t <= started + 10 for t in times)
    # the same file twice once the capture is over
    again = clocked_api.get(f"/sessions/{session_id}.har").content
    assert again == clocked_api.get(f"/sessions/{session_id}.har").content


def test_har_cut_by_a_label_keeps_only_its_window(clocked_api, clock):
    session_id = _capture(clocked_api, clock, 10)
    created = clocked_api.get(f"/sessions/{session_id}").json()["start_time"]
    label_id = clocked_api.post(f"/sessions/{session_id}/label/add",
                                json={"name": "step", "start_time": "3", "end_time": "5.5"}).json()["label_id"]
    whole = clocked_api.get(f"/sessions/{session_id}.har").json()["log"]["entries"]
    cut = clocked_api.get(f"/sessions/{session_id}.har", params={"label_id": label_id})
    assert cut.status_code == 200
    kept = cut.json()["log"]["entries"]
    inside = [e for e in whole if created + 3 <= _epoch(e["startedDateTime"]) <= created + 5.5]
    assert kept == inside and 0 < len(kept) < len(whole)
    assert cut.json()["log"]["version"] == "1.2" and cut.json()["log"]["pages"]


def test_har_with_an_unknown_or_foreign_label_is_404(api):
    first, second = api.start_capture(), api.start_capture("emu-android-2@emulator.local")
    foreign = api.post(f"/sessions/{second}/label/add", json={"name": "x", "start_time": 0, "end_time": 1}).json()
    for label_id in ("nope", foreign["label_id"]):
        response = api.get(f"/sessions/{first}.har", params={"label_id": label_id})
        assert response.status_code == 404 and response.json()["status_code"] == 404
    assert api.get(f"/sessions/{second}.har", params={"label_id": foreign["label_id"]}).status_code == 200
