"""The emulated Automation API (``/automation/api/v1``): the handlers of its routes and their bodies.

A handler is ``handler(emulator, request) -> Response``; ``emulator`` gives the account
(``store``), the settings (``artifact_delay``) and the links (``url``, ``video_link``,
``view_link``). Errors are raised as ``ApiError`` and answered ``{"message", "status": "fail"}``
with its status. Like LambdaTest, some failures are HTTP 200 with ``"status": "fail"``: a
video or log asked for before it is ready (``artifact_delay`` seconds after the session ended),
or one the session's LT:Options did not turn on.
"""

from __future__ import annotations

import datetime
import html
from typing import Any

from ...http.server import HttpError, Request, Response, json_response
from .. import artifacts
from . import har, models
from .models import ApiError, LtSession, apply_patch, stamp

NOT_READY_VIDEO = "Video is not ready yet: it is available shortly after the session ends"
NOT_READY_LOGS = "Logs are not ready yet: they are available shortly after the session ends"
NO_VIDEO = "Video was not recorded for this session (LT:Options video is false)"
NO_FULL_HAR = 'Full HAR was not captured for this session: set "network.full.har": true in LT:Options'
NO_NETWORK = 'Network logs were not captured for this session: set "network": true in LT:Options'
NO_CONSOLE = 'Console logs were not captured for this session: set "console": true in LT:Options'
LOG_KINDS = ("command", "console", "selenium", "network")


def fail(message: str, status: int = 200) -> Response:
    return json_response({"message": message, "status": "fail"}, status)


def _session(emulator, request: Request, missing_status: int = 404) -> LtSession:
    session = emulator.store.get(request.params["session_id"])
    if session is None:
        raise ApiError(missing_status, models.NOT_FOUND)
    return session


def details(emulator, session: LtSession) -> dict:
    """The ``data`` of GET /sessions/{id}: the seed's fields, then tags."""
    base = f"{emulator.url}/sessions/{session.session_id}"
    ready = emulator.store.artifacts_ready(session, emulator.artifact_delay)
    remark = session.reason or ("completed" if session.ended is not None else "running")
    return {
        "test_id": session.test_id, "build_id": session.build_id, "name": session.name or "",
        "user_id": emulator.store.user_id, "username": emulator.store.username, "duration": session.duration,
        "platform": session.platform, "browser": session.browser, "browser_version": session.browser_version,
        "device": "", "status_ind": session.status_ind, "session_id": session.session_id,
        "build_name": session.build, "create_timestamp": stamp(session.created),
        "start_timestamp": stamp(session.started), "end_timestamp": stamp(session.ended), "remark": remark,
        "console_logs_url": f"{base}/log/console", "network_logs_url": f"{base}/log/network",
        "command_logs_url": f"{base}/log/command", "selenium_logs_url": f"{base}/log/selenium",
        "screenshot_url": "",
        "video_url": emulator.video_link(session) if ready and session.video else "",
        "customData": dict(session.custom_data), "tags": list(session.tags),
    }


# sessions --------------------------------------------------------------------------------
def get_session(emulator, request: Request) -> Response:
    session = _session(emulator, request)
    return json_response({"data": details(emulator, session), "message": models.RETRIEVED, "status": "success"})


def patch_session(emulator, request: Request) -> Response:
    session = _session(emulator, request)
    try:
        body = request.json()
    except HttpError:
        body = None  # not JSON: a payload like any other wrong one
    apply_patch(session, body)
    return json_response({"message": models.UPDATED, "status": "success"})


def stop_session(emulator, request: Request) -> Response:
    session = _session(emulator, request)
    if session.ended is not None:
        raise ApiError(400, "Session is already stopped")
    emulator.stop_session(session)
    return json_response({"message": "Session stopped successfully", "status": "success"})


def _date(text: str | None, end: bool) -> float | None:
    if not text:
        return None
    try:
        day = datetime.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ApiError(400, f"Invalid date {text!r}: use YYYY-MM-DD") from None
    return (day + datetime.timedelta(days=1 if end else 0)).timestamp()


