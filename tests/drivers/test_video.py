from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

TICKING = """<!doctype html><html><head><title>ticking</title><link rel="icon" href="data:,"></head>
<body style="font: 48px sans-serif"><div id="t">start</div><script>
console.log("devsession-marker", 1, {a: 1});
let n = 0;
const timer = setInterval(() => {
  n++;
  document.getElementById("t").textContent = "tick " + n;
  if (n >= 20) { clearInterval(timer); console.warn("ticking done"); document.title = "done"; }
}, 100);
</script></body></html>"""

STILL = """<!doctype html><html><head><title>still</title><link rel="icon" href="data:,"></head>
<body><h1>nothing moves</h1></body></html>"""


@pytest.fixture(scope="module")
def chrome(chromium):
    from pytest_devsession.drivers.browser import start_chrome

    driver = start_chrome(chromedriver=chromium[1], binary=chromium[0])
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def recorder(chrome):
    from pytest_devsession.drivers.browser import debugger_address
    from pytest_devsession.drivers.video import ScreencastRecorder

    chrome.get("about:blank")
    rec = ScreencastRecorder(debugger_address(chrome), target_id=chrome.current_window_handle)
    try:
        yield rec
    finally:
        rec.stop()
        rec.close()


def video_duration(path: Path) -> float:
    """Decode the whole file with ffmpeg; the last progress time is how long it plays."""
    import imageio_ffmpeg

    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "Video: h264" in result.stderr and "yuv420p(" in result.stderr, result.stderr
    times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", result.stderr)
    assert times, result.stderr
    h, m, s = times[-1]
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_changing_page_gives_a_video_as_long_as_the_recording(chrome, recorder, page_server, tmp_path):
    page_server.pages["/ticking"] = TICKING
    recorder.start()
    chrome.get(page_server.url + "/ticking")  # the screencast follows the page across navigation
    deadline = time.monotonic() + 10
    while chrome.title != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    recorder.stop()

    recorded = recorder.stopped_at - recorder.started_at
    assert 2.0 < recorded < 10
    assert recorder.frame_count >= 10  # one per tick, at least half of them

    video = tmp_path / "video.mp4"
    size = recorder.write_mp4(video)
    assert size == video.stat().st_size > 0
    assert not (tmp_path / "video.mp4.part").exists()
    assert abs(video_duration(video) - recorded) <= 0.15  # whole frames of 0.1 s

    log = tmp_path / "console.log"
    assert recorder.write_console_log(log) == log.stat().st_size
    lines = log.read_text().splitlines()
    marker = [line for line in lines if "devsession-marker 1 {a: 1}" in line]
    assert marker and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 LOG ", marker[0])
    assert any(" WARNING ticking done" in line for line in lines)


def test_still_page_still_gives_a_video_as_long_as_the_recording(chrome, recorder, page_server, tmp_path):
    page_server.pages["/still"] = STILL
    chrome.get(page_server.url + "/still")
    recorder.start()
    time.sleep(1.5)
    recorder.finish()
    recorder.stop()

    # Chromium sends a screencast frame only when the page repaints; the screenshots taken at
    # start and finish are there whatever it does.
    assert recorder.frame_count >= 2
    video = tmp_path / "still.mp4"
    assert recorder.write_mp4(video) > 0
    assert abs(video_duration(video) - recorder.duration) <= 0.15


def test_first_frame_is_the_page_at_start_and_last_frame_the_page_at_finish(chrome, recorder, tmp_path):
    from pytest_devsession.contents import describe

    chrome.execute_script("document.body.style.background = 'rgb(0, 0, 255)'")
    recorder.start()
    time.sleep(0.3)
    # Changed at the very last moment: no screencast frame can have shown it yet.
    chrome.execute_script("document.body.style.background = 'rgb(255, 0, 0)'")
    recorder.finish()
    chrome.execute_script("document.body.style.background = 'rgb(0, 255, 0)'")  # after the end: not shown
    time.sleep(0.3)
    recorder.stop()

    video = tmp_path / "colors.mp4"
    recorder.write_mp4(video, (320, 180))
    assert describe("mp4", video)["frames"] == len(decoded := frames_of(video, 320, 180)) >= 3
    assert dominant(decoded[0]) == "blue"
    assert dominant(decoded[-1]) == "red"
    assert "green" not in {dominant(frame) for frame in decoded}


