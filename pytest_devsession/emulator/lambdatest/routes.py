"""Every route of the emulated LambdaTest, in one table: (method, path regex, handler name).

``API`` routes sit under ``/automation/api/v1`` behind HTTP Basic ``username:access_key``;
``HUB`` routes under ``/wd/hub`` behind the same credentials (in the hub URL, or as LT:Options
``user``/``accessKey`` of the new session); ``PUBLIC`` routes are what a signed link or a browser
opens without credentials. Handler names are looked up on ``api`` (API, PUBLIC) and on the hub.
"""

API = "/automation/api/v1"
HUB = "/wd/hub"

_SESSION = r"/sessions/(?P<session_id>[^/]+)"

API_ROUTES = (
    ("GET", r"/sessions", "list_sessions"),
    ("GET", _SESSION, "get_session"),
    ("PATCH", _SESSION, "patch_session"),
    ("PUT", rf"{_SESSION}/stop", "stop_session"),
    ("GET", rf"{_SESSION}/video", "video"),
    ("GET", rf"{_SESSION}/log/(?P<kind>command|console|selenium|network)", "log"),
    ("GET", rf"{_SESSION}/log/full-har", "full_har"),
)

_COMMAND = r"/session/(?P<session_id>[^/]+)(?P<rest>/.*)?"

HUB_ROUTES = (
    ("GET", r"/status", "status"),
    ("POST", r"/session", "new_session"),
    ("GET", _COMMAND, "command"),
    ("POST", _COMMAND, "command"),
    ("DELETE", _COMMAND, "command"),
)

PUBLIC_ROUTES = (
    ("GET", r"/videos/(?P<session_id>[^/]+)/video\.mp4", "video_file"),
    ("GET", r"/test", "view_page"),
)
