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



def video_frames(path: Path, width: int, height: int) -> list[bytes]:
    """Every frame of the video as RGB bytes; the video must be ``width`` x ``height``."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([ffmpeg, "-i", str(path)], capture_output=True, text=True).stderr
    assert f"{width}x{height}" in probe, probe
    out = subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    size = width * height * 3
    return [out[i:i + size] for i in range(0, len(out), size)]
