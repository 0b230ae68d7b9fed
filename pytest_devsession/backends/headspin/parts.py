"""HeadSpin's tests inside a shared capture (``--devsession-scope``): labels and performance events.

Each test is marked on the session by a label spanning its window (``label/add`` with epoch
``ts_start``/``ts_end``); its HAR is the session's HAR cut by that label (``?label_id=``); it joins
its user flow as a performance event of its own (created with the device address and the session,
then given its status and measurements), so that the flow's history has one entry per test as with
a capture per test. The video and the logs are the session's (``SHARED``): each test links them.
"""
from __future__ import annotations

from pathlib import Path

from ...http.client import REPEATABLE, SEND_ONCE
from ..base import SHARED, BackendError, Device
from . import routes


class HeadSpinParts:
    """Mixed into ``HeadSpinBackend`` (``self.client``, ``self.settings``, ``self._userflow_id``)."""

    def begin_part(self, session_id: str, part) -> None:
        pass  # the capture runs: the test's window begins at part.start

    def end_part(self, session_id: str, part) -> None:
        pass  # the label is made once the window is known, off the test's critical path

    def _label(self, session_id: str, part) -> str:
        """The test's label on the session (made once, whichever of its steps asks first)."""
        with self._part_lock:
            if part.label_id is None:
                body = {"name": part.nodeid, "label_type": "user", "category": "pytest",
                        "ts_start": round(part.start, 3), "ts_end": round(part.end or part.start, 3)}
                answer = self.client.json("POST", routes.label_add(session_id), action="label the test's part",
                                          retry=SEND_ONCE, json=body)
                label_id = answer.get("label_id") if isinstance(answer, dict) else None
                if not label_id:
                    raise BackendError(f"no label_id in the answer: {str(answer)[:200]}", action="label the test's part")
                part.label_id = str(label_id)
            return part.label_id

    def report_part(self, session_id: str, device: Device, part, userflow: str, description: str | None,
                    status: str, message: str | None, measurements: list[dict]) -> None:
        self._label(session_id, part)
        flow_id = self._userflow_id(userflow, description)
        event = self.client.json("POST", routes.userflow_events(flow_id), action=f"add an event to {userflow!r}",
                                 retry=SEND_ONCE, json={"device_address": device.address, "session_id": session_id})
        event_id = event.get("perf_event_id") if isinstance(event, dict) else None
        if not event_id:
            raise BackendError(f"no perf_event_id in the answer: {str(event)[:200]}", action="add an event")
        body = {"status": status, **({"status_message": message} if message else {})}
        self.client.json("PATCH", routes.userflow_event(flow_id, event_id), action="set the event's status",
                         retry=REPEATABLE, json=body)
        if measurements:
            data = [{k: v for k, v in m.items() if v is not None} for m in measurements]
            self.client.json("POST", routes.event_measurements(flow_id, event_id), action="upload measurements",
                             retry=SEND_ONCE, json={"data": data})

    def download_part(self, session_id: str, part, ext: str, dest: Path) -> int | None:
        if ext != "har":
            return SHARED  # the video and the logs are the whole session's
        return self.download(session_id, "har", dest, label_id=self._label(session_id, part))