def _int(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise ApiError(400, f"{name} must be a whole number")
    return int(raw)


def list_sessions(emulator, request: Request) -> Response:
    """GET /sessions: newest first (``sort=asc...``: oldest first); filters build_id, build_name
    (the emulator's), test_name (part of the name), status, tags (comma list, any), fromdate and
    todate (YYYY-MM-DD, UTC); offset, limit (default 10)."""
    sessions = list(emulator.store.sessions.values())
    build_id, build_name = request.arg("build_id"), request.arg("build_name")
    name, status, tags = request.arg("test_name"), request.arg("status"), request.arg("tags")
    start, end = _date(request.arg("fromdate"), False), _date(request.arg("todate"), True)
    if build_id:
        sessions = [s for s in sessions if str(s.build_id) == build_id]
    if build_name:
        sessions = [s for s in sessions if s.build == build_name]
    if name:
        sessions = [s for s in sessions if name in (s.name or "")]
    if status:
        wanted = {part.strip().lower() for part in status.split(",")}
        sessions = [s for s in sessions if s.status_ind in wanted]
    if tags:
        wanted = {part.strip() for part in tags.split(",")}
        sessions = [s for s in sessions if wanted & set(s.tags)]
    if start is not None:
        sessions = [s for s in sessions if s.created >= start]
    if end is not None:
        sessions = [s for s in sessions if s.created < end]
    sessions.sort(key=lambda s: s.created, reverse=not (request.arg("sort") or "").lower().startswith("asc"))
    offset, limit = _int(request, "offset", 0), _int(request, "limit", 10)
    page = sessions[offset:offset + limit]
    return json_response({"Meta": {"result_set": {"count": len(page), "limit": limit, "offset": offset,
                                                  "total": len(sessions)}},
                          "data": [details(emulator, s) for s in page], "message": models.RETRIEVED, "status": "success"})


# artifacts -------------------------------------------------------------------------------
def video(emulator, request: Request) -> Response:
    session = _session(emulator, request)
    if not session.video:
        return fail(NO_VIDEO)
    if not emulator.store.artifacts_ready(session, emulator.artifact_delay):
        return fail(NOT_READY_VIDEO)
    return json_response({"message": "Retrieve video url was successful", "status": "success",
                          "url": emulator.video_link(session), "view_video_url": emulator.view_link(session)})


def _log_entry(session: LtSession, kind: str, when: float, status: Any, value: Any) -> dict:
    return {"logType": kind, "testID": session.test_id, "status": status, "timestamp": int(when * 1000),
            "Value": value}


def log(emulator, request: Request) -> Response:
    """GET /sessions/{id}/log/{command|console|selenium|network}: 400 for an unknown session."""
    session = _session(emulator, request, missing_status=400)
    kind = request.params["kind"]
    if kind == "network" and not session.network:
        return fail(NO_NETWORK)
    if kind == "console" and not session.console_enabled:
        return fail(NO_CONSOLE)
    if not emulator.store.artifacts_ready(session, emulator.artifact_delay):
        return fail(NOT_READY_LOGS)
    data = []
    if kind == "command":
        for c in session.commands:
            data.append(_log_entry(session, "command", c.time, c.status, {
                "requestMethod": c.method, "requestPath": _hub_path(session, c.path), "requestBody": c.body,
                "responseBody": c.response, "responseStatus": c.status, "duration": c.duration_ms}))
    elif kind == "selenium":
        for c in session.commands:
            text = f"COMMAND {c.method} {_hub_path(session, c.path)}"
            data.append(_log_entry(session, "selenium", c.time, "INFO", text))
            level = "INFO" if c.status < 400 else "WARNING"
            data.append(_log_entry(session, "selenium", c.time + c.duration_ms / 1000, level,
                                   f"RESPONSE {c.method} {_hub_path(session, c.path)} {c.status}"))
    elif kind == "console":
        for item in session.console:
            data.append(_log_entry(session, "console", (item.get("timestamp") or 0) / 1000, item.get("level"),
                                   item.get("message")))
    else:
        for e in session.entries:
            when = datetime.datetime.strptime(e["startedDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            data.append(_log_entry(session, "network", when, e["response"]["status"],
                                   {"url": e["request"]["url"], "method": e["request"]["method"],
                                    "status": e["response"]["status"]}))
    return json_response({"data": data, "message": f"Retrieve {kind} logs was successful", "status": "success"})


def _hub_path(session: LtSession, path: str) -> str:
    return "/wd/hub/session" if path == "/session" else f"/wd/hub/session/{session.session_id}{path}"


def full_har(emulator, request: Request) -> Response:
    """GET /sessions/{id}/log/full-har: a ZIP of HAR 1.2 files; 400 for an unknown session."""
    session = _session(emulator, request, missing_status=400)
    if not session.full_har:
        return fail(NO_FULL_HAR)
    if not emulator.store.artifacts_ready(session, emulator.artifact_delay):
        return fail(NOT_READY_LOGS)
    body = har.full_har_zip(session.entries, session.browser_version)
    return Response(200, body, "application/zip",
                    {"Content-Disposition": f'attachment; filename="{session.session_id}-full-har.zip"'})


# what a signed link or a browser opens, without credentials ------------------------------
def _denied(message: str, status: int = 403) -> Response:
    code = "AccessDenied" if status == 403 else "NoSuchKey"
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(status, body.encode(), "application/xml")


def video_file(emulator, request: Request) -> Response:
    """The signed video link: the MP4 while ``Expires`` is ahead and ``Signature`` matches, 403 after."""
    session = emulator.store.get(request.params["session_id"])
    if session is None or not session.video or not emulator.store.artifacts_ready(session, emulator.artifact_delay):
        return _denied("The specified key does not exist.", 404)
    expires, signature = request.arg("Expires") or "", request.arg("Signature") or ""
    if not emulator.signature_ok(session.session_id, expires, signature):
        return _denied("Access denied")
    if float(expires) < emulator.store.clock():
        return _denied("Request has expired")
    return Response(200, artifacts.mp4(), "video/mp4")


def view_page(emulator, request: Request) -> Response:
    """``view_video_url``: a page with the session's video (a fresh signed link)."""
    test_id = request.arg("testID") or ""
    session = next((s for s in emulator.store.sessions.values() if s.test_id == test_id), None)
    if session is None:
        return Response(404, b"<!doctype html><title>Not found</title><p>No such test.</p>", "text/html; charset=utf-8")
    ready = session.video and emulator.store.artifacts_ready(session, emulator.artifact_delay)
    player = (f'<video controls src="{html.escape(emulator.video_link(session))}"></video>' if ready
              else "<p>The video is not ready.</p>")
    page = (f"<!doctype html><title>{html.escape(session.name or session.session_id)}</title>"
            f"<h1>{html.escape(session.name or session.session_id)}</h1>"
            f"<p>Build {html.escape(session.build)}; status {html.escape(session.status_ind)}; "
            f"session {session.session_id}</p>{player}")
    return Response(200, page.encode(), "text/html; charset=utf-8")


__all__ = ["LOG_KINDS", "details", "fail", "full_har", "get_session", "list_sessions", "log",
           "patch_session", "stop_session", "video", "video_file", "view_page"]

stop_session.locks_itself = True  # it waits for the browser to close: the server must not hold the lock
