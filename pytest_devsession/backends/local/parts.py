"""The local backend's tests inside a shared capture (``--devsession-scope``): one capture-server
session per scope, each test a window of it.

Each test's browser belongs to the test: its drivers are attached under the test's part id, so its
video, console log and Appium log are its own, as with a capture per test. Its HAR is the session's
export cut by the test's window. An Android screen recording is the session's (``SHARED``): each test
links it with its offset. Status and measurements go to the user flow store under the part's id, so
that the flow has one entry per test.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

from ...files import write_atomic
from ..base import SHARED, BackendError, Device
from .external import _epoch_ms, is_window


class LocalParts:
    """Mixed into ``LocalBackend`` (``self.attached``, ``self.client``, ``self.store``, ``self.settings``)."""

    def begin_part(self, session_id: str, part) -> None:
        from .backend import Attached

        self.attached[part.id(session_id)] = Attached(started=part.start)

    def end_part(self, session_id: str, part) -> None:
        """The test is over: its browsers' videos end here (the session's capture goes on)."""
        attached = self.attached.get(part.id(session_id))
        if attached is None or attached.stopped is not None:
            return
        attached.stopped = part.end or time.time()
        for recorder in attached.recorders:
            try:
                recorder.stop()
            except Exception as exc:  # noqa: BLE001 - costs the video, never the test
                attached.errors.setdefault("mp4", f"browser video: {exc}")

    def report_part(self, session_id: str, device: Device, part, userflow: str, description: str | None,
                    status: str, message: str | None, measurements: list[dict]) -> None:
        part_id = part.id(session_id)
        self.store.annotate(part_id, part.nodeid, "", {"session": session_id}, device.address)
        self.store.set_status(part_id, userflow, description, status, message)
        if measurements:
            self.store.add_measurements(part_id, userflow, measurements)

    def download_part(self, session_id: str, part, ext: str, dest: Path) -> int | None:
        part_id = part.id(session_id)
        if ext == "har":
            return self._part_har(session_id, part, dest)
        attached = self.attached.get(part_id)
        if ext == "mp4" and not (attached and attached.recorders):
            # No browser in the test: the device's screen recording is the session's, if there is one.
            whole = self.attached.get(session_id)
            return SHARED if whole is not None and whole.android is not None else None
        if ext in ("mp4", "jsconsole.log", "appium.log"):
            return self.download(part_id, ext, dest)
        return SHARED  # the device's log: the session's

    def _part_har(self, session_id: str, part, dest: Path) -> int:
        if is_window(session_id):  # the user's one recording session: the part's window of it
            har = self.external.window_har(part.start, part.end or time.time(), part.id(session_id))
        else:
            har = self.client.json("GET", f"/api/har/export/{session_id}", action="download har")
        try:
            entries = har["log"]["entries"]
            if not isinstance(entries, list):
                raise TypeError
        except (KeyError, TypeError):
            raise BackendError("the HAR export is not HAR JSON", action="download har") from None
        first, last = math.floor(part.start * 1000), math.ceil((part.end or time.time()) * 1000)
        har["log"]["entries"] = [e for e in entries if first <= _epoch_ms(e) <= last]
        if not self.settings.har_raw:
            from ...reporting.redact import redact_har

            redact_har(har, self.settings.redact)
        return write_atomic(dest, json.dumps(har, indent=1))
