"""One HTTP client for every service: bearer token, timeouts, retry policies, polling, one error type.

Every failure becomes a ``BackendError`` that keeps the status, the server's own words, the
request id and ``"METHOD /path"``; a ``Retry`` policy decides from that error whether the request
is sent again and after how long. The token only travels in the Authorization header and is
scrubbed from anything the server says back.
"""
from __future__ import annotations

import email.utils
import http.client
import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError, ProtocolError

from ..backends.base import AuthenticationError, BackendError

T = TypeVar("T")

# Safe to send twice by their HTTP meaning (RFC 9110, 9.2.2). Anything else is sent once
# unless the caller passes ``retry=REPEATABLE`` (a POST or PATCH that only sets a state).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Headers in which servers (and the gateways in front of them) name a request.
REQUEST_ID_HEADERS = ("X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Amzn-RequestId")


class Transfers:
    """The downloads under way in this process, for a progress line: bytes left where their size is known."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, list] = {}  # token -> [size or None, bytes received]
        self._tokens = itertools.count()
        self.received = 0  # bytes, every download of the process

    def begin(self, size: int | None) -> int:
        token = next(self._tokens)
        with self._lock:
            self._active[token] = [size, 0]
        return token

    def add(self, token: int, count: int) -> None:
        with self._lock:
            self._active[token][1] += count
            self.received += count

    def end(self, token: int) -> None:
        with self._lock:
            self._active.pop(token, None)

    def left(self) -> tuple[int, int, int]:
        """(downloads under way, bytes left of those whose size is known, how many have no known size)."""
        with self._lock:
            active = list(self._active.values())
        return (len(active), sum(max(size - got, 0) for size, got in active if size is not None),
                sum(1 for size, _ in active if size is None))


TRANSFERS = Transfers()


@dataclass(frozen=True)
class Retry:
    """Whether a failed request is sent again, and after how long.

    ``retries``: sends after the first. ``resend``: the request is safe to repeat, so it is sent
    again after a 5xx and after a failure that may have reached the server (a read timeout, a
    connection dropped after sending). Without it, a request goes again only when it never left
    (no connection was made) or on 429 (the server did nothing). Waits double from ``backoff``
    (at most ``backoff_max``, plus up to ``jitter``); a ``Retry-After`` is honoured as given, but
    one longer than ``retry_after_max`` gives up at once rather than hold the run.
    """

    retries: int = 3
    resend: bool = True
    backoff: float = 0.2
    backoff_max: float = 10.0
    jitter: float = 0.2
    retry_after_max: float = 120.0

    def wait(self, retry: int, error: BackendError, sent: bool) -> float | None:
        """Seconds to wait before retry number ``retry`` (1, 2, ...) after ``error``; None: give up."""
        if retry > self.retries or isinstance(error, AuthenticationError):
            return None
        if error.status is None:
            if sent and not self.resend:
                return None
        elif error.status != 429 and not (self.resend and error.temporary):
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.retry_after_max else None
        return min(self.backoff_max, self.backoff * 2 ** (retry - 1)) + random.uniform(0, self.jitter)


REPEATABLE = Retry()
SEND_ONCE = Retry(resend=False)
NO_RETRY = Retry(retries=0)

# Readiness and completion must be noticed within 100 ms (median) of happening. A poll sees a
# change half an interval late on average, plus the answer's way back, so the interval from one
# poll's start to the next never exceeds 100 ms (it used to grow to 2 s, and readiness was noticed
# ~230 ms late). The round trip is part of the interval, not added to it; ten small GETs a second
# at most, one at a time, is not hammering a service.
POLL_INTERVAL_MAX = 0.1
# When the caller knows about when the answer should change (a device took that long last time),
# polls from a little before that moment on follow one another closely: about one request in
# flight at a time, for a short while, instead of ten a second all along.
DENSE_INTERVAL = 0.03
EXPECT_LEAD = 0.15


@dataclass(frozen=True)
class Backoff:
    """Intervals between the starts of polls: ``first``, growing by ``factor`` up to ``most``."""

    first: float = 0.025
    factor: float = 1.5
    most: float = POLL_INTERVAL_MAX

    def intervals(self) -> Iterator[float]:
        interval = self.first
        while True:
            yield min(interval, self.most)
            interval *= self.factor


POLLING = Backoff()


def wait_for(fetch: Callable[[], T], done: Callable[[T], bool], *, deadline: float, action: str,
             pending: str = "not yet", absent_is_pending: bool = True, settle: bool = False,
             backoff: Backoff = POLLING, sleep: Callable[[float], None] = time.sleep,
             expected: float | None = None) -> T:
    """Call ``fetch`` until ``done(value)``, and return that value.

    A failure that means "not now" (no answer, 429, 5xx, and 404 unless ``absent_is_pending`` is
    False: a HeadSpin device leaves the network for a moment while its capture is set up or torn
    down, and a session's timestamps are 404 until it started) is waited out like a value that is
    not done; a ``Retry-After`` lengthens the wait. Any other error is raised at once. At
    ``deadline`` (``time.monotonic()``) a BackendError names the last answer; with ``settle`` the
    last value fetched is returned instead (the last error raised if no fetch succeeded).
    ``expected`` (``time.monotonic()``): about when the value should be done; from ``EXPECT_LEAD``
    before it, polls are ``DENSE_INTERVAL`` apart.
    """
    value: T | None = None
    fetched, last_error, last = False, None, "no answer yet"
    for interval in backoff.intervals():
        began = time.monotonic()
        try:
            candidate = fetch()
        except BackendError as exc:
            if not _not_now(exc, absent_is_pending):
                raise
            last_error, last = exc, _answer(exc)
            if exc.retry_after is not None:  # the server asked for it, counted from its answer
                began, interval = time.monotonic(), max(interval, exc.retry_after)
        else:
            if done(candidate):
                return candidate
            value, fetched, last = candidate, True, pending
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if settle and fetched:
                return value  # type: ignore[return-value]
            if settle and last_error is not None:
                raise last_error
            raise BackendError(f"gave up waiting (last answer: {last})", action=action)
        if expected is not None and time.monotonic() >= expected - EXPECT_LEAD:
            interval = min(interval, DENSE_INTERVAL)
        sleep(max(0.0, min(began + interval - time.monotonic(), remaining)))
    raise AssertionError("unreachable: intervals never end")


def _not_now(exc: BackendError, absent_is_pending: bool) -> bool:
    if isinstance(exc, AuthenticationError) or exc.request is None:
        return False  # refused for good, or not an HTTP failure
    return exc.temporary or (absent_is_pending and exc.status == 404)


def _answer(exc: BackendError) -> str:
    words = exc.words if len(exc.words) <= 100 else exc.words[:99] + "…"
    return words if exc.status is None else f"HTTP {exc.status}: {words}"


def server_words(response: requests.Response) -> str:
    """The server's own message, whatever the shape of its error body."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:200] or response.reason or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("status", "message", "msg", "error", "detail"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return json.dumps(body)[:200]


def _retry_after(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds: a number, or an HTTP date (RFC 9110, 10.2.3)."""
    raw = (response.headers.get("Retry-After") or "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _never_connected(exc: requests.RequestException) -> bool:
    """The request never left: no connection was made (refused, no route, name unknown, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    return isinstance(getattr(cause, "reason", cause), NewConnectionError)


def _what_happened(exc: requests.RequestException, timeout: tuple[float, float]) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"timed out after {timeout[1]:g} s"
    cause = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", None) or cause  # urllib3's MaxRetryError
    if isinstance(cause, ProtocolError) and len(cause.args) > 1:
        cause = cause.args[1]
    if isinstance(cause, http.client.RemoteDisconnected):
        return "the connection was closed"
    for candidate in (getattr(cause, "__context__", None), cause):
        if isinstance(candidate, OSError) and candidate.strerror:
            return candidate.strerror
    return type(exc).__name__


class Client:
    """Requests to one service at ``base_url``, with ``token`` as a bearer token.

    ``refused(words)`` makes the message of a 401 (an ``AuthenticationError``); ``hint`` follows
    "expected JSON" when an answer is not JSON; ``sleep`` is every wait (retries and polls).
    """

    def __init__(self, base_url: str, token: str = "", *, timeout: float = 30.0,
                 refused: Callable[[str], str] | None = None, hint: str = "",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(10.0, timeout), timeout)  # (connect, read)
        self.sleep = sleep
        self._token = token
        self._refused = refused or (lambda words: f"{self.base_url} refused the API token: {words}")
        self._hint = hint
        self.http = requests.Session()
        self.http.trust_env = False  # a proxy from the environment must not see our token
        self.http.headers["User-Agent"] = "pytest-devsession"
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.http.close()

    # requests ------------------------------------------------------------------
    def request(self, method: str, path: str, *, action: str, retry: Retry | None = None,
                timeout: float | None = None, **kwargs) -> requests.Response:
        """Send ``method path`` until it is answered 2xx or ``retry`` gives up (then a BackendError).

        ``retry`` defaults to REPEATABLE for methods safe to repeat, SEND_ONCE for the others;
        ``timeout`` (seconds) replaces the client's for this request; ``kwargs`` go to requests.
        """
        return self._send(method, path, action, retry, timeout, kwargs, lambda response: response)

    def json(self, method: str, path: str, *, action: str, retry: Retry | None = None,
             timeout: float | None = None, **kwargs):
        """``request``, and the answer's JSON body."""
        kwargs["headers"] = {"Accept": "application/json", **(kwargs.get("headers") or {})}
        return self._send(method, path, action, retry, timeout, kwargs,
                          lambda response: self._body(response, action))

    def download(self, path: str, dest: Path, *, action: str, retry: Retry | None = None) -> int:
        """GET ``path`` into the file ``dest``; its size in bytes.

        A body cut short (the connection dropped, fewer bytes than its Content-Length) is a
        failure like any other: ``retry`` (REPEATABLE) decides, and the file is written afresh.
        """
        def save(response: requests.Response) -> int:
            size = 0
            expected = response.headers.get("Content-Length")
            token = TRANSFERS.begin(int(expected) if expected is not None and expected.isdigit() else None)
            try:
                with response, open(dest, "wb") as out:
                    for chunk in response.iter_content(64 * 1024):
                        out.write(chunk)
                        size += len(chunk)
                        TRANSFERS.add(token, len(chunk))
            except requests.RequestException as exc:
                raise self._error(f"the download was cut short after {size} bytes ({type(exc).__name__})",
                                  action, response) from None
            finally:
                TRANSFERS.end(token)
            if (expected is not None and expected.isdigit() and int(expected) != size
                    and "Content-Encoding" not in response.headers):
                raise self._error(f"the download was cut short ({size} of {expected} bytes)", action, response)
            return size

        return self._send("GET", path, action, retry, None, {"stream": True}, save)

    def poll(self, path: str, *, action: str, done: Callable[[dict], bool], deadline: float,
             pending: str = "not yet", absent_is_pending: bool = True, expected: float | None = None,
             **kwargs) -> dict:
        """GET ``path`` until its JSON object satisfies ``done``, and return it (see ``wait_for``)."""
        return wait_for(lambda: self.json("GET", path, action=action, retry=NO_RETRY, **kwargs),
                        lambda body: isinstance(body, dict) and done(body), deadline=deadline, action=action,
                        pending=pending, absent_is_pending=absent_is_pending, sleep=self.sleep, expected=expected)

    # the loop ----------------------------------------------------------------------
    def _send(self, method: str, path: str, action: str, retry: Retry | None, timeout: float | None,
              kwargs: dict, read: Callable[[requests.Response], T]) -> T:
        method = method.upper()
        policy = retry or (REPEATABLE if method in SAFE_METHODS else SEND_ONCE)
        url = self.base_url + path
        request = f"{method} {urlsplit(url).path}"
        limits = self.timeout if timeout is None else (min(self.timeout[0], timeout), timeout)
        for attempt in itertools.count(1):
            sent = True
            try:
                response = self.http.request(method, url, timeout=limits, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                sent = not _never_connected(exc)
                words = _what_happened(exc, limits)
                where = f"cannot reach {self.base_url}" if not sent else f"no answer from {self.base_url}"
                error = BackendError(f"{where}: {words}", action=action, words=words, request=request)
            except requests.RequestException as exc:  # a request no try can send (a malformed URL)
                raise BackendError(f"cannot send {request} to {self.base_url}: {type(exc).__name__}",
                                   action=action, request=request) from None
            else:
                if 200 <= response.status_code < 300:
                    try:
                        return read(response)
                    except BackendError as exc:
                        if exc.status is not None:  # an answer that is not what was asked for
                            raise
                        error = exc  # the answer was cut short: it may go better next time
                else:
                    error = self._refusal(response, action, request)
                    response.close()
            pause = policy.wait(attempt, error, sent)
            if pause is None:
                raise error
            self.sleep(pause)
        raise AssertionError("unreachable: attempts never end")

    # errors ------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _request_id(self, response: requests.Response) -> str | None:
        found = next((response.headers[h] for h in REQUEST_ID_HEADERS if response.headers.get(h)), None)
        return self._scrub(found)[:200] if found else None

    def _refusal(self, response: requests.Response, action: str, request: str) -> BackendError:
        words = self._scrub(server_words(response))
        found = {"status": response.status_code, "action": action, "words": words, "request": request,
                 "request_id": self._request_id(response)}
        if response.status_code == 401:
            return AuthenticationError(self._refused(words), **found)
        return BackendError(words, retry_after=_retry_after(response), **found)

    def _error(self, message: str, action: str, response: requests.Response,
               status: int | None = None) -> BackendError:
        request = f"{response.request.method} {urlsplit(response.request.url).path}"
        return BackendError(message, status=status, action=action, request=request,
                            request_id=self._request_id(response))

    def _body(self, response: requests.Response, action: str):
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown content")
            hint = f"; {self._hint}" if self._hint else ""
            raise self._error(f"expected JSON from {self.base_url}, got {kind}{hint}", action, response,
                              response.status_code) from None
