"""A session's network capture: Chromium's own network events turned into HAR 1.2, and the full-HAR ZIP.

``NetworkRecorder`` is fed the performance log chromedriver keeps (``goog:loggingPrefs``
performance: the DevTools ``Network.*`` events of the page) and hands back each request once it
is over, as a ``Exchange``; ``entry`` makes the HAR entry of one, with the timings, status and
headers Chromium measured. ``har_document`` and ``full_har_zip`` package entries the way the
full-HAR route delivers them. No HTTP and no state beyond one recorder per session.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CREATOR = {"name": "pytest-devsession LambdaTest emulator", "version": "1.0"}
BODY_LIMIT = 2 * 1024 * 1024  # bodies up to this size go into the full HAR


@dataclass
class Exchange:
    """One request and its answer, as far as the events told."""

    request_id: str
    url: str
    method: str
    headers: dict
    post_data: str | None
    wall_time: float  # epoch seconds the request was issued
    issued: float  # Chromium's monotonic seconds, same clock as the timings
    resource_type: str = ""
    sent_headers: dict | None = None  # what went on the wire (requestWillBeSentExtraInfo)
    response: dict | None = None
    raw_headers: dict | None = None  # what came off the wire (responseReceivedExtraInfo)
    finished: float | None = None  # monotonic seconds the last byte came
    encoded_length: int = 0
    data_length: int = 0
    error: str | None = None
    body: str | None = None
    body_base64: bool = False
    extra: dict = field(default_factory=dict)


def _events(log_entries: list) -> list:
    """(method, params) of each performance log entry chromedriver returned."""
    events = []
    for item in log_entries:
        try:
            message = json.loads(item["message"])["message"]
            events.append((message["method"], message.get("params") or {}))
        except (KeyError, TypeError, ValueError):
            continue
    return events


class NetworkRecorder:
    """Collects the page's network events; ``feed`` returns the exchanges it saw end."""

    def __init__(self) -> None:
        self._open: dict[str, Exchange] = {}
        self._early: dict[str, dict] = {}  # ExtraInfo events may come before their request's

    def feed(self, log_entries: list) -> list[Exchange]:
        done: list[Exchange] = []
        for method, params in _events(log_entries):
            request_id = params.get("requestId")
            if request_id is None:
                continue
            current = self._open.get(request_id)
            if method == "Network.requestWillBeSent":
                redirect = params.get("redirectResponse")
                if current is not None and redirect is not None:  # the hop before ends here
                    current.response = redirect
                    current.finished = params.get("timestamp")
                    done.append(current)
                    self._open.pop(request_id)
                request = params.get("request") or {}
                url = request.get("url", "")
                if not url.startswith(("http://", "https://")):
                    continue
                exchange = Exchange(request_id, url, request.get("method", "GET"), request.get("headers") or {},
                                    request.get("postData"), params.get("wallTime") or time.time(),
                                    params.get("timestamp") or 0.0, params.get("type", ""))
                early = self._early.pop(request_id, {})
                exchange.sent_headers = early.get("sent")
                exchange.raw_headers = early.get("raw")
                self._open[request_id] = exchange
            elif method in ("Network.requestWillBeSentExtraInfo", "Network.responseReceivedExtraInfo"):
                kind = "sent" if method.endswith("SentExtraInfo") else "raw"
                if current is None:
                    self._early.setdefault(request_id, {})[kind] = params.get("headers")
                elif kind == "sent":
                    current.sent_headers = params.get("headers")
                else:
                    current.raw_headers = params.get("headers")
            elif current is None:
                continue
            elif method == "Network.responseReceived":
                current.response = params.get("response")
                current.resource_type = params.get("type", current.resource_type)
            elif method == "Network.dataReceived":
                current.data_length += int(params.get("dataLength") or 0)
            elif method in ("Network.loadingFinished", "Network.loadingFailed"):
                current.finished = params.get("timestamp")
                if method == "Network.loadingFailed":
                    current.error = params.get("errorText") or "failed"
                else:
                    current.encoded_length = int(params.get("encodedDataLength") or 0)
                done.append(current)
                self._open.pop(request_id)
        return done

    def close(self) -> list[Exchange]:
        """What never ended (the browser went away first), as it stands."""
        left = list(self._open.values())
        self._open.clear()
        self._early.clear()
        return left


