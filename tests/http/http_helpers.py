"""A loopback HTTP server that answers from a script."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "tok-5ecret-0123456789"


@dataclass
class Answer:
    """What the server does with one request."""

    status: int = 200
    body: object = field(default_factory=dict)  # bytes/str as they are, anything else as JSON
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: longer than the client's timeout is a read timeout
    drop: bool = False  # close the connection without an answer
    cut: int | None = None  # send only this many bytes of the body, then close


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        server: Scripted = self.server  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with server.lock:
            server.seen.append((self.command, self.path, dict(self.headers)))
            answer = server.script.pop(0) if server.script else Answer()
        if answer.delay:
            time.sleep(answer.delay)
        if answer.drop:
            self.close_connection = True
            return
        body = answer.body if isinstance(answer.body, bytes) else (
            answer.body.encode() if isinstance(answer.body, str) else json.dumps(answer.body).encode())
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json" if not isinstance(answer.body, (bytes, str))
                         else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.cut is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(body if answer.cut is None else body[:answer.cut])
        except (BrokenPipeError, ConnectionResetError):  # the client gave up first (a read timeout)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class Scripted(ThreadingHTTPServer):
    """``script``: the answers to the next requests, in order (then 200 ``{}``); ``seen``: (method, path, headers)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.script: list[Answer] = []
        self.seen: list[tuple[str, str, dict]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def methods(self) -> list[str]:
        return [method for method, _path, _headers in self.seen]
