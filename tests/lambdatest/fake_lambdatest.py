"""A small loopback stand-in of LambdaTest's Automation API for the backend's unit tests: sessions
whose artifacts are made after a number of asks, answers scripted per route, every request seen."""
from __future__ import annotations

import base64
import io
import json
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

USERNAME = "lt-user"
ACCESS_KEY = "LTk3y-5ecret-0123456789abcdef"
API = "/automation/api/v1"
MOBILE_API = "/mobile-automation/api/v1"
FAIL_NOT_READY = {"message": "Video is being processed, try again later", "status": "fail"}


def har(entries: list[tuple[str, str]], pages: list[str] = (), cookie: str = "c=1") -> dict:
    """A HAR 1.2 document of (startedDateTime, url) entries, each with a cookie header."""
    return {"log": {"version": "1.2", "creator": {"name": "lt", "version": "1"},
                    "pages": [{"id": p, "startedDateTime": "2026-01-01T00:00:00.000Z", "title": p,
                               "pageTimings": {}} for p in pages],
                    "entries": [{"startedDateTime": when, "time": 1,
                                 "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1",
                                             "headers": [{"name": "Cookie", "value": cookie}], "cookies": [],
                                             "queryString": [], "headersSize": -1, "bodySize": 0},
                                 "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                                              "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "x"},
                                              "redirectURL": "", "headersSize": -1, "bodySize": 0},
                                 "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
                                for when, url in entries]}}


