"""Runs that test nothing (--co, --fixtures, --help, a marker error) call no service, lock nothing
and leave the last run's manifest and the store as they were."""
from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from pytest_devsession.spool import Spool

TESTS = '''
import pytest

@pytest.mark.userflow("Login")
def test_a(devsession):
    devsession.measure("k", 1)

def test_b():
    pass
'''

# hypothesis's terminal summary costs about a second per in-process run
FAST = ("-p", "no:hypothesispytest")
PREVIOUS = b'{"version": 1, "sessions": [{"nodeid": "test_old.py::test_old"}]}\n'


@pytest.fixture
def previous(pytester):
    """A manifest and store left by an earlier run: a dead process's lease ledger, a spooled status."""
    folder = pytester.path / "devsession-artifacts"
    folder.mkdir()
    (folder / "manifest.json").write_bytes(PREVIOUS)
    return folder / "manifest.json"


def _store_with_leftovers(pytester, emulator) -> list:
    store = pytester.path / ".devsession"
    (store / "leases").mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ledger = store / "leases" / f"run-{socket.gethostname()}-{dead.pid}.json"
    ledger.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "process_start": None,
                                  "backend": "headspin", "api_url": emulator.url, "started": 0,
                                  "devices": {}, "sessions": {"gone-session": emulator.DEFAULT_DEVICES[0]}}))
    spooled = Spool(store / "spool").put("status", "headspin", emulator.url, session_id="gone-session",
                                         userflow="Login", description=None, status="Passed", message=None)
    return [ledger, spooled]


@pytest.mark.parametrize("args", [
    ["--co"], ["--fixtures"], ["--fixtures-per-test"], ["--markers"], ["--help"], ["--version"],
    ["-k", "nothing_matches"],
])
def test_a_run_that_tests_nothing_calls_no_service(pytester, devsession_run, headspin_emulator, previous, args):
    leftovers = _store_with_leftovers(pytester, headspin_emulator)
    pytester.makepyfile(test_login=TESTS)
    run = devsession_run(*args, *FAST, reports=False)
    assert run.result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), run.output()
    assert headspin_emulator.requests == []
    assert all(d.locked_by is None for d in headspin_emulator.devices.values())
    assert previous.read_bytes() == PREVIOUS
    assert all(path.exists() for path in leftovers), "the maintenance of a real run ran"
    assert sorted(p.name for p in previous.parent.iterdir()) == ["manifest.json"]
    assert "pytest-devsession" not in run.output()


def test_a_wrong_marker_leaves_the_last_manifest(pytester, devsession_run, headspin_emulator, previous):
    pytester.makepyfile(test_marks='import pytest\n\n@pytest.mark.devsession(speed=3)\ndef test_x(): pass')
    run = devsession_run(*FAST)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_marks.py::test_x" in run.output()
    assert headspin_emulator.requests == []
    assert previous.read_bytes() == PREVIOUS


def test_a_collection_error_leaves_the_last_manifest(pytester, devsession_run, headspin_emulator, previous):
    pytester.makepyfile(test_ok="def test_ok(): pass", test_broken="import no_such_module_here")
    run = devsession_run(*FAST)
    assert run.result.ret == pytest.ExitCode.INTERRUPTED
    assert headspin_emulator.requests == []
    assert previous.read_bytes() == PREVIOUS


def test_an_unknown_pinned_device_is_checked_when_tests_run(pytester, devsession_run, headspin_emulator, previous):
    pytester.makepyfile(test_pinned='''
        import pytest

        @pytest.mark.devsession(device="ghost@nowhere.example")
        def test_x():
            pass
    ''')
    listed = devsession_run("--co", *FAST, reports=False)
    assert listed.result.ret == pytest.ExitCode.OK and headspin_emulator.requests == []
    run = devsession_run(*FAST)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_pinned.py::test_x: @pytest.mark.devsession(device='ghost@nowhere.example') is unknown to" in (
        run.output())
    assert [r[:2] for r in headspin_emulator.requests] == [("GET", "/v0/devices")]
    assert previous.read_bytes() == PREVIOUS


def test_a_real_run_checks_and_cleans_up_before_its_first_test(pytester, devsession_run, headspin_emulator,
                                                                previous):
    leftovers = _store_with_leftovers(pytester, headspin_emulator)
    pytester.makepyfile(test_login=TESTS)
    run = devsession_run(*FAST)
    run.result.assert_outcomes(passed=2)
    assert not leftovers[0].exists(), "the dead run's ledger was released"
    assert "left by process" in run.output()
    first_lock = next(i for i, r in enumerate(headspin_emulator.requests) if r[1].endswith("/lock"))
    assert ("GET", "/v0/devices", 200) in headspin_emulator.requests[:first_lock]
    assert sorted(s["nodeid"] for s in run.manifest["sessions"]) == ["test_login.py::test_a",
                                                                    "test_login.py::test_b"]


def test_a_run_whose_tests_all_opted_out_writes_an_empty_manifest(pytester, devsession_run, headspin_emulator,
                                                                   previous):
    pytester.makepyfile(test_out='''
        import pytest

        @pytest.mark.devsession(capture=False)
        def test_x():
            pass
    ''')
    run = devsession_run(*FAST)
    run.result.assert_outcomes(passed=1)
    assert run.manifest == {"version": 1, "sessions": []}
    assert not [r for r in headspin_emulator.requests if r[1].endswith("/lock")]
