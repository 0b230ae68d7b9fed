"""NectoProxy's traffic listing (``GET /api/traffic``) over recorded flows: no HTTP, no state.

Mirrors NectoProxy's route: query parameters ``sessionId``, ``limit`` (default 1000),
``offset``, ``search`` (substring of the URL, case-insensitive), ``methods``,
``statusCodes`` and ``hosts`` (comma-separated), ``sortField`` (``timestamp``,
``duration``, ``size``, ``status``, ``host``, ``method``; default ``timestamp``) and
``sortDirection`` (default ``desc``); the answer is ``{"entries": [...], "count": N}``
with NectoProxy's TrafficEntry fields, bodies base64. It has no time filter: a client
that wants the entries since a moment sorts by timestamp, newest first, and pages.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_LIMIT = 1000
SORT_KEYS = {
    "timestamp": lambda e: e["timestamp"],
    "duration": lambda e: e["duration"],
    "size": lambda e: e["responseBodySize"],
    "status": lambda e: e["status"],
    "host": lambda e: e["host"],
    "method": lambda e: e["method"],
}


def _headers(message: Any) -> dict[str, str | list[str]]:
    # Node gives NectoProxy lower-case names, and a list for a repeated header.
    headers: dict[str, str | list[str]] = {}
    for name, value in message.headers.items(multi=True):
        key = name.lower()
        if key in headers:
            previous = headers[key]
            headers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            headers[key] = value
    return headers


def _body(message: Any) -> str | None:
    raw = message.raw_content if message is not None else None
    return base64.b64encode(raw).decode() if raw else None


def _ms(seconds: float | None) -> int | None:
    return int(seconds * 1000) if seconds is not None else None


def traffic_entry(session_id: str, flow: Any) -> dict[str, Any]:
    """One flow as NectoProxy's TrafficEntry (``timestamp``: when the request started, epoch ms)."""
    request, response = flow.request, flow.response
    started = request.timestamp_start
    ended = response.timestamp_end if response is not None else None
    tls = flow.server_conn.tls_version if flow.server_conn is not None else None
    peer = flow.server_conn.peername if flow.server_conn is not None else None
    return {
        "id": flow.id,
        "sessionId": session_id,
        "timestamp": _ms(started),
        "method": request.method,
        "url": request.pretty_url,
        "protocol": "https" if request.scheme == "https" else "http",
        "host": request.pretty_host,
        "path": request.path,
        "requestHeaders": _headers(request),
        "requestBody": _body(request),
        "requestBodySize": len(request.raw_content or b""),
        "status": response.status_code if response is not None else None,
        "statusText": response.reason if response is not None else None,
        "responseHeaders": _headers(response) if response is not None else None,
        "responseBody": _body(response),
        "responseBodySize": len(response.raw_content or b"") if response is not None else None,
        "duration": _ms(ended - started) if ended is not None and started is not None else None,
        "remoteAddress": peer[0] if peer else None,
        "tlsVersion": tls,
        "error": flow.error.msg if flow.error is not None else None,
        "isComplete": ended is not None or flow.error is not None,
        "isMocked": False,
        "isBreakpointed": False,
        "isTruncated": False,
    }


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default  # NectoProxy's parseInt gives NaN, which its query then ignores


def _listed(value: str | None) -> list[str]:
    return [part for part in (value or "").split(",") if part]


def query(entries: Iterable[dict[str, Any]], params: Mapping[str, str]) -> list[dict[str, Any]]:
    """Filter, sort and page TrafficEntry dicts as NectoProxy's ``GET /api/traffic`` does."""
    chosen = list(entries)
    if session_id := params.get("sessionId"):
        chosen = [e for e in chosen if e["sessionId"] == session_id]
    if search := params.get("search"):
        chosen = [e for e in chosen if search.lower() in e["url"].lower()]
    if methods := _listed(params.get("methods")):
        chosen = [e for e in chosen if e["method"] in methods]
    if codes := _listed(params.get("statusCodes")):
        wanted = {_int(code, -1) for code in codes}
        chosen = [e for e in chosen if e["status"] in wanted]
    if hosts := _listed(params.get("hosts")):
        chosen = [e for e in chosen if e["host"] in hosts]
    key = SORT_KEYS.get(params.get("sortField") or "timestamp", SORT_KEYS["timestamp"])
    descending = (params.get("sortDirection") or "desc") != "asc"
    # As SQLite sorts: NULL below every value.
    chosen.sort(key=lambda e: (key(e) is not None, key(e) if key(e) is not None else 0), reverse=descending)
    offset = max(_int(params.get("offset"), 0), 0)
    limit = _int(params.get("limit"), DEFAULT_LIMIT)
    return chosen[offset:offset + limit] if limit > 0 else chosen[offset:]
