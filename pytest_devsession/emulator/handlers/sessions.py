"""Capture session handlers: create, stop, list, delete, timestamps, descriptions, tags,
TLS exceptions, labels, downloads (a HAR cut by a label), and the UI's session page."""

from __future__ import annotations

import json
import re

from .. import artifacts
from ..models import ApiError, CaptureSession, Label, Org
from .common import (
    Download, Request, Response, bool_arg, drop, error_response, int_arg, json_response, success,
)


def render_session(session: CaptureSession) -> dict:
    serial, hostname = session.device_address.split("@", 1)
    return {
        "session_id": session.session_id,
        "session_type": "capture",
        "state": session.state,
        "active": session.active,
        "device_address": session.device_address,
        "device_id": serial,
        "hostname": hostname,
        "name": session.name,
        "description": session.description,
        "tags": session.tags,
        "start_time": round(session.created, 3),
        "end_time": None if session.ended_at is None else round(session.ended_at, 3),
        "capture_video": session.capture_video,
        "capture_network": session.capture_network,
        "mitm_ignore": session.mitm_ignore,
        "network_keep_in_session_patterns": session.network_keep_in_session_patterns,
        "timestamps": session.timestamps(),
    }


def _string_list(body: dict, name: str) -> list:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"Invalid {name}: must be a list of strings.")
    return value


def create_session(org: Org, req: Request) -> Response:
    body = req.json_object()
    if body.get("session_type") != "capture":
        raise ApiError(400, "Invalid session_type: only 'capture' sessions can be created here.")
    address = body.get("device_address")
    if not isinstance(address, str) or not address:
        raise ApiError(400, "Missing or invalid argument: device_address.")
    mitm_ignore = _string_list(body, "mitm_ignore")
    for pattern in mitm_ignore:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ApiError(400, f"Invalid mitm_ignore pattern {pattern!r}: {exc}.") from None
    session = org.create_session(
        address, mitm_ignore, _string_list(body, "network_keep_in_session_patterns"),
        capture_video=bool(body.get("capture_video", True)),
        capture_network=bool(body.get("capture_network", True)),
    )
    if body.get("nowait") is not True:
        # The device leaves the network while capture is set up: a blocking
        # request loses its connection although the session was created.
        return drop()
    return json_response({"session_id": session.session_id})


def get_session(org: Org, req: Request) -> Response:
    return json_response(render_session(org.session(req.params["session_id"])))


def list_sessions(org: Org, req: Request) -> Response:
    tags = []
    for raw in req.args("tag"):
        key, sep, value = raw.partition(":")
        if not sep:
            raise ApiError(400, f"Invalid tag {raw!r}: use key:value.")
        tags.append((key, value))
    page, next_token = org.list_sessions(
        include_all=bool_arg(req, "include_all", False),
        num_sessions=int_arg(req, "num_sessions", 10, minimum=1),
        tags=tags,
        offset=int_arg(req, "next_token", 0),
    )
    return json_response({"sessions": [render_session(s) for s in page], "next_token": next_token})


