"""Acceptance tests: pytest itself (pytester) with --devsession against the HeadSpin emulator."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

# Imported here so that pytester's in-process runs share one copy of requests
# (it restores sys.modules after each run, which would leave two CookieJar classes).
import pytest_devsession.backends.headspin.backend  # noqa: F401

# The backend imports the reporting package (its HAR redaction): its other modules are kept too, or
# a later in-process run would find the first run's modules as the package's attributes, holding
# the first run's record class.
import pytest_devsession.reporting.allure  # noqa: F401,E402
import pytest_devsession.reporting.live  # noqa: F401,E402
import pytest_devsession.reporting.manifest  # noqa: F401,E402
import pytest_devsession.reporting.summary  # noqa: F401,E402


@dataclass
class Run:
    result: pytest.RunResult
    path: Path

    @property
    def manifest(self) -> dict:
        return json.loads((self.path / "devsession-artifacts" / "manifest.json").read_text())

    def sessions(self) -> dict[str, dict]:
        return {s["nodeid"].split("::")[-1]: s for s in self.manifest["sessions"]}

    def output(self) -> str:
        return "\n".join(self.result.outlines + self.result.errlines)


def _assert_secret_absent(path: Path, output: str, secret: str) -> None:
    """The token appears in no file the run wrote and not in its output."""
    assert secret not in output
    checked = 0
    for file in path.rglob("*"):
        if file.is_file():
            checked += 1
            assert secret.encode() not in file.read_bytes(), f"token leaked into {file}"
    assert checked > 0


@pytest.fixture
def devsession_run(pytester: pytest.Pytester, headspin_emulator, monkeypatch):
    """Run pytest with --devsession against the emulator; returns a Run."""
    monkeypatch.setenv("HEADSPIN_API_TOKEN", headspin_emulator.token)
    monkeypatch.setenv("HEADSPIN_API_URL", headspin_emulator.url)
    monkeypatch.setenv("DEVSESSION_BACKEND", "headspin")
    for name in ("DEVSESSION_DEVICES", "HEADSPIN_UI_URL", "DEVSESSION_USERFLOW",
                 "BUILD_ID", "CI_JOB_ID", "GITHUB_RUN_ID", "DEVSESSION_BUILD_ID"):
        monkeypatch.delenv(name, raising=False)
    headspin_emulator.ready_delay = 0.05
    headspin_emulator.complete_delay = 0.05

    runs: list[Run] = []

    def run(*args: str, device: str | None = "default", subprocess: bool = False, plain: bool = False,
            reports: bool = True) -> Run:
        argv = [] if plain else ["--devsession", "-p", "no:cacheprovider"]
        if reports and not plain:
            argv += ["--junitxml=junit.xml", "--html=report.html", "-o", "junit_family=xunit1",
                     "-o", "junit_logging=system-out"]
        if device == "default":
            device = headspin_emulator.DEFAULT_DEVICES[0]
        if device and not plain:
            argv += ["--devsession-device", device]
        argv += list(args)
        if subprocess:
            result = pytester.runpytest_subprocess(*argv)
        else:
            result = pytester.runpytest(*argv)
        runs.append(Run(result, pytester.path))
        return runs[-1]

    yield run
    # Every run of every acceptance test: the token is in no file it wrote and not in its output.
    for done in runs:
        _assert_secret_absent(done.path, done.output(), headspin_emulator.token)


@pytest.fixture
def assert_secret_absent():
    """Check that a secret appears in no file under a folder and not in the output."""
    return _assert_secret_absent
