"""A capture server given by ``--devsession-local-url``: checked once, driven per test, left as found.

Servers that speak NectoProxy's Sessions API do not all do what its page says.
Before the first test, one marked request is sent through the server's proxy
while a probe session of ours is active, to see where it lands:

- in the probe session: the server *separates sessions* (the embedded server,
  ``python -m pytest_devsession.local``). Each test gets a session of its own,
  created and activated at start; the sessions we made are deleted when the run
  ends (their HAR is downloaded by then), and the user's sessions get their flags
  back.
- in another session: the server *records into one session* (NectoProxy records
  everything into the session that was active when it started, whatever the API is
  told). No session is created per test; a test's HAR is that session's entries
  from the test's own time window, found through NectoProxy's traffic listing
  (``GET /api/traffic``) and exported with its export of chosen entries
  (``POST /api/har/export``). Concurrent tests (xdist) cannot be told apart there.
- nowhere: the server records nothing (NectoProxy after the session it records
  into was deleted): a usage error.

The probe session and the probe request are deleted again; the user's active session
stays active. The server's CA (``GET /api/certificates/ca``) is kept in a file for
``devsession.ca_cert_path``.
"""
from __future__ import annotations

import math
import re
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ...http.client import NO_RETRY, REPEATABLE, Client, wait_for
from ...services.capture.recorder import DEFAULT_BACKGROUND_HOSTS
from ..base import BackendError
from .settings import TOKEN_ENV

CHECK_TIMEOUT = 3.0  # seconds for each request of the checks at start: one try, no retries
SETTLE_SECONDS = 2.0  # how long a server may take to list a request it proxied, or to complete it
WINDOW_MARK = "@"  # a test's id on a one-recording server: <recording session id>@<start, epoch ms>
PROBE_SESSION = "pytest-devsession probe (deleted again)"
TOKEN_WHERE = ("NectoProxy makes a new token at every start and prints it only inside its Web UI line "
               "(`Web UI: http://localhost:8889/?token=...`)")
_BACKGROUND = [re.compile(p, re.IGNORECASE) for p in DEFAULT_BACKGROUND_HOSTS]


def is_window(session_id: str) -> bool:
    """A test's capture on a one-recording server (no session of its own on the server)."""
    return WINDOW_MARK in session_id


def _usage(setting: str, message: str) -> pytest.UsageError:
    return pytest.UsageError(f"pytest-devsession: {setting}: {message}")


def _background(host: str) -> bool:
    return any(p.fullmatch(host or "") for p in _BACKGROUND)


def _empty_har(name: str) -> dict:
    return {"log": {"version": "1.2", "creator": {"name": "pytest-devsession", "version": "0.1.0"},
                    "pages": [], "entries": [], "comment": f"{name}: no request in this test's time window"}}


