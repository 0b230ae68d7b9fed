"""NectoProxy's REST API (sessions, HAR export, traffic listing, CA download) over a
SessionStore, on a stdlib HTTP server."""

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
from urllib.parse import parse_qs, unquote, urlsplit

from . import traffic
from .har import har_filename
from .sessions import SessionNotFound, SessionStore

UNAUTHORIZED = "Unauthorized: missing or invalid token"


@dataclass
class Response:
    status: int
    body: Any  # JSON, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json")


@dataclass
class Request:
    body: bytes
    query: dict[str, str]  # the last value of each query parameter


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


def _has_token(headers: Any, query: dict[str, list[str]], token: str) -> bool:
    """``Authorization: Bearer <token>`` or, as NectoProxy also takes it, ``?token=<token>``."""
    scheme, _, given = (headers.get("Authorization") or "").partition(" ")
    candidates = [given.strip()] if scheme.lower() == "bearer" else []
    candidates += query.get("token", [])
    return any(hmac.compare_digest(c.encode(), token.encode()) for c in candidates)


class SessionsApi:
    """Routes and handlers: parse the request, call the store, render JSON.

    ``export_har(flows)`` renders flows, in that order, as the server's HAR; ``entries()`` lists every
    stored flow as a NectoProxy TrafficEntry; ``ca_pem()`` is the proxy's CA certificate.
    """

    def __init__(
        self,
        store: SessionStore,
        export_har: Callable[[list[Any]], dict[str, Any]],
        token: str | None = None,
        *,
        entries: Callable[[], list[dict[str, Any]]] = list,
        ca_pem: Callable[[], bytes] | None = None,
    ):
        self.store = store
        self.export_har = export_har
        self.entries = entries
        self.ca_pem = ca_pem
        self.token = token
        # every other /api/* path needs the token; the CA is public, as NectoProxy serves it
        self.open_paths = {"/api/health", "/api/certificates/ca"}
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
            ("POST", re.compile(r"/api/har/export"), self.har_export_entries),
            ("GET", re.compile(r"/api/traffic"), self.list_traffic),
            ("DELETE", re.compile(r"/api/traffic/([^/]+)"), self.delete_traffic),
            ("GET", re.compile(r"/api/certificates/ca"), self.ca_certificate),
        ]

    def dispatch(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        if self.token is not None and path.startswith("/api/") and path not in self.open_paths:
            if not _has_token(headers, query, self.token):
                return _error(401, UNAUTHORIZED)
        matches = [(m, route) for route in self.routes if (m := route[1].fullmatch(path))]
        if not matches:
            return _error(404, "Not found")
        request = Request(body, {key: values[-1] for key, values in query.items()})
        for match, (route_method, _, handler) in matches:
            if route_method == method:
                try:
                    return handler(*map(unquote, match.groups()), request=request)
                except SessionNotFound:
                    return _error(404, "Session not found")
                except BadRequest as exc:
                    return _error(400, str(exc))
        allowed = ", ".join(sorted({route[0] for _, route in matches}))
        return Response(405, {"error": "Method not allowed"}, {"Allow": allowed})

    def health(self, request: Request) -> Response:
        return Response(200, {"status": "ok"})

    def list_sessions(self, request: Request) -> Response:
        return Response(200, {"sessions": self.store.list()})

    def create_session(self, request: Request) -> Response:
        name = _field(_json_object(request.body), "name", str)
        return Response(201, self.store.create(name))

    def active_session(self, request: Request) -> Response:
        session = self.store.active()
        return Response(200, session) if session else _error(404, "No active session")

    def get_session(self, session_id: str, request: Request) -> Response:
        return Response(200, self.store.get(session_id))

    def update_session(self, session_id: str, request: Request) -> Response:
        data = _json_object(request.body)
        changes = {
            "name": _field(data, "name", str),
            "is_active": _field(data, "isActive", bool),
            "is_recording": _field(data, "isRecording", bool),
        }
        return Response(200, self.store.update(session_id, **changes))

    def activate_session(self, session_id: str, request: Request) -> Response:
        return Response(200, self.store.activate(session_id))

    def delete_session(self, session_id: str, request: Request) -> Response:
        self.store.delete(session_id)
        return Response(200, {"success": True})

    def har_export(self, session_id: str, request: Request) -> Response:
        name = self.store.get(session_id)["name"]
        har = self.export_har(self.store.export_flows(session_id))
        disposition = f'attachment; filename="{har_filename(name)}"'
        return Response(200, har, {"Content-Disposition": disposition})

    def har_export_entries(self, request: Request) -> Response:
        """NectoProxy's export of chosen entries: ``{"entryIds": [...], "sessionName": "..."}``."""
        data = _json_object(request.body)
        ids = data.get("entryIds")
        if not isinstance(ids, list) or not ids:
            return _error(400, "No entry IDs provided")
        flows = {flow.id: flow for _, flow in self.store.traffic()}
        chosen = [flows[i] for i in ids if isinstance(i, str) and i in flows]
        if not chosen:
            return _error(404, "No valid entries found")
        name = data.get("sessionName") if isinstance(data.get("sessionName"), str) else "export"
        disposition = f'attachment; filename="{har_filename(name)}"'
        return Response(200, self.export_har(chosen), {"Content-Disposition": disposition})

    def list_traffic(self, request: Request) -> Response:
        entries = traffic.query(self.entries(), request.query)
        return Response(200, {"entries": entries, "count": len(entries)})

    def delete_traffic(self, entry_id: str, request: Request) -> Response:
        if not self.store.delete_flow(entry_id):
            return _error(404, "Traffic entry not found")
        return Response(200, {"success": True})

    def ca_certificate(self, request: Request) -> Response:
        if self.ca_pem is None:
            return _error(404, "Not found")
        headers = {"Content-Type": "application/x-pem-file",
                   "Content-Disposition": 'attachment; filename="devsession-capture-ca.pem"'}
        return Response(200, self.ca_pem(), headers)


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
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            if key != "Content-Type":
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
