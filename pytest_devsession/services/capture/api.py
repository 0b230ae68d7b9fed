"""NectoProxy's REST API (sessions, HAR export, traffic listing, CA download) over a
SessionStore, on the project's HTTP server base."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...http.server import HttpError, HttpServer, Request, Response, Route, json_response
from . import traffic
from .har import har_filename
from .sessions import SessionNotFound, SessionStore

_SESSION = r"(?P<session_id>[^/]+)"


def _json_object(request: Request) -> dict[str, Any]:
    data = request.json(empty={})
    if not isinstance(data, dict):
        raise HttpError(400, "Request body must be a JSON object")
    return data


def _field(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    # exact types: True is an int to isinstance()
    if value is not None and type(value) is not kind:
        raise HttpError(400, f"'{key}' must be a {'boolean' if kind is bool else 'string'}")
    if kind is str and value is not None and not value.strip():
        raise HttpError(400, f"'{key}' must not be empty")
    return value


def _session_found(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    def call(request: Request) -> Response:
        try:
            return handler(request)
        except SessionNotFound:
            raise HttpError(404, "Session not found") from None
    return call


class SessionsApi(HttpServer):
    """NectoProxy's Sessions API on ``host:port`` (port 0: any free one): parse the request, call
    the store, render JSON.

    With ``token``, every route but ``/api/health`` and the CA (public, as NectoProxy serves it)
    needs it, as a bearer token or, as NectoProxy also takes it, ``?token=``. ``export_har(flows)``
    renders flows, in that order, as the server's HAR; ``entries()`` lists every stored flow as a
    NectoProxy TrafficEntry; ``ca_pem()`` is the proxy's CA certificate.
    """

    unauthorized = "Unauthorized: missing or invalid token"  # NectoProxy's words

    def __init__(
        self,
        store: SessionStore,
        export_har: Callable[[list[Any]], dict[str, Any]],
        token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        entries: Callable[[], list[dict[str, Any]]] = list,
        ca_pem: Callable[[], bytes] | None = None,
    ):
        self.store = store
        self.export_har = export_har
        self.entries = entries
        self.ca_pem = ca_pem
        routes = [
            ("GET", r"/api/health", self.health),
            ("GET", r"/api/sessions", self.list_sessions),
            ("POST", r"/api/sessions", self.create_session),
            ("GET", r"/api/sessions/active", self.active_session),
            ("GET", rf"/api/sessions/{_SESSION}", self.get_session),
            ("PATCH", rf"/api/sessions/{_SESSION}", self.update_session),
            ("DELETE", rf"/api/sessions/{_SESSION}", self.delete_session),
            ("POST", rf"/api/sessions/{_SESSION}/activate", self.activate_session),
            ("GET", rf"/api/har/export/{_SESSION}", self.har_export),
            ("POST", r"/api/har/export", self.har_export_entries),
            ("GET", r"/api/traffic", self.list_traffic),
            ("DELETE", r"/api/traffic/(?P<entry_id>[^/]+)", self.delete_traffic),
            ("GET", r"/api/certificates/ca", self.ca_certificate),
        ]
        public = {"/api/health", "/api/certificates/ca"}
        super().__init__([Route(method, pattern, _session_found(handler), public=pattern in public)
                          for method, pattern, handler in routes],
                         host=host, port=port, token=token, token_param="token", name="devsession-capture-api")

    def health(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    def list_sessions(self, request: Request) -> Response:
        return json_response({"sessions": self.store.list()})

    def create_session(self, request: Request) -> Response:
        name = _field(_json_object(request), "name", str)
        return json_response(self.store.create(name), 201)

    def active_session(self, request: Request) -> Response:
        session = self.store.active()
        if not session:
            raise HttpError(404, "No active session")
        return json_response(session)

    def get_session(self, request: Request) -> Response:
        return json_response(self.store.get(request.params["session_id"]))

    def update_session(self, request: Request) -> Response:
        data = _json_object(request)
        changes = {
            "name": _field(data, "name", str),
            "is_active": _field(data, "isActive", bool),
            "is_recording": _field(data, "isRecording", bool),
        }
        return json_response(self.store.update(request.params["session_id"], **changes))

    def activate_session(self, request: Request) -> Response:
        return json_response(self.store.activate(request.params["session_id"]))

    def delete_session(self, request: Request) -> Response:
        self.store.delete(request.params["session_id"])
        return json_response({"success": True})

    def har_export(self, request: Request) -> Response:
        session_id = request.params["session_id"]
        name = self.store.get(session_id)["name"]
        har = self.export_har(self.store.export_flows(session_id))
        return json_response(har, headers={"Content-Disposition": f'attachment; filename="{har_filename(name)}"'})

    def har_export_entries(self, request: Request) -> Response:
        """NectoProxy's export of chosen entries: ``{"entryIds": [...], "sessionName": "..."}``."""
        data = _json_object(request)
        ids = data.get("entryIds")
        if not isinstance(ids, list) or not ids:
            raise HttpError(400, "No entry IDs provided")
        flows = {flow.id: flow for _, flow in self.store.traffic()}
        chosen = [flows[i] for i in ids if isinstance(i, str) and i in flows]
        if not chosen:
            raise HttpError(404, "No valid entries found")
        name = data.get("sessionName") if isinstance(data.get("sessionName"), str) else "export"
        disposition = f'attachment; filename="{har_filename(name)}"'
        return json_response(self.export_har(chosen), headers={"Content-Disposition": disposition})

    def list_traffic(self, request: Request) -> Response:
        entries = traffic.query(self.entries(), {key: values[-1] for key, values in request.query.items()})
        return json_response({"entries": entries, "count": len(entries)})

    def delete_traffic(self, request: Request) -> Response:
        if not self.store.delete_flow(request.params["entry_id"]):
            raise HttpError(404, "Traffic entry not found")
        return json_response({"success": True})

    def ca_certificate(self, request: Request) -> Response:
        if self.ca_pem is None:
            raise HttpError(404, "Not found")
        disposition = 'attachment; filename="devsession-capture-ca.pem"'
        return Response(200, self.ca_pem(), "application/x-pem-file", {"Content-Disposition": disposition})
