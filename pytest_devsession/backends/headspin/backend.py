"""HeadSpin as a capture backend (its Session and Performance Monitoring APIs; routes in ``routes``)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ...http.client import REPEATABLE, SEND_ONCE, Client, Retry
from ...reporting.redact import redact_file
from ..base import (
    Annotation,
    AuthenticationError,
    BackendError,
    CaptureOptions,
    Device,
    DeviceUnavailable,
)
from . import routes
from .parts import HeadSpinParts
from .settings import TOKEN_ENV

IOS_KINDS = frozenset({"ios", "iphone", "ipad", "idevice"})
# A create refused with a 5xx (HeadSpin answers 500 "Error starting session." for 30 to 90 s after a
# capture on the device ended) or left without an answer is sent again at these intervals (0.5 s,
# doubling, at most 5 s) until the capture's ready deadline, after a look at the device's live
# sessions: the try before may have opened one.
CREATE_RETRY = Retry(retries=30, backoff=0.5, backoff_max=5.0, jitter=0.25, retry_after_max=30.0)
# The live sessions are read a page at a time, at most this many pages.
LIVE_PAGE, LIVE_PAGES = 50, 20


def _platform(raw: dict) -> str:
    """"android", "ios", or the device list's own word for any other kind (roku, desktop, ...)."""
    kind = str(raw.get("device_type") or raw.get("os") or raw.get("platform") or "").strip().lower()
    return "ios" if kind in IOS_KINDS else kind or "unknown"


def _device(entry: dict) -> Device | None:
    """A device of the device list, addressed as the list gives it (``device_address``), else as
    HeadSpin addresses it: an Android device by its serial, an iOS device by its UDID
    (``device_id``), any other kind by its id; None for an entry without a name or host."""
    hostname, serial, device_id = (str(entry.get(k) or "").strip() for k in ("hostname", "serial", "device_id"))
    platform = _platform(entry)
    address = entry.get("device_address")
    if isinstance(address, str) and address.count("@") == 1 and all(address.split("@")):
        device_id = device_id or (address.split("@")[0] if platform != "android" else "")
        hostname = hostname or address.split("@")[1]
    else:
        address = None
    serial = serial or device_id
    if not hostname or not serial:
        return None
    if address is None:
        address = f"{serial if platform == 'android' else device_id or serial}@{hostname}"
    return Device(address=address, serial=serial, hostname=hostname, platform=platform,
                  device_id=device_id or None, owner=entry.get("owner_email"))


def _lock_name(device: Device) -> str:
    """What the device's lock routes call it: an Android device's serial, any other's id (an iOS UDID)."""
    return device.serial if device.platform == "android" else device.device_id or device.serial


def _maybe_opened(error: BackendError) -> bool:
    """A create that failed so may have opened a session all the same: no answer came, or a 5xx."""
    return not isinstance(error, AuthenticationError) and (error.status is None or error.status >= 500)


def _on_device(session: dict, device: Device) -> bool:
    """The session is on ``device``: by its address, or by its device id (and host, when it names one)."""
    address = session.get("device_address")
    if address == device.address:
        return True
    name = session.get("device_id")
    if not name or str(name) not in {_lock_name(device), device.serial, device.device_id} - {None, ""}:
        return False
    hostname = session.get("hostname") or (address.partition("@")[2] if isinstance(address, str) else "")
    return not hostname or hostname == device.hostname


def _live(session: dict) -> bool:
    return session.get("active") not in (False, "false", "False", 0)


