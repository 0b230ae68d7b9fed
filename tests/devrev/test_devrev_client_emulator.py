"""The DevRev library end to end against the DevRev emulator: check, find, collect, as the engine
will call them after each test."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_devsession.backends.base import AuthenticationError, BackendError
from pytest_devsession.contents import describe
from pytest_devsession.devrev import Claims, DevRevClient, collect, find_session
from pytest_devsession.http.client import Backoff


FAST = Backoff(first=0.05, factor=1.5, most=0.2)


@pytest.fixture
def devrev(devrev_emulator):
    sleeps: list[float] = []

    def sleep(seconds):
        sleeps.append(seconds)
        time.sleep(min(seconds, 0.05))

    client = DevRevClient(devrev_emulator.url, devrev_emulator.token, devrev_emulator.app_id, sleep=sleep, timeout=5)
    client.sleeps = sleeps
    yield client
    client.close()


def find(client, claims, owner, start, end, timeout=5.0, **kwargs):
    return find_session(client, platform="android", start=start, end=end, claims=claims, owner=owner,
                        timeout=timeout, backoff=FAST, **kwargs)


def test_check_passes(devrev):
    devrev.check()
    devrev.check("ios")


@pytest.mark.parametrize("devrev_emulator", [{"upload_delay": 2.0}], indirect=True)
def test_a_session_uploaded_after_the_test_is_found_and_its_evidence_collected(devrev_emulator, devrev, tmp_path):
    start = time.time()
    devrev_emulator.upload_session(frames=5, session_duration_ms=2000, app_launch={"launch_time_ms": 640,
                                   "launch_type": "cold"}, timeline=[{"timestamp_offset_ms": 300, "event_name": "tap",
                                                                      "event_type": "user_event", "screen": "Login"}])
    end = time.time() + 0.5
    began = time.monotonic()
    session = find(devrev, Claims(), "test_one", start, end)
    assert session is not None and 1.8 <= time.monotonic() - began < 5
    evidence = collect(devrev, session, tmp_path)
    assert evidence.problems == []
    assert {"key": "app launch time (cold)", "value": 640, "units": "ms", "type": "DevRev"} in evidence.measurements
    assert Path(evidence.files["devrev.json"]).is_file()
    assert describe("mp4", Path(evidence.files["devrev.mp4"])) == {"duration_s": 1.7, "frames": 17}  # 0..1.6 s
    assert "Login" in evidence.timeline_html


@pytest.mark.parametrize("devrev_emulator", [{"upload_delay": 0}], indirect=True)
def test_two_tests_close_together_get_their_own_sessions(devrev_emulator, devrev):
    now = time.time()
    first = devrev_emulator.upload_session(created_at=int((now - 4.0) * 1000))
    second = devrev_emulator.upload_session(created_at=int((now - 1.8) * 1000))
    claims = Claims()
    claims.window("test_b", now - 2.0, now)
    assert find(devrev, claims, "test_a", now - 4.2, now - 2.1)["session_id"] == first.session_id
    assert find(devrev, claims, "test_b", now - 2.0, now)["session_id"] == second.session_id


@pytest.mark.parametrize("devrev_emulator", [{"upload_delay": 0}], indirect=True)
def test_a_test_without_an_app_session_finds_none(devrev_emulator, devrev):
    devrev_emulator.upload_session(created_at=int((time.time() - 3600) * 1000))
    assert find(devrev, Claims(), "test_c", time.time() - 1, time.time(), timeout=0.5) is None


@pytest.mark.parametrize("devrev_emulator", [{"upload_delay": 0}], indirect=True)
def test_a_crash_is_flagged_with_its_log(devrev_emulator, devrev, tmp_path):
    made = devrev_emulator.upload_session(is_crash=True, log="FATAL EXCEPTION: main\njava.lang.NullPointerException",
                                          frames=2)
    evidence = collect(devrev, devrev.get_session("android", made.session_id), tmp_path)
    assert evidence.crash and "NullPointerException" in evidence.crash_log
    assert "NullPointerException" in Path(evidence.files["devrev.log"]).read_text()


@pytest.mark.parametrize("devrev_emulator", [{"upload_delay": 0, "frame_link_ttl": 1.0}], indirect=True)
def test_expired_frame_links_are_asked_for_again(devrev_emulator, devrev, tmp_path, monkeypatch):
    made = devrev_emulator.upload_session(frames=3, session_duration_ms=900)
    asked = []
    original = devrev.recording_data

    def late(*args, **kwargs):
        answer = original(*args, **kwargs)
        asked.append(answer)
        if len(asked) == 1:
            time.sleep(1.2)  # the first links expire before they are used
        return answer

    monkeypatch.setattr(devrev, "recording_data", late)
    evidence = collect(devrev, devrev.get_session("android", made.session_id), tmp_path)
    assert len(asked) == 2 and evidence.problems == []
    assert describe("mp4", Path(evidence.files["devrev.mp4"]))["frames"] == 7  # frames at 0, 0.3, 0.6 s


def test_429_and_5xx_from_the_emulator_are_waited_out(devrev_emulator, devrev):
    devrev_emulator.add_fault(method="POST", path="sessions.list", kind="retry_after", retry_after=2, times=2)
    devrev_emulator.add_fault(method="POST", path="sessions.list", status=503, times=1)
    devrev_emulator.add_fault(method="POST", path="sessions.list", status=500, times=1)
    assert devrev.list_sessions("android", None, None) == []
    assert devrev.sleeps[:2] == [2.0, 2.0] and len(devrev.sleeps) == 4


def test_the_emulator_s_refusals(devrev_emulator):
    with pytest.raises(AuthenticationError, match="DEVREV_TOKEN"):
        DevRevClient(devrev_emulator.url, "not-the-token", devrev_emulator.app_id).check()
    with pytest.raises(BackendError, match="--devsession-devrev-app"):
        DevRevClient(devrev_emulator.url, devrev_emulator.token, "unknown-app").check()


@pytest.mark.parametrize("devrev_emulator", [{"upload_delay": 0}], indirect=True)
def test_the_token_is_in_no_file_written(devrev_emulator, devrev, tmp_path):
    made = devrev_emulator.upload_session(frames=2, is_crash=True, log="crashed")
    collect(devrev, devrev.get_session("android", made.session_id), tmp_path)
    for path in tmp_path.rglob("*"):
        assert devrev_emulator.token.encode() not in path.read_bytes()
