"""Fault injection: ``pytest --devsession`` as a real subprocess against the HeadSpin emulator.

Every test here starts an *inner* pytest run (``python -m pytest --devsession ...``) in a
project folder of its own, holds one phase of the run open with an emulator fault or a
marker file, hits it (a signal, a fault, a crash), and then looks at what is left behind:
devices still locked, captures still active, measurements neither delivered nor spooled,
the API token in any file or stream. Each test records one row of the fault matrix; with
``DEVSESSION_FAULT_MATRIX=FILE`` the rows are written to FILE as a Markdown table at the
end of the session (see docs/faults.md).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_devsession.emulator import Fault

# Variables of the outer environment that must not reach the inner run.
_SCRUBBED = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER",
             "PYTEST_XDIST_WORKER_COUNT", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "HEADSPIN_UI_URL", "BUILD_ID",
             "CI_JOB_ID", "GITHUB_RUN_ID", "BUILD_BUILDID", "DEVSESSION_BUILD_ID", "DEVSESSION_FAULT_MATRIX")

# The inner project's conftest: a `measure` fixture that logs every measurement it takes
# (so the outer test knows how many there are to find), and `inside`, which tells the outer
# test that the test body is running and then keeps it there.
INNER_CONFTEST = '''
import os
import pathlib
import time

import pytest

HERE = pathlib.Path(__file__).parent


@pytest.fixture
def measure(devsession, request):
    def measure(key, value):
        devsession.measure(key, value, units="ms")
        with open(HERE / "measured.log", "a") as log:
            log.write(f"{request.node.nodeid} {key}\\n")
    return measure


@pytest.fixture
def inside():
    def inside(seconds=60.0):
        (HERE / "inside.marker").write_text(str(os.getpid()))
        time.sleep(seconds)
    return inside
'''


@dataclass
class InnerRun:
    """One inner pytest process."""

    proc: subprocess.Popen
    argv: list
    out_path: Path
    err_path: Path
    project: Path
    api_url: str
    returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        text = ""
        for path in (self.out_path, self.err_path):
            if path.exists():
                text += path.read_text(errors="replace")
        return text

    def line(self, pattern: str, *pids: int) -> str:
        """The first output line matching the regex ``pattern``, made fit for a doc (no paths, no pid)."""
        regex = re.compile(pattern)
        for raw in self.output().splitlines():
            if regex.search(raw.strip()):
                return self.tidy(raw, *pids)
        return f"(no line matching {pattern!r})"

    def tidy(self, text: str, *pids: int) -> str:
        text = text.replace(str(self.project), ".").replace(self.api_url, "$HEADSPIN_API_URL")
        text = re.sub(r"(?<![\w:/.])(?:/[\w.+-]+)+/([\w.+-]+)", r"\1", text)  # absolute paths: the file name
        for pid in (self.pid, *pids):
            text = re.sub(rf"\b{pid}\b", "<pid>", text)
        text = re.sub(r"\b[0-9a-f]{32}\b", "<id>", text)
        text = re.sub(r" in \d+\.\d+s\b", " in …s", text)
        text = re.sub(r"^E\s+", "", text.strip())
        return text.strip(" =!+")

    def describe(self) -> str:
        return (f"inner run {self.argv[3:]} exited {self.returncode}\n--- output ---\n"
                + self.output()[-6000:])


class Inner:
    """Runs ``pytest --devsession`` against the emulator in ``project`` and cleans up after itself."""

    def __init__(self, root: Path, emulator) -> None:
        self.emulator = emulator
        self.project = root / "project"
        self.project.mkdir()
        self.streams = root / "streams"
        self.streams.mkdir()
        self.store = self.project / ".devsession"
        self.artifacts = self.project / "devsession-artifacts"
        self.device = emulator.DEFAULT_DEVICES[0]
        self.runs: list[InnerRun] = []
        (self.project / "pytest.ini").write_text("[pytest]\njunit_family = xunit1\njunit_logging = system-out\n")
        self.write("conftest.py", INNER_CONFTEST)

    # the project ---------------------------------------------------------
    def write(self, name: str, source: str) -> Path:
        path = self.project / name
        path.write_text(textwrap.dedent(source).lstrip())
        return path

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and not k.startswith("DEVSESSION_")
               and not k.startswith("HEADSPIN_")}
        env.update(HEADSPIN_API_TOKEN=self.emulator.token, HEADSPIN_API_URL=self.emulator.url,
                   DEVSESSION_BACKEND="headspin", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
        return env

    @property
    def marker(self) -> Path:
        return self.project / "inside.marker"

    # running ---------------------------------------------------------------
    def start(self, *args: str) -> InnerRun:
        n = len(self.runs) + 1
        argv = [sys.executable, "-m", "pytest", "--devsession", "-p", "no:cacheprovider",
                "--devsession-device", self.device, "--devsession-store", str(self.store),
                f"--junitxml=junit-{n}.xml", f"--html=report-{n}.html", "-rA", *args]
        out, err = self.streams / f"run{n}.out", self.streams / f"run{n}.err"
        self.marker.unlink(missing_ok=True)
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            proc = subprocess.Popen(argv, cwd=self.project, env=self.env(), stdout=stdout, stderr=stderr,
                                    stdin=subprocess.DEVNULL)
        run = InnerRun(proc, argv, out, err, self.project, self.emulator.url)
        self.runs.append(run)
        return run

    def wait(self, run: InnerRun, timeout: float = 60) -> int:
        try:
            run.returncode = run.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            run.proc.kill()
            run.returncode = run.proc.wait(10)
            pytest.fail(f"the inner run did not end within {timeout} s and was killed\n{run.describe()}")
        return run.returncode

    def run(self, *args: str, timeout: float = 60) -> InnerRun:
        run = self.start(*args)
        self.wait(run, timeout)
        return run

    def wait_until(self, run: InnerRun, predicate, what: str, timeout: float = 20) -> None:
        """Wait until ``predicate()``; fail (with the inner output) if the run ends first or time runs out."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if run.proc.poll() is not None:
                run.returncode = run.proc.returncode
                pytest.fail(f"the inner run ended before {what}\n{run.describe()}")
            if time.monotonic() > deadline:
                pytest.fail(f"gave up after {timeout} s waiting for {what}\n{run.describe()}")
            time.sleep(0.02)

    def seen(self, method: str, path: str) -> bool:
        """The emulator has answered a request like this (``path``: regex on the logged path)."""
        regex = re.compile(path)
        return any(m == method and regex.search(p) for m, p, _status in list(self.emulator.requests))

    def wait_for_request(self, run: InnerRun, method: str, path: str, timeout: float = 20) -> None:
        self.wait_until(run, lambda: self.seen(method, path), f"{method} {path}", timeout)

    def wait_for_fault(self, run: InnerRun, fault: Fault, timeout: float = 20) -> None:
        """The emulator has received a request that ``fault`` holds (a slow fault: answered later)."""
        self.wait_until(run, lambda: fault.hits >= 1, f"a request hit by {fault}", timeout)

    def settle(self, method: str, path: str, timeout: float = 15) -> None:
        """Wait (the run may be over) until the emulator has answered such a request: a slow
        request cut short by a signal is still carried out by the server when its delay is over."""
        deadline = time.monotonic() + timeout
        while not self.seen(method, path):
            if time.monotonic() > deadline:
                pytest.fail(f"the emulator never answered {method} {path}")
            time.sleep(0.05)

    def wait_for_marker(self, run: InnerRun, timeout: float = 20) -> None:
        self.wait_until(run, self.marker.exists, "the inner test to start", timeout)

    def signal(self, run: InnerRun, sig: int, timeout: float = 60) -> int:
        """Send ``sig`` to the inner run (a process this fixture started) and wait for it to end."""
        run.proc.send_signal(sig)
        return self.wait(run, timeout)

    def stop_all(self) -> None:
        for run in self.runs:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait(10)

    # what is left ------------------------------------------------------------
    def leases(self) -> list[str]:
        held = [f"device {a} locked by {d.locked_by}" for a, d in self.emulator.devices.items()
                if d.locked_by is not None]
        active = [f"capture {sid} on {s.device_address} still active"
                  for sid, s in self.emulator.sessions.items() if s.active]
        return held + active

    def ledgers(self) -> list[Path]:
        folder = self.store / "leases"
        return sorted(folder.glob("*.json")) if folder.is_dir() else []

    def spool_entries(self) -> list[dict]:
        folder = self.store / "spool"
        entries = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            try:
                entries.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                entries.append({"kind": "unreadable", "file": path.name})
        return entries

    def measured(self) -> int:
        log = self.project / "measured.log"
        return len(log.read_text().splitlines()) if log.exists() else 0

    def delivered(self) -> int:
        return sum(len(event.measurements) for flow in list(self.emulator.userflows.values())
                   for event in list(flow.events.values()))

    def spooled(self) -> int:
        return sum(len(e.get("measurements") or ()) for e in self.spool_entries() if e.get("kind") == "measurements")

    def lost(self) -> int:
        return max(0, self.measured() - self.delivered() - self.spooled())

    def events(self) -> list:
        return [event for flow in list(self.emulator.userflows.values()) for event in list(flow.events.values())]

    def secrets(self) -> list[str]:
        """Where the token appears: files under the project (reports, store, artifacts) and the streams."""
        token = self.emulator.token.encode()
        found = []
        for folder in (self.project, self.streams):
            for path in sorted(folder.rglob("*")):
                if path.is_file() and token in path.read_bytes():
                    found.append(str(path.relative_to(folder.parent)))
        return found

    def files(self, pattern: str) -> list[Path]:
        return sorted(self.artifacts.rglob(pattern)) if self.artifacts.is_dir() else []

    def manifest(self) -> list[dict]:
        """The sessions of the last run's manifest.json ([] when it wrote none)."""
        path = self.artifacts / "manifest.json"
        return json.loads(path.read_text())["sessions"] if path.exists() else []


