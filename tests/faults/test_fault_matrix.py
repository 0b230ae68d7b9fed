"""The fault matrix: every way a run can end, and what it leaves behind.

Each test drives a real ``pytest --devsession`` subprocess against the HeadSpin emulator
(see conftest.py), hits it with one fault, records a row of the matrix and then checks:
no device still locked and no capture still active on the emulator, no lease ledger left
after a run that could clean up, every measurement the inner test took either in the
emulator's user flow or in the spool, and the API token in no file and no output.
"""
from __future__ import annotations

import signal

import pytest

from pytest_devsession.emulator import Fault

# Inner test files ----------------------------------------------------------------
ONE_FAILS = '''
import pytest

@pytest.mark.userflow("Faults")
def test_fails(measure):
    measure("fails", 1)
    assert False, "the inner test fails"

@pytest.mark.userflow("Faults")
def test_passes(measure):
    measure("passes", 2)
'''

SEVERAL_FAIL = '''
import pytest

@pytest.mark.userflow("Faults")
@pytest.mark.parametrize("n", range(4))
def test_fails(measure, n):
    measure(f"fails-{n}", n)
    assert False, f"inner failure {n}"

@pytest.mark.userflow("Faults")
def test_passes(measure):
    measure("passes", 1)
'''

HELD_INSIDE = '''
import pytest

@pytest.mark.userflow("Faults")
def test_held(measure, inside):
    measure("before-the-wait", 1)
    measure("also-before", 2)
    inside(60)
'''

QUICK = '''
import pytest

@pytest.mark.userflow("Faults")
def test_quick(measure):
    measure("quick-1", 1)
    measure("quick-2", 2)
'''

NEXT = '''
def test_next():
    pass
'''

RAISING_HOOKS = '''

def pytest_devsession_session_started(item, session_id, device_address):
    raise RuntimeError("a conftest hook fails in session_started")


def pytest_devsession_session_finished(item, record):
    raise RuntimeError("a conftest hook fails in session_finished")


def pytest_devsession_artifacts_collected(item, record, artifacts):
    raise RuntimeError("a conftest hook fails in artifacts_collected")
'''

INTERRUPTED = 2
INTERRUPT_LINE = r"^!+ KeyboardInterrupt"
# A killed process never reaches its teardown: what its test measured comes back from the
# measurement journal on disk, through the spool, with the next run.
KILLED_LOSS = "measurements recovered from the journal by the next run"


# Checks ------------------------------------------------------------------------------
def verify(inner, run, *, exit_code, needles=(), ledger_gone=True, measurements_kept=True, extra=()):
    """Every expectation at once, so that one failure message lists all that is wrong."""
    problems = []
    if run.returncode != exit_code:
        problems.append(f"exit code {run.returncode}, expected {exit_code}")
    output = run.output()
    for needle in needles:
        if needle not in output:
            problems.append(f"output lacks {needle!r}")
    leases = inner.leases()
    if leases:
        problems.append("leases leaked: " + "; ".join(leases))
    if ledger_gone and inner.ledgers():
        problems.append("ledger left behind: " + ", ".join(p.name for p in inner.ledgers()))
    if measurements_kept and inner.lost():
        problems.append(f"{inner.lost()} of {inner.measured()} measurement(s) lost "
                        f"(delivered {inner.delivered()}, spooled {inner.spooled()})")
    secrets = inner.secrets()
    if secrets:
        problems.append("the API token appears in: " + ", ".join(secrets))
    problems.extend(p for p in extra if p)
    requests = "\n".join(f"  {m} {p} -> {s}" for m, p, s in list(inner.emulator.requests)[-40:])
    assert not problems, ("\n".join(problems) + "\n\n" + run.describe()
                          + "\n--- the emulator's last requests (method, path, status) ---\n" + requests)


def statuses(inner) -> list[str]:
    return sorted(event.status for event in inner.events())


