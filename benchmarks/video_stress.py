"""Stress the browser video: run the browser examples N times and judge every video by its pixels.

    python benchmarks/video_stress.py --runs 25          # 25 runs x 2 browser tests = 50 sessions

A session passes when its ``session.mp4`` exists, and
  - its first frame is the blank page the recording starts on (white, not Chromium's New Tab page),
  - some frame shows the login page (the grey "signed out" block),
  - its last frame shows the test's final state (the green "welcome ada" block for
    ``test_sign_in_from_the_page``, the red "wrong password" block for ``test_wrong_password_is_shown``),
  - it lasts at least as long as the test's call (from pytest's ``--durations``; the video runs
    from the moment the browser is attached, in setup, to the end of the call).
Every failing session is printed with the reason; the exit code is 1 if any failed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 160, 90  # frames are judged at this size
# The example page's status block (examples/app.py) in each state.
GREY, GREEN, RED = (208, 208, 208), (48, 160, 80), (192, 48, 48)
FINAL = {"test_sign_in_from_the_page": ("green", GREEN), "test_wrong_password_is_shown": ("red", RED)}


def frames(video: Path) -> list[bytes]:
    """Every frame of the video as RGB bytes at WIDTH x HEIGHT."""
    import imageio_ffmpeg

    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(video),
         "-vf", f"scale={WIDTH}:{HEIGHT}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    size = WIDTH * HEIGHT * 3
    return [out[i:i + size] for i in range(0, len(out) - size + 1, size)]


def share(frame: bytes, color: tuple[int, int, int], tolerance: int = 40) -> float:
    """The share of pixels within ``tolerance`` of ``color`` on every channel."""
    hits = 0
    for i in range(0, len(frame), 3):
        if all(abs(frame[i + c] - color[c]) <= tolerance for c in range(3)):
            hits += 1
    return hits / (len(frame) // 3)


def judge(test: str, video: Path, call_seconds: float | None) -> str | None:
    """Why this session's video fails, or None."""
    if not video.is_file():
        return "no session.mp4"
    shots = frames(video)
    if not shots:
        return "the video has no frames"
    if share(shots[0], (255, 255, 255), 8) < 0.98:
        return "the first frame is not the blank page"
    if not any(share(shot, GREY, 12) > 0.05 for shot in shots):
        return "no frame shows the login page"
    name, color = FINAL[test]
    if share(shots[-1], color) < 0.05:
        return f"the last frame does not show the final state (the {name} block)"
    seconds = len(shots) / 10
    if call_seconds is not None and seconds + 0.1 < call_seconds:
        return f"the video lasts {seconds:.1f} s, the test's call {call_seconds:.2f} s"
    return None


def call_durations(output: str) -> dict[str, float]:
    """Each test's call phase in seconds, from pytest's ``--durations`` table."""
    return {m[2]: float(m[1]) for m in re.finditer(r"^([\d.]+)s call\s+\S+::(\w+)", output, re.M)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="pytest runs of the two browser examples (default 25)")
    args = parser.parse_args()
    passed, failures, started = 0, [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="devsession-video-stress-") as tmp:
        for run in range(1, args.runs + 1):
            artifacts = Path(tmp, f"run{run}")
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "--devsession", str(ROOT / "examples" / "test_web.py"), "-q",
                 "-p", "no:cacheprovider", f"--devsession-artifacts-dir={artifacts}",
                 f"--devsession-store={Path(tmp, 'store')}", "--durations=0", "--durations-min=0"],
                capture_output=True, text=True, cwd=tmp,
            )  # fmt: skip
            if result.returncode != 0:
                failures.append((run, "pytest", f"exit {result.returncode}: {result.stdout[-800:]}"))
                continue
            durations = call_durations(result.stdout)
            manifest = json.loads((artifacts / "manifest.json").read_text())
            for session in manifest["sessions"]:
                test = session["nodeid"].rsplit("::", 1)[-1]
                video = artifacts / session["artifacts"]["mp4"] if "mp4" in session["artifacts"] else Path("missing")
                why = judge(test, video, durations.get(test)) or (
                    f"problems reported: {session['problems']}" if session["problems"] else None)
                if why is None:
                    passed += 1
                else:
                    failures.append((run, test, why))
            print(f"run {run}/{args.runs}: {passed} sessions passed, {len(failures)} failed so far", flush=True)
    total = passed + sum(1 for f in failures if f[1] != "pytest")
    print(f"\n{passed} of {total} browser sessions have a video from the blank page through the login page "
          f"to the final state ({time.perf_counter() - started:.0f} s)")
    for run, test, why in failures:
        print(f"  run {run} {test}: {why}")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