@pytest.fixture
def inner(tmp_path, headspin_emulator):
    """An inner-run driver on a freshly reset emulator; kills any inner process still alive at the end."""
    headspin_emulator.ready_delay = 0.05
    headspin_emulator.complete_delay = 0.05
    driver = Inner(tmp_path, headspin_emulator)
    try:
        yield driver
    finally:
        driver.stop_all()


# The matrix --------------------------------------------------------------------
@dataclass
class Row:
    fault: str
    sees: str
    leaked: int
    lost: int
    secrets: int
    nodeid: str
    detail: str = ""
    outcome: str = "not finished"


@dataclass
class Matrix:
    rows: list[Row] = field(default_factory=list)

    def record(self, request, inner: Inner, fault: str, run: InnerRun, needle: str, *, leaked=None,
               lost=None, detail: str = "") -> Row:
        """Record what the user saw and what was left behind; the caller asserts afterwards."""
        exit_text = {-9: "killed (SIGKILL)"}.get(run.returncode, f"exit {run.returncode}")
        needles = (needle,) if isinstance(needle, str) else needle
        row = Row(
            fault=fault,
            sees=f"{exit_text}; " + "; ".join(f"`{run.line(n)}`" for n in needles),
            leaked=len(inner.leases()) if leaked is None else leaked,
            lost=inner.lost() if lost is None else lost,
            secrets=len(inner.secrets()),
            nodeid=request.node.nodeid,
            detail=detail,
        )
        self.rows.append(row)
        return row

    def markdown(self) -> str:
        def cell(text) -> str:
            return str(text).replace("|", "\\|").replace("\n", " ")

        lines = ["| Fault | What the user sees | Leases leaked | Measurements lost | Secrets found | Test |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for row in self.rows:
            test = row.outcome + (f" ({row.detail})" if row.detail else "")
            lines.append("| " + " | ".join(cell(c) for c in (row.fault, row.sees, row.leaked, row.lost,
                                                              row.secrets, test)) + " |")
        return "\n".join(lines) + "\n"


_matrix_key = pytest.StashKey[Matrix]()
_outcomes: dict[str, str] = {}


@pytest.fixture(scope="session")
def matrix(pytestconfig) -> Matrix:
    if _matrix_key not in pytestconfig.stash:
        pytestconfig.stash[_matrix_key] = Matrix()
    return pytestconfig.stash[_matrix_key]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" or report.failed:
        previous = _outcomes.get(item.nodeid)
        if previous != "failed":
            _outcomes[item.nodeid] = "failed" if report.failed else report.outcome
    return report


def pytest_sessionfinish(session):
    matrix = session.config.stash.get(_matrix_key, None)
    target = os.environ.get("DEVSESSION_FAULT_MATRIX")
    if matrix is None or not target:
        return
    for row in matrix.rows:
        row.outcome = _outcomes.get(row.nodeid, "not finished")
    Path(target).write_text(matrix.markdown())


__all__ = ["Fault", "Inner", "InnerRun", "Matrix", "signal"]
