"""A small loopback stand-in of DevRev's observability API for the devrev client's unit tests:
scripted faults, sessions that show up later, presigned frame links that can expire."""
from __future__ import annotations

import struct
import threading
import time
import zlib
from datetime import datetime, timezone

from pytest_devsession.http.server import (
    HttpError,
    HttpServer,
    Request,
    Response,
    Route,
    json_response,
)

TOKEN = "devrev-secret-token-0123456789"
APP = "app-under-test"
TYPES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "too_many_requests",
         500: "internal_error", 503: "service_unavailable"}


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def png(index: int, width: int = 32, height: int = 48) -> bytes:
    colour = bytes(((index * 50) % 256, (index * 90 + 40) % 256, 120))
    raw = b"".join(b"\x00" + colour * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


class FakeDevRev(HttpServer):
    def __init__(self) -> None:
        super().__init__([
            Route("POST", r"/observability\.sessions\.list", self.list),
            Route("GET", r"/observability\.sessions\.get", self.get),
            Route("POST", r"/observability\.sessions\.data\.get", self.data),
            Route("GET", r"/frames/(?P<rec>[^/]+)/(?P<key>\d+)\.png", self.frame, public=True),
        ], token=TOKEN, name="fake-devrev")
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.faults: list[tuple[str, int, dict, dict]] = []  # (path, status, extra body, headers), in order
        self.sessions: dict[str, dict] = {}  # session id -> summary, plus "_visible" (monotonic)
        self.recordings: dict[str, dict] = {}  # recording id -> data (without the frame links)
        self.frame_keys: dict[str, list[int]] = {}
        self.generation: dict[str, int] = {}  # recording id -> the signature of its current links
        self.expire_first = False  # the first links handed out are refused with 403
        self.page_size = 2

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return json_response({"type": TYPES.get(status, "bad_request"), "message": message, "detail": message},
                             status, headers)

    def respond(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
            fault = next((f for f in self.faults if request.path == f[0]), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is not None and self.authorized(request):
            _, status, extra, headers = fault
            body = {"type": TYPES.get(status, "bad_request"), "message": f"fault {status}", "detail": "scripted", **extra}
            return json_response(body, status, headers)
        return super().respond(request)

    # the story -------------------------------------------------------------------------
    def add_session(self, session_id: str, created: float, *, visible_in: float = 0.0, frames: int = 4,
                    model: str = "Pixel 7", crash_log: str | None = None, recording: bool = True,
                    launch: tuple[int, str] = (812, "cold")) -> None:
        rec = f"rec-{session_id}"
        self.sessions[session_id] = {
            "type": "mobile", "platform": "android", "session_id": session_id, "created_at": iso(created),
            "device_metadata": {"model": model, "screen_width": 1080, "screen_height": 2400},
            "is_crash": crash_log is not None, "is_anr": False, "recording_ids": [rec] if recording else [],
            "session_duration_ms": 2000, "_visible": time.monotonic() + visible_in}
        self.recordings[rec] = {
            "recording": "mobile_recording", "recording_id": rec, "session_id": session_id,
            "created_at": iso(created), "app_launch": {"launch_time_ms": launch[0], "launch_type": launch[1]},
            "available_ram": 2 * 1024**3, "total_ram": 8 * 1024**3, "device_metadata": {"model": model},
            "observability_sessions_log_data": {"is_crash": crash_log is not None, "is_anr": False,
                                                "value": crash_log or ""},
            "recording_events_timeline": [
                {"timestamp_offset_ms": 0, "event_type": "plug", "event_name": "screen_view", "name": "", "screen": "Home"},
                {"timestamp_offset_ms": 1200, "event_type": "user_event", "event_name": "tap", "name": "<Login>",
                 "screen": "Home"}]}
        self.frame_keys[rec] = [i * 500 for i in range(frames)]
        self.generation[rec] = 0

    def _visible(self) -> list[dict]:
        now = time.monotonic()
        return [{k: v for k, v in s.items() if k != "_visible"} for s in self.sessions.values() if s["_visible"] <= now]

    # routes ----------------------------------------------------------------------------
    def _app(self, key) -> None:
        if key != APP:
            raise HttpError(404, f"app {key} not found")

    def list(self, request: Request) -> Response:
        body = request.json({})
        self._app(body.get("version_key"))
        sessions = sorted(self._visible(), key=lambda s: s["created_at"])
        span = body.get("created_at") or {}
        sessions = [s for s in sessions if span.get("after", "") <= s["created_at"] <= span.get("before", "~")]
        start = int(body.get("cursor") or 0)
        page = sessions[start:start + self.page_size]
        more = start + self.page_size < len(sessions)
        return json_response({"sessions": page, "next_cursor": str(start + self.page_size) if more else None})

    def get(self, request: Request) -> Response:
        self._app(request.arg("version_key"))
        found = [s for s in self._visible() if s["session_id"] == request.arg("session_id")]
        if not found:
            raise HttpError(404, "session not found")
        return json_response({"session": found[0]})

    def data(self, request: Request) -> Response:
        body = request.json({})
        self._app(body.get("version_key"))
        rec = body.get("recording_id")
        if rec not in self.recordings:
            raise HttpError(404, "recording not found")
        with self.lock:
            self.generation[rec] += 1
            sig = self.generation[rec]
        keys = [str(k) for k in self.frame_keys[rec]]
        links = {k: f"{self.url}/frames/{rec}/{k}.png?sig={sig}" for k in keys}
        return json_response({**self.recordings[rec], "video_playback_data": [
            {"presigned_url": f"{self.url}/frames/{rec}?sig={sig}", "start_frame": keys[0] if keys else "",
             "end_frame": keys[-1] if keys else "", "frames": keys, "frame_image_map": links}]})

    def frame(self, request: Request) -> Response:
        rec, key = request.params["rec"], int(request.params["key"])
        sig = int(request.arg("sig") or 0)
        if sig != self.generation.get(rec) or (self.expire_first and sig == 1):
            raise HttpError(403, "Request has expired")
        return Response(200, png(self.frame_keys[rec].index(key)), "image/png")
