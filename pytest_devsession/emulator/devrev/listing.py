"""observability.sessions.list: its filters, its sort order and its cursors.

The same request comes as a POST body or as GET query parameters (``query_to_body`` turns the
second into the first). Filters (all optional, all must match):

* ``created_at``: ``{"type": "range", "after": T, "before": T}`` (``type`` optional), T an ISO 8601
  time or epoch milliseconds, both ends inclusive; in a query ``created_at.after=`` and
  ``created_at.before=``.
* ``device_model``, ``app_version``, ``os_version``, ``rev_user``: lists of exact values (a single
  string is taken as a list of one); in a query, repeat the parameter.
* ``is_crash``, ``is_anr``, ``has_exception_occurred``: booleans (``true``/``false`` in a query).
* ``properties``: ``{"name": value or [values]}``, matched against the session properties the app set;
  in a query ``properties.NAME=value``. (DevRev's real name for this filter is not known.)

``sort_by``: ``["created_at:desc"]`` (default) or ``created_at:asc``, ``session_duration_ms:asc|desc``.
Cursors are opaque; a cursor carries its own direction: ``next_cursor`` continues after the page,
``prev_cursor`` goes back before it. Without a cursor, ``mode: "before"`` starts from the end.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .models import DevRevSession, bad_request, parse_time

LIST_FIELDS = {"device_model": "model", "app_version": "app_version", "os_version": "os_version"}
FLAGS = ("is_crash", "is_anr", "has_exception_occurred")
SORT_FIELDS = ("created_at", "session_duration_ms")
MAX_LIMIT = 100
DEFAULT_LIMIT = 50


def query_to_body(query: dict[str, list[str]]) -> dict:
    """GET query parameters as the POST body they stand for."""
    body: dict[str, Any] = {}
    for name, values in query.items():
        key = name.removesuffix("[]")
        if key in LIST_FIELDS or key in ("rev_user", "sort_by"):
            body.setdefault(key, []).extend(values)
        elif key in FLAGS:
            text = values[-1].lower()
            if text not in ("true", "false"):
                raise bad_request(f"{key} must be true or false, not {values[-1]!r}")
            body[key] = text == "true"
        elif key.startswith("created_at."):
            body.setdefault("created_at", {})[key.split(".", 1)[1]] = values[-1]
        elif key.startswith("properties."):
            body.setdefault("properties", {})[key.split(".", 1)[1]] = values if len(values) > 1 else values[-1]
        elif key == "limit":
            try:
                body[key] = int(values[-1])
            except ValueError:
                raise bad_request(f"limit must be a whole number, not {values[-1]!r}") from None
        else:
            body[key] = values[-1]
    return body


def _values(body: dict, name: str) -> list | None:
    value = body.get(name)
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise bad_request(f"{name} must be a list of strings, not {value!r}")
    return values


def _range(body: dict) -> tuple[int | None, int | None]:
    span = body.get("created_at")
    if span is None:
        return None, None
    if not isinstance(span, dict) or span.get("type", "range") != "range":
        raise bad_request('created_at must be {"type": "range", "after": TIME, "before": TIME}')
    after, before = span.get("after"), span.get("before")
    return (None if after is None else parse_time(after, "created_at.after"),
            None if before is None else parse_time(before, "created_at.before"))


def matcher(body: dict):
    """A predicate on sessions from the request's filters (400 for a malformed one)."""
    after, before = _range(body)
    lists = {name: _values(body, name) for name in (*LIST_FIELDS, "rev_user")}
    flags = {}
    for name in FLAGS:
        if body.get(name) is not None:
            if not isinstance(body[name], bool):
                raise bad_request(f"{name} must be true or false, not {body[name]!r}")
            flags[name] = body[name]
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise bad_request('properties must be an object: {"name": value or [values]}')
    platform = body.get("platform")

    def match(session: DevRevSession) -> bool:
        if platform and session.platform != platform:
            return False
        if after is not None and session.created_at < after or before is not None and session.created_at > before:
            return False
        for name, wanted in lists.items():
            if wanted is None:
                continue
            have = session.rev_user_id if name == "rev_user" else session.device_metadata.get(LIST_FIELDS[name])
            if have not in wanted:
                return False
        if any(getattr(session, name) != value for name, value in flags.items()):
            return False
        for name, wanted in properties.items():
            options = wanted if isinstance(wanted, list) else [wanted]
            if name not in session.properties or session.properties[name] not in options:
                return False
        return True

    return match


def _sort(body: dict) -> tuple[str, bool]:
    sort_by = body.get("sort_by") or ["created_at:desc"]
    sort_by = [sort_by] if isinstance(sort_by, str) else sort_by
    field, _, order = str(sort_by[0]).partition(":")
    if field not in SORT_FIELDS or order not in ("", "asc", "desc"):
        raise bad_request(f"sort_by must be one of {', '.join(f + ':asc|desc' for f in SORT_FIELDS)}, not {sort_by[0]!r}")
    return field, order != "asc"


def _encode(key: list, mode: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key, "m": mode}).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[list, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, mode = data["k"], data["m"]
        if mode in ("after", "before") and isinstance(key, list) and len(key) == 2:
            return key, mode
    except (ValueError, TypeError, KeyError):
        pass
    raise bad_request(f"invalid cursor {cursor!r}")


def page(sessions: list[DevRevSession], body: dict) -> dict:
    """The answer to a list request over the listed ``sessions`` of one app."""
    limit = body.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    mode = body.get("mode") or "after"
    if mode not in ("after", "before"):
        raise bad_request(f"mode must be after or before, not {mode!r}")
    field, descending = _sort(body)
    match = matcher(body)

    def key(session: DevRevSession) -> list:
        value = getattr(session, field)
        return [-value if descending else value, session.session_id]

    ordered = sorted((s for s in sessions if match(s)), key=key)
    cursor = body.get("cursor")
    if cursor:
        bound, mode = _decode(str(cursor))
        if mode == "after":
            ordered = [s for s in ordered if key(s) > bound]
        else:
            ordered = [s for s in ordered if key(s) < bound]
    if mode == "after":
        chosen, more_after, more_before = ordered[:limit], len(ordered) > limit, bool(cursor)
    else:
        chosen, more_before, more_after = ordered[-limit:], len(ordered) > limit, bool(cursor)
    answer: dict[str, Any] = {"sessions": [s.summary() for s in chosen]}
    if chosen and more_after:
        answer["next_cursor"] = _encode(key(chosen[-1]), "after")
    if chosen and more_before:
        answer["prev_cursor"] = _encode(key(chosen[0]), "before")
    return answer
