"""LambdaTest as a backend: its Selenium hub makes the sessions, its Automation API gives their verdicts
and evidence (routes in ``routes``).

A capture is only the test's container (an id of our own, no request): each driver attached to it
is a session of its own at LambdaTest, which starts when the driver does and ends when it quits.
After the test each one gets its verdict in one ``PATCH`` and its video, full HAR and logs are
downloaded once LambdaTest has made them (some time after the session ended).
"""
from __future__ import annotations

import copy
import json
import os
import threading
import time
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from ...files import write_atomic
from ...http.client import NO_RETRY, REPEATABLE, Backoff, Client, wait_for
from ...reporting.redact import redact_har
from ..base import AuthenticationError, BackendError, CaptureOptions, Device, Verdict
from . import routes
from .browser import capabilities as build_capabilities
from .browser import lt_options, mask, start_remote_chrome
from .har import merge, merge_zip
from .logs import render
from .settings import ACCESS_KEY_ENV, USERNAME_ENV

CAPTURE_PREFIX = "lambdatest-"
DEVICE = "lambdatest"
# An artifact is asked for again at these intervals until it is made or --devsession-ready-timeout
# passes: LambdaTest makes them some seconds to two minutes after the session ended.
ARTIFACT_POLLING = Backoff(first=0.25, factor=2.0, most=5.0)
PENDING, READY, ABSENT = "pending", "ready", "absent"
# The option of LT:Options that makes each artifact, and whether LambdaTest makes it when the option
# is not given (video: on by default; the others off).
ARTIFACT_OPTIONS = {"mp4": ("video", True), "har": ("network.full.har", False), "jsconsole.log": ("console", False)}
# A signed link refused so has expired: a new one is asked for, once.
EXPIRED = (403, 404, 410)