def _header_list(headers: dict | None) -> list:
    result = []
    for name, value in (headers or {}).items():
        for part in str(value).split("\n"):
            result.append({"name": name, "value": part})
    return result


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def _timings(exchange: Exchange) -> dict:
    """HAR timings (ms) from Chromium's ResourceTiming: -1 for a phase that did not happen."""
    timing = (exchange.response or {}).get("timing")
    if not timing:
        total = max(0.0, ((exchange.finished or exchange.issued) - exchange.issued) * 1000)
        return {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": round(total, 3),
                "receive": 0}

    def span(start: str, end: str) -> float:
        a, b = timing.get(start, -1), timing.get(end, -1)
        return round(b - a, 3) if a >= 0 and b >= 0 else -1

    request_time = timing.get("requestTime", exchange.issued)
    queued = max(0.0, (request_time - exchange.issued) * 1000)
    first = next((timing[k] for k in ("dnsStart", "connectStart", "sendStart") if timing.get(k, -1) >= 0), 0.0)
    send_start, send_end = timing.get("sendStart", 0.0), timing.get("sendEnd", 0.0)
    headers_end = timing.get("receiveHeadersEnd", send_end)
    receive = 0.0
    if exchange.finished is not None:
        receive = max(0.0, (exchange.finished - request_time) * 1000 - headers_end)
    return {"blocked": round(queued + first, 3), "dns": span("dnsStart", "dnsEnd"),
            "connect": span("connectStart", "connectEnd"), "ssl": span("sslStart", "sslEnd"),
            "send": round(max(0.0, send_end - send_start), 3), "wait": round(max(0.0, headers_end - send_end), 3),
            "receive": round(receive, 3)}


def entry(exchange: Exchange) -> dict:
    """The HAR 1.2 entry of one exchange."""
    response = exchange.response or {}
    timings = _timings(exchange)
    protocol = (response.get("protocol") or "http/1.1").lower()
    version = {"h2": "HTTP/2", "h3": "HTTP/3"}.get(protocol, protocol.upper())
    request_headers = _header_list(exchange.sent_headers or exchange.headers)
    response_headers = _header_list(exchange.raw_headers or response.get("headers"))
    content: dict[str, Any] = {"size": exchange.data_length, "mimeType": response.get("mimeType") or "x-unknown"}
    if exchange.body is not None:
        content["text"] = exchange.body
        if exchange.body_base64:
            content["encoding"] = "base64"
    request: dict[str, Any] = {
        "method": exchange.method, "url": exchange.url, "httpVersion": version, "cookies": [],
        "headers": request_headers, "queryString": [{"name": k, "value": v}
                                                    for k, v in parse_qsl(urlsplit(exchange.url).query, True)],
        "headersSize": -1, "bodySize": len(exchange.post_data.encode()) if exchange.post_data else 0,
    }
    if exchange.post_data is not None:
        content_type = next((h["value"] for h in request_headers if h["name"].lower() == "content-type"), "")
        request["postData"] = {"mimeType": content_type, "text": exchange.post_data}
    location = next((h["value"] for h in response_headers if h["name"].lower() == "location"), "")
    result = {
        "startedDateTime": _iso(exchange.wall_time),
        "time": round(sum(v for k, v in timings.items() if k != "ssl" and v > 0), 3),
        "request": request,
        "response": {
            "status": int(response.get("status") or 0), "statusText": response.get("statusText") or "",
            "httpVersion": version, "cookies": [], "headers": response_headers, "content": content,
            "redirectURL": location, "headersSize": -1, "bodySize": exchange.data_length,
            "_transferSize": exchange.encoded_length,
        },
        "cache": {},
        "timings": timings,
        "_resourceType": exchange.resource_type.lower(),
    }
    if response.get("remoteIPAddress"):
        result["serverIPAddress"] = response["remoteIPAddress"].strip("[]")
    if response.get("connectionId") is not None:
        result["connection"] = str(response["connectionId"])
    if exchange.error:
        result["response"]["_error"] = exchange.error
    return result


def har_document(entries: list, browser_version: str = "") -> dict:
    """A HAR 1.2 document of ``entries`` (sorted by start)."""
    ordered = sorted(entries, key=lambda e: e["startedDateTime"])
    return {"log": {"version": "1.2", "creator": dict(CREATOR),
                    "browser": {"name": "chrome", "version": browser_version or "unknown"},
                    "pages": [], "entries": ordered}}


def full_har_zip(entries: list, browser_version: str = "") -> bytes:
    """The full-HAR download: a ZIP of ``0-network.har``, ``1-network.har``, ... With at least two
    entries, the session's entries (by start) are split over two files, the first half in the first."""
    ordered = sorted(entries, key=lambda e: e["startedDateTime"])
    parts = [ordered] if len(ordered) < 2 else [ordered[: (len(ordered) + 1) // 2], ordered[(len(ordered) + 1) // 2:]]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, part in enumerate(parts):
            archive.writestr(f"{index}-network.har", json.dumps(har_document(part, browser_version), indent=2))
    return buffer.getvalue()
