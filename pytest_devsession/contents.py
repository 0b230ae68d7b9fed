"""What a downloaded artifact holds, read from the file itself, whatever service made it.

So that emptiness is visible (a HAR of 0 entries, a video of no frames), the manifest
and the record carry these figures beside each artifact's path.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path


def describe(ext: str, path: Path) -> dict:
    """``har``: ``{"har_entries": n}``; ``mp4``: ``{"duration_s": s, "frames": n}``; others ``{}``.

    A file that cannot be read as its kind gives ``{"unreadable": reason}``.
    """
    try:
        if ext == "har":
            return {"har_entries": len(json.loads(path.read_bytes())["log"]["entries"])}
        if ext == "mp4":
            return mp4_video(path)
    except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        return {"unreadable": f"{type(exc).__name__}: {exc}"}
    return {}


def emptiness(ext: str, details: dict, sent_traffic: bool) -> str | None:
    """Why a downloaded artifact holds nothing the user can use, or None."""
    if "unreadable" in details:
        return f"cannot be read: {details['unreadable']}"
    if ext == "har" and details.get("har_entries") == 0 and sent_traffic:
        return ("holds no entries although the test routed a browser or client through the capture: "
                "its traffic went around the proxy, or the capture server recorded it elsewhere")
    if ext == "mp4" and not (details.get("frames") and details.get("duration_s")):
        return "holds no video frames"
    return None


def mp4_video(path: Path) -> dict:
    """Duration and frame count of the first video track, from its ``mdhd`` and ``stsz`` boxes."""
    data = path.read_bytes()
    for trak in _children(data, _find(data, b"moov", 0, len(data)), b"trak"):
        mdia = _find(data, b"mdia", *trak)
        hdlr_start, _ = _find(data, b"hdlr", *mdia)
        if data[hdlr_start + 8:hdlr_start + 12] != b"vide":  # version, flags, pre_defined, then the handler
            continue
        mdhd_start, _ = _find(data, b"mdhd", *mdia)
        version = data[mdhd_start]
        if version == 1:
            timescale, duration = struct.unpack(">IQ", data[mdhd_start + 20:mdhd_start + 32])
        else:
            timescale, duration = struct.unpack(">II", data[mdhd_start + 12:mdhd_start + 20])
        stbl = _find(data, b"stbl", *_find(data, b"minf", *mdia))
        stsz_start, _ = _find(data, b"stsz", *stbl)
        (frames,) = struct.unpack(">I", data[stsz_start + 8:stsz_start + 12])
        return {"duration_s": round(duration / timescale, 3) if timescale else 0.0, "frames": frames}
    raise ValueError("no video track")


def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of each box between ``start`` and ``end``."""
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[at + 8:at + 16])
            header = 16
        elif size == 0:
            size = end - at
        if size < header:
            raise ValueError(f"broken MP4 box {kind!r}")
        yield kind, at + header, min(at + size, end)
        at += size


def _find(data: bytes, kind: bytes, start: int, end: int) -> tuple[int, int]:
    for found, payload, stop in _boxes(data, start, end):
        if found == kind:
            return payload, stop
    raise ValueError(f"no {kind.decode()} box")


def _children(data: bytes, parent: tuple[int, int], kind: bytes):
    return [(payload, stop) for found, payload, stop in _boxes(data, *parent) if found == kind]
