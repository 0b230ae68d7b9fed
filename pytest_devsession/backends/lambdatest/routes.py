"""Every LambdaTest route and answer the plugin relies on, in one place, so that a correction is one edit.

Paths are relative to the Automation API base (``.../automation/api/v1``; the app automation API
``.../mobile-automation/api/v1`` has the same session routes). Confidence: **spec** = LambdaTest's
OpenAPI description; **code** = several independent clients do it; **one** = a single source;
**guess** = no source.
"""
from __future__ import annotations

from urllib.parse import quote

DEFAULT_HUB_URL = "https://hub.lambdatest.com/wd/hub"
DEFAULT_API_URL = "https://api.lambdatest.com/automation/api/v1"
DEFAULT_MOBILE_API_URL = "https://mobile-api.lambdatest.com/mobile-automation/api/v1"  # code
WEB_DASHBOARD = "https://automation.lambdatest.com/test?testID={test_id}"  # code
APP_DASHBOARD = "https://appautomation.lambdatest.com/test?testID={test_id}"  # code
# A session whose driver's platformName is one of these is an app (Appium) session: its routes are on
# the mobile API (code).
MOBILE_PLATFORMS = frozenset({"android", "ios"})

# The capability that holds LambdaTest's options: "LT:Options" for Selenium, "lt:options" for Appium;
# the case seems not to matter (one).
OPTIONS_KEY = "LT:Options"
OPTIONS_KEYS = ("LT:Options", "lt:options")

# The answer of a call that worked: {"status": "success", ...} (spec); anything else, even with HTTP
# 200, did not (code).
SUCCESS = "success"

# The W3C capabilities (WebDriver, 7.2): they stay at the top level; any other key of the user's
# capabilities without a ":" is one of LambdaTest's options.
W3C_CAPABILITIES = frozenset({
    "browserName", "browserVersion", "platformName", "acceptInsecureCerts", "pageLoadStrategy", "proxy",
    "setWindowRect", "timeouts", "strictFileInteractability", "unhandledPromptBehavior", "webSocketUrl",
})


def _q(value: str) -> str:
    return quote(str(value), safe="")


SESSIONS = "/sessions"  # GET ?limit=&offset=... (spec): the credentials check


def session(session_id: str) -> str:
    """GET: the session's details (seed, spec); PATCH: its name, status_ind, reason, tags, custom_data (spec)."""
    return f"/sessions/{_q(session_id)}"


def video(session_id: str) -> str:
    """GET: {"status", "message", "url", "view_video_url"}; ``url`` is signed, fetched without auth (spec, code)."""
    return f"/sessions/{_q(session_id)}/video"


def full_har(session_id: str) -> str:
    """GET: a ZIP of 0-network.har, 1-network.har, ...; 200 + a JSON message while there is none (spec, code)."""
    return f"/sessions/{_q(session_id)}/log/full-har"


# GET: {"data": [...]} (spec). The artifact each JSON log becomes.
LOGS = {"jsconsole.log": "console", "command.log": "command", "selenium.log": "selenium"}


def log(session_id: str, kind: str) -> str:
    return f"/sessions/{_q(session_id)}/log/{kind}"


# Keys of a session's details that may hold its dashboard link (guess: the seed shows none; the
# test_id link is the documented form).
DASHBOARD_KEYS = ("dashboard_url", "public_url", "test_url", "session_url")

# The PATCH's status_ind for the engine's verdict status (spec: passed, failed, skipped, ignored,
# unknown, error).
STATUS_IND = {"Passed": "passed", "Failed": "failed", "Excluded": "skipped"}
UNKNOWN_STATUS = "unknown"
REASON_MAX = 1000  # guess: no documented limit; a pytest message can be a long traceback summary

# A 200 answer with "status": "fail" while an artifact is being made is waited out; one whose message
# says the session never had it is final (guess: LambdaTest's words are not documented).
ABSENT_WORDS = ("not enabled", "disabled", "not opted", "not captured", "not recorded")
# After a session's other artifacts arrived, how long one still answered "fail" is waited for
# before the session is taken to have none (guess).
ABSENT_GRACE = 30.0
