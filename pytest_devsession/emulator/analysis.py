"""What HeadSpin's analysis of a capture says: issues, time series and the video's metadata.

Pure functions of a session's plain facts (capture start and end); no HTTP, no state. The
content is small and made up, but it follows the capture: issues come from the emulated app's
requests (``traffic``), time series are sampled over the capture's length.
"""

from __future__ import annotations

import csv
import io
import math

from . import traffic
from .artifacts import VIDEO_FACTS

# Requests that waited longer than this for the server's first byte are "Slow Server" issues.
SLOW_WAIT_MS = 60
ISSUE_COLUMNS = ("Start Time", "End Time", "Impact Time", "Host", "URL", "Status")
# time_series_key -> what the time series info says of it
TIME_SERIES = {
    "frame_rate": {"time_series_name": "Frame Rate", "time_series_category": "Video",
                   "time_series_units": "frames per second"},
    "cpu_usage": {"time_series_name": "CPU Usage", "time_series_category": "Device",
                  "time_series_units": "percent"},
    "memory_used": {"time_series_name": "Memory Used", "time_series_category": "Device",
                    "time_series_units": "megabytes"},
}
SAMPLE_PERIOD = 0.5  # seconds between two points of a time series
MAX_SAMPLES = 1000


def _issue_rows(start: float, end: float | None) -> dict[str, list[dict]]:
    """Each issue category's instances, times in seconds after ``start``."""
    slow = []
    for t, _method, url, status, _mime, _size, _ip, timings, _total in traffic.entries_of(start, end):
        if timings["wait"] > SLOW_WAIT_MS:
            offset = round(t - start, 3)
            slow.append({"Start Time": offset, "End Time": round(offset + timings["wait"] / 1000, 3),
                         "Impact Time": timings["wait"], "Host": url.split("/")[2], "URL": url, "Status": status})
    low_frame_rate = []
    if end is not None and end - start >= 1.5:  # the app's launch animation drops frames
        low_frame_rate.append({"Start Time": 1.0, "End Time": 1.5, "Impact Time": 500, "Host": None,
                               "URL": None, "Status": None})
    return {"Slow Server": slow, "Low Frame Rate": low_frame_rate}


def issues(start: float, end: float | None, orient: str = "column") -> dict:
    """The issue summary: by category, then by column (``column``) or by instance (``record``)."""
    rows = {category: found for category, found in _issue_rows(start, end).items() if found}
    if orient == "record":
        return rows
    return {category: {column: [row[column] for row in found] for column in ISSUE_COLUMNS}
            for category, found in rows.items()}


def _value(key: str, offset: float) -> float:
    if key == "frame_rate":
        return 30.0 if not 1.0 <= offset < 1.5 else 12.0
    if key == "cpu_usage":
        return round(35 + 20 * math.sin(offset / 3), 2)
    return round(410 + 4 * offset, 1)


def time_series_csv(key: str, start: float, end: float | None) -> bytes:
    """One time series over the capture: ``timestamp`` (epoch seconds) and ``value``."""
    span = 0.0 if end is None else max(0.0, end - start)
    step = max(SAMPLE_PERIOD, span / MAX_SAMPLES)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "value"])
    for n in range(int(span // step) + 1):
        writer.writerow([f"{start + n * step:.3f}", _value(key, n * step)])
    return out.getvalue().encode()


def video_metadata(session_id: str, size: int) -> dict:
    """What the video download is (the clip, ``size`` bytes long): no audio track."""
    return {"session_id": session_id, **VIDEO_FACTS, "size_bytes": size, "has_audio": False,
            "audio_codec": None}
