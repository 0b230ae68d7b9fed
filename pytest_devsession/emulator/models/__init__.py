"""State of an emulated HeadSpin org: the ``Org``, made of one part per resource.

No HTTP here. Every method expects the caller to hold ``Org.lock``; time comes from the
injectable ``clock`` and session states move on lazily when read. The parts: ``devices``
(devices, locks and the lock log), ``capture`` (capture sessions and their labels), ``userflows``
(user flows, performance events, measurements); ``faults`` and ``errors`` are shared by the
server and the handlers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .capture import CaptureSession, CapturesMixin, Label
from .devices import (
    DEFAULT_DEVICES,
    OS_VERSIONS,
    OWNER_EMAIL,
    YOU,
    Device,
    DevicesMixin,
    LockEvent,
    parse_device,
)
from .errors import ApiError
from .faults import FAULT_KINDS, Fault, take_fault
from .userflows import (
    DEFAULT_MEASUREMENT_TYPE,
    DEFAULT_STATUS_FILTER,
    STATUS_FILTERS,
    STATUSES,
    PerfEvent,
    UserFlow,
    UserFlowsMixin,
    measurement_value,
    normalize_measurements,
    normalize_status,
    parse_time,
)

__all__ = [
    "Org", "ApiError", "Fault", "FAULT_KINDS", "Device", "LockEvent", "CaptureSession", "Label",
    "PerfEvent", "UserFlow", "DEFAULT_DEVICES", "OS_VERSIONS", "OWNER_EMAIL", "YOU", "STATUSES",
    "STATUS_FILTERS", "DEFAULT_STATUS_FILTER", "DEFAULT_MEASUREMENT_TYPE", "parse_device",
    "normalize_status", "measurement_value", "normalize_measurements", "parse_time",
]


class Org(DevicesMixin, CapturesMixin, UserFlowsMixin):
    """Everything the emulated service knows. Guard every call with ``self.lock``."""

    def __init__(self, clock: Callable[[], float] = time.time, ready_delay: float = 0.05,
                 complete_delay: float = 0.05, devices=DEFAULT_DEVICES, video_bytes: int | None = None,
                 cooldown: float = 0.0, video_metadata_delay: float = 0.0):
        self.lock = threading.RLock()
        self.clock = clock
        # Settings a test may change; reset() puts these back. video_bytes: the size of a complete
        # capture's video download (None: the 1 s clip as it is); cooldown: seconds after a capture
        # ends during which a new one on the same device answers 500; video_metadata_delay: seconds
        # after capture-complete during which the video metadata answers 404.
        self._defaults = {"ready_delay": ready_delay, "complete_delay": complete_delay,
                          "video_bytes": video_bytes, "cooldown": cooldown,
                          "video_metadata_delay": video_metadata_delay}
        self._device_specs = tuple(devices)
        self.reset()

    def reset(self) -> None:
        for name, value in self._defaults.items():
            setattr(self, name, value)
        self.devices: dict[str, Device] = {}
        self.sessions: dict[str, CaptureSession] = {}
        self.userflows: dict[str, UserFlow] = {}
        self.faults: list[Fault] = []
        self.lock_log: list[LockEvent] = []
        self.flaky_capture_setup = False
        self._seq = 0
        for serial, hostname, platform, *device_id in self._device_specs:
            self.add_device(serial, hostname, platform, device_id=device_id[0] if device_id else None)

    def now(self) -> float:
        return self.clock()

    def advance(self) -> None:
        now = self.now()
        for session in self.sessions.values():
            session.advance(now)

    def take_fault(self, method: str, path: str) -> Fault | None:
        return take_fault(self.faults, method, path)