class HeadSpinBackend(HeadSpinParts):
    """The core, and the parts HeadSpin has: Locking, LiveSessions, Naming, UserFlows, Artifacts, Links, Parts.

    The device's own traffic, video and logs are captured on HeadSpin's side: nothing to proxy or attach.
    """

    name = "headspin"
    outlives_process = True  # its locks and sessions stay when this process dies
    devices_setting = "--devsession-api-url"
    # A lock is the account's, not the process's: every xdist worker of a run may use a device
    # another one locked (one test at a time, through the device pool).
    account_locks = True

    def __init__(self, settings) -> None:
        self.settings = settings
        self.section = section = settings.section
        self.service_url = self.device_source = section.api_url
        self.client = Client(section.api_url, section.token.reveal(), hint="is --devsession-api-url right?",
                             refused=lambda words: f"HeadSpin refused the API token in {TOKEN_ENV}: {words}")
        self._userflows: dict[str, str] = {}
        self._userflow_lock = threading.Lock()
        self._part_lock = threading.Lock()  # a test's label is made once (parts.py)
        # How long the last capture on each device took to become ready and to complete: the next
        # one is polled closely around that moment (http.client.wait_for's ``expected``).
        self._took: dict[tuple[str, str], float] = {}
        self._began: dict[str, tuple[str, float]] = {}  # session id -> (device address, create or stop sent)
        # The sessions this process opened, took over or stopped: never taken for one a create opened.
        self._known: set[str] = set()
        self.create_retry = CREATE_RETRY

    def close(self) -> None:
        self.client.close()

    # devices -----------------------------------------------------------
    def devices(self) -> dict[str, Device]:
        body = self.client.json("GET", routes.DEVICES, action="list devices")
        raw = body.get("devices") if isinstance(body, dict) else None
        if not isinstance(raw, list):
            raise BackendError("the device list has no 'devices' array; is --devsession-api-url a HeadSpin API?",
                               action="list devices")
        found: dict[str, Device] = {}
        for entry in raw:
            device = _device(entry) if isinstance(entry, dict) else None
            if device is not None:
                found[device.address] = device
        return found

    def lock(self, device: Device) -> None:
        try:
            body = self._lock_call(device, "lock")
        except AuthenticationError:
            raise
        except BackendError as exc:
            if exc.status not in (403, 409, 423):
                raise
            raise DeviceUnavailable(exc.words, status=exc.status, action=exc.action, request=exc.request,
                                    request_id=exc.request_id) from None
        if isinstance(body, dict) and body.get("status") not in (0, "0", None) and not body.get("status_code") == 200:
            raise DeviceUnavailable(str(body.get("message") or body.get("status") or "Did not lock."),
                                    action=f"lock {device.address}")

    def unlock(self, device: Device) -> None:
        try:
            self._lock_call(device, "unlock")
        except BackendError as exc:
            # Not ours to unlock (never locked, or someone else's): harmless, as the platform routes
            # answer "Did not unlock." with a 200.
            if exc.status != 403 or isinstance(exc, AuthenticationError):
                raise

    def _lock_call(self, device: Device, verb: str):
        """Android on /adb/ by serial, iOS on /idevice/ by UDID, any other kind by id on /devices/."""
        action = f"{verb} {device.address}"
        path = routes.device_lock(device.platform, _lock_name(device), verb)
        if path is not None:
            return self.client.json("POST", path, action=action, retry=REPEATABLE)
        path = routes.LOCK_BY_ID if verb == "lock" else routes.UNLOCK_BY_ID
        return self.client.json("POST", path, action=action, retry=REPEATABLE, json={"device_id": _lock_name(device)})

    # capture -----------------------------------------------------------
    def start_capture(self, device: Device, options: CaptureOptions) -> str:
        body = {"session_type": "capture", "device_address": device.address, "nowait": True,
                "capture_video": True, "capture_network": True}
        if options.mitm_ignore:
            body["mitm_ignore"] = list(options.mitm_ignore)
        if options.network_keep_in_session_patterns:
            body["network_keep_in_session_patterns"] = list(options.network_keep_in_session_patterns)
        # The capture's ready deadline: a device still closing its last capture refuses a new one for a while.
        began = time.monotonic()
        deadline = began + self.settings.ready_timeout
        tries = 0
        while True:
            tries += 1
            # Each request is sent once by the client (again only if it never left, or on 429): a
            # create sent again blindly could open two sessions.
            sent = time.monotonic()
            try:
                answer = self.client.json("POST", routes.SESSIONS, action="start capture", retry=SEND_ONCE, json=body)
            except BackendError as exc:
                if not _maybe_opened(exc):
                    raise  # refused (4xx): the same create would be refused again
                doubt = exc
            else:
                session_id = answer.get("session_id") if isinstance(answer, dict) else None
                if not session_id:
                    raise BackendError(f"the answer to session create has no session_id: {str(answer)[:200]}",
                                       action="start capture")
                return self._mine(str(session_id), device, sent)
            pause = self.create_retry.wait(min(tries, self.create_retry.retries), doubt, True)
            remaining = deadline - time.monotonic()
            if pause is not None and remaining > 0:
                self.client.sleep(min(pause, remaining))
            # Before another try, and before giving up: did that create open a session after all?
            opened = self._opened_by_create(device, doubt)
            if opened is not None:
                return self._mine(opened, device, sent)
            if pause is None or remaining <= 0:
                raise self._gave_up(doubt, tries, time.monotonic() - began)

    def _mine(self, session_id: str, device: Device, sent: float) -> str:
        self._known.add(session_id)
        self._began[session_id] = (device.address, sent)
        return session_id

    def _opened_by_create(self, device: Device, doubt: BackendError) -> str | None:
        """The session a create that failed with ``doubt`` opened all the same: one live on ``device``
        that this process did not open, take over or stop (the newest first); None if there is none."""
        try:
            live = self._live_sessions(device)
        except AuthenticationError:
            raise
        except BackendError as exc:
            # Without knowing, no second create; no status, so the device is checked again at the test's end.
            code = f" (HTTP {doubt.status})" if doubt.status else ""
            raise BackendError(f"{doubt.message}{code}, and the device's live sessions could not be listed to see "
                               f"whether it opened one: {exc}", action="start capture", words=doubt.words,
                               request=doubt.request, request_id=doubt.request_id) from None
        unknown = [str(s["session_id"]) for s in live if str(s["session_id"]) not in self._known]
        return unknown[0] if unknown else None

    def _gave_up(self, doubt: BackendError, tries: int, elapsed: float) -> BackendError:
        if tries == 1:
            return doubt
        return BackendError(f"{doubt.words} (tried {tries} times in {elapsed:.1f} s; --devsession-ready-timeout "
                            f"is {self.settings.ready_timeout:g} s)", status=doubt.status, action=doubt.action,
                            words=doubt.words, request=doubt.request, request_id=doubt.request_id,
                            retry_after=doubt.retry_after)

    def _poll_timestamps(self, session_id: str, step: str, done, deadline: float, action: str) -> None:
        address, began = self._began.get(session_id, (None, time.monotonic()))
        took = self._took.get((address, step))
        self.client.poll(routes.timestamps(session_id), action=action, done=done, deadline=deadline,
                         expected=began + took if took is not None else None)
        if address is not None:
            self._took[(address, step)] = time.monotonic() - began

    def wait_ready(self, session_id: str, deadline: float) -> None:
        self._poll_timestamps(session_id, "ready", lambda body: True, deadline, "wait for capture to be ready")

    def stop_capture(self, session_id: str, deadline: float) -> None:
        # PATCH to inactive is idempotent, so it may be retried.
        self._known.add(session_id)
        sent = time.monotonic()
        self.client.json("PATCH", routes.session(session_id), action="stop capture", retry=REPEATABLE,
                         json={"active": False, "nowait": True})
        address = self._began.get(session_id, (None, 0.0))[0]
        self._began[session_id] = (address, sent)
        try:
            self._poll_timestamps(session_id, "complete", lambda body: "capture-complete" in body, deadline,
                                  "wait for capture to complete")
        finally:
            self._began.pop(session_id, None)

    # results -----------------------------------------------------------
    def annotate(self, session_id: str, annotation: Annotation) -> None:
        self.client.json("POST", routes.description(session_id), action="name the session", retry=REPEATABLE,
                         json={"name": annotation.name, "description": annotation.description})
        if annotation.tags:
            self.client.json("POST", routes.tags(session_id), action="tag the session", retry=SEND_ONCE,
                             json=[{key: value} for key, value in annotation.tags.items()])

    def _userflow_id(self, name: str, description: str | None) -> str:
        with self._userflow_lock:
            if name not in self._userflows:
                body = {"name": name}
                if description:
                    body["description"] = description
                # PUT answers the existing flow when one has that name: safe to retry.
                answer = self.client.json("PUT", routes.USERFLOWS, action=f"create user flow {name!r}", json=body)
                flow_id = answer.get("user_flow_id") if isinstance(answer, dict) else None
                if not flow_id:
                    raise BackendError(f"no user_flow_id in the answer: {str(answer)[:200]}", action="create user flow")
                self._userflows[name] = str(flow_id)
            return self._userflows[name]

    def report_status(self, session_id: str, userflow: str, description: str | None,
                      status: str, message: str | None) -> None:
        flow_id = self._userflow_id(userflow, description)
        body = {"session_id": session_id, "status": status}
        if message:
            body["status_message"] = message
        # Setting a session's status in its flow: the same request twice leaves the same state.
        self.client.json("POST", routes.userflow_sessions(flow_id), action=f"join user flow {userflow!r}",
                         retry=REPEATABLE, json=body)

    def upload_measurements(self, session_id: str, userflow: str, measurements: list[dict]) -> None:
        flow_id = self._userflow_id(userflow, None)
        data = [{k: v for k, v in m.items() if v is not None} for m in measurements]
        self.client.json("POST", routes.session_measurements(flow_id, session_id),
                         action="upload measurements", retry=SEND_ONCE, json={"data": data})

    def download(self, session_id: str, ext: str, dest: Path, label_id: str | None = None) -> int:
        """The session's ``ext`` into ``dest`` (a HAR redacted); with ``label_id``, the HAR cut by that label."""
        path = routes.download(session_id, ext) + (f"?label_id={routes.quoted(label_id)}" if label_id else "")
        partial = dest.with_name(dest.name + ".part")
        try:
            size = self.client.download(path, partial, action=f"download {ext}")
            if ext == "har" and not self.settings.har_raw:
                size = redact_file(partial, self.settings.redact)
            os.replace(partial, dest)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return size

    def live_sessions(self, device: Device) -> list[str]:
        """Capture sessions still active on ``device`` (ours: we hold its lock), the newest first."""
        return [str(s["session_id"]) for s in self._live_sessions(device)]

    def _live_sessions(self, device: Device) -> list[dict]:
        found: list[dict] = []
        params: dict = {"include_all": "false", "num_sessions": LIVE_PAGE}
        for _ in range(LIVE_PAGES):
            body = self.client.json("GET", routes.SESSIONS, action="list live sessions", params=params)
            page = body.get("sessions") if isinstance(body, dict) else None
            if not isinstance(page, list):
                break
            found += [s for s in page if isinstance(s, dict) and s.get("session_id") and _live(s)
                      and _on_device(s, device)]
            token = body.get("next_token")
            if len(page) < LIVE_PAGE or not token or token == params.get("next_token"):
                break  # a short page is the last
            params = {**params, "next_token": token}
        return found

    def session_url(self, session_id: str) -> str:
        return routes.ui_session(self.section.ui_url, session_id)
