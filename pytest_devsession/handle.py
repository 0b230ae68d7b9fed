"""The object the ``devsession`` fixture hands to a test."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .backends.base import Drivers, RemoteBrowsers

MAX_KEY_LENGTH = 255
MAX_TEXT_LENGTH = 1024


@dataclass
class DevSession:
    """The test's capture session.

    ``session_id``, ``device_address``, ``url`` and ``artifacts_dir`` are None when
    the test runs without a capture (``--devsession`` off, or capture opted out).
    """

    nodeid: str
    capture: object = field(default=None, repr=False)  # the capture's identity (state.Capture), once open
    part: object = field(default=None, repr=False)  # in a capture shared by its scope: the test's window (state.Part)
    artifacts_dir: Path | None = None
    userflow: str | None = None
    measurements: list[dict] = field(default_factory=list)
    ca_cert_path: str | None = None
    _proxy_url: str | None = field(default=None, repr=False)
    _backend: object = field(default=None, repr=False)
    _journal: object = field(default=None, repr=False)
    app_session_id: str | None = field(default=None, repr=False)  # named by devsession.devrev_session
    # The test routed something through the capture (it read the proxy: devsession_chrome does).
    # A HAR of this test with no entries is then a problem, not an empty test.
    sent_traffic: bool = field(default=False, repr=False)

    @property
    def session_id(self) -> str | None:
        return self.capture.session_id if self.capture is not None else None

    @property
    def device_address(self) -> str | None:
        return self.capture.address if self.capture is not None else None

    @property
    def url(self) -> str | None:
        """The session's page at the service (None for a service without pages)."""
        return self.capture.url if self.capture is not None else None

    @property
    def driver_id(self) -> str | None:
        """What this test's drivers and results are kept under: the session, or the test's part of it."""
        if self.capture is None:
            return None
        return self.part.id(self.capture.session_id) if self.part is not None else self.capture.session_id

    @property
    def active(self) -> bool:
        return self.session_id is not None

    @property
    def proxy_url(self) -> str | None:
        """The capture's proxy (None without one): route a client through it to be captured."""
        if self._proxy_url:
            self.sent_traffic = True
        return self._proxy_url

    @proxy_url.setter
    def proxy_url(self, value: str | None) -> None:
        self._proxy_url = value

    @property
    def proxies(self) -> dict[str, str]:
        """``requests``-style proxies that route a client through the capture ({} without one)."""
        proxy = self.proxy_url
        return {"http": proxy, "https": proxy} if proxy else {}

    @property
    def capabilities(self) -> dict:
        """What a driver you build yourself needs to be part of this session at the service (a cloud
        grid's options, such as LambdaTest's ``LT:Options``); {} where the service needs none."""
        if isinstance(self._backend, RemoteBrowsers) and self.capture is not None:
            return self._backend.capabilities(self.driver_id, self.nodeid)
        return {}

    def devrev_session(self, session_id: str) -> None:
        """Name the app's DevRev session of this test (when the test knows it): it is used as is,
        instead of being looked for by the test's time window."""
        if not isinstance(session_id, str) or not session_id.strip():
            raise TypeError(f"devsession.devrev_session(session_id) expects a non-empty string, got {session_id!r}")
        self.app_session_id = session_id.strip()

    def attach(self, driver) -> None:
        """Record ``driver`` as part of this session: a Selenium Chromium driver gives the
        video and the console log, an Appium driver its cut of appium.log."""
        if isinstance(self._backend, Drivers):  # other services record their devices themselves
            self._backend.attach(self.driver_id, driver)

    def detach(self, driver) -> None:
        """Stop recording ``driver`` (before it quits, so the video ends with the test)."""
        if isinstance(self._backend, Drivers):
            self._backend.detach(self.driver_id, driver)

    def measure(self, key: str, value, units: str | None = None, type: str | None = None) -> None:
        """Record a custom measurement; it is uploaded to the session's user flow after the test."""
        if not isinstance(key, str) or not key.strip():
            raise TypeError(f"devsession.measure(key=...) must be a non-empty string, got {key!r}")
        if len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"devsession.measure(key=...) is {len(key)} characters; at most {MAX_KEY_LENGTH} are accepted")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError(f"devsession.measure(value=...) must be an int, float or str, got {type_name(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"devsession.measure(value=...) must be a finite number, got {value!r}")
        if isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
            raise ValueError(f"devsession.measure(value=...) is {len(value)} characters; at most {MAX_TEXT_LENGTH} are accepted")
        for name, text in (("units", units), ("type", type)):
            if text is not None and (not isinstance(text, str) or len(text) > MAX_KEY_LENGTH):
                raise TypeError(f"devsession.measure({name}=...) must be a string of at most {MAX_KEY_LENGTH} characters, got {text!r}")
        measurement = {"key": key, "value": value, "units": units, "type": type}
        self.measurements.append(measurement)
        if self._journal is not None:
            try:
                self._journal.add(measurement)
            except OSError:
                self._journal = None  # the reports still keep it; a full disk must not fail the test


def type_name(value) -> str:
    return type(value).__name__


handle_key = pytest.StashKey[DevSession]()
