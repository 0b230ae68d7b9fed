"""DevRev tied to the run: checked once before the first test, then per captured test, on the
engine's background pool, the app session found and its evidence put into the test's record.

What a test gets (``record.app_session`` and the files and measurements of its record):
``session.devrev.json`` (the recording data as received), ``session.devrev.mp4`` (its frames),
``session.devrev.log`` (a crash or ANR log), the measurements of type ``DevRev`` (uploaded to the
test's user flow like its own), and the crash and ANR flags; a crash or ANR during a passing test
is a problem (the test's outcome stays pytest's). A test with no app session gets nothing, and no
problem.
"""
from __future__ import annotations

import html

import pytest

from ..backends.base import AuthenticationError, BackendError


class DevRevEnricher:
    name = "devrev"

    def __init__(self, *, app_id: str, token: str, api_url: str, platform: str | None, timeout: float) -> None:
        self.app_id, self.api_url, self.platform, self.timeout = app_id, api_url, platform, timeout
        self._token = token
        self.client = None
        self.claims = None

    def begin(self) -> None:
        """Before the first test: the token and the app, once (a usage error names what is wrong)."""
        from .client import DevRevClient
        from .finder import Claims

        self.client = DevRevClient(self.api_url, self._token, self.app_id)
        self.claims = Claims()
        try:
            self.client.check(self.platform or "android")
        except (AuthenticationError, BackendError) as exc:
            raise pytest.UsageError(f"pytest-devsession: DevRev: {self.client.scrub(str(exc))}") from None

    def enrich(self, window, record, folder, upload) -> None:
        """Find the test's app session and put its evidence into ``record`` (raises BackendError)."""
        from .evidence import collect
        from .finder import find_session

        platform = self.platform or (window.platform if window.platform in ("android", "ios") else "android")
        session = find_session(self.client, platform=platform, start=window.start, end=window.end,
                               claims=self.claims, owner=f"{record.nodeid}#{record.attempt}",
                               session_id=window.app_session_id, timeout=self.timeout)
        if session is None:
            return  # the test had no app session: nothing to add, and no problem
        evidence = collect(self.client, session, folder, web=platform == "web")
        record.artifacts.update(evidence.files)
        record.artifact_details.update(evidence.details)
        record.problems.extend(evidence.problems)
        record.app_session = {
            "service": "devrev", "session_id": evidence.session_id, "crash": evidence.crash, "anr": evidence.anr,
            "crash_log": evidence.crash_log, "timeline_html": evidence.timeline_html}
        if evidence.measurements:
            record.measurements.extend(evidence.measurements)
            upload(evidence.measurements)
        if (evidence.crash or evidence.anr) and record.status != "Failed":
            what = "crashed" if evidence.crash else "stopped responding (ANR)"
            first = (evidence.crash_log or "").strip().splitlines()[:1]
            record.problems.append(f"DevRev: the app {what} during the test (app session {evidence.session_id})"
                                   + (f": {first[0][:200]}" if first else ""))

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def timeline_html(record) -> str:
    """The app session's flags and timeline for pytest-html (empty without an app session)."""
    app = getattr(record, "app_session", None) or {}
    if not app:
        return ""
    flags = [name for name in ("crash", "anr") if app.get(name)]
    head = (f"<p class=\"devsession-app\">DevRev app session {html.escape(str(app.get('session_id')))}"
            + (f": <strong>{' and '.join(f.upper() for f in flags)}</strong>" if flags else "") + "</p>")
    log = f"<pre>{html.escape(app['crash_log'])}</pre>" if app.get("crash_log") else ""
    return head + log + (app.get("timeline_html") or "")
