"""What a test carries through the run: its capture's identity, the state of its closing, its reports.

A capture session's identity (``Capture``: session id, device, link, scope) is made once, when the
capture starts, and every other place refers to that object: the test's ``CaptureState``, the
``devsession`` handle, the record (``record.py``), the ledger and the journal take their ids from it.
Per-test state lives in ``item.stash`` under the keys below. Every problem after a test is also a
``DevSessionWarning`` (``warn``), never an exception.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import markers
from .backends.base import Device


class DevSessionWarning(UserWarning):
    """Something went wrong after a test ran; the test's outcome is unchanged."""


@dataclass(frozen=True)
class Capture:
    """One capture session at a service, as it was opened: made once, shared by every test it captures."""
    session_id: str
    device: Device
    url: str | None = None  # the session's page at the service
    scope: str = "test"  # test, class, module or session: what it was opened around
    owner: str = ""  # the node id of that test, class, module or run

    @property
    def address(self) -> str:
        return self.device.address


@dataclass
class Part:
    """A test inside a capture shared by its class, module or run (``scopes.py``): its own window of it."""
    index: int  # 1 for the capture's first test
    nodeid: str
    start: float  # epoch seconds: the test's setup found the capture ready
    end: float | None = None  # epoch seconds: the test's teardown ended
    offset: float = 0.0  # seconds from the capture's start (its video's first frame) to the test's start
    label_id: str | None = None  # the service's mark of the window (HeadSpin: a label)

    def id(self, session_id: str) -> str:
        """The part's own id: what its drivers are attached to and its results are kept under."""
        return f"{session_id}~{self.index}"


@dataclass(frozen=True)
class TestWindow:
    """What an enricher (``pytest_devsession_make_enrichers``) knows of a test after it ran."""
    start: float  # epoch seconds
    end: float
    platform: str  # the device's (android, ios, browser, ...)
    app_session_id: str | None = None  # the app session the test named (devsession.devrev_session)


@dataclass
class CaptureState:
    """A test's part in a capture: where its artifacts go, what its markers asked, how far its closing is."""
    capture: Capture
    folder: Path
    options: markers.MarkerOptions
    closed: bool = False  # capture stopped and artifacts downloaded (or given up)
    finished: bool = False  # status and measurements delivered or spooled
    part: Part | None = None  # inside a shared capture (scope class, module or session): the test's window
    started: float = 0.0  # epoch seconds: the test found its capture ready (its window's start)

    @property
    def session_id(self) -> str:
        return self.capture.session_id

    @property
    def device(self) -> Device:
        return self.capture.device


options_key = pytest.StashKey[markers.MarkerOptions]()
state_key = pytest.StashKey[CaptureState]()
reports_key = pytest.StashKey[list]()  # the reports of the test's current attempt
earlier_key = pytest.StashKey[list]()  # earlier attempts that pytest-rerunfailures reran


def warn(message: str) -> None:
    """Warn, but never raise: under ``-W error`` a warning of ours would become a crash in a
    reporting hook. The problem is in the summary and the manifest either way."""
    try:
        warnings.warn(DevSessionWarning(message), stacklevel=3)
    except Warning:
        pass
