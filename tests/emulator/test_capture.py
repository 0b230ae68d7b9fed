import gzip
import json
import subprocess
import time

import pytest
import requests

from pytest_devsession.emulator import HeadSpinEmulator
from pytest_devsession.emulator import artifacts

ANDROID, ANDROID_2, IOS = HeadSpinEmulator.DEFAULT_DEVICES
CAPTURE = {"session_type": "capture", "device_address": ANDROID, "nowait": True}


def test_create_needs_a_lock_and_a_free_device(api, headspin_emulator):
    must_lock = api.post("/sessions", json=CAPTURE)
    assert must_lock.status_code == 403
    assert must_lock.json() == {"status": "Device must be locked before capture.", "status_code": 403}
    invalid = api.post("/sessions", json={**CAPTURE, "device_address": "nope@nowhere"})
    assert invalid.json() == {"status": "Invalid device ID.", "status_code": 404}
    busy = headspin_emulator.add_device("busy", "lab", locked_by="someone@else.example")
    in_use = api.post("/sessions", json={**CAPTURE, "device_address": busy})
    assert in_use.json() == {"status": "Device is currently in use by someone else.", "status_code": 403}
    assert headspin_emulator.sessions == {}


@pytest.mark.parametrize("body", [
    b"not json", b"[]", {"device_address": ANDROID, "nowait": True},
    {"session_type": "capture", "nowait": True}, {**CAPTURE, "mitm_ignore": "x"},
    {**CAPTURE, "mitm_ignore": ["(unclosed"]},
])
def test_create_with_a_bad_body_is_400(api, body):
    api.post("/adb/emu-android-1/lock")
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    response = api.post("/sessions", **kwargs)
    assert response.status_code == 400 and response.json()["status_code"] == 400


def test_second_active_session_on_a_device_is_409(api):
    first = api.start_capture()
    second = api.post("/sessions", json=CAPTURE)
    assert second.status_code == 409 and second.json()["status_code"] == 409
    api.stop_capture(first)
    assert api.post("/sessions", json=CAPTURE).status_code == 200


def test_capture_lifecycle_with_nowait(api, headspin_emulator):
    headspin_emulator.ready_delay = 0.2
    session_id = api.start_capture(mitm_ignore=[r"pinned\.example\.com"], network_keep_in_session_patterns=["*.x"])
    session = headspin_emulator.sessions[session_id]
    assert (session.device_address, session.state, session.active) == (ANDROID, "starting", True)
    assert session.mitm_ignore == [r"pinned\.example\.com"] and session.network_keep_in_session_patterns == ["*.x"]
    not_yet = api.get(f"/sessions/{session_id}/timestamps")
    assert not_yet.status_code == 404 and not_yet.json()["status"] == "No timestamps"
    started = api.wait_timestamp(session_id, "capture-started")
    assert set(started) == {"capture-started"}
    assert headspin_emulator.sessions[session_id].state == "active"

    stop = api.stop_capture(session_id)
    assert stop.json() == {"msg": f"Video uploaded to {headspin_emulator.url}/sessions/{session_id}.mp4"}
    assert session.state == "stopping" and session.active is False and session.stop_requested_at
    done = api.wait_timestamp(session_id, "capture-complete")
    assert done["capture-started"] <= done["capture-ended"] <= done["capture-complete"]
    assert headspin_emulator.sessions[session_id].state == "complete"
    assert api.stop_capture(session_id).status_code == 200  # stopping twice is harmless


def test_blocking_create_drops_the_connection_but_the_session_exists(api, headspin_emulator):
    api.post("/adb/emu-android-1/lock")
    with pytest.raises(requests.ConnectionError):
        api.post("/sessions", json={**CAPTURE, "nowait": False})
    [session] = headspin_emulator.sessions.values()
    assert session.device_address == ANDROID and session.active
    assert headspin_emulator.requests[-1] == ("POST", "/v0/sessions", None)
    api.wait_timestamp(session.session_id, "capture-started")


