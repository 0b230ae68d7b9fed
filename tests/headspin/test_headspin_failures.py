"""The failure paths: bad input, a refused token, a busy device, faults, interruptions."""
from __future__ import annotations

import json

import pytest

from pytest_devsession.emulator import Fault



def _locks(emulator) -> list:
    return [r for r in emulator.requests if "/lock" in r[1] or "/unlock" in r[1]]


@pytest.mark.parametrize("args, env, needle", [
    (["--devsession-device", "no-at-sign"], {}, "--devsession-device: malformed device address 'no-at-sign'"),
    (["--devsession-artifacts", "har,webm"], {}, "unknown artifact extension 'webm'; accepted: mp4, har"),
    (["--devsession-download", "sometimes"], {}, "--devsession-download: got 'sometimes'; accepted values: on, off, only-on-failure"),
    (["--devsession-backend", "saucelabs"], {}, "--devsession-backend: no plugin provides the backend 'saucelabs'; "
                                                "the backends registered: headspin, lambdatest, local"),
    (["--devsession-ready-timeout", "soon"], {}, "--devsession-ready-timeout: got 'soon'; expected a number of seconds"),
    (["--devsession-api-url", "ftp://x"], {}, "--devsession-api-url: got 'ftp://x'; expected an http:// or https:// URL"),
    (["-o", "devsession_capture=some"], {}, "devsession_capture (ini): got 'some'; accepted values: all, marked"),
    ([], {"HEADSPIN_API_TOKEN": ""}, "HEADSPIN_API_TOKEN: the HeadSpin backend needs an API token"),
    (["--devsession-device", "ghost@nowhere.example"], {}, "ghost@nowhere.example unknown to"),
    (["--devsession-ready-timeout", "-1"], {}, "--devsession-ready-timeout: got '-1'; expected a number of seconds greater than 0"),
    (["--devsession-userflow", "   "], {}, "--devsession-userflow: expected a non-empty user flow name"),
    (["--devsession-ui-url", "ui.example"], {}, "--devsession-ui-url: got 'ui.example'; expected an http:// or https:// URL"),
    ([], {"DEVSESSION_HAR_RAW": "maybe"}, "DEVSESSION_HAR_RAW: got 'maybe'; accepted values: true, false"),
    ([], {"DEVSESSION_DOWNLOAD": "never"}, "DEVSESSION_DOWNLOAD: got 'never'; accepted values: on, off, only-on-failure"),
])
def test_bad_input_is_refused_before_any_lock(pytester, devsession_run, headspin_emulator, monkeypatch,
                                              args, env, needle):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run(*args, device=None if "--devsession-device" in args else "default")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert needle in run.output()
    assert _locks(headspin_emulator) == []
    assert headspin_emulator.sessions == {}


@pytest.mark.parametrize("source, needle", [
    ('@pytest.mark.userflow()\ndef test_x(): pass', "userflow needs a non-empty user flow name"),
    ('@pytest.mark.userflow("A", colour="red")\ndef test_x(): pass', "userflow got unknown argument(s) colour"),
    ('@pytest.mark.devsession(capture="yes")\ndef test_x(): pass', "capture=...) must be True or False"),
    ('@pytest.mark.devsession(speed=3)\ndef test_x(): pass', "unknown argument(s) speed; accepted: capture, device"),
    ('@pytest.mark.devsession(artifacts=["gif"])\ndef test_x(): pass', "unknown artifact extension 'gif'"),
    ('@pytest.mark.devsession(device="two words")\ndef test_x(): pass', "must be a device address of the backend"),
    ('@pytest.mark.devsession(device="bad")\ndef test_x(): pass', "@pytest.mark.devsession(device='bad') is unknown to"),
])
def test_wrong_marker_arguments_name_the_test(pytester, devsession_run, headspin_emulator, source, needle):
    pytester.makepyfile(test_marks="import pytest\n\n" + source)
    run = devsession_run()
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    out = run.output()
    assert "test_marks.py::test_x" in out and needle in out
    assert _locks(headspin_emulator) == []


