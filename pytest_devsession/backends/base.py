"""The interface every capture service implements, and its errors.

The controller calls these in order: ``devices`` once per run, ``lock`` once per
device, then per test ``start_capture`` → ``wait_ready`` → (test) →
``stop_capture`` → ``annotate`` → ``report_status`` → ``upload_measurements``
→ ``download``; ``unlock`` and ``close`` when the run ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class BackendError(Exception):
    """A service refused or failed a request; ``str()`` is the service's own words.

    ``status``: the HTTP status, None when no answer came (or the failure was not HTTP's).
    ``message``: what went wrong, the server's own words when it answered; ``words``: only
    those words (for no answer: what the connection did). ``request``: the request answered,
    ``"METHOD /path"`` without query or token; ``request_id``: the server's id for it, when it
    sent one (quote it to the service's support). ``action``: what the plugin was doing.
    """

    def __init__(self, message: str, *, status: int | None = None, action: str | None = None,
                 words: str | None = None, request: str | None = None, request_id: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.action = action
        self.words = message if words is None else words
        self.request = request
        self.request_id = request_id
        self.retry_after = retry_after  # seconds the server asked us to wait (429, 503)

    @property
    def temporary(self) -> bool:
        """The same request may succeed later: no answer came, or the server was overloaded (429) or failed (5xx)."""
        return self.status is None or self.status == 429 or self.status >= 500

    def __str__(self) -> str:
        prefix = f"{self.action}: " if self.action else ""
        code = f" (HTTP {self.status})" if self.status else ""
        request_id = f", request id {self.request_id}" if self.request_id else ""
        return f"{prefix}{self.message}{code}{request_id}"


class AuthenticationError(BackendError):
    """The credentials were refused; no further request can succeed."""


class DeviceUnavailable(BackendError):
    """The device is held by someone else or unknown."""


@dataclass(frozen=True)
class Device:
    address: str
    serial: str
    hostname: str
    platform: str
    device_id: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class CaptureOptions:
    name: str | None = None
    mitm_ignore: tuple[str, ...] = ()
    network_keep_in_session_patterns: tuple[str, ...] = ()


@dataclass
class Annotation:
    name: str
    description: str
    tags: dict[str, str] = field(default_factory=dict)


class Backend(Protocol):
    name: str
    # True when a device's lock belongs to the account rather than to the process that took it
    # (optional, False when absent): the run then locks each device once for all its processes.
    account_locks: bool

    def devices(self) -> dict[str, Device]: ...
    def lock(self, device: Device) -> None: ...
    def unlock(self, device: Device) -> None: ...
    def start_capture(self, device: Device, options: CaptureOptions) -> str: ...
    def wait_ready(self, session_id: str, deadline: float) -> None: ...
    def stop_capture(self, session_id: str, deadline: float) -> None: ...
    def annotate(self, session_id: str, annotation: Annotation) -> None: ...
    def report_status(self, session_id: str, userflow: str, description: str | None,
                      status: str, message: str | None) -> None: ...
    def upload_measurements(self, session_id: str, userflow: str, measurements: list[dict]) -> None: ...
    def download(self, session_id: str, ext: str, dest: Path) -> int | None:
        """Write the artifact to ``dest``; its size, or None when the session has no such artifact."""
    def session_url(self, session_id: str) -> str | None: ...
    def session_environment(self, session_id: str) -> dict:
        """What a client needs to be captured: ``proxy_url`` and ``ca_cert_path`` (None when not applicable)."""
    def attach(self, session_id: str, driver) -> None:
        """Record what ``driver`` does as part of the session (video, logs)."""
    def detach(self, session_id: str, driver) -> None: ...
    def discard(self, session_id: str) -> None:
        """The session is finished and its artifacts are on disk: free what it held."""
    def close(self) -> None: ...