def har_zip(documents: dict[str, dict | bytes]) -> bytes:
    """A ZIP of HAR files (a document as JSON, bytes as they are)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, document in documents.items():
            archive.writestr(name, document if isinstance(document, bytes) else json.dumps(document))
    return buffer.getvalue()


@dataclass
class Scripted:
    """An answer for the next request whose method and path (after the API base) match."""
    method: str
    path: str
    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)


@dataclass
class FakeSession:
    session_id: str
    test_id: str = "TEST-ID-1"
    asks_before_ready: int = 0  # "not ready" answers before each artifact is made
    video: bytes = b"\x00\x00\x00\x18ftypmp42fake-video"
    har_zip: bytes | None = None  # None: full HAR off (answers a "fail" message for ever)
    console: object = None
    command: object = None
    selenium: object = None
    details: dict = field(default_factory=dict)
    patches: list = field(default_factory=list)
    asks: dict = field(default_factory=dict)  # route kind -> times asked


class FakeLambdaTest(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.sessions: dict[str, FakeSession] = {}
        self.script: list[Scripted] = []
        self.seen: list[tuple[str, str, dict]] = []  # (method, path with query, headers)
        self.signed_refusals = 0  # signed links refused (403, expired) before one is served
        self.absent_message = "Full HAR is not enabled for this session"
        self.hub_sessions: list[dict] = []  # the capabilities of each new session the hub was asked for
        self.hub_refuses = False  # answer a new session with an error that repeats the credentials

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + API

    @property
    def mobile_api_url(self) -> str:
        return self.url + MOBILE_API

    def add(self, session_id: str, **kwargs) -> FakeSession:
        session = self.sessions[session_id] = FakeSession(session_id, **kwargs)
        return session

    def requests(self, method: str | None = None, contains: str = "") -> list[tuple[str, str, dict]]:
        return [r for r in self.seen if (method is None or r[0] == method) and contains in r[1]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeLambdaTest

    def log_message(self, format, *args) -> None:
        pass

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        if isinstance(body, (bytes, str)):
            data = body if isinstance(body, bytes) else body.encode()
            kind = "application/octet-stream" if isinstance(body, bytes) else "text/plain"
        else:
            data, kind = json.dumps(body).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", (headers or {}).pop("Content-Type", kind))
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        with server.lock:
            server.seen.append((self.command, self.path, dict(self.headers)))
        if parts.path.startswith("/signed/"):
            return self._signed(parts)
        if parts.path.startswith("/wd/hub/"):
            return self._hub(parts.path, payload)
        base = API if parts.path.startswith(API) else MOBILE_API if parts.path.startswith(MOBILE_API) else None
        if base is None:
            return self._send(404, {"message": "no such route", "status": "fail"})
        path = parts.path[len(base):]
        with server.lock:
            scripted = next((s for s in server.script if s.method == self.command and path.startswith(s.path)), None)
            if scripted is not None:
                server.script.remove(scripted)
        if scripted is not None:
            return self._send(scripted.status, scripted.body if scripted.body is not None else {},
                              dict(scripted.headers))
        expected = "Basic " + base64.b64encode(f"{USERNAME}:{ACCESS_KEY}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._send(401, "HTTP Basic: Access denied.")
        if path == "/sessions":
            return self._send(200, {"Meta": {"result_set": {"count": 0, "limit": 1, "offset": 0, "total": 0}},
                                    "data": []})
        segments = path.strip("/").split("/")
        session = server.sessions.get(segments[1]) if len(segments) > 1 else None
        if session is None:
            return self._send(404, {"message": "Either resource not found or already deleted", "status": "fail"})
        rest = "/".join(segments[2:])
        if not rest and self.command == "PATCH":
            session.patches.append(json.loads(payload or b"null"))
            return self._send(200, {"message": "Session updated successfully", "status": "success"})
        if not rest:
            data = {"test_id": session.test_id, "session_id": session.session_id, **session.details}
            return self._send(200, {"data": data, "message": "Retrieve session was successful", "status": "success"})
        session.asks[rest] = session.asks.get(rest, 0) + 1
        if rest == "log/full-har" and session.har_zip is None:
            return self._send(200, {"message": server.absent_message, "status": "fail"})
        if session.asks[rest] <= session.asks_before_ready:
            return self._send(200, FAIL_NOT_READY)
        if rest == "video":
            return self._send(200, {"message": "Video URL generated", "status": "success",
                                    "url": f"{server.url}/signed/{session.session_id}.mp4?X-Signature=abc",
                                    "view_video_url": "https://example.invalid/view"})
        if rest == "log/full-har":
            return self._send(200, session.har_zip, {"Content-Type": "application/zip"})
        kind = rest.removeprefix("log/")
        if kind in ("console", "command", "selenium"):
            return self._send(200, getattr(session, kind) or {"data": []})
        return self._send(404, {"message": "no such route", "status": "fail"})

    def _hub(self, path: str, payload: bytes) -> None:
        """A W3C hub that starts no browser: a new session answers an id, anything else an empty value."""
        server = self.server
        if self.command == "POST" and path == "/wd/hub/session":
            if server.hub_refuses:
                words = (f"Unauthorized: {self.headers.get('Authorization')} decodes to {USERNAME}:{ACCESS_KEY}; "
                         f"try https://{USERNAME}:{ACCESS_KEY}@hub.lambdatest.com/wd/hub")
                return self._send(500, {"value": {"error": "session not created", "message": words}})
            caps = json.loads(payload)["capabilities"]["alwaysMatch"]
            with server.lock:
                server.hub_sessions.append({"capabilities": caps, "authorization": self.headers.get("Authorization")})
                session_id = f"hub-{len(server.hub_sessions)}"
            return self._send(200, {"value": {"sessionId": session_id,
                                              "capabilities": {"browserName": "chrome", "platformName": "linux"}}})
        return self._send(200, {"value": None})

    def _signed(self, parts) -> None:
        server = self.server
        if self.headers.get("Authorization"):
            return self._send(400, "a signed link takes no credentials")
        if "X-Signature" not in parse_qs(parts.query):
            return self._send(403, "no signature")
        with server.lock:
            refuse = server.signed_refusals > 0
            server.signed_refusals -= refuse
        if refuse:
            return self._send(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        session_id = parts.path.removeprefix("/signed/").removesuffix(".mp4")
        return self._send(200, server.sessions[session_id].video, {"Content-Type": "video/mp4"})

    do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _answer