# Failures the run sees coming ------------------------------------------------------------
def test_test_failure(inner, matrix, request):
    inner.write("test_one_fails.py", ONE_FAILS)
    run = inner.run("test_one_fails.py")
    matrix.record(request, inner, "test failure", run, "1 failed, 1 passed")
    verify(inner, run, exit_code=1, needles=["1 failed, 1 passed"],
           extra=[statuses(inner) != ["Failed", "Passed"] and f"statuses {statuses(inner)}"])


def test_exitfirst(inner, matrix, request):
    inner.write("test_several_fail.py", SEVERAL_FAIL)
    run = inner.run("-x", "test_several_fail.py")
    matrix.record(request, inner, "`pytest -x`", run, "stopping after 1 failures")
    verify(inner, run, exit_code=1, needles=["stopping after 1 failures"],
           extra=[statuses(inner) != ["Failed"] and f"statuses {statuses(inner)}"])


def test_maxfail(inner, matrix, request):
    inner.write("test_several_fail.py", SEVERAL_FAIL)
    run = inner.run("--maxfail=2", "test_several_fail.py")
    matrix.record(request, inner, "`pytest --maxfail=2`", run, "stopping after 2 failures")
    verify(inner, run, exit_code=1, needles=["stopping after 2 failures"],
           extra=[statuses(inner) != ["Failed", "Failed"] and f"statuses {statuses(inner)}"])


# Ctrl-C and SIGTERM, in every phase -------------------------------------------------------------
def test_sigint_while_locking(inner, matrix, request, headspin_emulator):
    held = headspin_emulator.add_fault(Fault(method="POST", path=r"/lock$", kind="slow", delay=3))
    inner.write("test_held.py", HELD_INSIDE)
    run = inner.start("test_held.py")
    inner.wait_for_fault(run, held)
    inner.signal(run, signal.SIGINT)
    # The server carries out the lock it was asked for when its delay is over, whatever the client did.
    inner.settle("POST", r"/lock$")
    matrix.record(request, inner, "Ctrl-C while locking the device", run, (INTERRUPT_LINE, "^sessions: "))
    verify(inner, run, exit_code=INTERRUPTED, needles=["KeyboardInterrupt"])


def test_sigint_while_waiting_for_ready(inner, matrix, request, headspin_emulator):
    headspin_emulator.ready_delay = 30
    inner.write("test_held.py", HELD_INSIDE)
    run = inner.start("test_held.py")
    inner.wait_for_request(run, "GET", r"/timestamps$")
    inner.signal(run, signal.SIGINT)
    matrix.record(request, inner, "Ctrl-C while waiting for the capture to be ready", run, (INTERRUPT_LINE, "^sessions: "))
    verify(inner, run, exit_code=INTERRUPTED, needles=["KeyboardInterrupt"],
           extra=[len(headspin_emulator.sessions) != 1 and f"{len(headspin_emulator.sessions)} sessions"])


def test_sigint_inside_the_test(inner, matrix, request):
    inner.write("test_held.py", HELD_INSIDE)
    run = inner.start("test_held.py")
    inner.wait_for_marker(run)
    inner.signal(run, signal.SIGINT)
    matrix.record(request, inner, "Ctrl-C inside the test", run, (INTERRUPT_LINE, "^sessions: "))
    verify(inner, run, exit_code=INTERRUPTED, needles=["KeyboardInterrupt"])


def test_sigint_while_stopping(inner, matrix, request, headspin_emulator):
    held = headspin_emulator.add_fault(Fault(method="PATCH", path=r"^/sessions/[^/]+$", kind="slow", delay=3))
    inner.write("test_quick.py", QUICK)
    run = inner.start("test_quick.py")
    inner.wait_for_fault(run, held)
    inner.signal(run, signal.SIGINT)
    inner.settle("PATCH", r"/sessions/[^/]+$")
    matrix.record(request, inner, "Ctrl-C while stopping the capture", run, (INTERRUPT_LINE, "^sessions: "))
    verify(inner, run, exit_code=INTERRUPTED, needles=["KeyboardInterrupt"])


