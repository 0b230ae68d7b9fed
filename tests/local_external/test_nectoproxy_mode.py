"""Our capture server with ``behave="nectoproxy"`` does what NectoProxy's server really does;
both modes serve NectoProxy's traffic listing, its export of chosen entries and the CA."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time

import pytest
from external_helpers import TOKEN, Api, through

from pytest_devsession.services.capture import MITMPROXY_WARNING_FILTERS

pytestmark = [pytest.mark.filterwarnings(f) for f in MITMPROXY_WARNING_FILTERS]


def test_at_start_one_session_is_active_and_recording(necto):
    (session,) = necto.api.sessions()
    assert re.fullmatch(r"Session \d{1,2}/\d{1,2}/\d{4}", session["name"])
    assert (session["isActive"], session["isRecording"]) == (True, True)
    assert necto.api.get("/sessions/active")["id"] == session["id"]


def test_all_traffic_goes_into_the_session_active_at_start(necto, origin):
    (first,) = necto.api.sessions()
    created = necto.api("POST", "/sessions", json={"name": "mine"})
    assert created.status_code == 201
    mine = created.json()
    assert (mine["isActive"], mine["isRecording"]) == (True, True)
    assert [s["isActive"] for s in necto.api.sessions()] == [True, True], "others stay active; oldest first"
    assert necto.api.get("/sessions/active")["id"] == first["id"], "the oldest active one"

    assert necto.api.get(f"/sessions/{mine['id']}")["id"] == mine["id"]
    necto.api("POST", f"/sessions/{mine['id']}/activate").raise_for_status()
    necto.api("PATCH", f"/sessions/{first['id']}", json={"isRecording": False}).raise_for_status()
    assert through(necto, f"{origin.url}/after-activate").ok

    assert [e["request"]["url"] for e in necto.api.get(f"/har/export/{first['id']}")["log"]["entries"]] == [
        f"{origin.url}/after-activate"]
    assert necto.api.get(f"/har/export/{mine['id']}")["log"]["entries"] == []
    flags = {s["id"]: (s["isActive"], s["isRecording"], s["trafficCount"], s["totalBytes"])
             for s in necto.api.sessions()}
    assert flags == {first["id"]: (False, False, 0, 0), mine["id"]: (True, True, 0, 0)}


def test_activating_an_unknown_session_deactivates_every_session_first(necto):
    necto.api("POST", "/sessions", json={"name": "second"}).raise_for_status()
    response = necto.api("POST", "/sessions/no-such-id/activate")
    assert (response.status_code, response.json()) == (404, {"error": "Session not found"})
    assert [s["isActive"] for s in necto.api.sessions()] == [False, False]
    assert necto.api("GET", "/sessions/active").status_code == 404


def test_deleting_the_recording_session_drops_later_traffic(necto, origin):
    (first,) = necto.api.sessions()
    other = necto.api("POST", "/sessions", json={"name": "other"}).json()
    necto.api("DELETE", f"/sessions/{first['id']}").raise_for_status()
    assert through(necto, f"{origin.url}/dropped").ok  # proxied all the same
    assert necto.api.get(f"/har/export/{other['id']}")["log"]["entries"] == []
    assert necto.api.get("/traffic")["entries"] == []


def test_har_export_is_newest_first_with_nectoproxy_as_creator(necto, origin):
    (first,) = necto.api.sessions()
    for path in ("/one", "/two", "/three"):
        through(necto, origin.url + path)
    response = necto.api("GET", f"/har/export/{first['id']}")
    assert re.fullmatch(r'attachment; filename="Session_\d+_\d+_\d+_\d{13}\.har"',
                        response.headers["Content-Disposition"])
    log = response.json()["log"]
    assert log["creator"]["name"] == "NectoProxy"
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in log["entries"]] == ["three", "two", "one"]


@pytest.mark.parametrize("behave", ["nectoproxy", "documented"])
def test_token_on_every_api_route_but_health_and_the_ca(behave, request):
    server = request.getfixturevalue("necto" if behave == "nectoproxy" else "documented")
    anonymous = Api(server.api_url, token=None)
    assert anonymous("GET", "/health").status_code == 200
    ca = anonymous("GET", "/certificates/ca")
    assert ca.status_code == 200 and ca.headers["Content-Type"] == "application/x-pem-file"
    assert ca.content == server.capture.ca_cert_path.read_bytes()
    for method, path in [("GET", "/sessions"), ("GET", "/sessions/active"), ("POST", "/sessions"),
                         ("GET", "/traffic"), ("POST", "/har/export"), ("DELETE", "/traffic/x"),
                         ("GET", "/har/export/x")]:
        refused = anonymous(method, path)
        assert (refused.status_code, refused.json()) == (401, {"error": "Unauthorized: missing or invalid token"})
    assert anonymous("GET", f"/sessions?token={TOKEN}").status_code == 200  # as NectoProxy takes it too
    assert anonymous("GET", "/sessions?token=wrong").status_code == 401


@pytest.mark.parametrize("behave", ["nectoproxy", "documented"])
def test_traffic_listing_filters_sorts_and_pages_as_nectoproxy_does(behave, request, origin):
    server = request.getfixturevalue("necto" if behave == "nectoproxy" else "documented")
    if behave == "documented":
        session = server.api("POST", "/sessions", json={"name": "listed"}).json()
        server.api("POST", f"/sessions/{session['id']}/activate").raise_for_status()
    else:
        (session,) = server.api.sessions()
    for path in ("/a?x=1", "/b", "/c"):
        through(server, origin.url + path)
        time.sleep(0.002)  # distinct timestamps (ms)

    listed = server.api.get("/traffic")
    assert listed["count"] == 3
    entry = listed["entries"][0]
    assert {"id", "sessionId", "timestamp", "method", "url", "protocol", "host", "path", "requestHeaders",
            "requestBody", "requestBodySize", "status", "statusText", "responseHeaders", "responseBody",
            "responseBodySize", "duration", "remoteAddress", "tlsVersion", "error", "isComplete", "isMocked",
            "isBreakpointed", "isTruncated"} <= set(entry)
    assert (entry["path"], entry["sessionId"], entry["status"], entry["isComplete"]) == ("/c", session["id"], 200, True)
    assert entry["responseBody"] == "b2sgL2M=", "bodies base64 (ok /c)"
    assert [e["path"] for e in listed["entries"]] == ["/c", "/b", "/a?x=1"], "newest first by default"

    def paths(**params):
        return [e["path"] for e in server.api.get("/traffic", params=params)["entries"]]

    assert paths(sortField="timestamp", sortDirection="asc") == ["/a?x=1", "/b", "/c"]
    assert paths(limit=1, offset=1) == ["/b"]
    assert paths(search="A?X=") == ["/a?x=1"]
    assert paths(sessionId=session["id"], methods="GET,POST", statusCodes="200", hosts="127.0.0.1") == [
        "/c", "/b", "/a?x=1"]
    assert paths(sessionId="other") == paths(methods="POST") == paths(statusCodes="404") == []

    # NectoProxy's export of chosen entries keeps the order asked for
    ids = [e["id"] for e in listed["entries"]]
    chosen = server.api("POST", "/har/export", json={"entryIds": [ids[2], ids[0]], "sessionName": "pick"})
    assert chosen.status_code == 200 and "attachment" in chosen.headers["Content-Disposition"]
    assert [e["request"]["url"] for e in chosen.json()["log"]["entries"]] == [f"{origin.url}/a?x=1",
                                                                             f"{origin.url}/c"]
    assert server.api("POST", "/har/export", json={"entryIds": []}).json() == {"error": "No entry IDs provided"}
    missing = server.api("POST", "/har/export", json={"entryIds": ["nope"]})
    assert (missing.status_code, missing.json()) == (404, {"error": "No valid entries found"})

    assert server.api("DELETE", f"/traffic/{ids[1]}").json() == {"success": True}
    assert server.api("DELETE", f"/traffic/{ids[1]}").status_code == 404
    assert paths() == ["/c", "/a?x=1"]


def test_standalone_nectoproxy_mode_prints_its_token_in_the_web_ui_line(origin):
    proc = subprocess.Popen([sys.executable, "-m", "pytest_devsession.local", "--behave", "nectoproxy",
                             "--port", "0", "--proxy-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen = ""
    try:
        while "Press Ctrl-C" not in seen:
            seen += lines.get(timeout=30)
        web_ui = re.search(r"Web UI: +(http://127\.0\.0\.1:\d+)/\?token=([0-9a-f]{32})", seen)
        assert web_ui, seen
        assert "Session:      Session " in seen
        api = Api(web_ui[1], token=web_ui[2])
        assert api.get("/sessions")["sessions"][0]["isRecording"] is True
        assert Api(web_ui[1], token=None)("GET", "/sessions").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
