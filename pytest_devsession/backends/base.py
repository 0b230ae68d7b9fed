"""What every capture service implements, what only some do, and their errors.

The core (``Backend``): ``devices`` once per run, then per test ``start_capture`` → ``wait_ready``
→ (test) → ``stop_capture``; ``close`` when the run ends. What only some services do are optional
parts, each a protocol a backend satisfies by having its members (checked with ``isinstance`` where
it is used), so that a backend implements nothing it has no use for: ``Locking`` devices,
``LiveSessions`` on a device, ``Naming`` a session, ``UserFlows`` (status and measurements),
``Artifacts`` to download, ``Links`` to a session, ``Proxied`` (a proxy for the test's clients),
``Drivers`` to attach, ``CallEnd`` (the test's call is over), ``HeldPerSession`` (what a session holds
until its artifacts are on disk), ``AppiumProvider`` (an Appium server), ``Parts`` (tests sharing one
capture, each with its own window, verdict and cut of the artifacts), ``Verdicts`` (the whole verdict
in one call), ``RemoteSessions`` (sessions made by the test's drivers at a cloud grid) and
``RemoteBrowsers`` (``devsession_chrome`` at the service).

A plugin adds a backend with the hooks in ``hookspecs.py``; the built-in ones are ``headspin/`` and
``local/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


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


@runtime_checkable
class Backend(Protocol):
    """The core every backend implements."""

    name: str  # what --devsession-backend calls it
    # Where its sessions and locks live: the spool, the lease ledger and the device pool are kept
    # per service (None: in this process).
    service_url: str | None
    # Its sessions and locks outlive this process: a run that dies leaves them to the next (the ledger).
    outlives_process: bool
    device_source: str  # where its devices come from, in messages ("https://.../v0", "this machine")
    devices_setting: str  # the setting to look at when its device list cannot be read

    def devices(self) -> dict[str, Device]: ...
    def start_capture(self, device: Device, options: CaptureOptions) -> str: ...
    def wait_ready(self, session_id: str, deadline: float) -> None: ...
    def stop_capture(self, session_id: str, deadline: float) -> None: ...
    def close(self) -> None: ...


@runtime_checkable
class Locking(Protocol):
    """A device is locked for the run (once), and unlocked at its end."""

    # True when a device's lock belongs to the account rather than to the process that took it:
    # the run then locks each device once for all its processes.
    account_locks: bool

    def lock(self, device: Device) -> None: ...
    def unlock(self, device: Device) -> None: ...


@runtime_checkable
class LiveSessions(Protocol):
    """The captures still open on a device: one a create cut short may have opened is stopped."""

    def live_sessions(self, device: Device) -> list[str]: ...


@runtime_checkable
class Naming(Protocol):
    """A session gets the test's name, docstring and tags."""

    def annotate(self, session_id: str, annotation: Annotation) -> None: ...


@runtime_checkable
class UserFlows(Protocol):
    """A session joins a user flow with a status, and the test's measurements."""

    def report_status(self, session_id: str, userflow: str, description: str | None,
                      status: str, message: str | None) -> None: ...
    def upload_measurements(self, session_id: str, userflow: str, measurements: list[dict]) -> None: ...


@runtime_checkable
class Artifacts(Protocol):
    """A session's evidence as files (its settings section says which it can produce)."""

    def download(self, session_id: str, ext: str, dest: Path) -> int | None:
        """Write the artifact to ``dest``; its size, or None when the session has no such artifact."""


@runtime_checkable
class Links(Protocol):
    """A session can be looked at in the service."""

    def session_url(self, session_id: str) -> str | None: ...


@runtime_checkable
class Proxied(Protocol):
    """A test's clients are captured through a proxy."""

    def session_environment(self, session_id: str) -> dict:
        """What a client needs to be captured: ``proxy_url`` and ``ca_cert_path``."""


@runtime_checkable
class Drivers(Protocol):
    """What a driver does (a browser, an Appium session) is recorded as part of the session."""

    def attach(self, session_id: str, driver) -> None: ...
    def detach(self, session_id: str, driver) -> None: ...


@runtime_checkable
class CallEnd(Protocol):
    """The test's call is over, before any fixture quits a driver (a video ends here)."""

    def call_ended(self, session_id: str) -> None: ...


@runtime_checkable
class HeldPerSession(Protocol):
    """A session holds something of this process until its artifacts are on disk."""

    def discard(self, session_id: str) -> None:
        """The session is finished and its artifacts are on disk: free what it held."""


@dataclass
class Verdict:
    """A session's whole verdict, for a service that takes it in one call (``Verdicts``)."""
    name: str  # the test's node id
    description: str  # its docstring
    status: str  # Passed, Failed or Excluded (skips and xfails)
    message: str | None  # why, in pytest's words
    tags: dict[str, str] = field(default_factory=dict)  # outcome, build, and the user flow when there is one
    measurements: list[dict] = field(default_factory=list)  # the test's, as devsession.measure took them
    userflow: str | None = None


@runtime_checkable
class Verdicts(Protocol):
    """The service takes a session's whole verdict in one call (LambdaTest's ``PATCH /sessions/{id}``)."""

    def give_verdict(self, session_id: str, verdict: Verdict) -> None: ...


@runtime_checkable
class RemoteSessions(Protocol):
    """The service's sessions are made by the test's drivers (a cloud grid's hub), not by the capture:
    the capture is the test's container, and each driver attached to it (``Drivers.attach``) is a
    session of its own at the service. After the test the engine gives each its verdict and downloads
    each one's artifacts (the first as ``session.EXT``, the n-th as ``session-n.EXT``)."""

    def sessions_of(self, capture_id: str) -> list[str]:
        """The service's session ids of the drivers attached to the capture, in the order they were attached."""


@runtime_checkable
class RemoteBrowsers(Protocol):
    """The test's browsers run at the service: ``devsession_chrome`` is one of them, and a test that
    builds its own driver reads the capabilities it needs from ``devsession.capabilities``."""

    def capabilities(self, capture_id: str, nodeid: str) -> dict:
        """The W3C capabilities (the service's options included) of a browser for this test."""
    def remote_chrome(self, capture_id: str, nodeid: str, window_size: tuple[int, int]):
        """A started Selenium Remote Chrome for this test, attached to the capture."""


# ``Parts.download_part``: this artifact is the whole session's (a video, a device log): it is
# downloaded once when the shared capture is closed, and each test links it (with its offset).
SHARED = -1


@runtime_checkable
class Parts(Protocol):
    """Tests share one capture (``--devsession-scope class|module|session``); each is a part of it.

    ``part`` is a ``state.Part``: the test's index, node id and time window (epoch seconds), and
    ``part.id(session_id)``, the id its drivers are attached to. ``end_part`` may set ``part.label_id``.
    """

    def begin_part(self, session_id: str, part) -> None: ...
    def end_part(self, session_id: str, part) -> None: ...
    def report_part(self, session_id: str, device: Device, part, userflow: str, description: str | None,
                    status: str, message: str | None, measurements: list[dict]) -> None:
        """The test's own entry in its user flow, with its status and measurements."""
    def download_part(self, session_id: str, part, ext: str, dest: Path) -> int | None:
        """The test's part of an artifact into ``dest``; None when it has none, ``SHARED`` when the
        artifact is the whole session's (the engine downloads it once and links it)."""


@runtime_checkable
class AppiumProvider(Protocol):
    """A running Appium server for the tests (``devsession_appium_url``), whose log the backend cuts per session."""

    def appium_url(self) -> str: ...
