"""Analysis handlers: whether a capture's analysis is done, its issues, its time series and the
metadata of its video, as a user asks for them after the capture.

The analysis is done once the capture is complete; the video metadata answers 404 until
``video_metadata_delay`` seconds after that (the real service's is late by about a minute).
"""

from __future__ import annotations

import time

from .. import analysis, artifacts
from ..models import ApiError, Org
from .common import Request, Response, json_response

MAX_WAIT = 600.0  # seconds an analysis status request may be held open


def _wait(req: Request) -> float:
    raw = req.arg("timeout")
    try:
        seconds = 0.0 if raw in (None, "") else float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT:
        raise ApiError(400, f"Invalid timeout {raw!r}: a number of seconds from 0 to {MAX_WAIT:g}.")
    return seconds


def analysis_status(org: Org, req: Request) -> Response:
    """``{"status": "done"}`` once the capture is complete; otherwise ``timeout`` after waiting up to
    ``?timeout=`` seconds for it. Waits without holding the org's lock (see ``locks_itself``)."""
    deadline = time.monotonic() + _wait(req)
    while True:
        with org.lock:
            done = org.session(req.params["session_id"]).state == "complete"
        left = deadline - time.monotonic()
        if done or left <= 0:
            return json_response({"status": "done" if done else "timeout"})
        time.sleep(min(0.02, left))


analysis_status.locks_itself = True


def analysis_issues(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    orient = req.arg("orient") or "column"
    if orient not in ("column", "record"):
        raise ApiError(400, f"Invalid orient {orient!r}: use column or record.")
    return json_response(analysis.issues(*session.span(org.now()), orient=orient))


def timeseries_info(org: Org, req: Request) -> Response:
    org.session(req.params["session_id"])
    return json_response(analysis.TIME_SERIES)


def timeseries_download(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    key = req.arg("key")
    if not key:
        raise ApiError(400, "Missing argument: key (a time_series_key from the time series info).")
    if key not in analysis.TIME_SERIES:
        raise ApiError(404, f"No time series {key!r} in this session.")
    return Response(200, analysis.time_series_csv(key, *session.span(org.now())), "text/csv; charset=utf-8")


def video_metadata(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    if not session.capture_video:
        raise ApiError(404, "This session has no video.")
    if session.completed_at is None or org.now() < session.completed_at + org.video_metadata_delay:
        raise ApiError(404, "Video metadata is not available yet.")
    return json_response(analysis.video_metadata(session.session_id, artifacts.video_size(org.video_bytes)))