def test_sigint_while_downloading(inner, matrix, request, headspin_emulator):
    held = headspin_emulator.add_fault(Fault(method="GET", path=r"\.mp4$", kind="slow", delay=3))
    inner.write("test_quick.py", QUICK)
    run = inner.start("test_quick.py")
    inner.wait_for_fault(run, held)
    inner.signal(run, signal.SIGINT)
    inner.settle("GET", r"\.mp4$")
    matrix.record(request, inner, "Ctrl-C while downloading artifacts", run, (INTERRUPT_LINE, "^sessions: "))
    # The download under way when Ctrl-C came is waited for (a second Ctrl-C would leave it): whole or absent.
    leftovers = inner.files("*.part")
    from pytest_devsession.emulator.artifacts import mp4

    videos = [p for p in inner.files("*.mp4") if p.read_bytes() != mp4()]
    verify(inner, run, exit_code=INTERRUPTED, needles=["KeyboardInterrupt"],
           extra=[leftovers and "half downloads left: " + ", ".join(p.name for p in leftovers),
                  videos and "a video cut short: " + ", ".join(p.name for p in videos)])


def test_second_sigint_while_downloading(inner, matrix, request, headspin_emulator):
    # A download that would take 30 s: the first Ctrl-C waits for it, the second leaves it.
    held = headspin_emulator.add_fault(Fault(method="GET", path=r"\.mp4$", kind="slow", delay=30))
    inner.write("test_quick.py", QUICK)
    run = inner.start("test_quick.py")
    inner.wait_for_fault(run, held)
    run.proc.send_signal(signal.SIGINT)
    inner.wait_until(run, lambda: "Ctrl-C again to leave them" in run.output(), "the drain to wait for the download")
    inner.signal(run, signal.SIGINT, timeout=20)  # well before the download's 30 s
    matrix.record(request, inner, "Ctrl-C twice while downloading artifacts", run, (INTERRUPT_LINE, "^sessions: "))
    manifest = inner.manifest()
    problems = [p for entry in manifest for p in entry["problems"]]
    verify(inner, run, exit_code=INTERRUPTED, needles=["KeyboardInterrupt", "session(s) still closing"],
           extra=[inner.files("*.part") and "half downloads left: " + ", ".join(p.name for p in inner.files("*.part")),
                  inner.files("*.mp4") and "a video that was left arrived all the same",
                  "artifacts not downloaded: the run was interrupted" not in problems
                  and f"the manifest does not say the video was left: {problems}"])


def test_sigterm_inside_the_test(inner, matrix, request):
    inner.write("test_held.py", HELD_INSIDE)
    run = inner.start("test_held.py")
    inner.wait_for_marker(run)
    inner.signal(run, signal.SIGTERM)
    matrix.record(request, inner, "SIGTERM inside the test", run, (INTERRUPT_LINE, "^sessions: "))
    verify(inner, run, exit_code=INTERRUPTED, needles=["SIGTERM"])


# Deaths without a chance to clean up ---------------------------------------------------------
def _killed_inside(inner):
    inner.write("test_held.py", HELD_INSIDE)
    run = inner.start("test_held.py")
    inner.wait_for_marker(run)
    inner.signal(run, signal.SIGKILL)
    return run


def _ledger_problems(inner, run) -> list[str]:
    """After a death: a ledger names the dead pid, the device and the open capture."""
    ledgers = inner.ledgers()
    if not ledgers:
        return ["no lease ledger left by the killed run"]
    text = "\n".join(p.read_text() for p in ledgers)
    session_ids = list(inner.emulator.sessions)
    return [f"the ledger does not name {what}" for what, value in
            (("the pid", str(run.pid)), ("the device", inner.device), ("the capture", session_ids[-1]))
            if value not in text]


def _released_line(next_run, dead) -> str | None:
    for line in next_run.output().splitlines():
        if "released" in line and str(dead.pid) in line:
            return None
    return f"no line with 'released' and the dead pid {dead.pid}"


