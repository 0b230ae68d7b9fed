"""A recording's frames: fetched at once from their presigned links, and encoded into an MP4.

``video_playback_data[]`` holds ``frames`` (keys, in order) and ``frame_image_map`` (key -> image
link, presigned: no token is sent with it). A key is read as the frame's offset from the start of
the recording in milliseconds (its trailing number: ``1500``, ``frame-1500.png``); keys without a
number are spread evenly over the session's duration. A link refused with 403, 404 or 410 has
expired: the caller asks DevRev for the recording's data again, once, for fresh links.

The video is encoded as ``drivers/video.py`` encodes a screencast (its ``frame_schedule`` and
ffmpeg from imageio-ffmpeg, H.264 yuv420p at ``FPS``): each output frame shows the newest frame at
or before its time; the video lasts from the start of the recording to one tick past the last frame.
"""
from __future__ import annotations

import os
import re
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from ..backends.base import BackendError
from ..http.client import Client, Retry

EXPIRED = (403, 404, 410)
WORKERS = 8
LONGEST_SIDE = 1280
FRAME_RETRY = Retry(retries=2, backoff=0.2, backoff_max=2.0)


def frame_links(data: dict, duration_ms: float | None = None) -> list[tuple[str, float, str | None]]:
    """(key, offset in seconds, link or None) of every frame of a recording's data, in time order."""
    listed: list[tuple[str, str | None]] = []
    for part in data.get("video_playback_data") or ():
        if not isinstance(part, dict):
            continue
        links = part.get("frame_image_map") or {}
        for key in part.get("frames") or list(links):
            key = str(key)
            link = links.get(key) if isinstance(links, dict) else None
            if not link and key.startswith(("http://", "https://")):
                link = key
            listed.append((key, link))
    numbers = [_number(key) for key, _ in listed]
    if listed and all(n is not None for n in numbers):
        frames = [(key, n / 1000.0, link) for (key, link), n in zip(listed, numbers)]
    else:
        step = (duration_ms or 1000.0 * len(listed)) / 1000.0 / max(len(listed), 1)
        frames = [(key, index * step, link) for index, (key, link) in enumerate(listed)]
    return sorted(frames, key=lambda frame: frame[1])


def _number(key: str) -> float | None:
    found = re.findall(r"\d+(?:\.\d+)?", key.rsplit("/", 1)[-1].split("?", 1)[0])
    return float(found[-1]) if found else None


def fetch(frames: list[tuple[str, float, str | None]], folder: Path, sleep) -> tuple[dict[str, Path], dict[str, BackendError]]:
    """Download every frame with a link into ``folder`` at once; (key -> file, key -> error)."""
    folder.mkdir(parents=True, exist_ok=True)
    clients: dict[str, Client] = {}
    for _, _, link in frames:
        if link:
            parts = urlsplit(link)
            clients.setdefault(f"{parts.scheme}://{parts.netloc}", Client(f"{parts.scheme}://{parts.netloc}", sleep=sleep))

    def one(index: int, key: str, link: str) -> tuple[str, Path | BackendError]:
        parts = urlsplit(link)
        dest = folder / f"{index:06d}.frame"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            clients[f"{parts.scheme}://{parts.netloc}"].download(path, dest, action=f"download frame {key}",
                                                                 retry=FRAME_RETRY)
        except BackendError as exc:
            return key, exc
        return key, dest

    got: dict[str, Path] = {}
    failed: dict[str, BackendError] = {}
    try:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="devrev-frames") as pool:
            jobs = [pool.submit(one, index, key, link) for index, (key, _, link) in enumerate(frames) if link]
            for job in jobs:
                key, result = job.result()
                if isinstance(result, BackendError):
                    failed[key] = result
                else:
                    got[key] = result
    finally:
        for client in clients.values():
            client.close()
    return got, failed


def expired(error: BackendError) -> bool:
    return error.status in EXPIRED


def _kind(data: bytes) -> tuple[str, tuple[int, int] | None]:
    """The ffmpeg decoder of an image, and its size when the header tells it."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return "png", struct.unpack(">II", data[16:24])
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                break
            marker, length = data[index + 1], struct.unpack(">H", data[index + 2:index + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[index + 5:index + 9])
                return "mjpeg", (width, height)
            index += 2 + length
        return "mjpeg", None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", None
    return "unknown", None


def _even_fit(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, LONGEST_SIDE / max(width, height, 1))
    width, height = int(width * scale), int(height * scale)
    return max(2, width - width % 2), max(2, height - height % 2)


def encode_mp4(frames: list[tuple[Path, float]], path: Path, size: tuple[int, int] | None = None) -> dict:
    """Encode ``frames`` (file, seconds from the recording's start) into ``path``; {"frames": ticks,
    "duration_s": s, "skipped": frames of another image kind than the first}. Nothing is written
    without frames (then ``frames`` is 0)."""
    frames = sorted(frames, key=lambda frame: frame[1])
    if not frames:
        return {"frames": 0, "duration_s": 0.0, "skipped": 0}
    codec, found = _kind(frames[0][0].read_bytes()[:65536])
    if codec == "unknown":
        raise BackendError("the frames are no image ffmpeg is told to read (PNG, JPEG, WebP)", action="encode the DevRev video")
    kept = [frame for frame in frames if _kind(frame[0].read_bytes()[:65536])[0] == codec]
    width, height = _even_fit(size or found or (720, 1280))
    # Only encoding needs the video driver (and imageio-ffmpeg, of the [local] extra): fetching frames does not.
    from ..drivers.video import FPS, _ffmpeg, frame_schedule

    start, stop = min(0.0, kept[0][1]), kept[-1][1] + 1.0 / FPS
    schedule = frame_schedule(kept, start, stop, FPS)
    range_fix = ":out_range=tv" if codec == "mjpeg" else ""
    vf = (f"scale={width}:{height}:force_original_aspect_ratio=decrease{range_fix},"
          f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=white,setsar=1,format=yuv420p")
    part = path.with_name(path.name + ".part")
    cmd = [_ffmpeg(), "-y", "-loglevel", "error", "-f", "image2pipe", "-framerate", str(FPS), "-c:v", codec,
           "-i", "-", "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-r", str(FPS),
           "-movflags", "+faststart", "-f", "mp4", str(part)]
    process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for frame in schedule:
            process.stdin.write(frame.read_bytes())
        process.stdin.close()
    except OSError:
        pass  # ffmpeg ended early: its exit code and error say why
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.wait() != 0:
        part.unlink(missing_ok=True)
        raise BackendError(f"ffmpeg failed ({process.returncode}): {stderr.strip()[-500:]}",
                           action="encode the DevRev video")
    os.replace(part, path)
    return {"frames": len(schedule), "duration_s": round(len(schedule) / FPS, 3), "skipped": len(frames) - len(kept)}