def test_measure_rejects_wrong_types(pytester, devsession_run):
    pytester.makepyfile(test_m='''
        import pytest

        def test_types(devsession):
            with pytest.raises(TypeError, match="value=...\\\\) must be an int, float or str, got dict"):
                devsession.measure("k", {"a": 1})
            with pytest.raises(TypeError, match="key=...\\\\) must be a non-empty string"):
                devsession.measure(None, 1)
            with pytest.raises(ValueError, match="at most 255"):
                devsession.measure("k" * 300, 1)
            with pytest.raises(ValueError, match="finite"):
                devsession.measure("k", float("nan"))
    ''')
    devsession_run().result.assert_outcomes(passed=1)


def test_refused_token_stops_the_run_once(pytester, devsession_run, headspin_emulator, monkeypatch):
    monkeypatch.setenv("HEADSPIN_API_TOKEN", "not-the-right-token-1234")
    pytester.makepyfile(test_a="def test_a(): pass\ndef test_b(): pass\ndef test_c(): pass")
    run = devsession_run()
    out = run.output()
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert out.count("HeadSpin refused the API token in HEADSPIN_API_TOKEN") == 1
    assert "not-the-right-token-1234" not in out
    assert [r[2] for r in headspin_emulator.requests] == [401]


def test_token_revoked_mid_run_stops_and_unlocks(pytester, devsession_run, headspin_emulator):
    pytester.makepyfile(test_a="def test_a(): pass\ndef test_b(): pass\ndef test_c(): pass")
    headspin_emulator.add_fault(Fault(method="POST", path=r"^/sessions$", kind="status", status=401, times=None,
                                      body={"status": "Unauthorized", "status_code": 401}))
    run = devsession_run()
    out = run.output()
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert out.count("HeadSpin refused the API token") == 1
    device = headspin_emulator.devices[headspin_emulator.DEFAULT_DEVICES[0]]
    assert device.locked_by is None and device.unlock_count == 1


def test_busy_device_names_the_free_ones(pytester, devsession_run, headspin_emulator):
    busy = headspin_emulator.add_device("busy-1", hostname="emulator.local", platform="android",
                                        locked_by="someone@else.example")
    pytester.makepyfile(test_a="def test_a(): pass\ndef test_b(): pass")
    run = devsession_run(device=busy)
    run.result.assert_outcomes(errors=2)
    out = run.output()
    assert f"cannot lock {busy}: lock {busy}: Did not lock." in out
    assert "Free devices: " + ", ".join(sorted(headspin_emulator.DEFAULT_DEVICES)) in out
    # Asked once, not once per test.
    assert len([r for r in headspin_emulator.requests if r[1].endswith("/lock")]) == 1
    assert headspin_emulator.devices[busy].locked_by == "someone@else.example"
    assert headspin_emulator.sessions == {}


def test_flaky_capture_setup_is_waited_out(pytester, devsession_run, headspin_emulator):
    headspin_emulator.flaky_capture_setup = True
    headspin_emulator.ready_delay = 0.3
    headspin_emulator.complete_delay = 0.3
    pytester.makepyfile(test_a='''
        import pytest

        @pytest.mark.userflow("Flaky")
        def test_a(devsession):
            devsession.measure("k", 1)
    ''')
    run = devsession_run()
    run.result.assert_outcomes(passed=1)
    assert "problems: 0" in run.output()
    (session,) = headspin_emulator.sessions.values()
    assert session.state == "complete" and sorted(session.downloads) == ["har", "mp4"]
    # The downloaded video is the whole one: fetched only after capture-complete.
    entry = run.sessions()["test_a"]
    assert (run.path / "devsession-artifacts" / entry["artifacts"]["mp4"]).stat().st_size == len(
        headspin_emulator_full_mp4())


def headspin_emulator_full_mp4() -> bytes:
    from pytest_devsession.emulator import artifacts

    return artifacts.mp4()


def test_failed_start_is_a_setup_error_with_the_servers_words(pytester, devsession_run, headspin_emulator):
    # The device keeps refusing (a 500 is tried again until the ready timeout, then it is the test's error).
    headspin_emulator.add_fault(Fault(method="POST", path=r"^/sessions$", kind="status", status=500, times=None,
                                      body={"status": "Error starting session.", "status_code": 500}))
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run("--devsession-ready-timeout", "1")
    run.result.assert_outcomes(errors=1)
    assert "could not start a capture on" in run.output()
    assert "Error starting session. (tried " in run.output() and "--devsession-ready-timeout is 1 s) (HTTP 500)" in run.output()
    assert headspin_emulator.sessions == {}
    assert headspin_emulator.devices[headspin_emulator.DEFAULT_DEVICES[0]].locked_by is None


