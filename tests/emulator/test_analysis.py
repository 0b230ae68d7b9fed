"""What a user asks for after a capture: analysis status and issues, time series, video metadata."""
import csv
import io
import threading
import time

import pytest


def _complete(api, session_id):
    api.stop_capture(session_id)
    api.wait_timestamp(session_id, "capture-complete")


def test_analysis_status_waits_for_capture_complete(api, headspin_emulator):
    headspin_emulator.complete_delay = 0.4
    session_id = api.start_capture()
    api.wait_timestamp(session_id, "capture-started")
    assert api.get(f"/sessions/analysis/status/{session_id}", params={"timeout": 0}).json() == {"status": "timeout"}
    api.stop_capture(session_id)
    started = time.monotonic()
    short = api.get(f"/sessions/analysis/status/{session_id}", params={"timeout": "0.1"})
    assert short.json() == {"status": "timeout"} and time.monotonic() - started >= 0.1

    others = []
    waiter = threading.Thread(target=lambda: others.append(api.get(f"/sessions/analysis/status/{session_id}",
                                                                   params={"timeout": 5}).json()))
    waiter.start()
    time.sleep(0.05)
    quick = time.monotonic()
    assert api.get("/devices").status_code == 200  # the waiting request holds nobody up
    assert time.monotonic() - quick < 0.2
    waiter.join()
    assert others == [{"status": "done"}]
    assert time.monotonic() - started < 3  # answered once complete, not at the timeout
    assert api.get(f"/sessions/analysis/status/{session_id}").json() == {"status": "done"}


@pytest.mark.parametrize("timeout", ["soon", "-1", "100000"])
def test_analysis_status_bad_timeout_or_session(api, timeout):
    session_id = api.start_capture()
    assert api.get(f"/sessions/analysis/status/{session_id}", params={"timeout": timeout}).status_code == 400
    assert api.get("/sessions/analysis/status/nope").status_code == 404


def test_issues_by_column_and_by_record(clocked_api, clock):
    session_id = clocked_api.start_capture()
    clock.advance(4)
    clocked_api.stop_capture(session_id)
    column = clocked_api.get(f"/sessions/analysis/issues/{session_id}").json()
    record = clocked_api.get(f"/sessions/analysis/issues/{session_id}", params={"orient": "record"}).json()
    assert set(column) == set(record) == {"Slow Server", "Low Frame Rate"}
    for category, rows in record.items():
        assert rows and all(set(row) == set(column[category]) for row in rows)
        for name, values in column[category].items():
            assert values == [row[name] for row in rows]
    assert all(row["Impact Time"] > 60 and row["End Time"] > row["Start Time"] for row in record["Slow Server"])
    assert clocked_api.get(f"/sessions/analysis/issues/{session_id}", params={"orient": "table"}).status_code == 400
    assert clocked_api.get("/sessions/analysis/issues/nope").status_code == 404


def test_time_series_info_and_download(clocked_api, clock):
    session_id = clocked_api.start_capture()
    clock.advance(0.5)
    clock.advance(3)
    clocked_api.stop_capture(session_id)
    info = clocked_api.get(f"/sessions/timeseries/{session_id}/info").json()
    assert "frame_rate" in info
    assert set(info["frame_rate"]) == {"time_series_name", "time_series_category", "time_series_units"}
    started = clocked_api.get(f"/sessions/{session_id}/timestamps").json()["capture-started"]
    for key in info:
        response = clocked_api.get(f"/sessions/timeseries/{session_id}/download", params={"key": key})
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 7  # every half second of the 3 s capture
        assert float(rows[0]["timestamp"]) == pytest.approx(started) and float(rows[-1]["timestamp"]) <= started + 3
        assert all(float(row["value"]) >= 0 for row in rows)
    assert clocked_api.get(f"/sessions/timeseries/{session_id}/download").status_code == 400
    assert clocked_api.get(f"/sessions/timeseries/{session_id}/download", params={"key": "nope"}).status_code == 404
    assert clocked_api.get("/sessions/timeseries/nope/info").status_code == 404


def test_video_metadata_after_complete(api, headspin_emulator):
    session_id = api.start_capture()
    assert api.get(f"/sessions/{session_id}/video/metadata").status_code == 404  # still capturing
    _complete(api, session_id)
    response = api.get(f"/sessions/{session_id}/video/metadata")
    assert response.status_code == 200
    meta = response.json()
    assert meta["session_id"] == session_id and meta["has_audio"] is False
    assert (meta["width"], meta["height"], meta["codec"]) == (64, 64, "h264")
    assert meta["size_bytes"] == len(api.get(f"/sessions/{session_id}.mp4").content)
    no_video = api.start_capture("emu-ios-1@emulator.local", capture_video=False)
    _complete(api, no_video)
    assert api.get(f"/sessions/{no_video}/video/metadata").status_code == 404
    assert api.get("/sessions/nope/video/metadata").status_code == 404


def test_video_metadata_is_404_for_a_while_after_complete(clocked_api, clock):
    clocked_api.emulator.video_metadata_delay = 60
    session_id = clocked_api.start_capture()
    clock.advance(1)
    clocked_api.stop_capture(session_id)
    clock.advance(0.5)
    assert "capture-complete" in clocked_api.get(f"/sessions/{session_id}/timestamps").json()
    clock.advance(59.9)
    late = clocked_api.get(f"/sessions/{session_id}/video/metadata")
    assert late.status_code == 404 and late.json()["status_code"] == 404
    assert clocked_api.get(f"/sessions/{session_id}.mp4").status_code == 200  # the video itself is there
    clock.advance(0.1)
    assert clocked_api.get(f"/sessions/{session_id}/video/metadata").status_code == 200