class ExternalServer:
    """What the capture server at ``api_url`` does, found once, and how a test's HAR is cut from it.

    ``client`` is the backend's client of that server's API.
    """

    def __init__(self, api_url: str, proxy_url: str | None, token: str, client: Client) -> None:
        self.api_url = api_url
        self.proxy_url = proxy_url
        self.client = client
        self._token = token
        self.recording: dict | None = None  # the session a one-recording server puts everything into
        self.found: dict[str, tuple[bool, bool]] = {}  # session id -> (isActive, isRecording) as found
        self.created: list[str] = []  # sessions of ours, deleted at the end
        self.changed = False  # flags of the user's sessions may differ from how we found them
        self.has_listing = True  # NectoProxy's GET /api/traffic
        self.claimed: set[str] = set()  # entries already in an earlier test's HAR
        self.ca_cert_path: str | None = None
        self._ca_dir: Path | None = None
        self.opened = False

    # start ---------------------------------------------------------------------
    def open(self, workers: int) -> None:
        """Check the API, token and proxy, find where traffic goes, fetch the CA. Raises pytest.UsageError."""
        if self.opened:
            return
        if not self.proxy_url:
            raise _usage("--devsession-local-proxy", "--devsession-local-url needs the proxy of that capture "
                         "server too: --devsession-local-proxy URL (env DEVSESSION_LOCAL_PROXY); without it the "
                         "tests' traffic would go around the capture")
        sessions = self._first_contact()
        self.found = {s["id"]: (bool(s.get("isActive")), bool(s.get("isRecording"))) for s in sessions}
        self._fetch_ca()
        try:
            landed = self._probe()
        except BackendError as exc:
            raise _usage("--devsession-local-url", f"the capture server at {self.api_url} failed a request while "
                                                   f"it was probed: {exc}") from None
        finally:
            self._report(self.restore())
        if landed is None:
            raise _usage("--devsession-local-url", f"the capture server at {self.api_url} recorded no request sent "
                         f"through its proxy {self.proxy_url} (a marked probe request reached no session). "
                         "NectoProxy drops all traffic once the session it records into was deleted: restart it")
        if workers > 1:
            why = (f"it records all traffic into one session ({self.recording['name']!r}), so the traffic of "
                   "concurrent tests cannot be told apart in one recording" if self.recording else
                   "it keeps one session active at a time for all traffic through its proxy, so concurrent "
                   "tests would record into each other's sessions")
            raise _usage("-n", f"{workers} xdist workers share the capture server at {self.api_url}: {why}. "
                               "Run without -n (or -n 1), or use the embedded server (one per worker) by leaving "
                               "out --devsession-local-url")
        self.opened = True

    def _check(self, path: str):
        """One try with a short timeout: a dead server costs seconds once, not retries per test."""
        return self.client.request("GET", path, action="check the capture server", retry=NO_RETRY,
                                   timeout=CHECK_TIMEOUT)

    def _first_contact(self) -> list[dict]:
        url = f"{self.api_url}/api/sessions"
        try:
            response = self._check("/api/sessions")
        except BackendError as exc:
            if exc.status is None:
                raise _usage("--devsession-local-url", f"nothing answers at {self.api_url} ({exc.words}): "
                                                       "is the capture server running, and is that its API's "
                                                       "address?") from None
            if exc.status == 401:
                told = (f"refused the API token in {TOKEN_ENV}" if self._token else
                        f"needs an API token: set {TOKEN_ENV}")
                raise _usage(TOKEN_ENV, f"the capture server at {self.api_url} {told} "
                                        f"(HTTP 401: {exc.words}). {TOKEN_WHERE}; copy it from there") from None
            raise _usage("--devsession-local-url", f"GET {url} answered HTTP {exc.status}: {exc.words}") from None
        try:
            sessions = response.json()["sessions"]
            valid = isinstance(sessions, list) and all(isinstance(s, dict) and "id" in s for s in sessions)
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            text = " ".join(response.text.split())[:200]
            words = text.replace(self._token, "***") if self._token else text
            raise _usage("--devsession-local-url", f"{self.api_url} does not answer like NectoProxy's Sessions "
                                                   f"API: GET /api/sessions gave {words!r}")
        return sessions

    def _fetch_ca(self) -> None:
        """The server's CA, for ``devsession.ca_cert_path`` (NectoProxy serves it without a token)."""
        url = f"{self.api_url}/api/certificates/ca"
        try:
            response = self._check("/api/certificates/ca")
            found = response.content.lstrip().startswith(b"-----BEGIN CERTIFICATE-----")
        except BackendError:
            found = False
        if not found:
            sys.stderr.write(f"pytest-devsession: no CA certificate at {url}: devsession.ca_cert_path is None, "
                             "and HTTPS through the capture fails certificate checks unless you trust the "
                             "server's CA yourself\n")
            return
        self._ca_dir = Path(tempfile.mkdtemp(prefix="devsession-capture-ca-"))
        path = self._ca_dir / "capture-ca.pem"
        path.write_bytes(response.content)
        self.ca_cert_path = str(path)

    def _probe(self) -> str | None:
        """Send a marked request through the proxy while a probe session is active; where did it land?"""
        action = "probe the capture server"
        probe = self.client.json("POST", "/api/sessions", action=action, json={"name": PROBE_SESSION})
        self.created.append(probe["id"])
        self.changed = True
        self.client.request("POST", f"/api/sessions/{probe['id']}/activate", action=action)
        marker = f"devsession-probe-{uuid.uuid4().hex}"
        target = f"{self.api_url}/api/health?{marker}"
        try:
            response = requests.get(target, proxies={"http": self.proxy_url, "https": self.proxy_url},
                                    verify=self.ca_cert_path or True, timeout=CHECK_TIMEOUT)
            if response.status_code >= 400:
                raise requests.RequestException(f"HTTP {response.status_code}")
        except requests.RequestException as exc:
            raise _usage("--devsession-local-proxy", f"the proxy {self.proxy_url} did not pass a request on to "
                                                     f"{self.api_url}/api/health ({type(exc).__name__}: "
                                                     f"{str(exc)[:200]}): is it the proxy of that capture "
                                                     "server?") from None
        # The server may list a request it proxied a moment later.
        landed = wait_for(lambda: self._find(marker, probe["id"]), lambda found: found is not None,
                          deadline=time.monotonic() + SETTLE_SECONDS, action=action, settle=True,
                          sleep=self.client.sleep)
        if landed is None:
            return None
        session_id, entry_ids = landed
        if session_id != probe["id"]:
            listed = {s["id"]: s for s in self.client.json("GET", "/api/sessions", action=action)["sessions"]}
            self.recording = {"id": session_id, "name": listed.get(session_id, {}).get("name", session_id)}
            for entry_id in entry_ids:  # the user's recording gets no entry of ours
                try:
                    self.client.request("DELETE", f"/api/traffic/{entry_id}", action=action)
                except BackendError:
                    pass
        return session_id

    def _find(self, marker: str, probe_id: str) -> tuple[str, list[str]] | None:
        """The session holding the request whose URL has ``marker``, and its entry ids."""
        if self.has_listing:
            try:
                entries = self.client.json("GET", "/api/traffic", action="find the probe request",
                                           params={"search": marker, "limit": 10})["entries"]
            except BackendError as exc:
                if exc.status not in (404, 405):
                    raise
                self.has_listing = False
            else:
                return (entries[0]["sessionId"], [e["id"] for e in entries]) if entries else None
        # No listing: look through HAR exports, the probe session first.
        for session_id in [probe_id, *self.found]:
            har = self.client.json("GET", f"/api/har/export/{session_id}", action="find the probe request")
            if any(marker in e["request"]["url"] for e in har["log"]["entries"]):
                return session_id, []
        return None

    # per test ------------------------------------------------------------------
    def own(self, session_id: str) -> None:
        """A session we created and activated for a test: deleted, and the flags put back, at the end."""
        self.created.append(session_id)
        self.changed = True

    def window_id(self, started: float) -> str:
        return f"{self.recording['id']}{WINDOW_MARK}{math.floor(started * 1000)}"

    def window_har(self, started: float, stopped: float, name: str) -> dict:
        """The recording session's entries in [started, stopped] (epoch seconds), oldest first, as the server's HAR."""
        first, last = math.floor(started * 1000), math.ceil(stopped * 1000)  # entries carry epoch ms
        if self.has_listing:
            # Requests still in flight when the test stopped complete a moment later; after that, take what is there.
            chosen = wait_for(lambda: [e for e in self._since(first) if e["timestamp"] <= last
                                       and e["id"] not in self.claimed and not _background(e.get("host", ""))],
                              lambda entries: all(e.get("isComplete", True) for e in entries),
                              deadline=time.monotonic() + SETTLE_SECONDS, action="download har", settle=True,
                              sleep=self.client.sleep)
            if not chosen:
                return _empty_har(name)
            chosen.sort(key=lambda e: e["timestamp"])
            ids = [e["id"] for e in chosen]
            try:
                har = self.client.json("POST", "/api/har/export", action="download har",
                                       json={"entryIds": ids, "sessionName": name})
                self.claimed.update(ids)
                return har
            except BackendError as exc:
                if exc.status not in (404, 405):
                    raise
        # No listing or no export of chosen entries: the whole session, cut here.
        har = self.client.json("GET", f"/api/har/export/{self.recording['id']}", action="download har")
        har["log"]["entries"] = sorted(
            (e for e in har["log"]["entries"] if first <= _epoch_ms(e) <= last
             and not _background(urlsplit(e["request"]["url"]).hostname or "")), key=_epoch_ms)
        return har

    def _since(self, first: int) -> list[dict]:
        """The recording session's entries from epoch ms ``first`` on: newest first, a page at a time."""
        entries: list[dict] = []
        limit, offset = 20, 0
        while True:
            page = self.client.json("GET", "/api/traffic", action="list traffic", params={
                "sessionId": self.recording["id"], "sortField": "timestamp", "sortDirection": "desc",
                "limit": limit, "offset": offset})["entries"]
            entries += [e for e in page if e["timestamp"] >= first]
            if len(page) < limit or page[-1]["timestamp"] < first:
                return entries
            offset += limit
            limit *= 2

    def session_url(self) -> str | None:
        # The token never goes into a link: the reader adds their own.
        return f"{self.api_url}/api/sessions/{self.recording['id']}?token=" if self.recording else None

    # end -----------------------------------------------------------------------
    def restore(self) -> list[str]:
        """Delete the sessions we made and give the user's sessions their flags back; returns problems."""
        if not self.changed:
            return []
        problems = []
        recording = self.recording["id"] if self.recording else None
        for session_id in self.created:
            if session_id == recording:  # NectoProxy would drop all traffic until restart
                continue
            try:
                self.client.request("DELETE", f"/api/sessions/{session_id}", action="delete a session of ours")
            except BackendError as exc:
                if exc.status != 404:
                    problems.append(str(exc))
        self.created.clear()
        try:
            now = {s["id"]: (bool(s.get("isActive")), bool(s.get("isRecording")))
                   for s in self.client.json("GET", "/api/sessions", action="restore the sessions")["sessions"]}
            # Deactivate first: on a server with one active session, activating deactivates the rest.
            changes = sorted(((sid, flags) for sid, flags in self.found.items() if sid in now and now[sid] != flags),
                             key=lambda change: change[1][0])
            for session_id, (active, recording_flag) in changes:
                self.client.request("PATCH", f"/api/sessions/{session_id}", action="restore the sessions",
                                    retry=REPEATABLE, json={"isActive": active, "isRecording": recording_flag})
        except BackendError as exc:
            problems.append(str(exc))
        self.changed = bool(problems)
        return problems

    def _report(self, problems: list[str]) -> None:
        # At the very start or end of a run there is no test to hang a problem on.
        for problem in problems:
            sys.stderr.write(f"pytest-devsession: could not leave the capture server at {self.api_url} as found: "
                             f"{problem}\n")

    def close(self) -> None:
        self._report(self.restore())
        if self._ca_dir is not None:
            shutil.rmtree(self._ca_dir, ignore_errors=True)
            self._ca_dir = None


def _epoch_ms(entry: dict) -> int:
    from datetime import datetime

    try:
        return math.floor(datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00")).timestamp() * 1000)
    except (KeyError, ValueError, AttributeError):
        return 0
