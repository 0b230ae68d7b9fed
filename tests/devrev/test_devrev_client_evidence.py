"""collect() against the loopback stand-in: the data, measurements, crash, timeline, frames and video."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from devrev_fake import TOKEN

from pytest_devsession.contents import describe
from pytest_devsession.devrev.evidence import collect
from pytest_devsession.devrev.finder import Claims, find_session
from pytest_devsession.http.client import Backoff


def found(fake, client, session_id: str) -> dict:
    return client.get_session("android", session_id)


def test_a_late_session_is_found_written_and_measured(fake, client, tmp_path):
    start = time.time() - 3
    fake.add_session("late", start + 0.5, visible_in=2.0)
    session = find_session(client, platform="android", start=start, end=start + 2.5, claims=Claims(), owner="t1",
                           timeout=5, backoff=Backoff(first=0.05, most=0.2))
    evidence = collect(client, session, tmp_path)
    assert evidence.session_id == "late" and evidence.problems == []
    document = json.loads(Path(evidence.files["devrev.json"]).read_text())
    assert document["session"]["session_id"] == "late"
    assert document["recordings"][0]["video_playback_data"][0]["frame_image_map"]  # the links as received
    assert Path(evidence.files["devrev.json"]).name == "session.devrev.json"
    assert {m["key"]: (m["value"], m["units"], m["type"]) for m in evidence.measurements} == {
        "app launch time (cold)": (812, "ms", "DevRev"), "session duration": (2000, "ms", "DevRev"),
        "available RAM": (2 * 1024**3, "bytes", "DevRev"), "total RAM": (8 * 1024**3, "bytes", "DevRev")}
    assert not evidence.crash and not evidence.anr and evidence.crash_log is None
    assert "<td>+1.200 s</td><td>user_event / tap</td><td>&lt;Login&gt;</td><td>Home</td>" in evidence.timeline_html


def test_the_video_is_made_of_the_frames_at_their_times(fake, client, tmp_path):
    fake.add_session("video", time.time() - 5, frames=4)  # at 0, 0.5, 1.0 and 1.5 s
    evidence = collect(client, found(fake, client, "video"), tmp_path)
    mp4 = Path(evidence.files["devrev.mp4"])
    assert mp4.name == "session.devrev.mp4"
    assert describe("mp4", mp4) == {"duration_s": 1.6, "frames": 16}
    assert evidence.details["devrev.mp4"] == {"frames": 16, "duration_s": 1.6}
    frames = [r for r in fake.requests if r.path.startswith("/frames/")]
    assert len(frames) == 4 and not any("Authorization" in r.headers for r in frames)


def test_expired_frame_links_are_asked_for_again_once(fake, client, tmp_path):
    fake.add_session("stale", time.time() - 5, frames=3)
    fake.expire_first = True
    evidence = collect(client, found(fake, client, "stale"), tmp_path)
    assert evidence.problems == []
    assert describe("mp4", Path(evidence.files["devrev.mp4"]))["frames"] == 11
    assert [r.path for r in fake.requests].count("/observability.sessions.data.get") == 2


def test_links_that_stay_refused_are_a_problem_not_a_failure(fake, client, tmp_path, monkeypatch):
    fake.add_session("gone", time.time() - 5, frames=2)
    monkeypatch.setattr(fake, "frame", lambda request: fake.error(403, "Request has expired"))
    fake.routes[-1] = type(fake.routes[-1])("GET", fake.routes[-1].pattern, fake.frame, public=True)
    evidence = collect(client, found(fake, client, "gone"), tmp_path)
    assert "devrev.mp4" not in evidence.files and "devrev.json" in evidence.files
    assert any("2 of 2 frames could not be fetched" in p for p in evidence.problems)
    assert any("no frame" in p for p in evidence.problems)


def test_a_crash_is_flagged_with_its_log(fake, client, tmp_path):
    log = "java.lang.IllegalStateException: boom\n\tat com.example.Main.onCreate(Main.java:12)"
    fake.add_session("crashed", time.time() - 5, crash_log=log, launch=(1500, "warm"))
    evidence = collect(client, found(fake, client, "crashed"), tmp_path)
    assert evidence.crash and not evidence.anr and evidence.crash_log == log
    assert Path(evidence.files["devrev.log"]).read_text() == log
    assert evidence.measurements[0] == {"key": "app launch time (warm)", "value": 1500, "units": "ms", "type": "DevRev"}


def test_without_video_no_frame_is_fetched(fake, client, tmp_path):
    fake.add_session("novideo", time.time() - 5)
    evidence = collect(client, found(fake, client, "novideo"), tmp_path, video=False, stem="test_x")
    assert set(evidence.files) == {"devrev.json"} and Path(evidence.files["devrev.json"]).name == "test_x.devrev.json"
    assert not any(r.path.startswith("/frames/") for r in fake.requests)


def test_the_token_is_in_no_file_written(fake, client, tmp_path):
    fake.add_session("secret", time.time() - 5, crash_log=f"token was {TOKEN}")
    fake.recordings["rec-secret"]["user_attributes"] = {"note": TOKEN}
    evidence = collect(client, found(fake, client, "secret"), tmp_path)
    assert len(evidence.files) == 3
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path.name
    assert TOKEN not in " ".join(evidence.problems) + evidence.crash_log + evidence.timeline_html


def test_a_recording_that_cannot_be_read_at_all_is_raised(fake, client, tmp_path):
    fake.add_session("broken", time.time() - 5)
    fake.faults.append(("/observability.sessions.data.get", 400, {"message": "recording is corrupt"}, {}))
    from pytest_devsession.backends.base import BackendError
    with pytest.raises(BackendError, match="recording is corrupt"):
        collect(client, found(fake, client, "broken"), tmp_path)
