"""A whole run against the emulator: outcomes, statuses, measurements, downloads, reports."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest


OUTCOMES = '''
import pytest

@pytest.fixture
def broken_setup():
    raise RuntimeError("database down")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("cleanup exploded")

@pytest.mark.userflow("Login", description="Sign-in journey")
def test_pass(devsession):
    """Signs in with a valid user."""
    assert devsession.session_id
    devsession.measure("Time to login", 812.5, units="ms", type="Custom Metrics")
    devsession.measure("Build", "abc123")

@pytest.mark.userflow("Login")
def test_fail(devsession):
    devsession.measure("Time to login", 9000, units="ms")
    assert 1 == 2, "wrong answer"

@pytest.mark.userflow("Login")
def test_setup_error(broken_setup):
    pass

@pytest.mark.userflow("Login")
def test_teardown_error(broken_teardown):
    pass

@pytest.mark.userflow("Login")
@pytest.mark.skip(reason="not today")
def test_skip_mark():
    pass

@pytest.mark.userflow("Login")
def test_skip_inside():
    pytest.skip("feature flag off")

@pytest.mark.userflow("Login")
@pytest.mark.xfail(reason="known bug 42")
def test_xfail():
    assert False

@pytest.mark.userflow("Login")
@pytest.mark.xfail(reason="fixed already")
def test_xpass():
    pass

@pytest.mark.userflow("Login")
@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    pass
'''


def test_outcomes_become_statuses_and_evidence(pytester, devsession_run, headspin_emulator, assert_secret_absent):
    pytester.makepyfile(test_outcomes=OUTCOMES)
    run = devsession_run("-v")
    run.result.assert_outcomes(passed=2, failed=2, errors=2, skipped=2, xfailed=1, xpassed=1)

    sessions = run.sessions()
    # A skip mark opens no capture: device time is precious.
    assert "test_skip_mark" not in sessions
    expected = {
        "test_pass": ("Passed", None),
        "test_fail": ("Failed", "failed in call: AssertionError: wrong answer"),
        "test_setup_error": ("Failed", "error in setup: RuntimeError: database down"),
        "test_teardown_error": ("Failed", "error in teardown: RuntimeError: cleanup exploded"),
        "test_skip_inside": ("Excluded", "skipped: feature flag off"),
        "test_xfail": ("Excluded", "xfail: known bug 42"),
        "test_xpass": ("Passed", "xpass: fixed already"),
        "test_xpass_strict": ("Failed", "failed in call: [XPASS(strict)] must fail"),
    }
    for name, (status, message) in expected.items():
        entry = sessions[name]
        assert entry["status"] == status, name
        if message is None:
            assert entry["status_message"] is None
        else:
            assert entry["status_message"].startswith(message), (name, entry["status_message"])

    # The emulator saw the same: every capture stopped and complete, the device unlocked.
    assert len(headspin_emulator.sessions) == len(expected)
    for session in headspin_emulator.sessions.values():
        assert session.active is False
        assert session.state == "complete"
        assert sorted(session.downloads) == ["har", "mp4"]
    device = headspin_emulator.devices[headspin_emulator.DEFAULT_DEVICES[0]]
    assert device.locked_by is None
    assert device.lock_count == 1 and device.unlock_count == 1

    flow = headspin_emulator.userflow_by_name("Login")
    assert flow.description == "Sign-in journey"
    events = {e.session_id: e for e in flow.events.values()}
    for name, (status, message) in expected.items():
        event = events[sessions[name]["session_id"]]
        assert event.status == status
        assert (event.status_message or None) == (sessions[name]["status_message"] or None)
    passed = events[sessions["test_pass"]["session_id"]]
    assert {(m["key"], m["value"]) for m in passed.measurements} == {("Time to login", 812.5), ("Build", "abc123")}
    failed = events[sessions["test_fail"]["session_id"]]
    assert [(m["key"], m["value"]) for m in failed.measurements] == [("Time to login", 9000)]

    # Name, description and tags on the session.
    emu_pass = headspin_emulator.sessions[sessions["test_pass"]["session_id"]]
    assert emu_pass.name == "test_outcomes.py::test_pass"
    assert emu_pass.description == "Signs in with a valid user."
    assert {"outcome": "passed"} in emu_pass.tags

    # manifest.json: relative artifact paths that exist, measurements with units and type.
    manifest = run.manifest
    assert manifest["version"] == 1
    root = run.path / "devsession-artifacts"
    for entry in manifest["sessions"]:
        assert entry["backend"] == "headspin"
        assert entry["device_address"] == headspin_emulator.DEFAULT_DEVICES[0]
        assert entry["userflow"] == "Login"
        assert set(entry["artifacts"]) == {"har", "mp4"}
        for rel in entry["artifacts"].values():
            assert not rel.startswith("/")
            assert (root / rel).stat().st_size > 0
        har = json.loads((root / entry["artifacts"]["har"]).read_text())
        assert har["log"]["version"] == "1.2"
        assert (root / entry["artifacts"]["mp4"]).read_bytes()[4:8] == b"ftyp"
    assert sessions["test_pass"]["measurements"] == [
        {"key": "Time to login", "value": 812.5, "units": "ms", "type": "Custom Metrics"},
        {"key": "Build", "value": "abc123", "units": None, "type": None},
    ]

    # JUnit XML: properties per testcase and attachment lines in system-out.
    tree = ET.parse(run.path / "junit.xml")
    cases = {c.get("name"): c for c in tree.iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["test_fail"].iter("property")}
    assert props["devsession_session_id"] == sessions["test_fail"]["session_id"]
    assert props["devsession_status"] == "Failed"
    assert props["devsession_userflow"] == "Login"
    assert props["devsession_session_url"].endswith(f"/sessions/{sessions['test_fail']['session_id']}/waterfall")
    assert props["devsession_har"].endswith("session.har")
    assert props["devsession_mp4"].endswith("session.mp4")
    system_out = "".join(e.text or "" for e in cases["test_fail"].iter("system-out"))
    assert f"[[ATTACHMENT|{props['devsession_mp4']}]]" in system_out
    assert not list(cases["test_skip_mark"].iter("property"))

    # pytest-html: the session link, artifact links, the video inline, the measurements.
    report = (run.path / "report.html").read_text()
    assert sessions["test_pass"]["session_id"] in report
    assert "session.har" in report and "session.mp4" in report
    assert "&lt;video" in report or "<video" in report
    assert "Time to login" in report

    # The terminal summary: one line per session with -v and the totals.
    out = run.output()
    assert "sessions: 8 (2 Excluded, 4 Failed, 2 Passed)" in out
    assert "artifacts: 16" in out
    assert "measurements uploaded: 3" in out
    assert "problems: 0" in out
    assert f"Failed test_outcomes.py::test_fail {props['devsession_session_url']}" in out

    assert_secret_absent(run.path, out, headspin_emulator.token)


def test_without_user_flow_measurements_stay_in_reports(pytester, devsession_run, headspin_emulator):
    pytester.makepyfile(test_plain='''
        def test_measured(devsession):
            devsession.measure("Frames dropped", 3)
    ''')
    run = devsession_run()
    run.result.assert_outcomes(passed=1)
    entry = run.sessions()["test_measured"]
    assert entry["userflow"] is None
    assert entry["status"] == "Passed"
    assert entry["measurements"] == [{"key": "Frames dropped", "value": 3, "units": None, "type": None}]
    assert headspin_emulator.userflows == {}
    session = headspin_emulator.sessions[entry["session_id"]]
    assert session.state == "complete"
    out = run.output()
    assert "measurements uploaded: 0; 1 not uploaded" in out
    assert "not uploaded: the test has no user flow" in out
    assert "Frames dropped" in (run.path / "report.html").read_text()


def test_default_userflow_option(pytester, devsession_run, headspin_emulator):
    pytester.makepyfile(test_plain="def test_a(): pass")
    run = devsession_run("--devsession-userflow", "Nightly")
    run.result.assert_outcomes(passed=1)
    flow = headspin_emulator.userflow_by_name("Nightly")
    assert [e.status for e in flow.events.values()] == ["Passed"]


def test_opt_out_and_marked_mode(pytester, devsession_run, headspin_emulator):
    pytester.makepyfile(test_mix='''
        import pytest

        @pytest.mark.devsession(capture=False)
        def test_opted_out():
            pass

        def test_plain():
            pass

        @pytest.mark.userflow("Checkout")
        def test_marked():
            pass

        def test_fixture(devsession):
            assert devsession.session_id
    ''')
    run = devsession_run()
    run.result.assert_outcomes(passed=4)
    assert set(run.sessions()) == {"test_plain", "test_marked", "test_fixture"}

    headspin_emulator.reset()
    run = devsession_run("-o", "devsession_capture=marked")
    run.result.assert_outcomes(passed=4)
    assert set(run.sessions()) == {"test_marked", "test_fixture"}


def test_per_test_overrides(pytester, devsession_run, headspin_emulator):
    second = headspin_emulator.DEFAULT_DEVICES[1]
    pytester.makepyfile(test_override=f'''
        import pytest

        @pytest.mark.devsession(device="{second}", artifacts=["appium.log"], mitm_ignore=[r".*\\.pinned\\.example"],
                                network_keep_in_session_patterns=["*.example:443"])
        def test_other_device(devsession):
            assert devsession.device_address == "{second}"
    ''')
    run = devsession_run()
    run.result.assert_outcomes(passed=1)
    entry = run.sessions()["test_other_device"]
    assert set(entry["artifacts"]) == {"appium.log"}
    session = headspin_emulator.sessions[entry["session_id"]]
    assert session.device_address == second
    assert session.mitm_ignore == [r".*\.pinned\.example"]
    assert session.network_keep_in_session_patterns == ["*.example:443"]
    assert all(d.locked_by is None for d in headspin_emulator.devices.values())


@pytest.mark.parametrize("mode, expected", [("off", set()), ("only-on-failure", {"test_bad"})])
def test_download_modes(pytester, devsession_run, headspin_emulator, mode, expected):
    pytester.makepyfile(test_dl='''
        def test_good():
            pass

        def test_bad():
            assert False
    ''')
    run = devsession_run("--devsession-download", mode)
    run.result.assert_outcomes(passed=1, failed=1)
    with_artifacts = {name for name, entry in run.sessions().items() if entry["artifacts"]}
    assert with_artifacts == expected
    downloaded = {s.name.split("::")[-1] for s in headspin_emulator.sessions.values() if s.downloads}
    assert downloaded == expected


def test_plugin_off_makes_no_call(pytester, devsession_run, headspin_emulator):
    pytester.makepyfile(test_off='''
        def test_a(devsession):
            devsession.measure("x", 1)
            assert devsession.session_id is None
    ''')
    run = devsession_run(plain=True)
    run.result.assert_outcomes(passed=1)
    assert headspin_emulator.requests == []
    assert not (run.path / "devsession-artifacts").exists()


def test_retried_test_keeps_its_own_folder(pytester, devsession_run):
    # Two items with the same node id, as a rerun plugin produces them.
    pytester.makeconftest('''
        import pytest

        def pytest_collection_modifyitems(items):
            items.append(items[0])
    ''')
    pytester.makepyfile(test_again="def test_a(): pass")
    run = devsession_run()
    run.result.assert_outcomes(passed=2)
    folders = sorted(p.name for p in (run.path / "devsession-artifacts").iterdir() if p.is_dir())
    assert folders == ["test_again.py_test_a", "test_again.py_test_a-run2"]
