"""CaptureServer: mitmproxy recording into sessions, plus the Sessions REST API over them."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .api import SessionsApi
from .har import make_har
from .nectoproxy import NectoProxyStore, as_nectoproxy_har
from .proxy import ProxyThread, claim_master_slot, release_master_slot
from .recorder import DEFAULT_BACKGROUND_HOSTS, Recorder
from .sessions import SessionStore
from .traffic import traffic_entry

CA_CERT_NAME = "mitmproxy-ca-cert.pem"
BEHAVIOURS = ("documented", "nectoproxy")
"""``documented``: per-session capture as NectoProxy's Sessions API page describes it.
``nectoproxy``: what NectoProxy's server really does (see :mod:`.nectoproxy`)."""


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class CaptureServer:
    """An HTTP(S) proxy that records traffic into sessions, and NectoProxy's Sessions
    API on ``api_url`` to manage them and export HAR.

    Port 0 picks a free port. ``confdir`` holds mitmproxy's CA (clients trust
    ``ca_cert_path``); without one, a temporary directory is used and removed on
    stop. With ``api_token`` every ``/api/*`` route but ``/api/health`` needs
    ``Authorization: Bearer <token>``. ``mitmproxy_options`` are extra mitmproxy
    options, e.g. ``{"ssl_verify_upstream_trusted_ca": "ca.pem"}``.

    A request is stored in the session that is active and recording when it starts
    (never for hosts matching ``ignore_hosts``). A session's ``trafficCount`` is its
    number of flows; ``totalBytes`` sums request and response bodies as transferred
    (before content decoding, headers excluded) and websocket message payloads.

    ``behave="nectoproxy"`` switches to NectoProxy's real behaviour (see
    :mod:`.nectoproxy`): all traffic goes into the session active at start, flags
    change nothing, counts stay 0. Both serve NectoProxy's traffic listing
    (``GET /api/traffic``), its export of chosen entries (``POST /api/har/export``)
    and the CA (``GET /api/certificates/ca``, no token needed).

    mitmproxy allows one master per process: starting a second server while one
    runs raises RuntimeError (see :func:`get_shared_server`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        api_port: int = 0,
        proxy_port: int = 0,
        confdir: str | os.PathLike[str] | None = None,
        api_token: str | None = None,
        ignore_hosts: Iterable[str] = DEFAULT_BACKGROUND_HOSTS,
        mitmproxy_options: Mapping[str, Any] | None = None,
        behave: str = "documented",
    ):
        if behave not in BEHAVIOURS:
            raise ValueError(f"behave must be one of {', '.join(BEHAVIOURS)}, got {behave!r}")
        self.host = host
        self.api_token = api_token
        self.behave = behave
        self.store: SessionStore = NectoProxyStore() if behave == "nectoproxy" else SessionStore()
        self.recorder = Recorder(self.store, ignore_hosts)
        self._ports = (api_port, proxy_port)
        self._confdir = Path(confdir) if confdir is not None else None
        self._mitmproxy_options = dict(mitmproxy_options or {})
        self._lock = threading.Lock()
        self._proxy: ProxyThread | None = None
        self._api: SessionsApi | None = None
        self._proxy_port: int | None = None
        self._temp_confdir: Path | None = None

    # lifecycle

    def start(self) -> CaptureServer:
        """Start the proxy and the API; return once both listen."""
        with self._lock:
            if self.running:
                return self
            claim_master_slot(self)
            try:
                self._start()
            except BaseException:
                self._stop()
                raise
            return self

    def _start(self) -> None:
        api_port, proxy_port = self._ports
        if self._confdir is None:
            self._temp_confdir = Path(tempfile.mkdtemp(prefix="devsession-capture-"))
        options = {
            **self._mitmproxy_options,
            "confdir": str(self.confdir),
            "listen_host": self.host,
            "listen_port": proxy_port,
        }
        self._proxy = ProxyThread(options, [self.recorder])
        _, self._proxy_port = self._proxy.start()
        self._api = SessionsApi(self.store, self._export, self.api_token, host=self.host, port=api_port,
                                entries=self._entries, ca_pem=self.ca_cert_path.read_bytes).start()

    def stop(self) -> None:
        """Stop both servers and join their threads. Safe to call twice."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        try:
            if self._api is not None:
                self._api.stop()
            if self._proxy is not None:
                self._proxy.stop()
        finally:
            self._api = self._proxy = None
            self._proxy_port = None
            release_master_slot(self)
            if self._temp_confdir is not None:
                shutil.rmtree(self._temp_confdir, ignore_errors=True)
                self._temp_confdir = None

    def __repr__(self) -> str:
        if not self.running:
            return f"<CaptureServer {self.host} stopped>"
        return f"<CaptureServer proxy {self.proxy_url} API {self.api_url}>"

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._api is not None and self._proxy is not None and self._proxy.alive

    # addresses

    def _require_running(self) -> None:
        if not self.running:
            raise RuntimeError("the capture server is not running: call start() first")

    @property
    def api_url(self) -> str:
        self._require_running()
        assert self._api is not None
        return self._api.url

    @property
    def proxy_url(self) -> str:
        self._require_running()
        assert self._proxy_port is not None
        return _url(self.host, self._proxy_port)

    @property
    def confdir(self) -> Path:
        confdir = self._confdir or self._temp_confdir
        if confdir is None:
            raise RuntimeError("no confdir yet: the server makes a temporary one when it starts")
        return confdir

    @property
    def ca_cert_path(self) -> Path:
        return self.confdir / CA_CERT_NAME

    # captured traffic

    def flows(self, session_id: str) -> list[Any]:
        """The session's mitmproxy flows, in the order their requests started.
        Raises ``SessionNotFound`` (a KeyError) for an unknown id."""
        return self.store.flows(session_id)

    def har(self, session_id: str) -> dict[str, Any]:
        """The session's traffic as a HAR 1.2 dict, as its export gives it."""
        return self._export(self.store.export_flows(session_id))

    def _on_proxy_loop(self, fn: Any, *args: Any) -> Any:
        # Flows change on the proxy's loop: read them there.
        return fn(*args) if self._proxy is None else self._proxy.call(fn, *args)

    def _export(self, flows: list[Any]) -> dict[str, Any]:
        har = self._on_proxy_loop(make_har, flows)
        return as_nectoproxy_har(har) if self.behave == "nectoproxy" else har

    def _entries(self) -> list[dict[str, Any]]:
        pairs = self.store.traffic()
        return self._on_proxy_loop(lambda: [traffic_entry(session_id, flow) for session_id, flow in pairs])
