"""Allure (allure-pytest, real): each captured test's result carries its session's evidence."""
from __future__ import annotations

import json

import pytest

from pytest_devsession.emulator import Fault

pytest.importorskip("allure_pytest")

SUITE = '''
import pytest

@pytest.mark.userflow("Login")
def test_measured(devsession):
    devsession.measure("Time to login", 812.5, units="ms")

def test_failing(devsession):
    assert 0
'''

BROWSER_SUITE = '''
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Page(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = b"<html><body><h1>hello</h1><script>console.log('page loaded')</script></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.userflow("Browse")
def test_page(devsession_chrome, devsession, site):
    devsession_chrome.get(site + "/hello")
    devsession.measure("Page load", 42.0, units="ms")
'''


def har_urls(path) -> list[str]:
    har = json.loads(path.read_text())
    assert har["log"]["version"] == "1.2"
    return [e["request"]["url"] for e in har["log"]["entries"]]


def is_mp4(path) -> bool:
    return path.read_bytes()[4:8] == b"ftyp"


def test_each_result_carries_its_sessions_link_har_video_and_measurements(pytester, emulator_run, headspin_emulator):
    pytester.makepyfile(SUITE)
    run = emulator_run()
    run.result.assert_outcomes(passed=1, failed=1)
    results, sessions = run.results(), run.manifest
    assert set(results) == {"test_measured", "test_failing"}
    for name, result in results.items():
        session = sessions[name]
        [link] = result["links"]
        assert link["url"].endswith(f"/sessions/{session['session_id']}/waterfall")
        assert link["name"] == f"capture session {session['session_id']}"
        files = run.attachments(result)
        har = files["session.har"]
        assert har.suffix == ".har" and har_urls(har)
        assert har.read_bytes() == (run.path / "devsession-artifacts" / session["artifacts"]["har"]).read_bytes()  # this session's, not another's
        assert is_mp4(files["session.mp4"])
        types = {a["name"]: a["type"] for a in result["attachments"]}
        assert types["session.har"] == "application/json" and types["session.mp4"] == "video/mp4"
        assert "devsession problems" not in files
    measured = run.attachments(results["test_measured"])["devsession measurements"]
    assert json.loads(measured.read_text()) == [
        {"key": "Time to login", "value": 812.5, "units": "ms", "type": None}] == sessions["test_measured"]["measurements"]
    assert "devsession measurements" not in run.attachments(results["test_failing"])
    assert results["test_measured"]["status"] == "passed" and results["test_failing"]["status"] == "failed"
    for file in run.path.rglob("*"):
        assert not file.is_file() or headspin_emulator.token.encode() not in file.read_bytes(), file


def test_without_downloads_the_link_and_measurements_are_still_there(pytester, emulator_run):
    pytester.makepyfile(SUITE)
    run = emulator_run("--devsession-download", "off")
    run.result.assert_outcomes(passed=1, failed=1)
    result = run.results()["test_measured"]
    assert result["links"][0]["url"].endswith(f"/sessions/{run.manifest['test_measured']['session_id']}/waterfall")
    assert set(run.attachments(result)) >= {"devsession measurements"}
    assert not {"session.har", "session.mp4"} & set(run.attachments(result))


def test_problems_are_attached(pytester, emulator_run, headspin_emulator):
    headspin_emulator.add_fault(Fault(method="GET", path=r"\.mp4$", kind="status", status=404, times=None))
    pytester.makepyfile(SUITE)
    run = emulator_run("-k", "test_measured")
    run.result.assert_outcomes(passed=1)
    files = run.attachments(run.results()["test_measured"])
    assert "session.har" in files and "session.mp4" not in files
    problems = files["devsession problems"].read_text()
    assert "mp4" in problems and problems.splitlines() == run.manifest["test_measured"]["problems"]


def test_without_alluredir_nothing_is_registered(pytester, emulator_run):
    pytester.makepyfile('''
        def test_registered(request):
            assert request.config.pluginmanager.get_plugin("devsession-allure") is None
    ''')
    run = emulator_run(allure=False)
    run.result.assert_outcomes(passed=1)
    assert not run.folder.exists()


def test_local_browser_test_gets_har_video_console_and_measurements(pytester, local_allure_run):
    from pytest_devsession.drivers.browser import find_chromium

    binary, driver = find_chromium()
    if not (binary and driver):
        pytest.skip("Chromium is not installed: python -m pytest_devsession setup")
    pytester.makepyfile(BROWSER_SUITE)
    run = local_allure_run()
    run.result.assert_outcomes(passed=1)
    result = run.results()["test_page"]
    assert result["status"] == "passed"
    assert not result.get("links")  # the embedded server's sessions end with the run: no link to a dead page
    files = run.attachments(result)
    assert any(url.endswith("/hello") for url in har_urls(files["session.har"]))
    assert is_mp4(files["session.mp4"])
    assert "page loaded" in files["session.jsconsole.log"].read_text()
    assert {a["name"]: a["type"] for a in result["attachments"]}["session.jsconsole.log"] == "text/plain"
    measurements = json.loads(files["devsession measurements"].read_text())
    assert measurements == [{"key": "Page load", "value": 42.0, "units": "ms", "type": None}]


def test_a_failure_while_attaching_is_a_problem_not_a_changed_outcome(pytester, emulator_run):
    pytester.makeconftest('''
        import os
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_devsession_artifacts_collected(item, record, artifacts):
            os.remove(artifacts["mp4"])  # allure cannot have it now
    ''')
    pytester.makepyfile(SUITE)
    run = emulator_run("-k", "test_measured")
    run.result.assert_outcomes(passed=1)
    result = run.results()["test_measured"]
    assert result["status"] == "passed"
    [problem] = run.manifest["test_measured"]["problems"]
    assert problem == "allure: cannot attach session.mp4: No such file or directory"
    assert run.attachments(result)["devsession problems"].read_text() == problem
    assert "session.har" in run.attachments(result)  # the rest of the evidence is there


def test_a_capture_closed_after_its_allure_result_says_so(pytester, emulator_run):
    pytester.makepyfile('''
        import pytest

        @pytest.mark.userflow("Login")
        def test_interrupted(devsession):
            devsession.measure("Time to login", 1.0)
            raise KeyboardInterrupt  # the run ends; the capture is closed after allure closed the result
    ''')
    run = emulator_run()
    assert run.result.ret == pytest.ExitCode.INTERRUPTED
    assert "is already closed; its evidence is in manifest.json only" in run.manifest["test_interrupted"]["problems"][-1]
    assert not run.attachments(run.results()["test_interrupted"])
