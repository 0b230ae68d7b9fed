"""HeadSpinEmulator: the emulated HeadSpin API on a threaded local HTTP server."""

from __future__ import annotations

import hmac
import math
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import artifacts, routes
from .handlers import Request, Response, error_response, json_response, waterfall_page
from .models import DEFAULT_DEVICES, ApiError, Fault, Org, parse_device

_MAX_BODY = 64 * 1024 * 1024
_WATERFALL = re.compile(r"/sessions/(?P<session_id>[^/]+)/waterfall/?")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HeadSpinEmulator/1.0"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is closed after this
    disable_nagle_algorithm = True  # headers and body go in separate writes

    def log_message(self, format, *args):  # no access log on stderr
        pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        emulator: HeadSpinEmulator = self.server.emulator
        emulator._travel()  # the request's way to the service
        split = urlsplit(self.path)
        path = unquote(split.path)
        api_path = path[3:] if path.startswith("/v0/") else None
        method = "GET" if self.command == "HEAD" else self.command
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            return self._finish(emulator, error_response(400, str(exc)))

        fault = emulator._org_call(emulator._org.take_fault, method, api_path if api_path is not None else path)
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.delay)
            else:
                return self._finish(emulator, _fault_response(fault))
        page = _WATERFALL.fullmatch(path)
        if page is not None and method == "GET":  # the UI's session page: a browser sends no token
            with emulator._org.lock:
                return self._finish(emulator, waterfall_page(emulator._org, page["session_id"]))
        if not emulator._authorized(self.headers.get("Authorization", "")):
            return self._finish(emulator, error_response(401, "Unauthorized", {"WWW-Authenticate": "Bearer"}))
        if api_path is None:
            return self._finish(emulator, error_response(404, f"No route for {method} {path}: the API is under /v0."))
        request = Request(method, api_path, parse_qs(split.query, keep_blank_values=True), body, emulator.url)
        try:
            with emulator._org.lock:
                handler, request.params = routes.resolve(method, api_path)
                response = handler(emulator._org, request)
        except ApiError as exc:
            response = error_response(exc.status_code, exc.message)
        except Exception as exc:  # an emulator bug: say so instead of hanging the client
            traceback.print_exc(file=sys.stderr)
            response = error_response(500, f"Internal emulator error: {exc!r}")
        self._finish(emulator, response)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        length = int(raw)  # ValueError: a bad Content-Length
        if not 0 <= length <= _MAX_BODY:
            raise ValueError(f"Bad Content-Length {raw!r}.")
        return self.rfile.read(length)

    def _finish(self, emulator: HeadSpinEmulator, response: Response) -> None:
        emulator._travel()  # the answer's way back
        emulator._log_request(self.command, self.path, None if response.drop else response.status)
        if response.drop:
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            if response.status != 204:  # RFC 9110: no Content-Length on a 204
                self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self._write_body(emulator, response)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write_body(self, emulator: HeadSpinEmulator, response: Response) -> None:
        view = memoryview(response.body)
        rate = emulator.bandwidth if response.download else None
        # About a hundred writes a second when paced, so that the stream flows rather than jumps.
        step = 64 * 1024 if rate is None else max(1024, min(64 * 1024, int(rate / 100)))
        for start in range(0, len(view), step):
            chunk = view[start:start + step]
            if rate is not None:
                emulator._link.take(len(chunk), rate)
            self.wfile.write(chunk)


