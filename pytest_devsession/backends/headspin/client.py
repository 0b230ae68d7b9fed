"""One HTTP client for the HeadSpin API: auth header, timeouts, retries, errors.

Idempotent requests are retried by urllib3 (connection errors, 429 and 5xx,
honouring Retry-After); a request that creates something is sent once.
The token only ever travels in the Authorization header.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..base import AuthenticationError, BackendError

RETRY_STATUSES = (429, 500, 502, 503, 504)


def _retry(total: int, idempotent: bool) -> Retry:
    if not idempotent:
        # Safe for any request: a connection never made, or a 429 (the server did nothing).
        return Retry(total=total, connect=total, read=0, other=0, status=total, status_forcelist=(429,),
                     allowed_methods=None, backoff_factor=0.3, backoff_max=10, backoff_jitter=0.2,
                     respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False)
    return Retry(
        total=total, connect=total, read=total, status=total,
        backoff_factor=0.3, backoff_max=10, backoff_jitter=0.2,
        status_forcelist=RETRY_STATUSES, allowed_methods=None,  # the caller decides what is idempotent
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
    )


def _session(token: str, retries: int, idempotent: bool = True) -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # a proxy from the environment must not see our token
    http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json",
                         "User-Agent": "pytest-devsession"})
    adapter = HTTPAdapter(max_retries=_retry(retries, idempotent))
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


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


class Client:
    def __init__(self, base_url: str, token: str, timeout: float = 30.0, retries: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(10.0, timeout), timeout)
        self._retrying = _session(token, retries)
        self._once = _session(token, retries, idempotent=False)
        self._poll = _session(token, 0)

    def close(self) -> None:
        self._retrying.close()
        self._once.close()
        self._poll.close()

    def request(self, method: str, path: str, *, action: str, idempotent: bool = True,
                expect_json: bool = True, ok: Callable[[int], bool] = lambda s: 200 <= s < 300,
                **kwargs):
        http = self._retrying if idempotent else self._once
        try:
            response = http.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise BackendError(f"cannot reach {self.base_url}: {type(exc).__name__}", action=action) from None
        return self.check(response, action=action, expect_json=expect_json, ok=ok)

    def check(self, response: requests.Response, *, action: str, expect_json: bool = True,
              ok: Callable[[int], bool] = lambda s: 200 <= s < 300):
        if response.status_code == 401:
            raise AuthenticationError(
                f"HeadSpin refused the API token in HEADSPIN_API_TOKEN: {server_words(response)}",
                status=401, action=action)
        if not ok(response.status_code):
            raise BackendError(server_words(response), status=response.status_code, action=action)
        if not expect_json:
            return response
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown content")
            raise BackendError(
                f"expected JSON from {self.base_url}, got {kind}; is --devsession-api-url right?",
                status=response.status_code, action=action) from None

    def poll(self, path: str, *, action: str, done: Callable[[dict], bool], deadline: float,
             sleep: Callable[[float], None] = time.sleep) -> dict:
        """GET ``path`` until ``done(body)`` on HTTP 200.

        Connection errors, 404 and 5xx are the device leaving the network while
        capture is set up or torn down (HeadSpin's Session API documentation): they are waited out, not raised.
        """
        interval, last = 0.05, "no answer yet"
        while True:
            try:
                response = self._poll.get(self.base_url + path, timeout=self.timeout)
            except requests.RequestException as exc:
                last = type(exc).__name__
            else:
                if response.status_code == 200:
                    body = self.check(response, action=action)
                    if isinstance(body, dict) and done(body):
                        return body
                    last = "not yet"
                elif response.status_code == 404 or response.status_code >= 500 or response.status_code == 429:
                    last = f"HTTP {response.status_code}"
                else:
                    self.check(response, action=action)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BackendError(f"gave up waiting (last answer: {last})", action=action)
            sleep(min(interval, remaining))
            interval = min(interval * 1.6, 2.0)
