"""Our plugin beside the plugins device-farm suites already run, each real, against the emulator."""
from __future__ import annotations

import pytest

SUITE = '''
import time

import pytest

@pytest.mark.userflow("Timeouts")
def test_pass(devsession):
    devsession.measure("fast", 1)

@pytest.mark.userflow("Timeouts")
def test_slow(devsession):
    devsession.measure("before the timeout", 2)
    time.sleep(3)

@pytest.mark.userflow("Timeouts")
def test_after(devsession):
    devsession.measure("after", 3)
'''


# pytest-timeout's thread method ends the whole process at a timeout (its design): the fault matrix
# covers that run; under xdist the main process closes the dead worker's capture (test_xdist_devices.py).
@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_per_test_timeout_measures_the_test_not_the_capture_bookkeeping(
        pytester, devsession_run, headspin_emulator, extra):
    # Stopping a capture takes longer than the whole per-test timeout: only the test's own time may count.
    headspin_emulator.complete_delay = 1.5
    pytester.makepyfile(test_suite=SUITE)
    devices = [arg for d in headspin_emulator.DEFAULT_DEVICES[:2] for arg in ("--devsession-device", d)]
    run = devsession_run("--timeout", "1", "--timeout-method", "signal", *devices, *extra,
                         device=None, subprocess=True, reports=False)
    output = run.output()
    assert "INTERNALERROR" not in output
    run.result.assert_outcomes(passed=2, failed=1)
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED
    sessions = run.sessions()
    assert sessions["test_slow"]["status"] == "Failed" and "Timeout" in sessions["test_slow"]["status_message"]
    assert sessions["test_pass"]["status"] == sessions["test_after"]["status"] == "Passed"
    # Nothing lost, nothing left running: every measurement reached the flow, every capture completed.
    assert all(s["problems"] == [] for s in sessions.values()), {n: s["problems"] for n, s in sessions.items()}
    flow = headspin_emulator.userflow_by_name("Timeouts")
    statuses = sorted(event.status for event in flow.events.values())
    assert statuses == ["Failed", "Passed", "Passed"]
    assert sorted(m["value"] for event in flow.events.values() for m in event.measurements) == [1, 2, 3]
    assert all(session.state == "complete" for session in headspin_emulator.sessions.values())
    assert len(headspin_emulator.sessions) == 3
    assert all(device.locked_by is None for device in headspin_emulator.devices.values())


@pytest.mark.parametrize("method", ["signal", "thread"])
def test_a_per_test_timeout_does_not_count_waiting_for_the_capture_to_start(
        pytester, devsession_run, headspin_emulator, method):
    # The capture takes longer to become ready than the whole per-test timeout: only the test may count.
    headspin_emulator.ready_delay = 1.5
    pytester.makepyfile(test_suite='''
        import time

        def test_quick(devsession):
            time.sleep(0.2)

        def test_slow(devsession):
            time.sleep(3)
    ''')
    run = devsession_run("--timeout", "1", "--timeout-method", method, subprocess=True, reports=False)
    output = run.output()
    # thread: the timeout ends the process (pytest-timeout's design), so test_slow is the last test.
    if method == "signal":
        run.result.assert_outcomes(passed=1, failed=1)
    else:
        # It fired in the test's own sleep, not while the capture was getting ready.
        assert "+ Timeout +" in output and "in test_slow\n    time.sleep(3)" in output
        assert "wait_ready" not in output
    assert "test_suite.py::test_quick PASSED" in output or "test_suite.py ." in output
    assert "INTERNALERROR" not in output
    quick = [s for s in headspin_emulator.sessions.values() if s.name == "test_suite.py::test_quick"]
    assert len(quick) == 1 and quick[0].state == "complete"
