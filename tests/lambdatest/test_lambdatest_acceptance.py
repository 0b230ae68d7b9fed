"""Acceptance: pytest itself (pytester, a subprocess) with --devsession --devsession-backend lambdatest
against the LambdaTest emulator: each test's sessions get their verdict (status_ind and reason), their
video, merged full HAR and logs; the access key shows nowhere."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from pytest_devsession.emulator.lambdatest.har import full_har_zip

pytestmark = pytest.mark.timeout(600)

TESTS = '''
import os

import pytest
from selenium import webdriver
from selenium.webdriver.remote.client_config import ClientConfig


def visit(driver):
    """Two pages (two HAR entries at least: a full HAR of two files) and a console message."""
    driver.get(os.environ["PAGE_URL"] + "&n=1")
    driver.get(os.environ["PAGE_URL"] + "&n=2")
    driver.execute_script("console.log('hello from the test')")


@pytest.fixture
def broken_setup(devsession_chrome):
    visit(devsession_chrome)
    raise RuntimeError("the setup broke")


@pytest.fixture
def broken_teardown(devsession_chrome):
    yield
    raise RuntimeError("the teardown broke")


def test_passes(devsession_chrome):
    """Visits two pages."""
    visit(devsession_chrome)


def test_fails(devsession_chrome):
    visit(devsession_chrome)
    assert False, "the page was wrong"


def test_setup_error(broken_setup):
    pass


def test_teardown_error(devsession_chrome, broken_teardown):
    visit(devsession_chrome)


def test_skipped(devsession_chrome):
    visit(devsession_chrome)
    pytest.skip("not today")


@pytest.mark.xfail(reason="a known bug")
def test_xfails(devsession_chrome):
    visit(devsession_chrome)
    assert False


def test_measures(devsession_chrome, devsession):
    visit(devsession_chrome)
    devsession.measure("page_load", 1.25, units="s")
    devsession.measure("items", 3)


def test_own_driver(devsession):
    options = webdriver.ChromeOptions()
    for name, value in devsession.capabilities.items():
        options.set_capability(name, value)
    config = ClientConfig(os.environ["LT_HUB_URL"], username=os.environ["LT_USERNAME"],
                          password=os.environ["LT_ACCESS_KEY"])
    driver = webdriver.Remote(command_executor=os.environ["LT_HUB_URL"], options=options, client_config=config)
    try:
        devsession.attach(driver)
        visit(driver)
    finally:
        driver.quit()


def test_two_browsers(devsession_chrome, devsession):
    visit(devsession_chrome)
    options = webdriver.ChromeOptions()
    for name, value in devsession.capabilities.items():
        options.set_capability(name, value)
    config = ClientConfig(os.environ["LT_HUB_URL"], username=os.environ["LT_USERNAME"],
                          password=os.environ["LT_ACCESS_KEY"])
    second = webdriver.Remote(command_executor=os.environ["LT_HUB_URL"], options=options, client_config=config)
    try:
        devsession.attach(second)
        visit(second)
    finally:
        second.quit()


def test_no_browser(devsession):
    devsession.measure("lonely", 1)
'''

# test name -> (status_ind, the start of the reason, or None for none)
EXPECTED = {
    "test_passes": ("passed", None),
    "test_fails": ("failed", "failed in call: AssertionError: the page was wrong"),
    "test_setup_error": ("failed", "error in setup: RuntimeError: the setup broke"),
    "test_teardown_error": ("failed", "error in teardown: RuntimeError: the teardown broke"),
    "test_skipped": ("skipped", "skipped: not today"),
    "test_xfails": ("skipped", "xfail: a known bug"),
    "test_measures": ("passed", None),
    "test_own_driver": ("passed", None),
    "test_two_browsers": ("passed", None),
}


def _by_name(emulator) -> dict[str, list]:
    """The emulator's sessions by test name (the node id's last part), in the order they were created."""
    found: dict[str, list] = {}
    for session in sorted(emulator.sessions.values(), key=lambda s: s.created):
        found.setdefault((session.name or "").split("::")[-1], []).append(session)
    return found


def _check_har(path, session) -> None:
    """A valid HAR 1.2 document holding every entry of the session, in the order they started, merged
    from the full HAR's ZIP of more than one file."""
    with zipfile.ZipFile(io.BytesIO(full_har_zip(session.entries))) as archive:
        assert len(archive.namelist()) > 1
    har = json.loads(path.read_text())
    log = har["log"]
    assert log["version"] == "1.2"
    assert log["creator"]["name"] and "version" in log["creator"]
    assert isinstance(log["entries"], list)
    urls = [e["request"]["url"] for e in log["entries"]]
    assert [u for u in urls if "/test?testID=none" in u] == [u for _, u, _ in session.requests
                                                             if "/test?testID=none" in u]
    assert any(u.endswith("&n=1") for u in urls) and any(u.endswith("&n=2") for u in urls)
    started = [e["startedDateTime"] for e in log["entries"]]
    assert started == sorted(started)
    for entry in log["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)


@pytest.mark.engine_grid
def test_each_session_gets_its_verdict_and_its_evidence(lt_run, lambdatest_emulator, pytester):
    pytester.makepyfile(test_grid=TESTS)
    run = lt_run("-p", "no:randomly")
    run.result.assert_outcomes(passed=6, failed=1, errors=2, skipped=1, xfailed=1)
    run.assert_secret_absent()
    sessions = _by_name(lambdatest_emulator)
    assert "test_no_browser" not in sessions  # no driver, no session at LambdaTest
    for name, (status_ind, reason) in EXPECTED.items():
        expected_count = 2 if name == "test_two_browsers" else 1
        assert len(sessions[name]) == expected_count, name
        for session in sessions[name]:
            assert session.ended is not None, name  # every driver quit
            assert session.status_ind == status_ind, name
            if reason is None:
                assert not session.reason, name
            else:
                assert (session.reason or "").startswith(reason), (name, session.reason)
            assert session.build == sessions["test_passes"][0].build  # one build for the run
            assert f"outcome:{ {'passed': 'passed', 'failed': 'failed', 'skipped': 'excluded'}[status_ind] }" \
                in session.tags, (name, session.tags)
    measured = sessions["test_measures"][0].custom_data["measurements"]
    assert measured == [{"key": "page_load", "value": 1.25, "units": "s"}, {"key": "items", "value": 3}]
    assert sessions["test_passes"][0].custom_data.get("description") == "Visits two pages."

    manifest = run.sessions()
    for name in EXPECTED:
        entry = manifest[name]
        remote = [s.session_id for s in sessions[name]]
        assert entry["sessions"] == remote, name
        assert entry["session_id"] == remote[0]
        assert entry["problems"] == [], (name, entry["problems"])
        assert set(entry["artifacts"]) == {"mp4", "har", "jsconsole.log"} | (
            {"2.mp4", "2.har", "2.jsconsole.log"} if name == "test_two_browsers" else set()), name
        for n, session in enumerate(sessions[name], start=1):
            prefix = "" if n == 1 else f"{n}."
            assert run.artifact(entry, prefix + "mp4").read_bytes()[4:8] == b"ftyp"
            _check_har(run.artifact(entry, prefix + "har"), session)
            console = run.artifact(entry, prefix + "jsconsole.log").read_text()
            assert "hello from the test" in console, (name, console)
            # One line per console message of the session, whatever the message held.
            assert len(console.splitlines()) == len(session.console), (name, console, session.console)
    assert manifest["test_no_browser"]["sessions"] == []
    assert any("attached no driver" in p for p in manifest["test_no_browser"]["problems"])


@pytest.mark.engine_grid
def test_under_xdist_every_worker_names_one_build(lt_run, lambdatest_emulator, pytester):
    pytester.makepyfile(test_grid=TESTS)
    run = lt_run("-n", "2", "-k", "test_passes or test_fails or test_measures or test_own_driver")
    run.result.assert_outcomes(passed=3, failed=1)
    run.assert_secret_absent()
    sessions = _by_name(lambdatest_emulator)
    assert {name: [s.status_ind for s in found] for name, found in sessions.items()} == {
        "test_passes": ["passed"], "test_fails": ["failed"], "test_measures": ["passed"], "test_own_driver": ["passed"]}
    assert len({s.build for found in sessions.values() for s in found}) == 1
    for name, entry in run.sessions().items():
        assert set(entry["artifacts"]) == {"mp4", "har", "jsconsole.log"}, name


@pytest.mark.engine_grid
def test_the_build_and_the_users_capabilities(lt_run, lambdatest_emulator, pytester):
    pytester.makepyfile(test_grid=TESTS)
    caps = '{"browserVersion": "latest", "LT:Options": {"network.full.har": false}, "resolution": "1920x1080"}'
    run = lt_run("-k", "passes", "--devsession-build", "nightly-42", "--devsession-lambdatest-capabilities", caps)
    run.result.assert_outcomes(passed=1)
    (session,) = lambdatest_emulator.sessions.values()
    assert session.build == "nightly-42"
    assert session.capabilities.get("browserVersion") == "latest"
    assert {k.lower(): v for k, v in session.options.items()}["resolution"] == "1920x1080"
    assert "build:nightly-42" in session.tags
    entry = run.sessions()["test_passes"]
    assert set(entry["artifacts"]) == {"mp4", "jsconsole.log"}  # the full HAR was switched off
    assert entry["problems"] == []
    assert not any("/log/full-har" in r.path for r in lambdatest_emulator.requests)


@pytest.mark.engine_grid
@pytest.mark.engine_artifacts
def test_the_command_and_selenium_logs(lt_run, lambdatest_emulator, pytester):
    pytester.makepyfile(test_grid=TESTS)
    run = lt_run("-k", "passes", "--devsession-artifacts", "command.log,selenium.log")
    assert run.result.ret != pytest.ExitCode.USAGE_ERROR, run.output()
    run.result.assert_outcomes(passed=1)
    entry = run.sessions()["test_passes"]
    command = run.artifact(entry, "command.log").read_text()
    assert "POST /wd/hub/session" in command and "/url" in command
    assert run.artifact(entry, "selenium.log").read_text().strip()
    run.assert_secret_absent()


@pytest.mark.engine_grid
def test_the_service_failing_at_times_is_waited_out(lt_run, lambdatest_emulator, pytester):
    pytester.makepyfile(test_grid=TESTS)
    lambdatest_emulator.add_fault(method="PATCH", path="/sessions/", status=500, times=1)
    lambdatest_emulator.add_fault(method="GET", path=r"^/sessions/[^/]+/video$", kind="retry_after", retry_after=0.2, times=1)
    lambdatest_emulator.add_fault(method="GET", path=r"/log/full-har$", status=503, times=2)
    run = lt_run("-k", "test_fails")
    run.result.assert_outcomes(failed=1)
    (session,) = lambdatest_emulator.sessions.values()
    assert session.status_ind == "failed"
    entry = run.sessions()["test_fails"]
    assert entry["problems"] == []
    assert set(entry["artifacts"]) == {"mp4", "har", "jsconsole.log"}


def test_refused_credentials_stop_the_run_before_any_test(lt_run, lambdatest_emulator, pytester, monkeypatch):
    pytester.makepyfile(test_grid=TESTS)
    monkeypatch.setenv("LT_ACCESS_KEY", "not-the-key")
    run = lt_run("-k", "passes")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "LambdaTest refused the credentials in LT_USERNAME and LT_ACCESS_KEY" in run.output()
    assert lambdatest_emulator.sessions == {}


def test_the_backend_alone_against_the_emulator(lambdatest_emulator, tmp_path):
    """Without the engine: a browser from remote_chrome, its verdict, its link and all five artifacts."""
    from pytest_devsession.backends.base import Verdict
    from pytest_devsession.backends.lambdatest.backend import LambdaTestBackend
    from pytest_devsession.backends.lambdatest.settings import LambdaTestSettings
    from pytest_devsession.settings import Secret, Settings

    section = LambdaTestSettings(username=lambdatest_emulator.username,
                                 access_key=Secret(lambdatest_emulator.access_key),
                                 hub_url=lambdatest_emulator.hub_url, api_url=lambdatest_emulator.url)
    backend = LambdaTestBackend(Settings(enabled=True, backend="lambdatest", section=section, ready_timeout=30,
                                         build_name="alone-1"))
    try:
        capture = backend.start_capture(backend.devices()["lambdatest"], None)
        driver = backend.remote_chrome(capture, "tests/test_x.py::test_alone", (1024, 768))
        try:
            driver.get(lambdatest_emulator.root_url + "/test?testID=none&n=1")
            driver.get(lambdatest_emulator.root_url + "/test?testID=none&n=2")
            driver.execute_script("console.warn('careful')")
        finally:
            driver.quit()
        (session_id,) = backend.sessions_of(capture)
        backend.give_verdict(session_id, Verdict("tests/test_x.py::test_alone", "", "Failed", "failed in call: boom",
                                                 {"outcome": "failed"}, [{"key": "k", "value": 1}]))
        session = lambdatest_emulator.sessions[session_id]
        assert (session.status_ind, session.reason, session.tags) == ("failed", "failed in call: boom",
                                                                      ["outcome:failed"])
        assert session.build == "alone-1" and session.name == "tests/test_x.py::test_alone"
        assert backend.session_url(session_id).endswith(f"/test?testID={session.test_id}")
        sizes = {ext: backend.download(session_id, ext, tmp_path / f"session.{ext}")
                 for ext in ("mp4", "har", "jsconsole.log", "command.log", "selenium.log")}
        assert all(sizes.values()), sizes
        _check_har(tmp_path / "session.har", session)
        assert "careful" in (tmp_path / "session.jsconsole.log").read_text()
        command = (tmp_path / "session.command.log").read_text()
        assert "POST /wd/hub/session " in command and f"POST /wd/hub/session/{session_id}/url" in command
        assert "DELETE" in command
        selenium = (tmp_path / "session.selenium.log").read_text()
        assert len(selenium.splitlines()) >= 2
        for file in tmp_path.iterdir():
            assert lambdatest_emulator.access_key.encode() not in file.read_bytes(), file
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"session.{e}" for e in sizes)
    finally:
        backend.close()


LATE = '''
def test_first(devsession_chrome):
    devsession_chrome.get("about:blank")


def test_second(devsession_chrome):
    devsession_chrome.get("about:blank")
'''


@pytest.mark.engine_grid
@pytest.mark.parametrize("lambdatest_emulator", [{"artifact_delay": 3.0}], indirect=True)
def test_artifacts_that_appear_late_are_waited_for_without_slowing_the_next_test(
        lt_run, lambdatest_emulator, pytester):
    pytester.makepyfile(test_late=LATE)
    run = lt_run("-p", "no:randomly")
    run.result.assert_outcomes(passed=2)
    first, second = (found[0] for found in (_by_name(lambdatest_emulator)[n] for n in ("test_first", "test_second")))
    # The second test's browser started while the first one's video was not out yet: the wait was in the background.
    assert second.created < first.ended + 3.0, (first.ended, second.created)
    for name in ("test_first", "test_second"):
        entry = run.sessions()[name]
        assert entry["problems"] == [] and run.artifact(entry, "mp4").read_bytes()[4:8] == b"ftyp", entry