def stop_session(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    body = req.json_object(error_status=500)
    if body.get("active") is not False:
        raise ApiError(500, 'Invalid request body: expected {"active": false}.')
    was_active = session.active
    org.stop_session(session)
    if was_active and body.get("nowait") is not True:
        return drop()  # the device leaves the network while capture ends
    return json_response({"msg": f"Video uploaded to {req.base_url}/sessions/{session.session_id}.mp4"})


def delete_session(org: Org, req: Request) -> Response:
    # The real service answers 500 for an id it does not know (its Session API documentation).
    org.delete_session(org.session(req.params["session_id"], status_code=500))
    return success()


def timestamps(org: Org, req: Request) -> Response:
    session = org.sessions.get(req.params["session_id"])
    if session is None:
        raise ApiError(404, "No timestamps")
    session.advance(org.now())
    if org.flaky_capture_setup and session.state in ("starting", "stopping"):
        step = session.flaky_polls % 3
        session.flaky_polls += 1
        if step == 0:
            return drop()
        if step == 1:
            return error_response(502, "Bad Gateway")
    stamps = session.answer_timestamps(org.now())
    if not stamps:
        raise ApiError(404, "No timestamps")
    return json_response(stamps)


def tls_exceptions(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    return json_response(org.tls_exceptions(session, artifacts.PINNED_HOSTS))


def get_description(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    return json_response({"name": session.name, "description": session.description})


def set_description(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    body = req.json_object()
    if not {"name", "description"} & body.keys():
        raise ApiError(400, "Give name and/or description.")
    for key in ("name", "description"):
        if key in body:
            if body[key] is not None and not isinstance(body[key], str):
                raise ApiError(400, f"Invalid {key}: must be a string.")
            setattr(session, key, body[key])
    return success()


def delete_description(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    session.name = session.description = None
    return success()


def get_tags(org: Org, req: Request) -> Response:
    return json_response(org.session(req.params["session_id"]).tags)


def add_tags(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    tags = req.json()
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and len(t) == 1 and isinstance(next(iter(t.values())), (str, int, float))
        for t in tags
    ):
        raise ApiError(400, 'Tags must be a list of one-key objects: [{"key": "value"}, ...].')
    session.tags.extend({k: str(v) for k, v in t.items()} for t in tags)
    return success()


def delete_tags(org: Org, req: Request) -> Response:
    org.session(req.params["session_id"]).tags.clear()
    return success()


def download(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    ext = req.params["ext"]
    if ext not in artifacts.CONTENT_TYPES:
        raise ApiError(404, f"Unknown download type {ext!r}: use one of {', '.join(artifacts.CONTENT_TYPES)}.")
    if ext == "mp4":
        fps = int_arg(req, "fps", None, minimum=2)
        if fps is not None and fps >= 120:
            raise ApiError(400, "Invalid fps: must be greater than 1 and less than 120.")
        if not session.capture_video:
            raise ApiError(404, "This session has no video.")
    if ext in artifacts.NETWORK_KINDS and not session.capture_network:
        raise ApiError(404, "This session has no network capture.")
    window = None
    if ext == "har" and req.arg("label_id") is not None:
        label = org.label(req.arg("label_id"), session)
        window = (label.ts_start, label.ts_end)
    device = org.devices.get(session.device_address)
    start, end = session.span(org.now())
    body = artifacts.render(
        ext, session.session_id, session.device_address, device.platform if device else "android",
        start, complete=session.state == "complete", video_bytes=org.video_bytes, end=end, window=window,
    )
    session.downloads.append(ext)
    return Download(200, body, artifacts.CONTENT_TYPES[ext],
                    {"Content-Disposition": f'attachment; filename="{session.session_id}.{ext}"'})


# labels

def render_label(label: Label, session: CaptureSession) -> dict:
    return {
        "label_id": label.label_id,
        "session_id": label.session_id,
        "name": label.name,
        "label_type": label.label_type,
        "category": label.category,
        "start_time": round(label.ts_start - session.created, 3),
        "end_time": round(label.ts_end - session.created, 3),
        "ts_start": round(label.ts_start, 3),
        "ts_end": round(label.ts_end, 3),
        **label.extra,
    }


def add_label(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    return json_response({"label_id": org.add_label(session, req.json_object()).label_id})


def list_labels(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    return json_response({"labels": [render_label(label, session) for label in session.labels.values()]})


def get_label(org: Org, req: Request) -> Response:
    label = org.label(req.params["label_id"])
    return json_response(render_label(label, org.session(label.session_id)))


def waterfall_page(org: Org, req: Request) -> Response:
    """The emulator's stand-in for HeadSpin's session page (``{ui}/sessions/{id}/waterfall``):
    what the emulator knows of the session, so that report links lead somewhere real."""
    import html

    session_id = req.params["session_id"]
    try:
        session = render_session(org.session(session_id))
    except ApiError as exc:
        return Response(exc.status_code, f"<h1>{html.escape(exc.message)}</h1>".encode(), "text/html; charset=utf-8")
    rows = "".join(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(json.dumps(value))}</td></tr>"
                   for key, value in session.items())
    page = (f"<!doctype html><title>Session {html.escape(session_id)} (HeadSpin emulator)</title>"
            f"<h1>Session {html.escape(session_id)}</h1><p>HeadSpin emulator: no waterfall, only the session's "
            f"state.</p><table>{rows}</table>")
    return Response(200, page.encode(), "text/html; charset=utf-8")
