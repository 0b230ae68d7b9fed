"""Redact secrets from HAR files before they become artifacts.

Every cookie, and headers, query parameters and form fields whose names look
secret, get their values replaced; everything else (timings, sizes, URLs) stays as captured.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..files import write_atomic

MASK = "[REDACTED]"
# Names redacted by default, compared case-insensitively; a name also matches when
# it contains one of SECRET_WORDS (x-auth-token, my_api_key, client-secret, ...).
DEFAULT_NAMES = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "apikey", "api_key",
    "key", "token", "access_token", "refresh_token", "id_token", "auth", "password", "passwd", "secret",
    "client_secret", "signature", "sig", "x-amz-security-token", "x-goog-api-key",
})
SECRET_WORDS = ("token", "secret", "password", "api-key", "api_key", "apikey", "auth", "session", "credential")


def is_secret(name: str, extra: frozenset[str] = frozenset()) -> bool:
    lowered = name.strip().lower()
    return lowered in DEFAULT_NAMES or lowered in extra or any(word in lowered for word in SECRET_WORDS)


def _pairs(items, extra, every: bool = False) -> int:
    count = 0
    for item in items or ():
        if isinstance(item, dict) and "name" in item and item.get("value") and (
                every or is_secret(str(item["name"]), extra)):
            item["value"] = MASK
            count += 1
    return count


def _url(url: str, extra) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, MASK if is_secret(k, extra) and v else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]")))


def redact_har(har: dict, extra_names=()) -> int:
    """Redact ``har`` in place; returns how many values were replaced."""
    extra = frozenset(n.strip().lower() for n in extra_names if n.strip())
    count = 0
    for entry in (har.get("log") or {}).get("entries") or ():
        for side in ("request", "response"):
            message = entry.get(side) or {}
            # A cookie's value is a credential whatever its name.
            count += _pairs(message.get("headers"), extra) + _pairs(message.get("cookies"), extra, every=True)
        request = entry.get("request") or {}
        count += _pairs(request.get("queryString"), extra)
        if isinstance(request.get("url"), str):
            redacted = _url(request["url"], extra)
            count += redacted != request["url"]
            request["url"] = redacted
        post = request.get("postData") or {}
        count += _pairs(post.get("params"), extra)
        if post.get("text") and "x-www-form-urlencoded" in str(post.get("mimeType", "")):
            fields = parse_qsl(post["text"], keep_blank_values=True)
            if any(is_secret(k, extra) for k, _ in fields):
                post["text"] = urlencode([(k, MASK if is_secret(k, extra) else v) for k, v in fields], safe="[]")
                count += 1
        if request.get("postData") and post.get("text") and "json" in str(post.get("mimeType", "")):
            text = re.sub(r'("(?:[^"\\]|\\.)*")\s*:\s*("(?:[^"\\]|\\.)*")',
                          lambda m: f'{m.group(1)}: "{MASK}"' if is_secret(m.group(1).strip('"'), extra) else m.group(0),
                          post["text"])
            count += text != post["text"]
            post["text"] = text
    return count


def redact_file(path: Path, extra_names=()) -> int:
    """Redact the HAR at ``path`` in place; returns its new size. A file that is not HAR JSON is left as it is."""
    try:
        har = json.loads(Path(path).read_bytes())
    except ValueError:
        return Path(path).stat().st_size
    if not isinstance(har, dict):
        return Path(path).stat().st_size
    redact_har(har, extra_names)
    return write_atomic(Path(path), json.dumps(har, indent=1))
