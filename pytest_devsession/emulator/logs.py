"""The logs a capture session offers for download: Appium, Selenium, device and JavaScript console.

Pure functions of a session's plain facts (id, device, start); no HTTP, no state.
"""

from __future__ import annotations

import time


def _stamp(epoch: float, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}"


def appium_log(session_id: str, start: float, platform: str, serial: str) -> str:
    automation = "UiAutomator2" if platform == "android" else "XCUITest"
    short = session_id[:8]
    lines = [
        (0.0, "[Appium] Welcome to Appium v2.11.2"),
        (0.1, "[HTTP] --> POST /wd/hub/session"),
        (0.2, f"[AppiumDriver@{short[:4]}] Appium v2.11.2 creating new {automation}Driver session"),
        (0.3, f"[{automation}Driver@{short[:4]}] Using device: {serial}"),
        (1.8, f"[AppiumDriver@{short[:4]}] New {automation}Driver session created successfully, session {session_id} added to master session list"),
        (1.9, "[HTTP] <-- POST /wd/hub/session 200 1834 ms - 912"),
        (2.1, f"[HTTP] --> POST /wd/hub/session/{session_id}/element"),
        (2.1, f'[{automation}Driver@{short[:4]} ({short})] Calling AppiumDriver.findElement() with args: ["accessibility id","login",{session_id!r}]'),
        (2.4, f"[HTTP] <-- POST /wd/hub/session/{session_id}/element 200 301 ms - 137"),
        (2.6, f"[HTTP] --> POST /wd/hub/session/{session_id}/element/00000000-0000-0001/click"),
        (2.8, f"[HTTP] <-- POST /wd/hub/session/{session_id}/element/00000000-0000-0001/click 200 212 ms - 14"),
        (3.5, f"[HTTP] --> DELETE /wd/hub/session/{session_id}"),
        (3.9, f"[AppiumDriver@{short[:4]}] Removing session {session_id} from our master session list"),
        (4.0, f"[HTTP] <-- DELETE /wd/hub/session/{session_id} 200 402 ms - 14"),
    ]
    return "".join(f"{_stamp(start + dt, '%Y-%m-%d %H:%M:%S')} {text}\n" for dt, text in lines)


def selenium_log(session_id: str, start: float) -> str:
    lines = [
        (0.0, "INFO", "Starting ChromeDriver 126.0.6478.126 on port 9515"),
        (0.2, "INFO", f"[{session_id}] COMMAND InitSession"),
        (1.1, "INFO", f"[{session_id}] RESPONSE InitSession"),
        (1.4, "INFO", f"[{session_id}] COMMAND Navigate {{\"url\": \"https://www.example.com/\"}}"),
        (2.2, "INFO", f"[{session_id}] RESPONSE Navigate"),
        (2.5, "WARNING", f"[{session_id}] Timed out waiting for page load; continuing"),
        (3.9, "INFO", f"[{session_id}] COMMAND Quit"),
        (4.0, "INFO", f"[{session_id}] RESPONSE Quit"),
    ]
    return "".join(f"[{_stamp(start + dt, '%Y-%m-%d %H:%M:%S')}][{level}]: {text}\n" for dt, level, text in lines)


def device_log(session_id: str, start: float, platform: str, serial: str) -> str:
    if platform == "ios":
        lines = [
            (0.0, "SpringBoard[58] <Notice>", f"HeadSpin capture {session_id} attached to {serial}"),
            (0.4, "SpringBoard[58] <Notice>", "Application com.example.app launched"),
            (1.2, "example[1422] <Notice>", "App did finish launching in 812 ms"),
            (2.7, "nsurlsessiond[103] <Notice>", "Task <4F1C> finished with status 200"),
            (3.9, "SpringBoard[58] <Notice>", "Application com.example.app moved to background"),
        ]
        return "".join(f"{_stamp(start + dt, '%b %d %H:%M:%S')} {serial} {proc}: {text}\n" for dt, proc, text in lines)
    lines = [
        (0.0, "I", "HeadSpin", f"capture session {session_id} started on {serial}"),
        (0.4, "I", "ActivityManager", "Start proc 4211:com.example.app/u0a201 for activity"),
        (1.2, "I", "ActivityTaskManager", "Displayed com.example.app/.MainActivity: +812ms"),
        (2.7, "D", "OkHttp", "<-- 200 https://api.example.com/v1/config (64ms)"),
        (3.1, "W", "example.app", "Slow frame: 48ms"),
        (3.9, "I", "ActivityManager", "com.example.app moved to background"),
    ]
    return "".join(f"{_stamp(start + dt, '%m-%d %H:%M:%S')}  4211  4211 {lvl} {tag}: {text}\n" for dt, lvl, tag, text in lines)


def jsconsole_log(session_id: str, start: float) -> str:
    lines = [
        (1.0, "log", "app booted"),
        (1.6, "info", f"session {session_id}"),
        (2.3, "warn", "Deprecated API used: document.domain"),
        (2.9, "error", "Failed to load resource: https://cdn.example.com/img/missing.png (404)"),
    ]
    return "".join(f"[{_stamp(start + dt, '%Y-%m-%dT%H:%M:%S')}Z] [{level}] {text}\n" for dt, level, text in lines)