def test_sigkill_then_next_run(inner, matrix, request):
    dead = _killed_inside(inner)
    before = _ledger_problems(inner, dead)
    leaked_meanwhile = len(inner.leases())
    inner.write("test_next.py", NEXT)
    nxt = inner.run("test_next.py")
    row = matrix.record(request, inner, "SIGKILL inside the test, then the next run", nxt, "released",
                        detail=f"{leaked_meanwhile} held until the next run; {KILLED_LOSS}")
    row.sees = f"killed; the next run: `{nxt.line('released', dead.pid)}`"
    verify(inner, nxt, exit_code=0, needles=["1 passed"], measurements_kept=True,
           extra=[*before, _released_line(nxt, dead), leaked_meanwhile == 0 and "nothing held after SIGKILL?"])


def test_sigkill_then_cleanup(inner, matrix, request, headspin_emulator):
    dead = _killed_inside(inner)
    before = _ledger_problems(inner, dead)
    sessions = len(headspin_emulator.sessions)
    cleanup = inner.run("--devsession-cleanup")
    row = matrix.record(request, inner, "SIGKILL, then `pytest --devsession --devsession-cleanup`", cleanup,
                        "released", detail=KILLED_LOSS)
    row.sees = f"exit {cleanup.returncode}; `{cleanup.line('released', dead.pid)}`"
    verify(inner, cleanup, exit_code=0, measurements_kept=True,
           extra=[*before, _released_line(cleanup, dead),
                  len(headspin_emulator.sessions) != sessions and "--devsession-cleanup started a capture",
                  "passed" in cleanup.output() and "--devsession-cleanup ran tests"])


def test_pytest_timeout_thread_then_next_run(inner, matrix, request):
    pytest.importorskip("pytest_timeout")
    inner.write("test_held.py", HELD_INSIDE)
    dead = inner.run("--timeout", "2", "--timeout-method=thread", "test_held.py")
    before = _ledger_problems(inner, dead)
    leaked_meanwhile = len(inner.leases())
    inner.write("test_next.py", NEXT)
    nxt = inner.run("test_next.py")
    row = matrix.record(request, inner, "pytest-timeout (`thread` method, os._exit), then the next run", nxt,
                        "released", detail=f"{leaked_meanwhile} held until the next run; {KILLED_LOSS}")
    timeout_line = dead.line(r"^\++ Timeout")
    row.sees = (f"exit {dead.returncode} `{timeout_line}`; the next run: "
                f"`{nxt.line('released', dead.pid)}`")
    verify(inner, nxt, exit_code=0, needles=["1 passed"], measurements_kept=True,
           extra=[*before, _released_line(nxt, dead), "Timeout" not in dead.output() and "no Timeout line"])


# Faults of ours and of plugins -----------------------------------------------------------------
def test_exception_in_a_plugin_hook(inner, matrix, request):
    inner.write("conftest.py", (inner.project / "conftest.py").read_text() + RAISING_HOOKS)
    inner.write("test_quick.py", QUICK)
    run = inner.run("test_quick.py")
    matrix.record(request, inner, "an exception in a plugin's `pytest_devsession_*` hook", run,
                  r"^test_quick.py::test_quick: a pytest_devsession_session_finished hook raised")
    verify(inner, run, exit_code=0, needles=["1 passed", "a pytest_devsession_session_finished hook raised "
                                             "RuntimeError"],
           extra=[statuses(inner) != ["Passed"] and f"statuses {statuses(inner)}"])


def test_pytest_timeout_signal(inner, matrix, request, headspin_emulator):
    pytest.importorskip("pytest_timeout")
    inner.write("test_held.py", HELD_INSIDE)
    run = inner.run("--timeout", "1", "--timeout-method=signal", "test_held.py")
    matrix.record(request, inner, "pytest-timeout (`signal` method) fires in the test", run, r"^E\s+Failed: Timeout")
    sessions = list(headspin_emulator.sessions.values())
    verify(inner, run, exit_code=1, needles=["Timeout", "1 failed"],
           extra=[statuses(inner) != ["Failed"] and f"statuses {statuses(inner)}",
                  [s.state for s in sessions] != ["complete"] and f"capture states {[s.state for s in sessions]}"])


