"""How close the HeadSpin path comes to what a device allows: the plugin, a careful hand-written client, the bound.

Run by hand (never in CI: these are wall times on a shared machine):

    python benchmarks/headspin_speed.py [--tests 12] [--latency 0.05] [--bandwidth 40] [--video-mb 20] [--runs 1]

The HeadSpin emulator plays a service far away: a capture is ready 1.5 s after its create and complete 1.0 s
after its stop, every API round trip takes --latency s, downloads stream at --bandwidth MB/s (all together) and
each video is --video-mb MB. Against it, in this one process run:

(a) the plugin: ``pytest --devsession --devsession-backend headspin`` on a generated suite of --tests tests of
    0.5 s each, downloading mp4, har and appium.log per test;
(b) a naive client written from HeadSpin's documentation, as a pytest fixture using requests: lock the device
    once; per test create with nowait, poll timestamps every 1 s until ready, run the test, stop with nowait,
    poll every 1 s until capture-complete, then name, status, measurements and the same three downloads one
    after another in the test's teardown; unlock at the end;
(c) the critical-path bound: per test ready + body + complete, one test after another on one device.

Then one capture around a module (``--devsession-scope module``, --scope-tests tests of --scope-body s):

(d) plain pytest on the same tests, without --devsession;
(e) the plugin with one capture for the module: a label, a user flow event and a HAR cut per test;
(f) the plugin with a capture per test;
(g) the bound for (e): (d) + one ready + one complete + the last downloads (the module's one video and
    appium.log at --bandwidth, and one HAR request per test, four at a time, at --latency each).

Both (a) and (b) run in a pytest subprocess, so both walls include pytest's start-up. The readiness lag is how
late a client learnt that its capture was ready: from the emulator's ready moment to the moment the first
timestamps answer showing it reached the client (median over the tests); the completion lag likewise for
capture-complete. With --runs N the configurations alternate and the figures are medians of the N runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest_devsession
from pytest_devsession.emulator import HeadSpinEmulator

READY_DELAY = 1.5  # s from create to ready
COMPLETE_DELAY = 1.0  # s from stop to capture-complete
BODY = 0.5  # s each test runs
ARTIFACTS = ("mp4", "har", "appium.log")
USERFLOW = "Speed"
TARGET_BOUND, TARGET_NAIVE, TARGET_LAG_MS = 1.12, 1.45, 100  # the "done when"
TARGET_SCOPE_BOUND, TARGET_SCOPE_GAIN = 1.1, 4.0  # one capture per module: vs its bound, vs a capture per test

TEST = '''
@pytest.mark.userflow({userflow!r})
def test_{n:03d}(devsession):
    time.sleep({body})
    devsession.measure("step", {n}, units="ms")
'''

# The naive client: what a careful user writes from HeadSpin's Session and Performance Monitoring API pages.
NAIVE = '''
import os
import time

import pytest
import requests

API = os.environ["HEADSPIN_API_URL"]
DEVICE = os.environ["HEADSPIN_DEVICE"]
ARTIFACTS = {artifacts!r}
TIMEOUT = 30
CALL = pytest.StashKey()
_userflows = {{}}


def pytest_configure(config):
    config.addinivalue_line("markers", "userflow(name): the HeadSpin user flow of the test's session")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL] = report
    return report


@pytest.fixture(scope="session")
def headspin():
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + os.environ["HEADSPIN_API_TOKEN"]
    serial = DEVICE.split("@")[0]
    answer = http.post(f"{{API}}/adb/{{serial}}/lock", timeout=TIMEOUT)
    answer.raise_for_status()
    assert answer.json()["status"] == 0, answer.text
    try:
        yield http
    finally:
        http.post(f"{{API}}/adb/{{serial}}/unlock", timeout=TIMEOUT)
        http.close()


def wait_for(http, session_id, key, deadline=180.0):
    # The device leaves the network while capture starts and ends: errors are waited out.
    give_up = time.monotonic() + deadline
    while True:
        try:
            answer = http.get(f"{{API}}/sessions/{{session_id}}/timestamps", timeout=TIMEOUT)
            if answer.status_code == 200 and key in answer.json():
                return
        except requests.RequestException:
            pass
        if time.monotonic() > give_up:
            raise TimeoutError(f"no {{key}} for {{session_id}} after {{deadline}} s")
        time.sleep(1.0)


def userflow_id(http, name):
    if name not in _userflows:
        answer = http.put(f"{{API}}/userflows", json={{"name": name}}, timeout=TIMEOUT)
        answer.raise_for_status()
        _userflows[name] = answer.json()["user_flow_id"]
    return _userflows[name]


class Session:
    def __init__(self, session_id):
        self.session_id = session_id
        self.measurements = []

    def measure(self, key, value, units=None):
        self.measurements.append({{"key": key, "value": value, "units": units}})


@pytest.fixture
def devsession(request, headspin):
    body = {{"session_type": "capture", "device_address": DEVICE, "nowait": True,
             "capture_video": True, "capture_network": True}}
    answer = headspin.post(f"{{API}}/sessions", json=body, timeout=TIMEOUT)
    answer.raise_for_status()
    session = Session(answer.json()["session_id"])
    sid = session.session_id
    try:
        wait_for(headspin, sid, "capture-started")
        yield session
    finally:
        headspin.patch(f"{{API}}/sessions/{{sid}}", json={{"active": False, "nowait": True}},
                       timeout=TIMEOUT).raise_for_status()
        wait_for(headspin, sid, "capture-complete")
    headspin.post(f"{{API}}/sessions/{{sid}}/description", timeout=TIMEOUT,
                  json={{"name": request.node.nodeid, "description": "naive client"}}).raise_for_status()
    marker = request.node.get_closest_marker("userflow")
    if marker is not None:
        flow = userflow_id(headspin, marker.args[0])
        report = request.node.stash.get(CALL, None)
        status = "Passed" if report is not None and report.passed else "Failed"
        headspin.post(f"{{API}}/userflows/{{flow}}/sessions", json={{"session_id": sid, "status": status}},
                      timeout=TIMEOUT).raise_for_status()
        if session.measurements:
            headspin.post(f"{{API}}/userflows/{{flow}}/sessions/{{sid}}/measurements",
                          json={{"data": session.measurements}}, timeout=TIMEOUT).raise_for_status()
    folder = os.path.join("naive-artifacts", request.node.name)
    os.makedirs(folder, exist_ok=True)
    for ext in ARTIFACTS:
        with headspin.get(f"{{API}}/sessions/{{sid}}.{{ext}}", stream=True, timeout=TIMEOUT) as answer:
            answer.raise_for_status()
            with open(os.path.join(folder, "session." + ext), "wb") as out:
                for chunk in answer.iter_content(1024 * 1024):
                    out.write(chunk)
'''


@dataclass
class Run:
    wall: float
    ready_lag: float | None  # median, seconds
    complete_lag: float | None


def write_suite(folder: Path, tests: int) -> None:
    folder.mkdir()
    body = "".join(TEST.format(userflow=USERFLOW, n=n, body=BODY) for n in range(tests))
    (folder / "test_speed.py").write_text("import time\n\nimport pytest\n" + body)


def environment(emulator: HeadSpinEmulator, device: str) -> dict:
    # Nothing from the caller's setup (devices, artifacts, a CI build tag) may change what is measured.
    ci = ("BUILD_ID", "CI_JOB_ID", "GITHUB_RUN_ID", "BUILD_BUILDID")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVSESSION_", "HEADSPIN_")) and k not in ci}
    env.update(HEADSPIN_API_URL=emulator.url, HEADSPIN_API_TOKEN=emulator.token, HEADSPIN_DEVICE=device)
    return env


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def measure(emulator: HeadSpinEmulator, folder: Path, args: list[str], env: dict, tests: int, name: str) -> Run:
    """Run pytest in ``folder`` against a freshly reset emulator; check it did the whole job."""
    emulator.reset()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    sessions = list(emulator.sessions.values())
    flow = emulator.userflow_by_name(USERFLOW)
    statuses = sorted(event.status for event in flow.events.values()) if flow else []
    wrong = []
    if done.returncode != 0:
        wrong.append(f"pytest exited {done.returncode}")
    if len(sessions) != tests:
        wrong.append(f"{len(sessions)} capture sessions for {tests} tests")
    if any(s.state != "complete" or not set(ARTIFACTS) <= set(s.downloads) for s in sessions):
        wrong.append("a session was not complete or not every artifact was downloaded")
    if statuses != ["Passed"] * tests:
        wrong.append(f"user flow statuses {statuses}")
    videos = [p.stat().st_size for p in folder.rglob("*.mp4")]
    if len(videos) != tests or set(videos) != {emulator.video_bytes}:
        wrong.append(f"videos on disk: {len(videos)} of sizes {sorted(set(videos))}")
    if wrong:
        sys.exit(f"{name}: {'; '.join(wrong)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    # An answer reaches the client half a round trip after the emulator wrote it.
    back = emulator.latency / 2
    return Run(
        wall,
        median_or_none([s.ready_seen_at + back - s.ready_at for s in sessions if s.ready_seen_at is not None]),
        median_or_none([s.complete_seen_at + back - s.complete_at for s in sessions
                        if s.complete_seen_at is not None]),
    )


def measure_scope(emulator: HeadSpinEmulator, folder: Path, args: list[str], env: dict, tests: int,
                  name: str) -> float:
    """One run of the module-scope case; checks that each test kept its own evidence."""
    emulator.reset()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    wrong = [f"pytest exited {done.returncode}"] if done.returncode != 0 else []
    sessions = list(emulator.sessions.values())
    if name == "plain":
        wrong += [f"{len(sessions)} capture sessions without --devsession"] if sessions else []
    else:
        flow = emulator.userflow_by_name(USERFLOW)
        events = list(flow.events.values()) if flow else []
        if sorted(e.status for e in events) != ["Passed"] * tests or any(len(e.measurements) != 1 for e in events):
            wrong.append(f"{len(events)} user flow events, statuses {sorted(e.status for e in events)}")
        expected = 1 if name == "scoped" else tests
        if len(sessions) != expected or any(s.state != "complete" for s in sessions):
            wrong.append(f"{len(sessions)} capture sessions (expected {expected}), all complete: "
                         f"{all(s.state == 'complete' for s in sessions)}")
        hars = sorted(folder.rglob("session.har"))
        if len(hars) != tests:
            wrong.append(f"{len(hars)} HAR files for {tests} tests")
        if name == "scoped" and sessions:
            labels = list(sessions[0].labels.values())
            if len(labels) != tests:
                wrong.append(f"{len(labels)} labels for {tests} tests")
    if wrong:
        sys.exit(f"{name}: {'; '.join(wrong)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall


def scope_case(emulator: HeadSpinEmulator, tmp: str, env: dict, device: str, options) -> dict[str, float]:
    tests = options.scope_tests
    suite = "import time\n\nimport pytest\n" + "".join(
        TEST.format(userflow=USERFLOW, n=n, body=options.scope_body) for n in range(tests))
    common = ["--devsession", "--devsession-backend", "headspin", "--devsession-device", device,
              "--devsession-artifacts", ",".join(ARTIFACTS)]
    clients = {"plain": [], "scoped": [*common, "--devsession-scope", "module"], "per-test": common}
    walls: dict[str, list[float]] = {name: [] for name in clients}
    for number in range(options.runs):
        for name in (list(clients) if number % 2 == 0 else list(reversed(clients))):
            folder = Path(tmp, f"scope-{name}-{number}")
            folder.mkdir()
            (folder / "test_module.py").write_text(suite)
            (folder / "conftest.py").write_text(
                "def pytest_configure(config):\n"
                "    config.addinivalue_line('markers', 'userflow(name): user flow')\n")
            walls[name].append(measure_scope(emulator, folder, clients[name], env, tests, name))
            print(f"  run {number + 1}: module of {tests} tests, {name} {walls[name][-1]:.2f} s", flush=True)
    return {name: statistics.median(values) for name, values in walls.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=12, help="tests in the suite (default 12)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API round trip (default 0.05)")
    parser.add_argument("--bandwidth", type=float, default=40.0,
                        help="download MB/s, 1 MB = 10^6 bytes, shared by all downloads (default 40)")
    parser.add_argument("--video-mb", type=float, default=20.0, help="MB of each session's video (default 20)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each client; medians are printed (default 1)")
    parser.add_argument("--scope-tests", type=int, default=20, help="tests in the module-scope case (default 20)")
    parser.add_argument("--scope-body", type=float, default=0.2, help="seconds each of them runs (default 0.2)")
    parser.add_argument("--only", choices=("test", "module"), help="run one case only (default both)")
    options = parser.parse_args()

    video_bytes = round(options.video_mb * 10**6)
    bound = options.tests * (READY_DELAY + BODY + COMPLETE_DELAY)
    emulator = HeadSpinEmulator(ready_delay=READY_DELAY, complete_delay=COMPLETE_DELAY, latency=options.latency,
                                bandwidth=options.bandwidth * 10**6, video_bytes=video_bytes)
    device = emulator.DEFAULT_DEVICES[0]
    print(f"{options.tests} tests of {BODY} s; capture ready {READY_DELAY} s after create, complete "
          f"{COMPLETE_DELAY} s after stop; {options.latency * 1000:.0f} ms per round trip; {options.bandwidth:g} MB/s "
          f"downloads; per test a {options.video_mb:g} MB mp4, har and appium.log; {options.runs} run(s)")
    # The pytest subprocesses import the plugin from where this process does: say which one is measured.
    print(f"plugin measured: {Path(pytest_devsession.__file__).parent}")
    if hasattr(os, "getloadavg"):  # a busy machine slows the plugin's own work, not the emulator's delays
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="headspin-speed-") as tmp, emulator:
        env = environment(emulator, device)
        scope = scope_case(emulator, tmp, env, device, options) if options.only != "test" else None
        if options.only == "module":
            report_scope(scope, options, emulator)
            return
        clients = {
            "plugin": ["--devsession", "--devsession-backend", "headspin", "--devsession-device", device,
                       "--devsession-artifacts", ",".join(ARTIFACTS)],
            "naive": ["-p", "no:devsession"],
        }
        runs: dict[str, list[Run]] = {name: [] for name in clients}
        for number in range(options.runs):
            order = list(clients) if number % 2 == 0 else list(reversed(clients))  # a noisy moment hits both
            for name in order:
                folder = Path(tmp, f"{name}-{number}")
                write_suite(folder, options.tests)
                if name == "naive":
                    (folder / "conftest.py").write_text(NAIVE.format(artifacts=ARTIFACTS))
                run = measure(emulator, folder, clients[name], env, options.tests, name)
                runs[name].append(run)
                print(f"  run {number + 1}: {name} {run.wall:.2f} s", flush=True)

    def figure(name: str, field: str) -> float | None:
        return median_or_none([getattr(r, field) for r in runs[name] if getattr(r, field) is not None])

    def ms(seconds: float | None) -> str:
        return "-" if seconds is None else f"{seconds * 1000:.0f}"

    plugin, naive = figure("plugin", "wall"), figure("naive", "wall")
    print(f"\n{'':34} {'wall s':>8} {'s/test':>7} {'ready lag ms':>13} {'complete lag ms':>16}")
    print(f"{'critical-path bound':34} {bound:8.2f} {bound / options.tests:7.2f}")
    for label, name in (("plugin (pytest --devsession)", "plugin"), ("naive client (HeadSpin's docs)", "naive")):
        wall = figure(name, "wall")
        print(f"{label:34} {wall:8.2f} {wall / options.tests:7.2f} {ms(figure(name, 'ready_lag')):>13} "
              f"{ms(figure(name, 'complete_lag')):>16}")
    print(f"\nplugin / bound   {plugin / bound:5.2f}   (target <= {TARGET_BOUND})")
    print(f"naive / plugin   {naive / plugin:5.2f}   (target >= {TARGET_NAIVE})")
    print(f"readiness lag    {ms(figure('plugin', 'ready_lag')):>5} ms (median; target <= {TARGET_LAG_MS} ms)")
    if scope is not None:
        report_scope(scope, options, emulator)


def report_scope(walls: dict[str, float], options, emulator: HeadSpinEmulator) -> None:
    tests = options.scope_tests
    other = 200_000  # appium.log and the like: small next to the video
    downloads = (emulator.video_bytes + other) / (options.bandwidth * 10**6) \
        + options.latency * (2 + -(-tests // 4))  # the video, the log, then the HARs four at a time
    bound = walls["plain"] + READY_DELAY + COMPLETE_DELAY + downloads
    print(f"\nmodule of {tests} tests of {options.scope_body} s, one capture (--devsession-scope module)")
    print(f"  plain pytest {walls['plain']:.2f} s; bound (plain + ready + complete + last downloads "
          f"{downloads:.2f} s) {bound:.2f} s")
    print(f"  scoped {walls['scoped']:.2f} s; a capture per test {walls['per-test']:.2f} s")
    print(f"scoped / bound      {walls['scoped'] / bound:5.2f}   (target <= {TARGET_SCOPE_BOUND})")
    print(f"per-test / scoped   {walls['per-test'] / walls['scoped']:5.2f}   (target >= {TARGET_SCOPE_GAIN})")


if __name__ == "__main__":
    main()