def test_capture_never_ready_hits_the_deadline_and_is_stopped(pytester, devsession_run, headspin_emulator):
    headspin_emulator.ready_delay = 60
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run("--devsession-ready-timeout", "0.5")
    run.result.assert_outcomes(errors=1)
    assert "did not become ready within 0.5 s (--devsession-ready-timeout)" in run.output()
    (session,) = headspin_emulator.sessions.values()
    assert session.active is False
    assert headspin_emulator.devices[headspin_emulator.DEFAULT_DEVICES[0]].locked_by is None


def test_failures_after_the_test_never_change_its_outcome(pytester, devsession_run, headspin_emulator):
    headspin_emulator.add_fault(Fault(method="GET", path=r"\.mp4$", kind="status", status=404, times=None))
    headspin_emulator.add_fault(Fault(method="POST", path=r"/measurements$", kind="status", status=400, times=None,
                                      body={"status": "Invalid measurement data", "status_code": 400}))
    pytester.makepyfile(test_a='''
        import pytest

        @pytest.mark.userflow("Broken uploads")
        def test_a(devsession):
            devsession.measure("k", 1)
    ''')
    run = devsession_run("-W", "always::pytest_devsession.state.DevSessionWarning")
    run.result.assert_outcomes(passed=1)
    out = run.output()
    assert "problems: 2" in out
    assert "upload measurements: Invalid measurement data (HTTP 400)" in out
    assert "download mp4" in out
    assert "DevSessionWarning" in out
    entry = run.sessions()["test_a"]
    assert set(entry["artifacts"]) == {"har"}
    assert entry["measurements"] == [{"key": "k", "value": 1, "units": None, "type": None}]
    assert not list((run.path / "devsession-artifacts").rglob("*.part"))


def test_transient_errors_on_stop_are_retried(pytester, devsession_run, headspin_emulator):
    headspin_emulator.add_fault(Fault(method="PATCH", path=r"^/sessions/[^/]+$", kind="status", status=503, times=2))
    headspin_emulator.add_fault(Fault(method="GET", path=r"\.har$", kind="retry_after", retry_after=0, times=1))
    headspin_emulator.add_fault(Fault(method="GET", path=r"/timestamps$", kind="drop", times=2))
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run()
    run.result.assert_outcomes(passed=1)
    assert "problems: 0" in run.output()
    (session,) = headspin_emulator.sessions.values()
    assert session.state == "complete"


def test_exitfirst_and_interrupt_leave_nothing_locked_or_open(pytester, devsession_run, headspin_emulator):
    pytester.makepyfile(test_a='''
        def test_a(): assert False
        def test_b(): pass
    ''')
    run = devsession_run("-x")
    run.result.assert_outcomes(failed=1)
    assert headspin_emulator.devices[headspin_emulator.DEFAULT_DEVICES[0]].locked_by is None

    headspin_emulator.reset()
    pytester.makepyfile(test_a='''
        def test_a(): raise KeyboardInterrupt
        def test_b(): pass
    ''')
    # In a subprocess: an in-process KeyboardInterrupt would end the outer run too.
    run = devsession_run(subprocess=True)
    assert run.result.ret == pytest.ExitCode.INTERRUPTED
    assert headspin_emulator.devices[headspin_emulator.DEFAULT_DEVICES[0]].locked_by is None
    assert [s.active for s in headspin_emulator.sessions.values()] == [False]


def test_two_devices_under_xdist(pytester, devsession_run, headspin_emulator, assert_secret_absent):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_par="\n".join(f"def test_{i}(devsession):\n    pass\n" for i in range(6)))
    devices = headspin_emulator.DEFAULT_DEVICES[:2]
    run = devsession_run("-n", "2", "--devsession-device", devices[1], subprocess=True)
    run.result.assert_outcomes(passed=6)
    used = {s.device_address for s in headspin_emulator.sessions.values()}
    assert used == set(devices)
    assert len(run.manifest["sessions"]) == 6
    assert all(headspin_emulator.devices[d].locked_by is None for d in devices)
    assert_secret_absent(run.path, run.output(), headspin_emulator.token)


