"""The route table: (method, path regex) -> handler. One place for every route.

``ROUTES`` are the API's, under ``API`` and behind the token; ``PAGES`` are the UI's, which a
browser opens without one.
"""

from __future__ import annotations

from .handlers import analysis, devices, sessions, userflows

API = "/v0"

_SESSION = r"(?P<session_id>[^/.]+)"
_FLOW = r"/userflows/(?P<user_flow_id>[^/]+)"

ROUTES = (
    ("GET", r"/devices", devices.list_devices),
    ("POST", r"/devices/lock", devices.lock_by_id),
    ("POST", r"/devices/unlock", devices.unlock_by_id),
    ("POST", r"/adb/(?P<serial>[^/]+)/lock", devices.adb_lock),
    ("POST", r"/adb/(?P<serial>[^/]+)/unlock", devices.adb_unlock),
    ("POST", r"/idevice/(?P<serial>[^/]+)/lock", devices.idevice_lock),
    ("POST", r"/idevice/(?P<serial>[^/]+)/unlock", devices.idevice_unlock),

    ("GET", r"/sessions", sessions.list_sessions),
    ("POST", r"/sessions", sessions.create_session),
    ("GET", rf"/sessions/tags/{_SESSION}", sessions.get_tags),
    ("POST", rf"/sessions/tags/{_SESSION}", sessions.add_tags),
    ("DELETE", rf"/sessions/tags/{_SESSION}", sessions.delete_tags),
    ("GET", rf"/sessions/{_SESSION}", sessions.get_session),
    ("PATCH", rf"/sessions/{_SESSION}", sessions.stop_session),
    ("DELETE", rf"/sessions/{_SESSION}", sessions.delete_session),
    ("GET", rf"/sessions/{_SESSION}/timestamps", sessions.timestamps),
    ("GET", rf"/sessions/{_SESSION}/tlsexceptions", sessions.tls_exceptions),
    ("GET", rf"/sessions/{_SESSION}/description", sessions.get_description),
    ("POST", rf"/sessions/{_SESSION}/description", sessions.set_description),
    ("DELETE", rf"/sessions/{_SESSION}/description", sessions.delete_description),
    ("GET", rf"/sessions/{_SESSION}\.(?P<ext>[^/]+)", sessions.download),
    ("POST", rf"/sessions/{_SESSION}/label/add", sessions.add_label),
    ("GET", rf"/sessions/{_SESSION}/label/list", sessions.list_labels),
    ("GET", r"/sessions/label/(?P<label_id>[^/]+)", sessions.get_label),
    ("GET", rf"/sessions/analysis/status/{_SESSION}", analysis.analysis_status),
    ("GET", rf"/sessions/analysis/issues/{_SESSION}", analysis.analysis_issues),
    ("GET", rf"/sessions/timeseries/{_SESSION}/info", analysis.timeseries_info),
    ("GET", rf"/sessions/timeseries/{_SESSION}/download", analysis.timeseries_download),
    ("GET", rf"/sessions/{_SESSION}/video/metadata", analysis.video_metadata),

    ("GET", r"/userflows", userflows.list_userflows),
    ("PUT", r"/userflows", userflows.put_userflow),
    ("GET", _FLOW, userflows.get_userflow),
    ("DELETE", _FLOW, userflows.delete_userflow),
    ("GET", rf"{_FLOW}/measurements", userflows.userflow_measurements),
    ("GET", rf"{_FLOW}/sessions", userflows.list_flow_sessions),
    ("POST", rf"{_FLOW}/sessions", userflows.attach_session),
    ("GET", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)", userflows.get_flow_session),
    ("PATCH", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)", userflows.patch_flow_session),
    ("DELETE", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)", userflows.delete_flow_session),
    ("GET", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)/measurements", userflows.get_session_measurements),
    ("POST", rf"{_FLOW}/sessions/(?P<session_id>[^/]+)/measurements", userflows.post_session_measurements),
    ("GET", rf"{_FLOW}/events", userflows.list_events),
    ("POST", rf"{_FLOW}/events", userflows.create_event),
    ("GET", rf"{_FLOW}/events/(?P<event_id>[^/]+)", userflows.get_event),
    ("PATCH", rf"{_FLOW}/events/(?P<event_id>[^/]+)", userflows.patch_event),
    ("DELETE", rf"{_FLOW}/events/(?P<event_id>[^/]+)", userflows.delete_event),
    ("GET", rf"{_FLOW}/events/(?P<event_id>[^/]+)/measurements", userflows.get_event_measurements),
    ("POST", rf"{_FLOW}/events/(?P<event_id>[^/]+)/measurements", userflows.post_event_measurements),

    ("GET", r"/perftests", userflows.list_perftests),
    ("POST", r"/perftests/upload", userflows.upload_perftest),
    ("GET", r"/perftests/(?P<user_flow_id>[^/]+)", userflows.get_perftest),
)

PAGES = (
    ("GET", r"/sessions/(?P<session_id>[^/]+)/waterfall", sessions.waterfall_page),
)
