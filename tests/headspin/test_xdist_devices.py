"""xdist and the device pool: every worker gets a device, a pinned device serves one test at a time,
a crashed worker's capture and device are released at once; all against the emulator."""
from __future__ import annotations

import pytest

pytest.importorskip("xdist")


def _intervals(emulator, address):
    return sorted((s.created, s.stop_requested_at) for s in emulator.sessions.values()
                  if s.device_address == address)


def _assert_released(emulator, run):
    assert all(device.locked_by is None for device in emulator.devices.values())
    assert all(not s.active and s.state == "complete" for s in emulator.sessions.values())
    assert not list((run.path / ".devsession" / "leases").glob("run-*.json"))


def test_a_pinned_device_serves_one_test_at_a_time_across_workers(pytester, devsession_run, headspin_emulator):
    a, b = headspin_emulator.DEFAULT_DEVICES[:2]
    pytester.makepyfile(test_pinned=f'''
        import time

        import pytest

        @pytest.mark.parametrize("n", range(6))
        @pytest.mark.devsession(device={b!r})
        def test_on_b(devsession, n):
            assert devsession.device_address == {b!r}
            time.sleep(0.2)

        @pytest.mark.parametrize("n", range(6))
        def test_anywhere(devsession, n):
            time.sleep(0.2)
    ''')
    run = devsession_run("-n", "2", "--devsession-device", b, subprocess=True)
    run.result.assert_outcomes(passed=12)
    # A refused create or lock shows as "(HTTP 409)" / "(HTTP 403)": never a bare number, which a session id
    # (hex) or the temporary folder (pytest-403) can hold by chance.
    assert "(HTTP 409)" not in run.output() and "(HTTP 403)" not in run.output()
    # Never two captures on one device at once: each one was stopped before the next began.
    for address in (a, b):
        spans = _intervals(headspin_emulator, address)
        assert all(stop is not None for _, stop in spans)
        assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1)), (address, spans)
    assert len(_intervals(headspin_emulator, b)) >= 6
    assert len(run.manifest["sessions"]) == 12
    _assert_released(headspin_emulator, run)


def test_a_pinned_device_that_stays_busy_fails_the_test_after_the_ready_timeout(
        pytester, devsession_run, headspin_emulator):
    a, b = headspin_emulator.DEFAULT_DEVICES[:2]
    # One file per worker (--dist loadfile): both tests want b at the same moment.
    for name in ("one", "two"):
        pytester.makepyfile(**{f"test_{name}": f'''
            import time

            import pytest

            @pytest.mark.devsession(device={b!r})
            def test_{name}(devsession):
                time.sleep(4)
        '''})
    run = devsession_run("-n", "2", "--dist", "loadfile", "--devsession-device", b,
                         "--devsession-ready-timeout", "1", subprocess=True)
    out = run.output()
    # The second to want b waited 1 s and was told which test held it.
    run.result.assert_outcomes(passed=1, errors=1)
    assert f"waited 1 s (--devsession-ready-timeout) for {b} (pinned by @pytest.mark.devsession(device=...)): " \
           f"{b} is held by test_" in out
    assert len(headspin_emulator.sessions) == 1
    _assert_released(headspin_emulator, run)


def test_three_workers_share_two_devices_and_none_is_ever_locked_twice(pytester, devsession_run, headspin_emulator):
    """More workers than devices: a worker whose devices are all busy waits for one."""
    devices = headspin_emulator.DEFAULT_DEVICES[:2]
    pytester.makepyfile(test_par="""
import time
import pytest

@pytest.mark.parametrize("n", range(6))
def test_capture(devsession, n):
    time.sleep(0.3)

@pytest.mark.parametrize("n", range(3))
def test_plain(n):
    pass
""")
    run = devsession_run("-n", "3", "--devsession-device", devices[1], device=devices[0], subprocess=True)
    run.result.assert_outcomes(passed=9)
    log = [e for e in headspin_emulator.lock_log if e.ok]
    for address in devices:
        actions = [e.action for e in log if e.address == address]
        # Locked once for the run (a HeadSpin lock is the account's), unlocked once at its end.
        assert actions == ["lock", "unlock"], (address, actions)
    assert not [e for e in headspin_emulator.lock_log if e.action == "lock" and e.held_before]
    # No device ever ran two captures at once.
    for address in devices:
        spans = sorted((s.created, s.ended_at or s.created) for s in headspin_emulator.sessions.values()
                       if s.device_address == address)
        assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:])), (address, spans)
    assert len(headspin_emulator.sessions) == 9
    _assert_released(headspin_emulator, run)


def test_maxprocesses_is_what_counts(pytester, devsession_run, headspin_emulator):
    devices = headspin_emulator.DEFAULT_DEVICES[:2]
    pytester.makepyfile(test_par="\n".join(f"def test_{i}(devsession):\n    pass\n" for i in range(4)))
    run = devsession_run("-n", "4", "--maxprocesses", "2", "--devsession-device", devices[1], subprocess=True)
    run.result.assert_outcomes(passed=4)
    assert {s.device_address for s in headspin_emulator.sessions.values()} <= set(devices)
    _assert_released(headspin_emulator, run)


CRASHING_SUITE = '''
import time

import pytest

@pytest.mark.userflow("Crashes")
@pytest.mark.timeout(1, method="thread")
def test_hangs(devsession):
    devsession.measure("before the hang", 7)
    time.sleep(30)

@pytest.mark.userflow("Crashes")
@pytest.mark.parametrize("n", range(8))
def test_after(devsession, n):
    devsession.measure("n", n)
    time.sleep(0.1)
'''


def test_a_worker_killed_by_a_thread_timeout_leaves_its_evidence_and_its_replacement_a_device(
        pytester, devsession_run, headspin_emulator):
    pytest.importorskip("pytest_timeout")
    devices = headspin_emulator.DEFAULT_DEVICES[:2]
    pytester.makepyfile(test_crash=CRASHING_SUITE)
    run = devsession_run("-n", "2", "--devsession-device", devices[1], subprocess=True)
    out = run.output()
    assert "INTERNALERROR" not in out and "KeyError" not in out
    assert "replacing crashed worker" in out
    run.result.assert_outcomes(passed=8, failed=1)
    sessions = run.sessions()
    hung = sessions["test_hangs"]
    # The main process closed the capture the dead worker left open, with the test's evidence.
    assert hung["status"] == "Failed" and "crashed while running the test" in hung["status_message"]
    assert hung["measurements"] == [{"key": "before the hang", "value": 7, "units": None, "type": None}]
    assert set(hung["artifacts"]) >= {"har", "mp4"}
    assert hung["problems"] == []
    flow = headspin_emulator.userflow_by_name("Crashes")
    events = {e.session_id: e for e in flow.events.values()}
    assert events[hung["session_id"]].status == "Failed"
    assert [m["value"] for m in events[hung["session_id"]].measurements] == [7]
    assert sorted(e.status for e in events.values()) == ["Failed"] + ["Passed"] * 8
    # Every test after the crash had a device, the replacement worker's included.
    assert len(headspin_emulator.sessions) == 9
    _assert_released(headspin_emulator, run)
    junit = (run.path / "junit.xml").read_text()
    assert hung["session_id"] in junit
