"""Every route of the Sessions API: status codes and shapes."""

from __future__ import annotations

import re
import time

import pytest

SESSION_KEYS = {"id", "name", "isActive", "isRecording", "createdAt", "updatedAt", "trafficCount", "totalBytes"}


def assert_session_shape(session: dict) -> None:
    assert set(session) == SESSION_KEYS
    assert isinstance(session["id"], str) and session["id"]
    assert isinstance(session["name"], str)
    assert isinstance(session["isActive"], bool) and isinstance(session["isRecording"], bool)
    for key in ("createdAt", "updatedAt", "trafficCount", "totalBytes"):
        assert type(session[key]) is int


def test_health_answers_ok(api):
    response = api("GET", "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_no_sessions_at_first(api):
    assert api.ok("GET", "/sessions") == {"sessions": []}


def test_create_returns_201_with_an_inactive_not_recording_session(api):
    before = int(time.time() * 1000)
    response = api("POST", "/sessions", json={"name": "Login Flow Testing"})
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    session = response.json()
    assert_session_shape(session)
    assert session["name"] == "Login Flow Testing"
    assert (session["isActive"], session["isRecording"]) == (False, False)
    assert (session["trafficCount"], session["totalBytes"]) == (0, 0)
    assert before <= session["createdAt"] == session["updatedAt"] <= int(time.time() * 1000)


@pytest.mark.parametrize("kwargs", [{}, {"json": {}}], ids=["no body", "empty object"])
def test_create_without_name_uses_date_and_time(api, kwargs):
    session = api.ok("POST", "/sessions", **kwargs)
    assert re.fullmatch(r"Session \d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d{2}:\d{2} [AP]M", session["name"])


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"name": 5}', "'name' must be a string"),
        (b'{"name": "  "}', "'name' must not be empty"),
        (b"not json", "Invalid JSON body"),
        (b'["name"]', "Request body must be a JSON object"),
    ],
)
def test_create_rejects_bad_bodies(api, body, message):
    response = api("POST", "/sessions", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert api.ok("GET", "/sessions") == {"sessions": []}


def test_list_holds_every_session_newest_first(api):
    first = api.new_session("first", activate=False)
    second = api.new_session("second", activate=False)
    sessions = api.ok("GET", "/sessions")["sessions"]
    assert [s["id"] for s in sessions] == [second["id"], first["id"]]
    for session in sessions:
        assert_session_shape(session)


def test_get_one_session(api):
    created = api.new_session("one", activate=False)
    assert api.ok("GET", f"/sessions/{created['id']}") == created


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/sessions/nope"),
        ("PATCH", "/sessions/nope"),
        ("DELETE", "/sessions/nope"),
        ("POST", "/sessions/nope/activate"),
        ("GET", "/har/export/nope"),
    ],
)
def test_unknown_session_is_404(api, method, path):
    response = api(method, path, json={} if method == "PATCH" else None)
    assert response.status_code == 404
    assert response.json() == {"error": "Session not found"}


def test_no_active_session_is_404(api):
    api.new_session("idle", activate=False)
    response = api("GET", "/sessions/active")
    assert response.status_code == 404
    assert response.json() == {"error": "No active session"}


def test_activate_leaves_one_active_and_recording(api):
    first = api.new_session("first")
    assert (first["isActive"], first["isRecording"]) == (True, True)
    assert first["updatedAt"] >= first["createdAt"]
    assert api.ok("GET", "/sessions/active")["id"] == first["id"]

    second = api.new_session("second")
    assert api.ok("GET", "/sessions/active")["id"] == second["id"]
    first_now = api.session(first["id"])
    assert (first_now["isActive"], first_now["isRecording"]) == (False, False)
    assert [s["id"] for s in api.ok("GET", "/sessions")["sessions"] if s["isActive"]] == [second["id"]]


def test_patch_renames_and_stops_recording(api):
    session = api.new_session("old")
    updated = api.ok("PATCH", f"/sessions/{session['id']}", json={"name": "new", "isRecording": False})
    assert_session_shape(updated)
    assert (updated["name"], updated["isActive"], updated["isRecording"]) == ("new", True, False)
    assert updated["updatedAt"] >= session["updatedAt"]
    assert api.session(session["id"]) == updated


def test_patch_is_active_moves_the_active_session(api):
    first = api.new_session("first")
    second = api.new_session("second", activate=False)
    patched = api.ok("PATCH", f"/sessions/{second['id']}", json={"isActive": True})
    assert (patched["isActive"], patched["isRecording"]) == (True, True)
    assert api.session(first["id"])["isActive"] is False

    paused = api.ok("PATCH", f"/sessions/{second['id']}", json={"isActive": True, "isRecording": False})
    assert (paused["isActive"], paused["isRecording"]) == (True, False)

    stopped = api.ok("PATCH", f"/sessions/{second['id']}", json={"isActive": False})
    assert (stopped["isActive"], stopped["isRecording"]) == (False, False)
    assert api("GET", "/sessions/active").status_code == 404


@pytest.mark.parametrize(
    "body, message",
    [
        ({"isActive": "yes"}, "'isActive' must be a boolean"),
        ({"isRecording": 1}, "'isRecording' must be a boolean"),
        ({"name": ["x"]}, "'name' must be a string"),
        ({"name": ""}, "'name' must not be empty"),
    ],
)
def test_patch_rejects_wrong_types(api, body, message):
    session = api.new_session("typed", activate=False)
    response = api("PATCH", f"/sessions/{session['id']}", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert api.session(session["id"]) == session


def test_delete_removes_the_session(api):
    session = api.new_session("gone")
    response = api("DELETE", f"/sessions/{session['id']}")
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert api("GET", f"/sessions/{session['id']}").status_code == 404
    assert api("GET", "/sessions/active").status_code == 404
    assert api("DELETE", f"/sessions/{session['id']}").status_code == 404


def test_har_export_of_an_empty_session(api):
    session = api.new_session("Empty Export: v1/2")
    response = api("GET", f"/har/export/{session['id']}")
    assert response.status_code == 200
    assert re.fullmatch(
        r'attachment; filename="Empty_Export_v1_2_\d{13}\.har"', response.headers["Content-Disposition"]
    )
    assert response.json()["log"]["version"] == "1.2"
    assert response.json()["log"]["entries"] == []


def test_unknown_path_is_404_and_wrong_method_405(api):
    missing = api("GET", "/nothing")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not found"})
    wrong = api("PUT", "/sessions")
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method not allowed"})
    assert wrong.headers["Allow"] == "GET, POST"


def test_query_strings_and_trailing_slashes_are_ignored(api):
    assert api("GET", "/sessions/?limit=5").json() == {"sessions": []}