def test_stop_errors_and_blocking_stop(api, headspin_emulator):
    assert api.patch("/sessions/nope", json={"active": False, "nowait": True}).status_code == 404
    session_id = api.start_capture()
    for body in ({"active": True}, {}, ["x"]):
        bad = api.patch(f"/sessions/{session_id}", json=body)
        assert bad.status_code == 500 and bad.json()["status_code"] == 500
    assert api.patch(f"/sessions/{session_id}", data=b"{oops").status_code == 500
    with pytest.raises(requests.ConnectionError):
        api.patch(f"/sessions/{session_id}", json={"active": False})
    assert headspin_emulator.sessions[session_id].active is False
    api.wait_timestamp(session_id, "capture-complete")


def test_session_info_list_paging_and_tags(api, headspin_emulator):
    ids = []
    for address in (ANDROID, ANDROID_2, IOS):
        ids.append(api.start_capture(address))
        time.sleep(0.002)
    api.stop_capture(ids[0])
    info = api.get(f"/sessions/{ids[1]}").json()
    assert info["session_id"] == ids[1] and info["device_address"] == ANDROID_2 and info["active"] is True
    assert api.get("/sessions/nope").status_code == 404

    live = api.get("/sessions").json()
    assert [s["session_id"] for s in live["sessions"]] == [ids[2], ids[1]]  # most recent first

    seen, token = [], None
    while True:
        params = {"include_all": "true", "num_sessions": 2, **({"next_token": token} if token else {})}
        page = api.get("/sessions", params=params).json()
        if not page["sessions"]:
            assert page == {"sessions": [], "next_token": None}
            break
        assert isinstance(page["next_token"], str)
        seen += [s["session_id"] for s in page["sessions"]]
        token = page["next_token"]
    assert seen == ids[::-1]

    assert api.post(f"/sessions/tags/{ids[0]}", json=[{"my example": "this is a tag"}]).status_code == 200
    assert api.post(f"/sessions/tags/{ids[0]}", json=[{"k": "v"}]).status_code == 200
    assert api.get(f"/sessions/tags/{ids[0]}").json() == [{"my example": "this is a tag"}, {"k": "v"}]
    assert api.post(f"/sessions/tags/{ids[0]}", json={"k": "v"}).status_code == 400
    assert headspin_emulator.sessions[ids[0]].tags == [{"my example": "this is a tag"}, {"k": "v"}]
    tagged = api.get("/sessions?include_all=true&tag=my+example:this+is+a+tag&tag=none:x").json()
    assert [s["session_id"] for s in tagged["sessions"]] == [ids[0]]
    assert api.get("/sessions?num_sessions=zero").status_code == 400


def test_description_delete_and_tls_exceptions(api, headspin_emulator):
    session_id = api.start_capture(mitm_ignore=[r"pinned\.example\.com:443"])
    assert api.post(f"/sessions/{session_id}/description", json={"name": "n", "description": "d"}).ok
    assert api.get(f"/sessions/{session_id}/description").json() == {"name": "n", "description": "d"}
    assert headspin_emulator.sessions[session_id].name == "n"
    assert api.post(f"/sessions/{session_id}/description", json=[1]).status_code == 400
    assert api.get(f"/sessions/{session_id}/tlsexceptions").json() == {"telemetry.example.net": 1}
    assert api.get("/sessions/nope/tlsexceptions").status_code == 404

    assert api.delete(f"/sessions/{session_id}").status_code == 409
    api.stop_capture(session_id)
    assert api.delete(f"/sessions/{session_id}").status_code == 200
    assert session_id not in headspin_emulator.sessions
    assert api.get(f"/sessions/{session_id}").status_code == 404


def test_partial_mp4_before_complete_and_full_after(api, headspin_emulator):
    headspin_emulator.complete_delay = 0.3
    session_id = api.start_capture()
    api.wait_timestamp(session_id, "capture-started")
    api.stop_capture(session_id)
    partial = api.get(f"/sessions/{session_id}.mp4")
    assert partial.status_code == 200 and partial.headers["Content-Type"] == "video/mp4"
    api.wait_timestamp(session_id, "capture-complete")
    full = api.get(f"/sessions/{session_id}.mp4")
    assert int(full.headers["Content-Length"]) == len(full.content) == len(artifacts.mp4())
    assert len(partial.content) < len(full.content) and full.content.startswith(partial.content)
    assert full.content[4:8] == b"ftyp"
    assert headspin_emulator.sessions[session_id].downloads == ["mp4", "mp4"]
    assert api.get(f"/sessions/{session_id}.mp4?fps=500").status_code == 400


