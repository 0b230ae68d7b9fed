"""The Sessions REST API (NectoProxy's, seed 002) over a SessionStore, on a stdlib HTTP server."""

from __future__ import annotations

import hmac
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from .har import har_filename
from .sessions import SessionNotFound, SessionStore

UNAUTHORIZED = "Unauthorized: missing or invalid token"


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(self.body).encode()


class BadRequest(Exception):
    """The request body is not what the route accepts."""


def _error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        raise BadRequest("Invalid JSON body") from None
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object")
    return data


def _field(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    # exact types: True is an int to isinstance()
    if value is not None and type(value) is not kind:
        raise BadRequest(f"'{key}' must be a {'boolean' if kind is bool else 'string'}")
    if kind is str and value is not None and not value.strip():
        raise BadRequest(f"'{key}' must not be empty")
    return value


def _has_bearer(headers: Any, token: str) -> bool:
    scheme, _, given = (headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class SessionsApi:
    """Routes and handlers: parse the request, call the store, render JSON."""

    def __init__(self, store: SessionStore, export_har: Callable[[str], dict[str, Any]], token: str | None = None):
        self.store = store
        self.export_har = export_har
        self.token = token
        self.open_paths = {"/api/health"}  # every other /api/* path needs the token
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"/api/health"), self.health),
            ("GET", re.compile(r"/api/sessions"), self.list_sessions),
            ("POST", re.compile(r"/api/sessions"), self.create_session),
            ("GET", re.compile(r"/api/sessions/active"), self.active_session),
            ("GET", re.compile(r"/api/sessions/([^/]+)"), self.get_session),
            ("PATCH", re.compile(r"/api/sessions/([^/]+)"), self.update_session),
            ("DELETE", re.compile(r"/api/sessions/([^/]+)"), self.delete_session),
            ("POST", re.compile(r"/api/sessions/([^/]+)/activate"), self.activate_session),
            ("GET", re.compile(r"/api/har/export/([^/]+)"), self.har_export),
        ]

    def dispatch(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        path = urlsplit(target).path.rstrip("/") or "/"
        if self.token is not None and path.startswith("/api/") and path not in self.open_paths:
            if not _has_bearer(headers, self.token):
                return _error(401, UNAUTHORIZED)
        matches = [(m, route) for route in self.routes if (m := route[1].fullmatch(path))]
        if not matches:
            return _error(404, "Not found")
        for match, (route_method, _, handler) in matches:
            if route_method == method:
                try:
                    return handler(*map(unquote, match.groups()), body=body)
                except SessionNotFound:
                    return _error(404, "Session not found")
                except BadRequest as exc:
                    return _error(400, str(exc))
        allowed = ", ".join(sorted({route[0] for _, route in matches}))
        return Response(405, {"error": "Method not allowed"}, {"Allow": allowed})

    def health(self, body: bytes) -> Response:
        return Response(200, {"status": "ok"})

    def list_sessions(self, body: bytes) -> Response:
        return Response(200, {"sessions": self.store.list()})

    def create_session(self, body: bytes) -> Response:
        name = _field(_json_object(body), "name", str)
        return Response(201, self.store.create(name))

    def active_session(self, body: bytes) -> Response:
        session = self.store.active()
        return Response(200, session) if session else _error(404, "No active session")

    def get_session(self, session_id: str, body: bytes) -> Response:
        return Response(200, self.store.get(session_id))

    def update_session(self, session_id: str, body: bytes) -> Response:
        data = _json_object(body)
        changes = {
            "name": _field(data, "name", str),
            "is_active": _field(data, "isActive", bool),
            "is_recording": _field(data, "isRecording", bool),
        }
        return Response(200, self.store.update(session_id, **changes))

    def activate_session(self, session_id: str, body: bytes) -> Response:
        return Response(200, self.store.activate(session_id))

    def delete_session(self, session_id: str, body: bytes) -> Response:
        self.store.delete(session_id)
        return Response(200, {"success": True})

    def har_export(self, session_id: str, body: bytes) -> Response:
        name = self.store.get(session_id)["name"]
        har = self.export_har(session_id)
        disposition = f'attachment; filename="{har_filename(name)}"'
        return Response(200, har, {"Content-Disposition": disposition})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection gives its thread back
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: ApiHttpServer

    def _handle(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            response = _error(400, "Invalid Content-Length")
        else:
            body = self.rfile.read(length)
            try:
                response = self.server.api.dispatch(self.command, self.path, self.headers, body)
            except Exception as exc:  # a bug here must not hang the client
                response = _error(500, f"Internal error: {type(exc).__name__}: {exc}")
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, api: SessionsApi):
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.api = api
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End keep-alive connections, which would otherwise still be served after a stop."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ApiThread:
    """Serves ``api`` on ``host:port`` from a daemon thread; ``port`` 0 picks one."""

    def __init__(self, host: str, port: int, api: SessionsApi):
        self.httpd = ApiHttpServer(host, port, api)
        self.port: int = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="devsession-capture-api", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd.close_connections()
        self._thread.join()
