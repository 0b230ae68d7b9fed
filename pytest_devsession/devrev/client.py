"""The client of DevRev's observability API (beta routes), on our one HTTP client.

Every request carries ``Authorization: Bearer <DEVREV_TOKEN>``, ``Content-Type: application/json``
and ``X-Devrev-Scope: beta`` (the observability routes are published under the beta reference).
DevRev's errors are ``{"type", "message", "detail"}``: they become a ``BackendError`` whose words
are DevRev's own (``message: detail (type)``); 401 and 403 are an ``AuthenticationError``. A 429 is
waited out (``Retry-After``, else the body's ``retry_after`` seconds) and sent again; 500, 502, 503,
504 and no answer are sent again after a backoff; any other error is raised at once. The routes
used are reads, so sending one twice is harmless even for a POST.

``version_key`` in DevRev's requests is the app's App ID (the SDK's ``appId``).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from ..backends.base import AuthenticationError, BackendError
from ..http.client import Client, Retry, _retry_after

TOKEN_ENV = "DEVREV_TOKEN"
APP_OPTION = "--devsession-devrev-app"
API_URL_OPTION = "--devsession-devrev-api-url"
DEFAULT_API_URL = "https://api.devrev.ai"
LIST = "/observability.sessions.list"
GET = "/observability.sessions.get"
DATA = "/observability.sessions.data.get"
# Pages of sessions.list read at most in one call (a window of a test holds few sessions).
MAX_PAGES = 40
# Statuses that mean "not now": waited out and sent again.
AGAIN = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class DevRevRetry(Retry):
    """``Retry`` for DevRev: only 429, 500, 502, 503, 504 and no answer are sent again."""

    def wait(self, retry: int, error: BackendError, sent: bool) -> float | None:
        if error.status is not None and error.status not in AGAIN:
            return None
        return super().wait(retry, error, sent)


RETRY = DevRevRetry(retries=4, resend=True, backoff=0.5, backoff_max=8.0, jitter=0.2)


def devrev_words(response: requests.Response) -> tuple[str, float | None]:
    """DevRev's own words for an error answer, and the body's ``retry_after`` (seconds) if any."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return text or response.reason or f"HTTP {response.status_code}", None
    if not isinstance(body, dict):
        return json.dumps(body)[:200], None
    message = str(body.get("message") or "").strip()
    detail = str(body.get("detail") or "").strip()
    kind = str(body.get("type") or "").strip()
    words = message or detail or kind or json.dumps(body)[:200]
    if message and detail and detail != message:
        words = f"{message}: {detail}"
    if kind and kind not in words:
        words = f"{words} ({kind})"
    after = body.get("retry_after")
    return words, float(after) if isinstance(after, (int, float)) and after >= 0 else None


def _refused(words: str) -> str:
    return f"DevRev refused the token in {TOKEN_ENV}: {words}"


