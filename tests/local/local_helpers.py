"""Helpers for the local acceptance tests: read the artifacts they produce."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path


def video_seconds(path: Path) -> float:
    import imageio_ffmpeg

    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path), "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    stamp = out.rsplit("time=", 1)[1].split()[0]
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def entries(har_path: Path) -> list[str]:
    har = json.loads(har_path.read_text())
    assert har["log"]["version"] == "1.2"
    return [e["request"]["url"] for e in har["log"]["entries"]]