# The service misbehaves ------------------------------------------------------------------------
def test_uploads_fail_503_then_flush(inner, matrix, request, headspin_emulator):
    down = headspin_emulator.add_fault(Fault(method="*", path=r"^/userflows", kind="status", status=503,
                                             times=None))
    inner.write("test_quick.py", QUICK)
    first = inner.run("test_quick.py")
    spooled_kinds = sorted(e.get("kind") for e in inner.spool_entries())
    delivered_during_outage = inner.delivered()
    headspin_emulator.faults.remove(down)
    flush = inner.run("--devsession-flush")
    row = matrix.record(request, inner, "status/measurement uploads fail with 503 all run, then "
                        "`pytest --devsession --devsession-flush`", first, "waiting in the spool")
    row.sees += f"; the flush: exit {flush.returncode}, `{flush.line('delivered')}`"
    verify(inner, flush, exit_code=0, needles=["delivered"],
           extra=[first.returncode != 0 and f"the first run exited {first.returncode}",
                  "waiting in the spool" not in first.output() and "the first run's summary does not mention "
                  "the spool",
                  spooled_kinds != ["measurements", "status"] and f"spooled: {spooled_kinds}",
                  delivered_during_outage and "delivered during the outage?",
                  inner.spool_entries() and f"{len(inner.spool_entries())} left in the spool after the flush",
                  statuses(inner) != ["Passed"] and f"statuses after the flush: {statuses(inner)}",
                  inner.delivered() != 2 and f"{inner.delivered()} measurement(s) delivered, expected 2",
                  "passed" in flush.output() and "--devsession-flush ran tests"])


def test_download_cut_short(inner, matrix, request, headspin_emulator):
    headspin_emulator.add_fault(Fault(method="GET", path=r"\.mp4$", kind="drop", times=None))
    inner.write("test_quick.py", QUICK)
    run = inner.run("test_quick.py")
    matrix.record(request, inner, "the video download is cut short (connection dropped, every try)", run,
                  r"^test_quick.py::test_quick: download mp4")
    leftovers = inner.files("*.mp4") + inner.files("*.part")
    verify(inner, run, exit_code=0, needles=["1 passed", "problems: 1", "download mp4"],
           extra=[leftovers and "half downloads left: " + ", ".join(p.name for p in leftovers),
                  not inner.files("session.har") and "the HAR is missing too"])


def test_upload_429_with_retry_after(inner, matrix, request, headspin_emulator):
    faults = [headspin_emulator.add_fault(Fault(method=m, path=p, kind="retry_after", retry_after=1, times=1))
              for m, p in (("PUT", r"^/userflows$"), ("POST", r"^/userflows/[^/]+/sessions$"),
                           ("POST", r"/measurements$"))]
    inner.write("test_quick.py", QUICK)
    run = inner.run("test_quick.py")
    matrix.record(request, inner, "429 with Retry-After on every kind of upload", run, r"^problems: ")
    verify(inner, run, exit_code=0, needles=["1 passed", "problems: 0"],
           extra=[[f.hits for f in faults] != [1, 1, 1] and f"fault hits {[f.hits for f in faults]}",
                  inner.spool_entries() and f"spooled: {[e.get('kind') for e in inner.spool_entries()]}",
                  "waiting in the spool" in run.output() and "the summary says results wait in the spool",
                  statuses(inner) != ["Passed"] and f"statuses {statuses(inner)}",
                  inner.delivered() != 2 and f"{inner.delivered()} measurement(s) delivered, expected 2"])


# The harness itself ---------------------------------------------------------------------------
def test_the_checks_see_what_they_look_for(inner, headspin_emulator):
    """Not a matrix row: a planted token, a held device and an untold measurement are all noticed."""
    assert inner.secrets() == [] and inner.leases() == [] and inner.lost() == 0
    (inner.project / "planted.txt").write_text(f"token={headspin_emulator.token}")
    (inner.project / "measured.log").write_text("x k\n")
    headspin_emulator.devices[inner.device].locked_by = "you"
    try:
        assert inner.secrets() == ["project/planted.txt"]
        assert inner.leases() == [f"device {inner.device} locked by you"]
        assert inner.lost() == 1
    finally:
        headspin_emulator.devices[inner.device].locked_by = None