def frames_of(video: Path, width: int, height: int) -> list[bytes]:
    import imageio_ffmpeg

    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(video),
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    size = width * height * 3
    return [out[i:i + size] for i in range(0, len(out), size)]


def dominant(frame: bytes) -> str:
    """The colour of the pixel in the middle of the frame (the page's background)."""
    middle = len(frame) // 2 // 3 * 3
    r, g, b = frame[middle:middle + 3]
    return {(True, False, False): "red", (False, True, False): "green", (False, False, True): "blue"}.get(
        (r > 160, g > 160, b > 160), f"rgb({r}, {g}, {b})")


def test_frame_schedule_shows_the_newest_frame_at_each_tick_and_ends_on_the_last():
    from pytest_devsession.drivers.video import frame_schedule

    a, b, c = Path("a"), Path("b"), Path("c")
    # 1.0 s at 10 fps: a until b arrives at 0.35 s; c was taken at the very end.
    assert frame_schedule([(a, 100.0), (b, 100.35), (c, 101.0)], 100.0, 101.0, 10) == [a] * 4 + [b] * 5 + [c]
    # A recording shorter than a tick still shows its first and its last frame.
    assert frame_schedule([(a, 100.0), (b, 100.01)], 100.0, 100.02, 10) == [a, b]
    # A frame taken between ticks is never lost when it is the last one.
    assert frame_schedule([(a, 100.0), (b, 100.05), (c, 100.12)], 100.0, 100.12, 10) == [a, c]
    # A recording of no time still gives one frame.
    assert frame_schedule([(a, 5.0)], 5.0, 5.0, 10) == [a]


def test_no_frames_writes_no_video(tmp_path, need_module):
    need_module("websocket", "websocket-client")
    from pytest_devsession.drivers.video import ScreencastError, ScreencastRecorder

    rec = ScreencastRecorder("127.0.0.1:9")
    with pytest.raises(ScreencastError, match="started and stopped"):
        rec.write_mp4(tmp_path / "early.mp4")
    rec.started_at, rec.stopped_at = 1.0, 2.0  # a recording that never got a frame
    assert rec.write_mp4(tmp_path / "none.mp4") == 0
    with pytest.raises(ScreencastError, match="records once"):
        rec.start()
    assert list(tmp_path.iterdir()) == []


def test_unreachable_browser_fails_on_start(tmp_path, need_module):
    need_module("websocket", "websocket-client")
    import socket

    from pytest_devsession.drivers.video import ScreencastRecorder

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    rec = ScreencastRecorder(f"127.0.0.1:{port}", connect_timeout=2)
    with pytest.raises(OSError):
        rec.start()
    rec.stop()  # harmless after a failed start


def test_a_browser_gone_before_the_end_keeps_what_was_recorded(chromium, tmp_path):
    from pytest_devsession.drivers.browser import debugger_address, start_chrome
    from pytest_devsession.drivers.video import ScreencastRecorder

    driver = start_chrome(chromedriver=chromium[1], binary=chromium[0])
    try:
        recorder = ScreencastRecorder(debugger_address(driver), target_id=driver.current_window_handle)
        recorder.start()
    finally:
        driver.quit()  # the browser goes away before the test's call ends
    time.sleep(0.3)
    began = time.monotonic()
    recorder.finish()
    recorder.stop()
    assert time.monotonic() - began < 3  # no call waits its full timeout on a closed connection
    assert recorder.problems and "screenshot failed" in recorder.problems[0]
    video = tmp_path / "gone.mp4"
    assert recorder.write_mp4(video, (320, 180)) > 0  # the first frame, held until the end
    assert abs(video_duration(video) - recorder.duration) <= 0.15
    recorder.close()