def test_mp4_is_playable(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    video = tmp_path / "capture.mp4"
    video.write_bytes(artifacts.mp4())
    run = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "null", "-"],
                         capture_output=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert len(artifacts.mp4()) < 8 * 1024


def test_har_is_valid_har_1_2(api):
    session_id = api.start_capture()
    response = api.get(f"/sessions/{session_id}.har")
    assert response.headers["Content-Type"] == "application/json"
    log = response.json()["log"]
    assert log["version"] == "1.2" and log["creator"]["name"]
    assert log["pages"][0]["id"] == "page_1"
    assert len(log["entries"]) >= 3
    for entry in log["entries"]:
        assert entry["pageref"] == "page_1" and entry["startedDateTime"].endswith("Z")
        assert {"method", "url", "httpVersion", "headers", "queryString", "cookies"} <= set(entry["request"])
        assert {"status", "content", "headers", "redirectURL"} <= set(entry["response"])
        timings = entry["timings"]
        assert entry["time"] == sum(v for k, v in timings.items() if k != "ssl" and v > 0)
        assert {"send", "wait", "receive"} <= set(timings)
    hosts = {entry["request"]["url"].split("/")[2] for entry in log["entries"]}
    assert {"api.example.com", "cdn.example.com"} <= hosts


def test_every_download_kind(api, headspin_emulator):
    session_id = api.start_capture(IOS)
    api.stop_capture(session_id)
    api.wait_timestamp(session_id, "capture-complete")
    for ext, content_type in artifacts.CONTENT_TYPES.items():
        response = api.get(f"/sessions/{session_id}.{ext}")
        assert response.status_code == 200, ext
        assert response.headers["Content-Type"] == content_type
        assert int(response.headers["Content-Length"]) == len(response.content) > 0
    assert headspin_emulator.sessions[session_id].downloads == list(artifacts.CONTENT_TYPES)

    appium = api.get(f"/sessions/{session_id}.appium.log").text
    assert session_id in appium and "XCUITest" in appium
    assert gzip.decompress(api.get(f"/sessions/{session_id}.appium.log.gz").content).decode() == appium
    for kind in ("selenium", "device", "jsconsole"):
        text = api.get(f"/sessions/{session_id}.{kind}.log").content
        assert text and gzip.decompress(api.get(f"/sessions/{session_id}.{kind}.log.gz").content) == text
    mar = api.get(f"/sessions/{session_id}.mar").json()
    assert mar["log"]["version"] == "1.2" and mar["log"]["entries"][0]["_headspin"]["session_id"] == session_id
    csv_lines = api.get(f"/sessions/{session_id}.csv").text.splitlines()
    assert csv_lines[0].startswith("start_time,host,method,url,status") and len(csv_lines) > 2
    pcap = api.get(f"/sessions/{session_id}.pcap").content
    assert pcap[:4] == bytes.fromhex("d4c3b2a1")  # little-endian libpcap magic
    keylog = api.get(f"/sessions/{session_id}.sslkeylog.txt").text.splitlines()
    assert all(line.startswith(("#", "CLIENT_RANDOM ")) for line in keylog) and len(keylog) > 1


def test_unknown_extension_or_session_is_404(api):
    session_id = api.start_capture()
    for path in (f"/sessions/{session_id}.exe", f"/sessions/{session_id}.log", "/sessions/nope.har"):
        response = api.get(path)
        assert response.status_code == 404 and response.json()["status_code"] == 404, path


def test_no_network_capture_means_no_network_artifacts(api):
    session_id = api.start_capture(capture_network=False, capture_video=False)
    assert api.get(f"/sessions/{session_id}.har").status_code == 404
    assert api.get(f"/sessions/{session_id}.mp4").status_code == 404
    assert api.get(f"/sessions/{session_id}.appium.log").status_code == 200
    assert api.get(f"/sessions/{session_id}/tlsexceptions").json() == {}
    assert json.loads(api.get(f"/sessions/{session_id}").text)["capture_network"] is False
