"""The emulated DevRev routes: the observability API, the SDK's upload, the frame links and the
emulator's own controls. Each handler takes the emulator and the request and returns a Response
or raises ``ApiError``; the server does the token, the scope header, the rate limit and faults.
"""

from __future__ import annotations

from typing import Any

from ...http import server as base
from . import listing
from .frames import frame_png
from .models import ApiError, DevRevSession, bad_request, iso

FRAMES_PER_CHUNK = 10

# (method, path regex, handler name, kind): kind "beta" needs the token and X-Devrev-Scope: beta,
# "control" the token only, "public" nothing (the SDK's upload, presigned frame links).
ROUTES = (
    ("POST", r"/observability\.sessions\.list", "sessions_list", "beta"),
    ("GET", r"/observability\.sessions\.list", "sessions_list", "beta"),
    ("GET", r"/observability\.sessions\.get", "sessions_get", "beta"),
    ("POST", r"/observability\.sessions\.get", "sessions_get", "beta"),
    ("POST", r"/observability\.sessions\.data\.get", "data_get", "beta"),
    ("GET", r"/observability\.sessions\.data\.get", "data_get", "beta"),
    ("POST", r"/_emulator/sessions\.upload", "upload", "public"),
    ("GET", r"/_emulator/frames/(?P<recording_id>[^/]+)/(?P<index>\d+)\.png", "frame", "public"),
    ("POST", r"/_emulator/faults", "fault", "control"),
    ("POST", r"/_emulator/reset", "reset", "control"),
)


def _arguments(request: base.Request) -> dict:
    """The request's JSON body (POST) or its query parameters (GET)."""
    if request.method in ("GET", "HEAD"):
        return listing.query_to_body(request.query)
    body = request.json(empty={})
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def sessions_list(emulator, request: base.Request) -> base.Response:
    body = _arguments(request)
    with emulator.store.lock:
        app = emulator.store.app(body.get("version_key"))
        platform = body.get("platform")
        if platform is not None and platform not in ("android", "ios", "web"):
            raise bad_request(f"platform must be android, ios or web, not {platform!r}")
        return base.json_response(listing.page(emulator.store.listed(app), body))


def sessions_get(emulator, request: base.Request) -> base.Response:
    body = _arguments(request)
    with emulator.store.lock:
        session = emulator.store.find(emulator.store.app(body.get("version_key")), body.get("session_id"))
        if body.get("platform") and body["platform"] != session.platform:
            raise ApiError(404, "session not found", f"session {session.session_id!r} is not a {body['platform']} session")
        return base.json_response({"session": session.summary()})


def playback(emulator, session: DevRevSession) -> list[dict]:
    """``video_playback_data``: the frames in chunks, each frame keyed by its offset in ms."""
    offsets = session.frame_offsets()
    chunks = []
    for start in range(0, len(offsets), FRAMES_PER_CHUNK):
        keys = [str(offset) for offset in offsets[start:start + FRAMES_PER_CHUNK]]
        links = {key: emulator.frame_link(session.recording_id, start + i) for i, key in enumerate(keys)}
        chunks.append({"presigned_url": links[keys[0]], "start_frame": keys[0], "end_frame": keys[-1],
                       "frames": keys, "frame_image_map": links})
    return chunks


def data_get(emulator, request: base.Request) -> base.Response:
    body = _arguments(request)
    with emulator.store.lock:
        app = emulator.store.app(body.get("version_key"))
        if body.get("tab_id") and not body.get("recording_id"):
            raise bad_request("web sessions (tab_id) are not emulated: pass the recording_id of a mobile session")
        recording_id = body.get("recording_id")
        if not recording_id:
            raise bad_request("recording_id is required for mobile sessions")
        session = emulator.store.find(app, body.get("session_id"))
        if recording_id != session.recording_id:
            raise ApiError(404, "recording not found", f"no recording {recording_id!r} in session {session.session_id!r}")
        answer = {
            "recording": "mobile_recording", "app_launch": dict(session.app_launch),
            "available_ram": session.available_ram, "total_ram": session.total_ram,
            "created_at": iso(session.created_at), "device_metadata": dict(session.device_metadata),
            "observability_sessions_log_data": {"is_anr": session.is_anr, "is_crash": session.is_crash,
                                                "value": session.log},
            "recording_events_timeline": [dict(event) for event in session.timeline],
            "recording_id": session.recording_id, "rev_org_id": "REV-EmuLat0r", "rev_user_id": session.rev_user_id,
            "session_id": session.session_id, "user_attributes": dict(session.user_attributes),
            "video_playback_data": playback(emulator, session),
        }
    return base.json_response(answer)


def upload(emulator, request: base.Request) -> base.Response:
    body = request.json(empty={})
    session = emulator.upload_session(**body) if isinstance(body, dict) else None
    if session is None:
        raise bad_request("the upload body must be a JSON object")
    return base.json_response({"session_id": session.session_id, "recording_id": session.recording_id,
                               "listed_at": iso(int(session.listed_at * 1000))}, 202)


def frame(emulator, request: base.Request) -> base.Response:
    recording_id, index = request.params["recording_id"], int(request.params["index"])
    expires, signature = request.arg("X-Amz-Expires-At", ""), request.arg("X-Amz-Signature", "")
    if not emulator.frame_signature_ok(recording_id, index, expires, signature):
        return _s3_error("SignatureDoesNotMatch", "The request signature we calculated does not match")
    if float(expires) < emulator.store.clock():
        return _s3_error("AccessDenied", "Request has expired")
    with emulator.store.lock:
        session = next((s for s in emulator.store.sessions.values() if s.recording_id == recording_id), None)
    if session is None or index >= session.frames:
        return base.Response(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
    return base.Response(200, frame_png(index), "image/png", {"Cache-Control": "private, max-age=0"})


def _s3_error(code: str, message: str) -> base.Response:
    body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return base.Response(403, body.encode(), "application/xml")


def fault(emulator, request: base.Request) -> base.Response:
    body: Any = request.json(empty={})
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object of Fault fields")
    try:
        added = emulator.add_fault(**body)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"bad fault: {exc}") from None
    return base.json_response({"method": added.method, "path": added.path, "kind": added.kind,
                               "status": added.status, "times": added.times}, 201)


def reset(emulator, request: base.Request) -> base.Response:
    emulator.reset()
    return base.Response(204, b"", None)
