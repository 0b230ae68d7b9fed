"""Every HeadSpin route the plugin calls, in one place.

Paths are relative to the API base URL (``.../v0``). Confidence in each is noted
where the public documentation leaves it open.
"""
from urllib.parse import quote


def _q(value: str) -> str:
    return quote(str(value), safe="")


DEVICES = "/devices"


# code: third-party clients. Android is locked by its serial on /adb/, iOS by its UDID on
# /idevice/; any other kind of device (Roku, smart TV, desktop browser) only by its id.
PLATFORM_LOCKS = {"android": "adb", "ios": "idevice"}


def device_lock(platform: str, name: str, verb: str) -> str | None:
    """``POST`` route that locks (``verb`` "lock") or unlocks ("unlock") a device by platform:
    ``name`` is an Android serial or an iOS UDID; None for a platform locked by id only."""
    route = PLATFORM_LOCKS.get(platform)
    return None if route is None else f"/{route}/{_q(name)}/{verb}"


# POST with {"device_id": ...}: any platform.
LOCK_BY_ID = "/devices/lock"
UNLOCK_BY_ID = "/devices/unlock"
SESSIONS = "/sessions"


def session(session_id: str) -> str:
    return f"/sessions/{_q(session_id)}"


def timestamps(session_id: str) -> str:
    return f"/sessions/{_q(session_id)}/timestamps"


def description(session_id: str) -> str:
    return f"/sessions/{_q(session_id)}/description"


def tags(session_id: str) -> str:
    return f"/sessions/tags/{_q(session_id)}"


def download(session_id: str, ext: str) -> str:
    return f"/sessions/{_q(session_id)}.{ext}"


USERFLOWS = "/userflows"


def userflow_sessions(user_flow_id: str) -> str:
    return f"/userflows/{_q(user_flow_id)}/sessions"


def session_measurements(user_flow_id: str, session_id: str) -> str:
    return f"/userflows/{_q(user_flow_id)}/sessions/{_q(session_id)}/measurements"


def quoted(value: str) -> str:
    """A value for a query string."""
    return _q(value)


# code: public clients. A label marks a stretch of a session (a test inside a shared capture).
def label_add(session_id: str) -> str:
    return f"/sessions/{_q(session_id)}/label/add"


def userflow_events(user_flow_id: str) -> str:
    return f"/userflows/{_q(user_flow_id)}/events"


def userflow_event(user_flow_id: str, event_id: str) -> str:
    return f"/userflows/{_q(user_flow_id)}/events/{_q(event_id)}"


def event_measurements(user_flow_id: str, event_id: str) -> str:
    return f"/userflows/{_q(user_flow_id)}/events/{_q(event_id)}/measurements"


def ui_session(ui_url: str, session_id: str) -> str:
    return f"{ui_url.rstrip('/')}/sessions/{_q(session_id)}/waterfall"
