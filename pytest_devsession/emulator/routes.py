"""The route table: (method, path regex) -> handler. One place for every route.

``ROUTES`` are the API's, under ``API`` and behind the token; ``PAGES`` are the UI's, which a
browser opens without one.
"""

from __future__ import annotations

from . import handlers as h

API = "/v0"

_SESSION = r"(?P<session_id>[^/.]+)"
_FLOW = r"/userflows/(?P<user_flow_id>[^/]+)"

ROUTES = (
    ("GET", r"/devices", h.list_devices),
    ("POST", r"/devices/lock", h.lock_by_id),
    ("POST", r"/devices/unlock", h.unlock_by_id),
    ("POST", r"/adb/(?P<serial>[^/]+)/lock", h.adb_lock),
    ("POST", r"/adb/(?P<serial>[^/]+)/unlock", h.adb_unlock),
    ("POST", r"/idevice/(?P<serial>[^/]+)/lock", h.idevice_lock),
    ("POST", r"/idevice/(?P<serial>[^/]+)/unlock", h.idevice_unlock),

    ("GET", r"/sessions", h.list_sessions),
    ("POST", r"/sessions", h.create_session),
    ("GET", rf"/sessions/tags/{_SESSION}", h.get_tags),
    ("POST", rf"/sessions/tags/{_SESSION}", h.add_tags),
    ("DELETE", rf"/sessions/tags/{_SESSION}", h.delete_tags),
    ("GET", rf"/sessions/{_SESSION}", h.get_session),
    ("PATCH", rf"/sessions/{_SESSION}", h.stop_session),
    ("DELETE", rf"/sessions/{_SESSION}", h.delete_session),
    ("GET", rf"/sessions/{_SESSION}/timestamps", h.timestamps),
    ("GET", rf"/sessions/{_SESSION}/tlsexceptions", h.tls_exceptions),
    ("GET", rf"/sessions/{_SESSION}/description", h.get_description),
    ("POST", rf"/sessions/{_SESSION}/description", h.set_description),
    ("DELETE", rf"/sessions/{_SESSION}/description", h.delete_description),
    ("GET", rf"/sessions/{_SESSION}\.(?P<ext>[^/]+)", h.download),

    ("GET", r"/userflows", h.list_userflows),
    ("PUT", r"/userflows", h.put_userflow),
    ("GET", _FLOW, h.get_userflow),
    ("DELETE", _FLOW, h.delete_userflow),
    ("GET", rf"{_FLOW}/measurements", h.userflow_measurements),
    ("GET", rf"{_FLOW}/sessions", h.list_flow_sessions),
    ("POST", rf"{_FLOW}/sessions", h.attach_session),
    ("GET", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)", h.get_flow_session),
    ("PATCH", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)", h.patch_flow_session),
    ("DELETE", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)", h.delete_flow_session),
    ("GET", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)/measurements", h.get_session_measurements),
    ("POST", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)/measurements", h.post_session_measurements),
    ("GET", rf"{_FLOW}/events", h.list_events),
    ("POST", rf"{_FLOW}/events", h.create_event),
    ("GET", rf"{_FLOW}/events/(?P<event_id>[^/]+)", h.get_event),
    ("PATCH", rf"{_FLOW}/events/(?P<event_id>[^/]+)", h.patch_event),
    ("DELETE", rf"{_FLOW}/events/(?P<event_id>[^/]+)", h.delete_event),
    ("GET", rf"{_FLOW}/events/(?P<event_id>[^/]+)/measurements", h.get_event_measurements),
    ("POST", rf"{_FLOW}/events/(?P<event_id>[^/]+)/measurements", h.post_event_measurements),

    ("GET", r"/perftests", h.list_perftests),
    ("POST", r"/perftests/upload", h.upload_perftest),
    ("GET", r"/perftests/(?P<user_flow_id>[^/]+)", h.get_perftest),
)

PAGES = (
    ("GET", r"/sessions/(?P<session_id>[^/]+)/waterfall", h.waterfall_page),
)
