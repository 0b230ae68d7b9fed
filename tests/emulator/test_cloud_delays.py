"""latency, bandwidth and video_bytes: the emulator as a service far away.

Only lower bounds on time: a loaded machine makes everything slower, never faster.
"""
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

import pytest_devsession
from pytest_devsession.contents import mp4_video
from pytest_devsession.emulator import HeadSpinEmulator, artifacts

EMULATOR = [sys.executable, "-m", "pytest_devsession.emulator"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(pytest_devsession.__file__)))
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))


def _complete_capture(api):
    session_id = api.start_capture()
    api.wait_timestamp(session_id, "capture-started")
    api.stop_capture(session_id)
    api.wait_timestamp(session_id, "capture-complete")
    return session_id


def test_defaults_change_nothing(headspin_emulator):
    assert (headspin_emulator.latency, headspin_emulator.bandwidth, headspin_emulator.video_bytes) == (0, None, None)


def test_every_round_trip_takes_the_latency(headspin_emulator, api):
    api.get("/devices")  # the connection is open: what follows is the round trip alone
    headspin_emulator.latency = 0.1
    started = time.perf_counter()
    assert api.get("/devices").status_code == 200
    assert api.get("/nothing/here").status_code == 404
    assert time.perf_counter() - started >= 0.9 * 2 * 0.1


def test_a_download_streams_at_the_bandwidth(headspin_emulator, api):
    session_id = _complete_capture(api)
    headspin_emulator.video_bytes, headspin_emulator.bandwidth = 40_000, 200_000  # 0.2 s
    started = time.perf_counter()
    with api.get(f"/sessions/{session_id}.mp4", stream=True) as response:
        chunks = [(time.perf_counter(), chunk) for chunk in response.iter_content(1024)]
    video = b"".join(chunk for _, chunk in chunks)
    assert len(video) == 40_000 and time.perf_counter() - started >= 0.9 * 0.2
    # Streamed, not held back and sent at once: the bytes kept arriving over most of that time.
    assert chunks[-1][0] - chunks[0][0] >= 0.5 * 0.2
    assert video.startswith(artifacts.mp4()) and video[len(artifacts.mp4()) + 4:][:4] == b"free"


def test_downloads_in_flight_share_the_bandwidth(headspin_emulator, api):
    session_id = _complete_capture(api)
    headspin_emulator.video_bytes, headspin_emulator.bandwidth = 20_000, 200_000  # 0.1 s each, 0.2 s together
    sizes = []

    def download():
        sizes.append(len(requests.get(f"{headspin_emulator.url}/sessions/{session_id}.mp4", timeout=5,
                                      headers={"Authorization": f"Bearer {headspin_emulator.token}"}).content))

    started = time.perf_counter()
    threads = [threading.Thread(target=download) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sizes == [20_000, 20_000] and time.perf_counter() - started >= 0.9 * 0.2


def test_a_grown_video_is_still_the_same_video(tmp_path):
    grown, clip = tmp_path / "grown.mp4", tmp_path / "clip.mp4"
    grown.write_bytes(artifacts.mp4(200_000))
    clip.write_bytes(artifacts.mp4())
    assert grown.stat().st_size == 200_000 and mp4_video(grown) == mp4_video(clip)


def test_the_moments_a_client_saw_ready_and_complete(headspin_emulator, api):
    session_id = _complete_capture(api)
    session = headspin_emulator.sessions[session_id]
    assert session.ready_at <= session.ready_seen_at <= session.complete_at <= session.complete_seen_at


@pytest.mark.parametrize("setting, value", [("latency", -1), ("latency", float("nan")), ("bandwidth", 0),
                                            ("bandwidth", "fast"), ("video_bytes", 10), ("video_bytes", 1.5e6)])
def test_wrong_settings_are_refused(headspin_emulator, setting, value):
    with pytest.raises(ValueError, match=setting):
        setattr(headspin_emulator, setting, value)
    with pytest.raises(ValueError, match=setting):
        HeadSpinEmulator(**{setting: value})


def test_reset_puts_back_the_settings_it_was_made_with():
    emulator = HeadSpinEmulator(latency=0.01, bandwidth=1e6, video_bytes=10_000)
    emulator.latency, emulator.bandwidth, emulator.video_bytes = 0, None, None
    emulator.reset()
    assert (emulator.latency, emulator.bandwidth, emulator.video_bytes) == (0.01, 1e6, 10_000)


CHILD = """
import json, os, time, requests
api, http = os.environ["HEADSPIN_API_URL"], requests.Session()
http.headers["Authorization"] = "Bearer " + os.environ["HEADSPIN_API_TOKEN"]
device = os.environ["DEVSESSION_DEVICES"].split("\\n")[0]
http.post(api + "/adb/" + device.split("@")[0] + "/lock")
session = http.post(api + "/sessions", json={"session_type": "capture", "device_address": device,
                                            "nowait": True}).json()["session_id"]
http.patch(api + "/sessions/" + session, json={"active": False, "nowait": True})
while "capture-complete" not in http.get(api + "/sessions/" + session + "/timestamps").json():
    time.sleep(0.01)
started = time.perf_counter()
size = len(http.get(api + "/sessions/" + session + ".mp4").content)
print(json.dumps({"size": size, "seconds": time.perf_counter() - started}))
"""


def test_command_line_flags():
    run = subprocess.run(EMULATOR + ["--ready-delay", "0", "--complete-delay", "0", "--latency", "0.05",
                                     "--bandwidth", "200k", "--video-bytes", "20k", "--", sys.executable, "-c", CHILD],
                         capture_output=True, text=True, env=ENV, timeout=30)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["size"] == 20_000 and seen["seconds"] >= 0.9 * (0.05 + 0.1)


@pytest.mark.parametrize("flag", ["--latency=-1", "--bandwidth=0", "--bandwidth=fast", "--video-bytes=10"])
def test_wrong_command_line_flags_are_usage_errors(flag):
    run = subprocess.run(EMULATOR + [flag, "--", sys.executable, "-c", "pass"], capture_output=True, text=True,
                         env=ENV, timeout=30)
    assert run.returncode == 2 and "error:" in run.stderr
