"""One small threaded HTTP server for every server we ship: route table, bearer token, clean stop.

``HttpServer(routes, token=...)`` listens on 127.0.0.1, port 0 unless told otherwise; ``start()``
returns once it accepts connections (``ready`` is set). A request goes to the first route whose
method and pattern match its path (a trailing slash ignored, HEAD served as GET); a path no route
knows is 404, a known path asked with another method 405 with ``Allow``. With a token, every route
but the ``public`` ones needs ``Authorization: Bearer <token>`` (401 otherwise); the token is never
echoed, and ``Request.target`` (what a server may log) has it masked. ``stop()`` also closes
keep-alive connections left open, and waits for the requests under way.

A service changes two methods: ``respond`` (steps around every request: delays, faults, a log)
and ``error`` (its own error body).
"""
from __future__ import annotations

import hmac
import json
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY = 64 * 1024 * 1024


class HttpError(Exception):
    """Raised by a handler: answered with the server's ``error(status, message, headers)``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, dict(headers or {})


@dataclass
class Request:
    method: str  # as sent (HEAD stays HEAD)
    target: str  # the path and query as sent, the token masked: what a log may keep
    path: str  # unquoted, without the query
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # the route pattern's named groups

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``."""
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self, empty: Any = None) -> Any:
        """The body as JSON (``empty`` for a blank body); HttpError 400 when it is not JSON."""
        if not self.body.strip():
            return empty
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "Invalid JSON body") from None


@dataclass
class Response:
    status: int = 200
    body: bytes | Iterable[bytes] = b""  # an iterable is written chunk by chunk as it yields them
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    length: int | None = None  # Content-Length of an iterable body


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), "application/json", dict(headers or {}))


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # a regex the whole path (unquoted, no trailing slash) must match
    handler: Callable[[Request], Response]
    public: bool = False  # answered without the token
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern))


class HttpServer:
    """Serves ``routes`` (the first that matches answers) from threads: one per connection,
    keep-alive, until ``stop()``.

    ``token``: the bearer token every route but the public ones needs (None: no check);
    ``token_param``: a query parameter that may carry it too. ``name`` names the threads.
    """

    unauthorized = "Unauthorized"  # the words of a 401

    def __init__(self, routes: Iterable[Route], *, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, token_param: str | None = None, name: str = "http-server") -> None:
        self.host, self.port, self.token, self.name = host, port, token, name
        self.ready = threading.Event()
        self.routes = list(routes)
        self._token_param = token_param
        self._httpd: _Listener | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------
    def start(self):
        """Bind and serve; return once connections are accepted."""
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._httpd = _Listener(self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._serve, name=f"{self.name}:{self.port}", daemon=True)
        self._thread.start()
        if not self.ready.wait(10):
            self.stop()
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def _serve(self) -> None:
        self.ready.set()
        self._httpd.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop listening, close every connection and wait (5 s at most) for requests under way."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections(deadline=time.monotonic() + 5)
        thread.join()
        self._httpd = self._thread = None
        self.ready.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running: call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url if self.running else 'not started'}>"

    # answering -----------------------------------------------------------------------
    def respond(self, request: Request) -> Response:
        """The answer to ``request``: the token, the route table, the handler."""
        route, allowed = self._route(request)
        if not (route is not None and route.public) and not self.authorized(request):
            return self.error(401, self.unauthorized, {"WWW-Authenticate": "Bearer"})
        if route is None:
            if allowed:
                return self.error(405, "Method not allowed", {"Allow": ", ".join(allowed)})
            return self.error(404, "Not found")
        try:
            return route.handler(request)
        except HttpError as exc:
            return self.error(exc.status, exc.message, exc.headers)
        except Exception as exc:  # a bug in a handler: say so rather than leave the client hanging
            sys.stderr.write(self._scrub("".join(traceback.format_exception(exc))))
            return self.error(500, self._scrub(f"Internal error: {type(exc).__name__}: {exc}"))

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        """An error answer: ``{"error": message}``; a service with another error body overrides it."""
        return json_response({"error": message}, status, headers)

    def authorized(self, request: Request) -> bool:
        """Whether ``request`` carries the token (always, without one)."""
        if not self.token:
            return True
        scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
        candidates = [given.strip()] if scheme.lower() == "bearer" else []
        if self._token_param:
            candidates += request.query.get(self._token_param, [])
        return any(hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates)

    def _route(self, request: Request) -> tuple[Route | None, list[str]]:
        path = request.path.rstrip("/") or "/"
        method = "GET" if request.method == "HEAD" else request.method
        allowed: list[str] = []
        for route in self.routes:
            match = route.regex.fullmatch(path)
            if match is None:
                continue
            if route.method == method:
                request.params = {key: value for key, value in match.groupdict().items() if value is not None}
                return route, []
            if route.method not in allowed:
                allowed.append(route.method)
        return None, sorted(allowed)

    def _scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection gives its thread back after this
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _Listener

    def log_message(self, format: str, *args: object) -> None:  # no access log: targets may hold the token
        pass

    def _handle(self) -> None:
        app = self.server.app
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            return self._send(app.error(400, str(exc)))
        split = urlsplit(self.path)
        request = Request(self.command, app._scrub(self.path), unquote(split.path),
                          parse_qs(split.query, keep_blank_values=True), self.headers, body)
        self._send(app.respond(request))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY:
                    raise ValueError("Request body too large")
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        length = int(raw) if raw.strip().isdigit() else -1
        if not 0 <= length <= MAX_BODY:
            raise ValueError(f"Invalid Content-Length {raw!r}")
        return self.rfile.read(length)

    def _send(self, response: Response) -> None:
        if response.drop:
            self.close_connection = True
            return
        body = response.body
        whole = isinstance(body, (bytes, bytearray, memoryview))
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            if response.status != 204:  # RFC 9110: no Content-Length on a 204
                self.send_header("Content-Length", str(len(body) if whole else response.length))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                for chunk in ([body] if whole else body):
                    self.wfile.write(chunk)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes the connections and joins their threads itself

    def __init__(self, app: HttpServer) -> None:
        if ":" in app.host:
            self.address_family = socket.AF_INET6
        self.app = app
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._tracking = threading.Lock()
        super().__init__((app.host, app.port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(target=self._work, args=(request, client_address), daemon=True,
                                  name=f"{self.app.name}:{self.server_address[1]}:{client_address[1]}")
        with self._tracking:
            self._connections.add(request)
            self._workers.add(worker)
        worker.start()

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._tracking:
                self._connections.discard(request)
                self._workers.discard(threading.current_thread())

    def close_connections(self, deadline: float) -> None:
        """End every connection (an idle keep-alive one would hold its thread for a minute)."""
        with self._tracking:
            connections, workers = list(self._connections), list(self._workers)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
