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
    """A service refused or failed a request; ``str()`` is the service's own words."""

    def __init__(self, message: str, *, status: int | None = None, action: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.action = action

    def __str__(self) -> str:
        prefix = f"{self.action}: " if self.action else ""
        code = f" (HTTP {self.status})" if self.status else ""
        return f"{prefix}{self.message}{code}"


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
