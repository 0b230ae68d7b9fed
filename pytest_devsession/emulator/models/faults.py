"""Faults: misbehaviours a test injects into the emulator, matched by method and path."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from .errors import START_FAILED

FAULT_KINDS = ("status", "drop", "slow", "retry_after", "cut_short")


@dataclass
class Fault:
    """A misbehaviour injected into the emulator.

    ``method``: HTTP method to match (None or "*" for any). ``path``: regex searched
    in the path after ``/v0`` (no query). ``kind``: "status" (answer ``status`` with a
    JSON error or ``body``), "drop" (close the connection without an answer), "slow"
    (sleep ``delay`` seconds, then answer normally), "retry_after" (429 with a
    ``Retry-After: retry_after`` header), "cut_short" (the request is served and takes
    effect, then the client gets ``status`` with a JSON error or ``body`` instead of the
    answer). ``times``: how many matching requests it hits (None: all of them).
    """

    method: str | None = "GET"
    path: str = ".*"
    kind: str = "status"
    status: int = 503
    times: int | None = 1
    delay: float = 0.0
    retry_after: float = 1
    body: object = None
    hits: int = 0

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Fault kind must be one of {FAULT_KINDS}, not {self.kind!r}")
        self._regex = re.compile(self.path)

    @classmethod
    def cut_short_create(cls, times: int | None = 1) -> Fault:
        """A capture create that really opens the session (it is listed, the device is capturing)
        while the client gets HTTP 500 "Error starting session."."""
        return cls(method="POST", path=r"^/sessions$", kind="cut_short", status=500,
                   body={"status": START_FAILED, "status_code": 500}, times=times)

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method not in (None, "*") and self.method.upper() != method.upper():
            return False
        return self._regex.search(path) is not None


def take_fault(faults: list[Fault], method: str, path: str) -> Fault | None:
    """The first fault of ``faults`` this request meets (its hit counted), or None; hold the owner's lock."""
    for fault in faults:
        if fault.matches(method, path):
            fault.hits += 1
            return fault
    return None


def meet_fault(faults: list[Fault], lock, method: str, path: str) -> Fault | None:
    """What every emulator server does with a request: the fault it meets, if any; a slow one has
    slept already and is done (None)."""
    with lock:
        fault = take_fault(faults, "GET" if method == "HEAD" else method, path)
    if fault is not None and fault.kind == "slow":
        time.sleep(fault.delay)
        return None
    return fault


def check_seconds(value, name: str) -> float:
    """A setting in seconds: a number, 0 or more (ValueError naming the setting otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a number of seconds, 0 or more, not {value!r}")
    return float(value)
