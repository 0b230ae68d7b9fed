"""HeadSpinEmulator: the emulated HeadSpin API on the project's HTTP server base."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http import HTTPStatus

from ..http import server as base
from . import artifacts
from .handlers import Download, Request, Response, error_response, json_response
from .models import DEFAULT_DEVICES, ApiError, Fault, Org, parse_device
from .models.faults import check_seconds, meet_fault
from .routes import API, PAGES, ROUTES


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

    def stream(self, body: bytes, rate: float) -> Iterator[memoryview]:
        """``body`` in chunks, each once it has gone through the link at ``rate`` bytes per second."""
        view = memoryview(body)
        step = max(1024, min(64 * 1024, int(rate / 100)))  # about a hundred writes a second: it flows, not jumps
        for start in range(0, len(view), step):
            chunk = view[start:start + step]
            self.take(len(chunk), rate)
            yield chunk




def _check_bandwidth(value) -> float | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not 0 < value < math.inf):
        raise ValueError(f"bandwidth must be a number of bytes per second above 0 (or None: unlimited), not {value!r}")
    return None if value is None else float(value)


def _fault_response(fault: Fault) -> Response:
    """What a client hears from ``fault`` (a "cut_short" one: after the request was served)."""
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


class HeadSpinEmulator(base.HttpServer):
    """An offline HeadSpin API: ``with HeadSpinEmulator() as emu: requests.get(emu.url + "/devices", ...)``.

    State moves on with time: a capture session is "starting" for ``ready_delay``
    seconds, then "active"; after a stop it is "stopping" for ``complete_delay``
    seconds, then "complete". ``devices`` (addresses ``serial@host[:platform]``)
    replaces the default devices; ``clock`` replaces ``time.time``.

    Like a cloud service far away: ``latency`` seconds are added to every round trip
    (half on the way in, half on the way out), downloads stream at ``bandwidth`` bytes
    per second shared by all of them (None: as fast as loopback goes), and a complete
    capture's video is ``video_bytes`` long (None: a 1 s clip of about 2.5 kB).

    Like HeadSpin as it really behaves: for ``cooldown`` seconds after a capture on a device
    is stopped, a new capture on it answers 500 "Error starting session."; the video
    metadata answers 404 until ``video_metadata_delay`` seconds after capture-complete. The
    token is accepted as ``Authorization: Bearer`` and, unless ``basic_auth`` is False, as
    HTTP Basic credentials (the token as user name or as password, as public clients send it).
    """

    # What a test may set through the headspin_emulator fixture's parameter (settable attributes).
    SETTINGS = ("ready_delay", "complete_delay", "cooldown", "video_metadata_delay", "latency", "bandwidth",
                "video_bytes", "flaky_capture_setup", "basic_auth")

    DEFAULT_DEVICES = [f"{serial}@{host}" for serial, host, _platform in DEFAULT_DEVICES]

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 ready_delay: float = 0.05, complete_delay: float = 0.05, *, devices=None, clock=None,
                 latency: float = 0.0, bandwidth: float | None = None, video_bytes: int | None = None,
                 cooldown: float = 0.0, video_metadata_delay: float = 0.0, basic_auth: bool = True):
        specs = DEFAULT_DEVICES if devices is None else [parse_device(d) for d in devices]
        artifacts.check_video_bytes(video_bytes)
        self._org = Org(clock or time.time, ready_delay, complete_delay, specs, video_bytes,
                        check_seconds(cooldown, "cooldown"),
                        check_seconds(video_metadata_delay, "video_metadata_delay"))
        self._basic_auth = bool(basic_auth)
        self.basic_auth = self._basic_auth
        self._network = (check_seconds(latency, "latency"), _check_bandwidth(bandwidth))
        self._latency, self._bandwidth = self._network
        self._link = _Link()
        self._requests: list = []
        self._requests_lock = threading.Lock()
        self._generation = 0  # bumped by reset()
        table = [base.Route(method, API + pattern, self._call(handler))
                 for method, pattern, handler in ROUTES]
        table += [base.Route(method, pattern, self._call(handler), public=True)
                  for method, pattern, handler in PAGES]
        super().__init__(table, host=host, port=port, token=token or secrets.token_hex(16), name="headspin-emulator")

    @property
    def url(self) -> str:
        return super().url + API

    @property
    def ui_url(self) -> str:
        """The base of session links (``HEADSPIN_UI_URL``): ``{ui_url}/sessions/{id}/waterfall``."""
        return super().url

    # state, for tests

    def reset(self) -> None:
        """Back to the start: the devices and settings it was made with; no sessions, flows, faults or
        logged requests."""
        with self._org.lock:
            self._org.reset()
        self._latency, self._bandwidth = self._network
        self.basic_auth = self._basic_auth
        with self._requests_lock:
            self._requests.clear()
            # A request still under way (a test before gave up waiting for it) belongs to that test:
            # it must not turn up in the next one's log when it ends.
            self._generation += 1

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
    def cooldown(self) -> float:
        """Seconds after a capture on a device is stopped during which a new one there answers 500."""
        return self._org.cooldown

    @cooldown.setter
    def cooldown(self, value: float) -> None:
        with self._org.lock:
            self._org.cooldown = check_seconds(value, "cooldown")

    @property
    def video_metadata_delay(self) -> float:
        """Seconds after capture-complete during which the video metadata answers 404."""
        return self._org.video_metadata_delay

    @video_metadata_delay.setter
    def video_metadata_delay(self, value: float) -> None:
        with self._org.lock:
            self._org.video_metadata_delay = check_seconds(value, "video_metadata_delay")

    @property
    def latency(self) -> float:
        """Seconds added to every round trip."""
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._latency = check_seconds(value, "latency")

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
    def lock_log(self) -> list:
        """Every lock and unlock call so far, in order (``LockEvent``: time, address, action, route,
        ok, held_before)."""
        with self._org.lock:
            return list(self._org.lock_log)

    def double_locks(self) -> list:
        """The successful locks of a device that was held already: the same device locked twice at once."""
        with self._org.lock:
            return self._org.double_locks()

    @property
    def requests(self) -> list:
        """(method, path with query, status) per request; status None for a dropped connection."""
        return self._requests

    def add_device(self, serial: str, hostname: str = "127.0.0.1", platform: str = "android",
                   locked_by: str | None = None, device_id: str | None = None) -> str:
        """Add a device; its address (returned) is ``{device_id}@{hostname}``. ``platform`` is the
        device type (android, ios, roku, desktop); ``device_id`` is an iOS device's UDID when it
        is not its serial, or a Roku's or desktop's own id."""
        with self._org.lock:
            return self._org.add_device(serial, hostname, platform, locked_by, device_id)

    def add_fault(self, fault: Fault) -> Fault:
        with self._org.lock:
            self._org.faults.append(fault)
        return fault

    def userflow_by_name(self, name: str):
        with self._org.lock:
            return self._org.userflow_by_name(name)

    # serving: every request travels both ways, may meet a fault, and is logged

    def respond(self, request: base.Request) -> Response:
        generation = self._generation
        self._travel()  # the request's way to the service
        fault = self._fault(request)
        if fault is not None and fault.kind == "cut_short":
            super().respond(request)  # served, with all its effects; the client hears otherwise
        response = None if fault is None else _fault_response(fault)
        response = response or super().respond(request)
        if isinstance(response, Download) and self._bandwidth is not None:
            response = replace(response, body=self._link.stream(response.body, self._bandwidth),
                               length=len(response.body))
        self._travel()  # the answer's way back
        with self._requests_lock:  # the target has the token masked, should someone have put it in the URL
            if generation == self._generation:
                self._requests.append((request.method, request.target, None if response.drop else response.status))
        return response

    def error(self, status: int, message: str, headers: dict | None = None) -> Response:
        return error_response(status, message, headers)

    def authorized(self, request: base.Request) -> bool:
        """The base's Bearer check; or, with ``basic_auth``, HTTP Basic with the token as the user
        name or as the password (``https://TOKEN@host/...`` in a client's URL sends it so)."""
        if super().authorized(request):
            return True
        if not self.basic_auth:
            return False
        scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return any(hmac.compare_digest(part.encode(), self.token.encode()) for part in (user, password))

    def _fault(self, request: base.Request) -> Fault | None:
        """The fault this request meets, if any; a slow one has slept already and is done."""
        path = request.path.removeprefix(API) if request.path.startswith(API + "/") else request.path
        return meet_fault(self._org.faults, self._org.lock, request.method, path)

    def _call(self, handler: Callable[[Org, Request], Response]) -> Callable[[base.Request], Response]:
        def call(request: base.Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            req = Request(method, request.path.removeprefix(API), request.query, request.body, self.url,
                          request.params)
            try:
                if getattr(handler, "locks_itself", False):  # it waits, and must not hold up the others
                    return handler(self._org, req)
                with self._org.lock:
                    return handler(self._org, req)
            except ApiError as exc:
                return error_response(exc.status_code, exc.message)
        return call

    def _travel(self) -> None:
        if self._latency:
            time.sleep(self._latency / 2)


__all__ = ["HeadSpinEmulator", "Fault"]