@pytest.mark.parametrize("args, needle", [
    (["--devsession-device", "2124d0e6@proxy.example"], "malformed device '2124d0e6@proxy.example' for the local backend; expected 'local'"),
    (["--devsession-artifacts", "pcap"], "--devsession-artifacts: pcap cannot be captured by the local backend; accepted: har, mp4"),
    (["--devsession-local-url", "8889"], "--devsession-local-url: got '8889'; expected an http:// or https:// URL"),
    (["--devsession-appium-url", "appium"], "--devsession-appium-url: got 'appium'; expected an http"),
    (["--devsession-video-size", "big"], "--devsession-video-size: got 'big'; expected WIDTHxHEIGHT"),
])
def test_bad_input_for_the_local_backend(pytester, args, needle, monkeypatch):
    monkeypatch.delenv("DEVSESSION_BACKEND", raising=False)
    pytester.makepyfile(test_a="def test_a(): pass")
    result = pytester.runpytest("--devsession", "-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert needle in "\n".join(result.outlines + result.errlines)


def test_a_capture_that_cannot_be_stopped_is_reported_once_and_left_to_the_ledger(
        pytester, devsession_run, headspin_emulator):
    stop = headspin_emulator.add_fault(Fault(method="PATCH", path=r"^/sessions/[^/]+$", kind="status", status=503,
                                             times=None))
    pytester.makepyfile(test_a='''
        import pytest

        @pytest.mark.userflow("Stuck")
        def test_a(devsession):
            devsession.measure("k", 1)
    ''')
    store = pytester.path / "store"
    run = devsession_run("--devsession-store", str(store), subprocess=True)
    run.result.assert_outcomes(passed=1)
    out = run.output()
    assert "stop capture: Service Unavailable (HTTP 503)" in out
    assert "could not stop capture" in out
    # Status and measurements went up once, although the capture was tried again at the end.
    flow = headspin_emulator.userflow_by_name("Stuck")
    assert [m["key"] for e in flow.events.values() for m in e.measurements] == ["k"]
    (session,) = headspin_emulator.sessions.values()
    assert session.active
    (ledger,) = (store / "leases").glob("run-*.json")
    assert session.session_id in ledger.read_text()

    headspin_emulator.faults.remove(stop)
    cleanup = devsession_run("--devsession-store", str(store), "--devsession-cleanup", subprocess=True)
    assert cleanup.result.ret == 0
    assert "released 0 device(s) and 1 capture(s)" in cleanup.output()
    assert not session.active
    assert not list((store / "leases").glob("run-*.json"))


def test_problems_under_warnings_as_errors_never_crash_the_run(pytester, devsession_run, headspin_emulator):
    pytester.makeconftest('''
        def pytest_devsession_session_finished(item, record):
            raise RuntimeError("a plugin of the user fails")
    ''')
    headspin_emulator.add_fault(Fault(method="GET", path=r"\.mp4$", kind="status", status=404, times=None))
    pytester.makepyfile(test_a='''
        import pytest

        @pytest.mark.userflow("Strict")
        def test_a(devsession):
            devsession.measure("k", 1)
    ''')
    run = devsession_run("-W", "error")
    run.result.assert_outcomes(passed=1)
    out = run.output()
    assert "INTERNALERROR" not in out
    assert "problems: 2" in out
    assert "a pytest_devsession_session_finished hook raised RuntimeError: a plugin of the user fails" in out
    assert headspin_emulator.devices[headspin_emulator.DEFAULT_DEVICES[0]].locked_by is None


def test_worker_problems_reach_the_main_summary(pytester, devsession_run, headspin_emulator):
    pytest.importorskip("xdist")
    headspin_emulator.add_fault(Fault(method="POST", path=r"/unlock$", kind="status", status=500, times=None,
                                      body={"status": "Unlock service down", "status_code": 500}))
    pytester.makepyfile(test_par="def test_a(): pass\ndef test_b(): pass")
    devices = headspin_emulator.DEFAULT_DEVICES[:2]
    run = devsession_run("-n", "2", "--devsession-device", devices[1], "--devsession-store", "store",
                         subprocess=True)
    run.result.assert_outcomes(passed=2)
    out = run.output()
    # The devices are the run's: its main process unlocks them once every worker is done.
    for device in devices:
        assert f"run: could not unlock {device}: unlock {device}: Unlock service down (HTTP 500)" in out
    # The ledgers keep the devices for the next run.
    ledgers = list((run.path / "store" / "leases").glob("run-*.json"))
    assert ledgers
    assert {d for ledger in ledgers for d in json.loads(ledger.read_text())["devices"]} == set(devices)