def _on(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


def _succeeded(body) -> bool:
    return isinstance(body, dict) and str(body.get("status", "")).strip().lower() == routes.SUCCESS


def _made(body) -> bool:
    """A log's answer holds the log: it says success, or it has data and no status at all."""
    return _succeeded(body) or (isinstance(body, dict) and "status" not in body and "data" in body)


def _words(body) -> str:
    """LambdaTest's own message in an answer."""
    if isinstance(body, dict):
        for key in ("message", "error", "msg", "status"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()
    return json.dumps(body)[:200]


class LambdaTestClient(Client):
    """The HTTP client with HTTP Basic auth, the access key masked in anything the service says."""

    def __init__(self, base_url: str, username: str, secret, forms: tuple[str, ...], **kwargs) -> None:
        super().__init__(base_url, "", **kwargs)
        self.http.auth = (username, secret.reveal())
        self._forms = forms

    def _scrub(self, text: str) -> str:
        return mask(text, self._forms)


class LambdaTestBackend:
    """The core, and the parts LambdaTest has: Drivers, RemoteSessions, RemoteBrowsers, Verdicts,
    Artifacts, Links. Nothing is locked: the grid queues what is over the account's concurrency."""

    name = "lambdatest"
    # A session ends when its driver quits, or at LambdaTest's idle timeout when the process that
    # had it died: nothing is left for a later run to release.
    outlives_process = False
    devices_setting = "--devsession-lambdatest-api-url"

    def __init__(self, settings, *, sleep=time.sleep) -> None:
        self.settings = settings
        self.section = section = settings.section
        self.service_url = self.device_source = section.api_url
        # The run's build (--devsession-build, the CI's build id, or when the run began): the same in
        # every xdist worker.
        self.build = getattr(settings, "build_name", "") or settings.build_id or "pytest-devsession"
        self._forms = section.masks()
        self._sleep = sleep
        self.client = self._client(section.api_url)
        self._mobile_client: Client | None = None
        self._lock = threading.Lock()
        self._devices: dict[str, Device] | None = None
        self._captures: dict[str, list[str]] = {}  # capture id -> its sessions, in the order attached
        self._handed: dict[str, dict] = {}  # capture id -> the LT:Options devsession.capabilities gave
        self._options: dict[str, dict] = {}  # session id -> its LT:Options, when known
        self._mobile: set[str] = set()  # app (Appium) sessions: on the mobile API
        self._arrived: dict[str, float] = {}  # session id -> when its first artifact was written
        self._links: dict[str, str] = {}

    def _client(self, base_url: str) -> Client:
        refused = (lambda words: f"LambdaTest refused the credentials in {USERNAME_ENV} and {ACCESS_KEY_ENV}: {words}")
        return LambdaTestClient(base_url, self.section.username, self.section.access_key, self._forms,
                                refused=refused, hint="is --devsession-lambdatest-api-url right?", sleep=self._sleep)

    def _api(self, session_id: str) -> Client:
        if session_id not in self._mobile:
            return self.client
        with self._lock:
            if self._mobile_client is None:
                self._mobile_client = self._client(self.section.mobile_api_url)
            return self._mobile_client

    def close(self) -> None:
        self.client.close()
        if self._mobile_client is not None:
            self._mobile_client.close()

    # the core ------------------------------------------------------------------------
    def devices(self) -> dict[str, Device]:
        """The one pseudo-device, once the credentials are known to work (a 401: AuthenticationError)."""
        if self._devices is None:
            body = self.client.json("GET", routes.SESSIONS, action="check the LambdaTest credentials",
                                    params={"limit": 1})
            if isinstance(body, dict) and str(body.get("status", "")).strip().lower() == "fail":
                raise BackendError(_words(body), status=200, action="check the LambdaTest credentials",
                                   request=f"GET {urlsplit(self.section.api_url).path}{routes.SESSIONS}")
            host = urlsplit(self.section.hub_url).hostname or "lambdatest"
            self._devices = {DEVICE: Device(address=DEVICE, serial=DEVICE, hostname=host, platform="cloud")}
        return dict(self._devices)

    def start_capture(self, device: Device, options: CaptureOptions) -> str:
        capture_id = f"{CAPTURE_PREFIX}{uuid.uuid4().hex[:16]}"
        with self._lock:
            self._captures[capture_id] = []
        return capture_id

    def wait_ready(self, session_id: str, deadline: float) -> None:
        """Nothing to wait for: a session is ready when its driver has started."""

    def stop_capture(self, session_id: str, deadline: float) -> None:
        """Nothing to stop: each session ends when its driver quits."""

    # drivers -------------------------------------------------------------------------
    def attach(self, session_id: str, driver) -> None:
        """The driver's session (``driver.session_id``, LambdaTest's session id) is one of the capture's."""
        remote_id = getattr(driver, "session_id", None)
        if not remote_id:
            raise ValueError("devsession.attach(driver): the driver has no session id (attach it once it has started)")
        remote_id = str(remote_id)
        returned = getattr(driver, "caps", None) or {}
        with self._lock:
            sessions = self._captures.setdefault(session_id, [])
            if remote_id not in sessions:
                sessions.append(remote_id)
            if str(returned.get("platformName") or "").strip().lower() in routes.MOBILE_PLATFORMS:
                self._mobile.add(remote_id)
            if remote_id not in self._options:
                options = lt_options(returned) or self._handed.get(session_id)
                if options is not None:
                    self._options[remote_id] = dict(options)

    def detach(self, session_id: str, driver) -> None:
        """Nothing to stop following: the session stays the capture's (its verdict and evidence come
        after the test); its video ends when the driver quits."""

    def sessions_of(self, capture_id: str) -> list[str]:
        with self._lock:
            return list(self._captures.get(capture_id, ()))

    def capabilities(self, capture_id: str, nodeid: str) -> dict:
        caps = build_capabilities(self.section.capabilities, self.build, nodeid)
        with self._lock:
            self._handed[capture_id] = dict(caps[routes.OPTIONS_KEY])
        return copy.deepcopy(caps)

    def remote_chrome(self, capture_id: str, nodeid: str, window_size: tuple[int, int] | None):
        caps = self.capabilities(capture_id, nodeid)
        driver = start_remote_chrome(self.section.hub_url, self.section.username, self.section.access_key, caps,
                                     window_size)
        try:
            with self._lock:
                self._options[str(driver.session_id)] = dict(caps[routes.OPTIONS_KEY])
            self.attach(capture_id, driver)
        except BaseException:
            driver.quit()
            raise
        return driver

    # the verdict ---------------------------------------------------------------------
    def give_verdict(self, session_id: str, verdict: Verdict) -> None:
        """One PATCH: status, reason, name, tags and the measurements; done only when LambdaTest says success."""
        tags = [f"{key}:{value}" for key, value in verdict.tags.items()]
        if verdict.userflow and not any(t.startswith("userflow:") for t in tags):
            tags.append(f"userflow:{verdict.userflow}")
        custom: dict = {"measurements": [{k: v for k, v in m.items() if v is not None} for m in verdict.measurements]}
        if verdict.description:
            custom["description"] = verdict.description
        body: dict = {"name": verdict.name, "status_ind": routes.STATUS_IND.get(verdict.status, routes.UNKNOWN_STATUS),
                      "tags": tags, "custom_data": custom}
        if verdict.message:
            body["reason"] = mask(verdict.message, self._forms)[:routes.REASON_MAX]
        action = "give the session its verdict"
        client = self._api(session_id)
        # Setting a state: the same PATCH twice leaves the same state (5xx and no answer are tried again).
        answer = client.json("PATCH", routes.session(session_id), action=action, retry=REPEATABLE, json=body)
        if not _succeeded(answer):
            raise BackendError(mask(_words(answer), self._forms), status=200, action=action,
                               request=f"PATCH {urlsplit(client.base_url).path}{routes.session(session_id)}")

    # links ---------------------------------------------------------------------------
    def session_url(self, session_id: str) -> str | None:
        """The session's dashboard page (from its details, cached); None for a capture (the container)
        and when the details cannot be read."""
        if session_id.startswith(CAPTURE_PREFIX) or session_id in self._captures:
            return None
        if session_id in self._links:
            return self._links[session_id]
        try:
            body = self._api(session_id).json("GET", routes.session(session_id), action="read the session's details")
        except BackendError:
            return None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return None
        link = next((data[k] for k in routes.DASHBOARD_KEYS if isinstance(data.get(k), str) and data[k]), None)
        if link is None and data.get("test_id"):
            page = routes.APP_DASHBOARD if session_id in self._mobile else routes.WEB_DASHBOARD
            link = page.format(test_id=data["test_id"])
        if link is not None:
            self._links[session_id] = link
        return link

    # artifacts -----------------------------------------------------------------------
    def download(self, session_id: str, ext: str, dest: Path) -> int | None:
        """Wait until LambdaTest has made the artifact, and write it to ``dest`` (through ``dest.part``);
        its size, or None when the session has none (its option was off, or LambdaTest says so)."""
        if ext not in self.section.accepted_artifacts:
            raise BackendError(f"LambdaTest makes no {ext} artifact; it makes {', '.join(self.section.accepted_artifacts)}",
                               action=f"download {ext}")
        if self._switched_off(session_id, ext):
            return None
        dest = Path(dest)
        partial = dest.with_name(dest.name + ".part")
        deadline = time.monotonic() + self.settings.ready_timeout
        try:
            if ext == "mp4":
                size = self._video(session_id, partial, deadline)
            elif ext == "har":
                size = self._har(session_id, partial, deadline)
            else:
                size = self._log(session_id, ext, partial, deadline)
            if size is None:
                return None
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)
        with self._lock:
            self._arrived.setdefault(session_id, time.monotonic())
        return size

    def _switched_off(self, session_id: str, ext: str) -> bool:
        """The session was started with the option that makes this artifact off."""
        options = self._options.get(session_id)
        if ext not in ARTIFACT_OPTIONS or options is None:
            return False
        name, default = ARTIFACT_OPTIONS[ext]
        lowered = {str(k).lower(): v for k, v in options.items()}
        return not _on(lowered[name.lower()]) if name.lower() in lowered else not default

    def _absent(self, session_id: str, words: str) -> bool:
        """A "fail" answer means the session has no such artifact: LambdaTest says so, or (when the
        session's options are unknown) its other artifacts came long enough ago."""
        if any(w in words.lower() for w in routes.ABSENT_WORDS):
            return True
        arrived = self._arrived.get(session_id)
        return (session_id not in self._options and arrived is not None
                and time.monotonic() - arrived > routes.ABSENT_GRACE)

    def _wait(self, session_id: str, ext: str, fetch, deadline: float):
        """Call ``fetch`` (→ (READY | PENDING, value)) until the artifact is made; (READY, value) or (ABSENT, words)."""
        last: list[str] = []
        action = f"download {ext}"

        def attempt():
            try:
                state, value = fetch()
            except BackendError as exc:
                if exc.status != 400 or isinstance(exc, AuthenticationError):
                    raise
                # The log routes answer 400 for a session they do not know (yet).
                state, value = PENDING, f"HTTP 400: {exc.words}"
            if state == PENDING:
                last[:] = [value]
                if self._absent(session_id, value):
                    return ABSENT, value
            return state, value

        try:
            return wait_for(attempt, lambda answer: answer[0] != PENDING, deadline=deadline, action=action,
                            pending="not made yet", backoff=ARTIFACT_POLLING, sleep=self.client.sleep)
        except BackendError as exc:
            if exc.request is None and last:  # gave up on a "not yet" answer
                raise BackendError(f"LambdaTest had not made the {ext} of session {session_id} within "
                                   f"{self.settings.ready_timeout:g} s (--devsession-ready-timeout); its last "
                                   f"answer: {last[0]}", action=action) from None
            raise

    def _status_answer(self, client: Client, path: str, ext: str, made=_succeeded):
        """GET a JSON answer: (READY, body) when it is ``made``, else (PENDING, its words)."""
        body = client.json("GET", path, action=f"download {ext}", retry=NO_RETRY)
        return (READY, body) if made(body) else (PENDING, _words(body))

    def _video(self, session_id: str, partial: Path, deadline: float) -> int | None:
        client = self._api(session_id)

        def link():
            state, body = self._status_answer(client, routes.video(session_id), "mp4")
            if state == READY and not (isinstance(body.get("url"), str) and body["url"]):
                return PENDING, _words(body) + " (no url yet)"
            return state, body

        state, body = self._wait(session_id, "mp4", link, deadline)
        if state == ABSENT:
            return None
        try:
            return self._signed(body["url"], partial)
        except BackendError as exc:
            if exc.status not in EXPIRED:
                raise
        # The signed link expired (or was refused) before it was used: a new one, once.
        state, body = self._wait(session_id, "mp4", link, deadline)
        return None if state == ABSENT else self._signed(body["url"], partial)

    def _signed(self, url: str, partial: Path) -> int:
        """A signed link, fetched without our credentials."""
        parts = urlsplit(url)
        plain = Client(f"{parts.scheme}://{parts.netloc}", sleep=self.client.sleep)
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            return plain.download(path, partial, action="download mp4 (signed link)")
        finally:
            plain.close()

    def _har(self, session_id: str, partial: Path, deadline: float) -> int | None:
        client = self._api(session_id)
        raw = partial.with_name(partial.name + ".zip")

        def fetch():
            client.download(routes.full_har(session_id), raw, action="download har", retry=NO_RETRY)
            if zipfile.is_zipfile(raw):
                return READY, None
            try:
                body = json.loads(raw.read_bytes())
            except ValueError:
                raise BackendError("the full HAR is neither a ZIP nor JSON", status=200, action="download har",
                                   request=f"GET {urlsplit(client.base_url).path}{routes.full_har(session_id)}") from None
            if isinstance(body, dict) and isinstance(body.get("log"), dict):
                return READY, body  # one HAR, not zipped
            return PENDING, _words(body)

        try:
            state, single = self._wait(session_id, "har", fetch, deadline)
            if state == ABSENT:
                return None
            document = merge([single]) if single is not None else merge_zip(raw)
        finally:
            raw.unlink(missing_ok=True)
        if not self.settings.har_raw:
            redact_har(document, self.settings.redact)
        return write_atomic(partial, mask(json.dumps(document, ensure_ascii=False, indent=1), self._forms))

    def _log(self, session_id: str, ext: str, partial: Path, deadline: float) -> int | None:
        client = self._api(session_id)
        kind = routes.LOGS[ext]
        state, body = self._wait(session_id, ext,
                                 lambda: self._status_answer(client, routes.log(session_id, kind), ext, _made), deadline)
        if state == ABSENT:
            return None
        return write_atomic(partial, mask(render(kind, body), self._forms))
