"""mitmproxy addon that files each HTTP flow into the session recording when its request starts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .sessions import COUNTED_KEY, SESSION_KEY, SessionStore

DEFAULT_BACKGROUND_HOSTS: tuple[str, ...] = (
    r".*\.googleapis\.com",
    r".*\.gvt1\.com",
    r".*\.google\.com",
    r"accounts\.google\.com",
    r"update\.googleapis\.com",
    r"clients\d*\.google\.com",
    r"optimizationguide-pa\.googleapis\.com",
    r".*\.gstatic\.com",
    r"safebrowsing.*",
)
"""Hosts Chromium talks to in the background; never stored. Each pattern must
match a whole host name (``re.fullmatch``, case-insensitive, no port)."""


def body_bytes(message: Any) -> int:
    """Body size as transferred: after de-chunking, before content decoding."""
    raw = getattr(message, "raw_content", None)
    return len(raw) if raw else 0


class Recorder:
    """Stores flows in ``store``; skips hosts matching ``ignore_hosts``.

    ``trafficCount`` grows when a request's headers arrive; ``totalBytes`` grows
    by the request and response bodies when the response completes (or the flow
    fails), and by websocket message payloads when a websocket closes.
    """

    def __init__(self, store: SessionStore, ignore_hosts: Iterable[str] = DEFAULT_BACKGROUND_HOSTS):
        self.store = store
        self.ignore_patterns = [re.compile(p, re.IGNORECASE) for p in ignore_hosts]

    def is_ignored(self, flow: Any) -> bool:
        # The Host header can name another host than the proxy target (absolute-form
        # URL or CONNECT authority), and TLS can carry an SNI: any of them matching counts.
        names = {flow.request.host, flow.request.pretty_host, flow.client_conn.sni}
        return any(p.fullmatch(n) for p in self.ignore_patterns for n in names if n)

    # mitmproxy hooks, called on the proxy's event loop

    def requestheaders(self, flow: Any) -> None:
        if not self.is_ignored(flow):
            self.store.record(flow)

    def response(self, flow: Any) -> None:
        self._count_bodies(flow)

    def error(self, flow: Any) -> None:
        self._count_bodies(flow)

    def websocket_end(self, flow: Any) -> None:
        session_id = flow.metadata.get(SESSION_KEY)
        if session_id is not None and flow.websocket is not None:
            self.store.add_bytes(session_id, sum(len(m.content) for m in flow.websocket.messages))

    def _count_bodies(self, flow: Any) -> None:
        session_id = flow.metadata.get(SESSION_KEY)
        if session_id is None or flow.metadata.get(COUNTED_KEY):
            return
        flow.metadata[COUNTED_KEY] = True
        self.store.add_bytes(session_id, body_bytes(flow.request) + body_bytes(flow.response))
