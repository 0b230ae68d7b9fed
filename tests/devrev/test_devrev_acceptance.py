"""DevRev beside each test's capture, end to end: pytest --devsession (HeadSpin emulator, and the local
backend) with --devsession-devrev-app against the DevRev emulator; the app's SDK is played by the tests."""
from __future__ import annotations

import json

import pytest

INNER = '''
import os
import time

import pytest
import requests

UPLOAD = os.environ["DEVREV_API_URL"] + "/_emulator/sessions.upload"


def app_session(**fields):
    """What the app's DevRev SDK does: upload its recorded session (listed only after upload_delay)."""
    body = {"version_key": os.environ["DEVREV_APP_ID"], "platform": "android", "frames": 4, **fields}
    answer = requests.post(UPLOAD, json=body, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer.json()["session_id"]


@pytest.mark.userflow("App")
def test_launch(devsession):
    app_session(app_launch={"launch_time_ms": 850, "launch_type": "cold"}, upload_delay=2.0)
    devsession.measure("own", 1)


@pytest.mark.userflow("App")
def test_crash(devsession):
    app_session(is_crash=True, log="java.lang.NullPointerException at LoginActivity.onCreate", upload_delay=0.5)


def test_close_a(devsession):
    app_session(upload_delay=0.5)


def test_close_b(devsession):
    app_session(upload_delay=0.5)


def test_no_app(devsession):
    pass
'''


@pytest.fixture
def run_with_devrev(pytester, devrev_emulator, monkeypatch, request):
    def run(*args: str, backend: str = "headspin", token: str | None = None):
        monkeypatch.setenv("DEVREV_API_URL", devrev_emulator.url)
        monkeypatch.setenv("DEVREV_TOKEN", token or devrev_emulator.token)
        monkeypatch.setenv("DEVREV_APP_ID", devrev_emulator.app_id)
        for name in ("DEVSESSION_DEVICES", "DEVSESSION_USERFLOW", "DEVSESSION_ARTIFACTS", "BUILD_ID", "CI_JOB_ID",
                     "GITHUB_RUN_ID", "DEVSESSION_BUILD_ID", "HEADSPIN_UI_URL"):
            monkeypatch.delenv(name, raising=False)
        argv = ["--devsession", "-p", "no:cacheprovider", "--devsession-devrev-timeout", "6",
                "--junitxml=junit.xml", "-o", "junit_family=xunit1", "--html=report.html", *args]
        if backend == "headspin":
            emulator = request.getfixturevalue("headspin_emulator")
            monkeypatch.setenv("HEADSPIN_API_TOKEN", emulator.token)
            monkeypatch.setenv("HEADSPIN_API_URL", emulator.url)
            argv += ["--devsession-backend", "headspin", "--devsession-device", emulator.DEFAULT_DEVICES[0]]
        else:
            monkeypatch.delenv("HEADSPIN_API_TOKEN", raising=False)
            argv += ["--devsession-backend", "local"]
        result = pytester.runpytest_subprocess(*argv, timeout=180)
        path = pytester.path / "devsession-artifacts" / "manifest.json"
        manifest = json.loads(path.read_text()) if path.exists() else {"sessions": []}
        return result, {e["nodeid"].split("::")[-1]: e for e in manifest["sessions"]}
    return run


def _no_token_anywhere(pytester, result, *tokens):
    output = "\n".join(result.outlines + result.errlines)
    for token in tokens:
        assert token not in output
        for file in pytester.path.rglob("*"):
            if file.is_file():
                assert token.encode() not in file.read_bytes(), f"a token in {file}"


def test_each_test_gets_its_own_app_session_with_headspin(pytester, run_with_devrev, devrev_emulator,
                                                          headspin_emulator):
    pytester.makepyfile(test_app=INNER)
    devrev_emulator.add_fault(status=429, times=3)  # a burst of 429s: waited out
    result, entries = run_with_devrev()
    result.assert_outcomes(passed=5)
    ids = {name: (entries[name]["app_session"] or {}).get("session_id") for name in entries}
    found = [ids[n] for n in ("test_launch", "test_crash", "test_close_a", "test_close_b")]
    assert all(found) and len(set(found)) == 4, ids  # each its own, none claimed twice
    assert entries["test_no_app"]["app_session"] is None and entries["test_no_app"]["problems"] == []
    launch = entries["test_launch"]
    assert {"key": "app launch time (cold)", "value": 850, "units": "ms", "type": "DevRev"} in launch["measurements"]
    assert {"devrev.json", "devrev.mp4"} <= set(launch["artifacts"]) and launch["problems"] == []
    data = json.loads((pytester.path / "devsession-artifacts" / launch["artifacts"]["devrev.json"]).read_text())
    assert data["session"]["session_id"] == ids["test_launch"]
    # Uploaded to the test's user flow like its own measurements.
    flow = headspin_emulator.userflow_by_name("App")
    uploaded = [m for e in flow.events.values() for m in e.measurements]
    assert {"own", "app launch time (cold)"} <= {m["key"] for m in uploaded}
    crash = entries["test_crash"]
    assert crash["app_session"]["crash"] is True and "NullPointerException" in crash["app_session"]["crash_log"]
    assert any(p.startswith("DevRev: the app crashed during the test") for p in crash["problems"])
    output = "\n".join(result.outlines)
    assert "DevRev: the app crashed during the test" in output  # the summary names it
    junit = (pytester.path / "junit.xml").read_text()
    assert 'name="devsession_app_crash" value="true"' in junit
    assert "CRASH" in (pytester.path / "report.html").read_text()
    _no_token_anywhere(pytester, result, devrev_emulator.token, headspin_emulator.token)


def test_with_the_local_backend(pytester, run_with_devrev, devrev_emulator):
    pytester.makepyfile(test_app=INNER)
    result, entries = run_with_devrev("-k", "launch or no_app", backend="local")
    result.assert_outcomes(passed=2)
    assert entries["test_launch"]["app_session"]["session_id"] and entries["test_no_app"]["app_session"] is None
    assert "devrev.mp4" in entries["test_launch"]["artifacts"]
    _no_token_anywhere(pytester, result, devrev_emulator.token)


def test_a_bad_token_is_one_usage_error_before_any_test(pytester, run_with_devrev, devrev_emulator,
                                                        headspin_emulator):
    pytester.makepyfile(test_app=INNER)
    result, _ = run_with_devrev(token="not-the-token")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "DEVREV_TOKEN" in "\n".join(result.errlines + result.outlines)
    assert headspin_emulator.sessions == {}
    _no_token_anywhere(pytester, result, "not-the-token")
