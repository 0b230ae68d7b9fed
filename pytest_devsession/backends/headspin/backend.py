"""HeadSpin as a capture backend (its Session and Performance Monitoring APIs; routes in ``routes``)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ...http.client import REPEATABLE, SEND_ONCE, Client
from ...reporting.redact import redact_file
from ..base import Annotation, BackendError, CaptureOptions, Device, DeviceUnavailable
from . import routes
from .settings import TOKEN_ENV


def _platform(raw: dict) -> str:
    kind = str(raw.get("device_type") or raw.get("os") or raw.get("platform") or "").lower()
    return "ios" if kind in ("ios", "iphone", "ipad", "idevice") else "android" if kind else "unknown"


class HeadSpinBackend:
    """The core, and the parts HeadSpin has: Locking, LiveSessions, Naming, UserFlows, Artifacts, Links.

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
        # How long the last capture on each device took to become ready and to complete: the next
        # one is polled closely around that moment (http.client.wait_for's ``expected``).
        self._took: dict[tuple[str, str], float] = {}
        self._began: dict[str, tuple[str, float]] = {}  # session id -> (device address, create or stop sent)

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
            if not isinstance(entry, dict) or not entry.get("serial") or not entry.get("hostname"):
                continue
            address = f"{entry['serial']}@{entry['hostname']}"
            found[address] = Device(address=address, serial=str(entry["serial"]), hostname=str(entry["hostname"]),
                                    platform=_platform(entry), device_id=entry.get("device_id"),
                                    owner=entry.get("owner_email"))
        return found

    def lock(self, device: Device) -> None:
        body = self._lock_call(device, "lock")
        if isinstance(body, dict) and body.get("status") not in (0, "0", None) and not body.get("status_code") == 200:
            raise DeviceUnavailable(str(body.get("message") or body.get("status") or "Did not lock."),
                                    action=f"lock {device.address}")

    def unlock(self, device: Device) -> None:
        self._lock_call(device, "unlock")

    def _lock_call(self, device: Device, verb: str):
        action = f"{verb} {device.address}"
        if device.platform in ("android", "ios"):
            path = routes.lock(device.platform, device.serial) if verb == "lock" else routes.unlock(device.platform, device.serial)
            return self.client.json("POST", path, action=action, retry=REPEATABLE)
        path = routes.LOCK_BY_ID if verb == "lock" else routes.UNLOCK_BY_ID
        return self.client.json("POST", path, action=action, retry=REPEATABLE,
                                json={"device_id": device.device_id or device.serial})

    # capture -----------------------------------------------------------
    def start_capture(self, device: Device, options: CaptureOptions) -> str:
        body = {"session_type": "capture", "device_address": device.address, "nowait": True,
                "capture_video": True, "capture_network": True}
        if options.mitm_ignore:
            body["mitm_ignore"] = list(options.mitm_ignore)
        if options.network_keep_in_session_patterns:
            body["network_keep_in_session_patterns"] = list(options.network_keep_in_session_patterns)
        # Sent once (again only if it never left, or on 429): a retried create could open two sessions.
        sent = time.monotonic()
        answer = self.client.json("POST", routes.SESSIONS, action="start capture", retry=SEND_ONCE, json=body)
        session_id = answer.get("session_id") if isinstance(answer, dict) else None
        if not session_id:
            raise BackendError(f"the answer to session create has no session_id: {str(answer)[:200]}",
                               action="start capture")
        self._began[str(session_id)] = (device.address, sent)
        return str(session_id)

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

    def download(self, session_id: str, ext: str, dest: Path) -> int:
        partial = dest.with_name(dest.name + ".part")
        try:
            size = self.client.download(routes.download(session_id, ext), partial, action=f"download {ext}")
            if ext == "har" and not self.settings.har_raw:
                size = redact_file(partial, self.settings.redact)
            os.replace(partial, dest)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return size

    def live_sessions(self, device: Device) -> list[str]:
        """Capture sessions still active on ``device`` (ours: we hold its lock)."""
        body = self.client.json("GET", routes.SESSIONS, action="list live sessions",
                                params={"include_all": "false", "num_sessions": 50})
        sessions = body.get("sessions") if isinstance(body, dict) else None
        return [str(s["session_id"]) for s in sessions or () if isinstance(s, dict)
                and s.get("device_address") == device.address and s.get("session_id")]

    def session_url(self, session_id: str) -> str:
        return routes.ui_session(self.section.ui_url, session_id)