class DevRevClient(Client):
    """DevRev's observability routes for one app (``app_id``, its App ID)."""

    def __init__(self, api_url: str, token: str, app_id: str, *, sleep: Callable[[float], None] = time.sleep,
                 timeout: float = 30.0) -> None:
        super().__init__(api_url or DEFAULT_API_URL, token, timeout=timeout, refused=_refused,
                         hint=f"is {API_URL_OPTION} right?", sleep=sleep)
        self.app_id = app_id
        self.http.headers["Content-Type"] = "application/json"
        self.http.headers["X-Devrev-Scope"] = "beta"

    def scrub(self, text: str) -> str:
        """``text`` without the token."""
        return self._scrub(text)

    def _refusal(self, response: requests.Response, action: str, request: str) -> BackendError:
        words, body_after = devrev_words(response)
        words = self._scrub(words)
        found = {"status": response.status_code, "action": action, "words": words, "request": request,
                 "request_id": self._request_id(response)}
        if response.status_code in (401, 403):
            return AuthenticationError(_refused(words), **found)
        after = _retry_after(response)
        return BackendError(words, retry_after=body_after if after is None else after, **found)

    # routes --------------------------------------------------------------------------
    def check(self, platform: str = "android") -> None:
        """Once before the first test: the token and the app are known to DevRev.

        A 401 or 403 raises ``AuthenticationError`` naming DEVREV_TOKEN. An unknown app is a 404
        (or a 400, DevRev refusing the ``version_key``): a ``BackendError`` naming
        ``--devsession-devrev-app``. An empty list is accepted: an app that has recorded no session
        yet answers so too, and cannot be told from an unknown one by its answer.
        """
        action = "check the DevRev token and app"
        try:
            self.json("POST", LIST, action=action, retry=RETRY, json=self._list_body(platform, None, None, None, 1))
        except AuthenticationError as exc:
            raise AuthenticationError(f"DevRev refused the token in {TOKEN_ENV} (HTTP {exc.status}): {exc.words}",
                                      status=exc.status, action=action, words=exc.words, request=exc.request,
                                      request_id=exc.request_id) from None
        except BackendError as exc:
            if exc.status not in (400, 404):
                raise
            raise BackendError(f"DevRev does not know the app {self.app_id!r} ({APP_OPTION}, its App ID): "
                               f"{exc.words}", status=exc.status, action=action, words=exc.words,
                               request=exc.request, request_id=exc.request_id) from None

    def _list_body(self, platform: str, created_after: str | None, created_before: str | None,
                   device_model: str | None, limit: int) -> dict:
        body: dict = {"type": "web" if platform == "web" else "mobile", "platform": platform,
                      "version_key": self.app_id, "limit": limit}
        if created_after or created_before:
            body["created_at"] = {"type": "range", **({"after": created_after} if created_after else {}),
                                  **({"before": created_before} if created_before else {})}
        if device_model:
            body["device_model"] = [device_model]
        return body

    def list_sessions(self, platform: str, created_after: str | None, created_before: str | None,
                      device_model: str | None = None, limit: int = 50) -> list[dict]:
        """Every session of the app created in the range (ISO 8601 times), page after page (``next_cursor``)."""
        body = self._list_body(platform, created_after, created_before, device_model, limit)
        sessions: list[dict] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            answer = self.json("POST", LIST, action="list the app's DevRev sessions", retry=RETRY, json=body)
            page = answer.get("sessions") if isinstance(answer, dict) else None
            for session in page or ():
                if isinstance(session, dict) and session.get("session_id") not in seen:
                    seen.add(session.get("session_id"))
                    sessions.append(session)
            cursor = answer.get("next_cursor") if isinstance(answer, dict) else None
            if not page or not cursor or cursor == body.get("cursor"):
                break
            body = {**body, "cursor": cursor, "mode": "after"}
        return sessions

    def get_session(self, platform: str, session_id: str) -> dict:
        """One session (``recording_ids``, ``created_at``, ``device_metadata``, ``session_duration_ms``...)."""
        answer = self.json("GET", GET, action=f"read DevRev session {session_id}", retry=RETRY,
                           params={"platform": platform, "session_id": session_id, "version_key": self.app_id})
        session = answer.get("session") if isinstance(answer, dict) else None
        if not isinstance(session, dict):
            raise BackendError(f"DevRev's answer holds no session {session_id}", status=200,
                               action=f"read DevRev session {session_id}", request=f"GET {urlsplit(self.base_url).path}{GET}")
        return session

    def recording_data(self, session_id: str, recording_id: str, *, web: bool = False) -> dict:
        """A recording's data (``app_launch``, RAM, log data, timeline, ``video_playback_data``); for a
        web session ``recording_id`` is the tab's id."""
        body = {"session_id": session_id, "version_key": self.app_id,
                ("tab_id" if web else "recording_id"): recording_id}
        answer = self.json("POST", DATA, action=f"read recording {recording_id} of DevRev session {session_id}",
                           retry=RETRY, json=body)
        if not isinstance(answer, dict):
            raise BackendError("DevRev's recording data is not an object", status=200,
                               action=f"read recording {recording_id}", request=f"POST {urlsplit(self.base_url).path}{DATA}")
        return answer