class _Link:
    """The one download link: chunks of every download in flight share its bytes per second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free_at = 0.0

    def take(self, size: int, rate: float) -> None:
        """Wait until ``size`` bytes have gone through the link after everything queued before them."""
        with self._lock:
            self._free_at = max(time.monotonic(), self._free_at) + size / rate
            done = self._free_at
        time.sleep(max(0.0, done - time.monotonic()))


def _check_latency(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"latency must be a number of seconds, 0 or more, not {value!r}")
    return float(value)


def _check_bandwidth(value) -> float | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not 0 < value < math.inf):
        raise ValueError(f"bandwidth must be a number of bytes per second above 0 (or None: unlimited), not {value!r}")
    return None if value is None else float(value)


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "drop":
        return Response(status=0, drop=True)
    if fault.kind == "retry_after":
        return error_response(429, "Too Many Requests", {"Retry-After": str(fault.retry_after)})
    if fault.body is None:
        try:
            reason = HTTPStatus(fault.status).phrase
        except ValueError:
            reason = "Injected fault"
        return error_response(fault.status, reason)
    if isinstance(fault.body, (bytes, str)):
        body = fault.body.encode() if isinstance(fault.body, str) else fault.body
        return Response(fault.status, body, "text/plain; charset=utf-8")
    return json_response(fault.body, fault.status)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() closes connections and joins workers itself

    def __init__(self, address, emulator: HeadSpinEmulator):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._connections: set = set()
        self._workers: set = set()
        self._tracking = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        worker = threading.Thread(target=self._work, args=(request, client_address),
                                  name=f"headspin-emulator:{self.server_address[1]}:{client_address[1]}", daemon=True)
        with self._tracking:
            self._connections.add(request)
            self._workers.add(worker)
        worker.start()

    def _work(self, request, client_address):
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._tracking:
                self._connections.discard(request)
                self._workers.discard(threading.current_thread())

    def close_all(self, timeout: float = 5.0) -> None:
        with self._tracking:
            connections, workers = list(self._connections), list(self._workers)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for worker in workers:
            worker.join(timeout)


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class HeadSpinEmulator:
    """An offline HeadSpin API: ``with HeadSpinEmulator() as emu: requests.get(emu.url + "/devices", ...)``.

    State moves on with time: a capture session is "starting" for ``ready_delay``
    seconds, then "active"; after a stop it is "stopping" for ``complete_delay``
    seconds, then "complete". ``devices`` (addresses ``serial@host[:platform]``)
    replaces the default devices; ``clock`` replaces ``time.time``.

    Like a cloud service far away: ``latency`` seconds are added to every round trip
    (half on the way in, half on the way out), downloads stream at ``bandwidth`` bytes
    per second shared by all of them (None: as fast as loopback goes), and a complete
    capture's video is ``video_bytes`` long (None: a 1 s clip of about 2.5 kB).
    """

    DEFAULT_DEVICES = [f"{serial}@{host}" for serial, host, _platform in DEFAULT_DEVICES]

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 ready_delay: float = 0.05, complete_delay: float = 0.05, *, devices=None, clock=None,
                 latency: float = 0.0, bandwidth: float | None = None, video_bytes: int | None = None):
        self.host = host
        self.port = port
        self.token = token or secrets.token_hex(16)
        specs = DEFAULT_DEVICES if devices is None else [parse_device(d) for d in devices]
        artifacts.check_video_bytes(video_bytes)
        self._org = Org(clock or time.time, ready_delay, complete_delay, specs, video_bytes)
        self._network = (_check_latency(latency), _check_bandwidth(bandwidth))
        self._latency, self._bandwidth = self._network
        self._link = _Link()
        self._requests: list = []
        self._requests_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def __repr__(self):
        where = self.url if self._server else "not started"
        return f"<HeadSpinEmulator {where}>"

    def __enter__(self) -> HeadSpinEmulator:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # lifecycle

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("HeadSpinEmulator is already running")
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._serve, name=f"headspin-emulator:{self.port}", daemon=True)
        self._thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("HeadSpinEmulator did not start")

    def _serve(self) -> None:
        self.ready.set()
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_all()
        server.server_close()
        thread.join()
        self._server = self._thread = None
        self.ready.clear()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("HeadSpinEmulator is not running: call start() first")
        return f"http://{_format_host(self.host)}:{self.port}/v0"

    @property
    def ui_url(self) -> str:
        """The base of session links (``HEADSPIN_UI_URL``): ``{ui_url}/sessions/{id}/waterfall``."""
        return self.url[: -len("/v0")]

    # state, for tests

    def reset(self) -> None:
        """Back to the start: the devices and settings it was made with; no sessions, flows, faults or
        logged requests."""
        with self._org.lock:
            self._org.reset()
        self._latency, self._bandwidth = self._network
        with self._requests_lock:
            self._requests.clear()

    @property
    def ready_delay(self) -> float:
        return self._org.ready_delay

    @ready_delay.setter
    def ready_delay(self, value: float) -> None:
        with self._org.lock:
            self._org.ready_delay = value

    @property
    def complete_delay(self) -> float:
        return self._org.complete_delay

    @complete_delay.setter
    def complete_delay(self, value: float) -> None:
        with self._org.lock:
            self._org.complete_delay = value

    @property
    def latency(self) -> float:
        """Seconds added to every round trip."""
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._latency = _check_latency(value)

    @property
    def bandwidth(self) -> float | None:
        """Bytes per second of all downloads together; None: unlimited."""
        return self._bandwidth

    @bandwidth.setter
    def bandwidth(self, value: float | None) -> None:
        self._bandwidth = _check_bandwidth(value)

    @property
    def video_bytes(self) -> int | None:
        """Size of a complete capture's video download; None: the 1 s clip as it is."""
        return self._org.video_bytes

    @video_bytes.setter
    def video_bytes(self, value: int | None) -> None:
        artifacts.check_video_bytes(value)
        with self._org.lock:
            self._org.video_bytes = value

    @property
    def flaky_capture_setup(self) -> bool:
        return self._org.flaky_capture_setup

    @flaky_capture_setup.setter
    def flaky_capture_setup(self, value: bool) -> None:
        with self._org.lock:
            self._org.flaky_capture_setup = bool(value)

    @property
    def devices(self) -> dict:
        return self._org.devices

    @property
    def sessions(self) -> dict:
        with self._org.lock:
            self._org.advance()
            return self._org.sessions

    @property
    def userflows(self) -> dict:
        return self._org.userflows

    @property
    def faults(self) -> list:
        return self._org.faults

    @property
    def requests(self) -> list:
        """(method, path with query, status) per request; status None for a dropped connection."""
        return self._requests

    def add_device(self, serial: str, hostname: str = "127.0.0.1", platform: str = "android",
                   locked_by: str | None = None) -> str:
        with self._org.lock:
            return self._org.add_device(serial, hostname, platform, locked_by)

    def add_fault(self, fault: Fault) -> Fault:
        with self._org.lock:
            self._org.faults.append(fault)
        return fault

    def userflow_by_name(self, name: str):
        with self._org.lock:
            return self._org.userflow_by_name(name)

    # used by the request handler

    def _org_call(self, func, *args):
        with self._org.lock:
            return func(*args)

    def _travel(self) -> None:
        if self._latency:
            time.sleep(self._latency / 2)

    def _authorized(self, header: str) -> bool:
        scheme, _, credentials = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), self.token.encode())

    def _log_request(self, method: str, path: str, status: int | None) -> None:
        # Never keep a secret: a token someone put in the URL is masked.
        with self._requests_lock:
            self._requests.append((method, path.replace(self.token, "***"), status))


__all__ = ["HeadSpinEmulator", "Fault"]
