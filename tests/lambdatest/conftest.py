"""LambdaTest backend tests: unit tests against a small loopback stand-in of its API
(``fake_lambdatest``), and acceptance tests (pytester) against the LambdaTest emulator."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fake_lambdatest import ACCESS_KEY, USERNAME, FakeLambdaTest
from lt_helpers import Run

# Imported here so that pytester's in-process runs share one copy of requests and of the reporting
# package's modules (it restores sys.modules after each run; see tests/headspin/conftest.py).
import pytest_devsession.backends.lambdatest.backend
import pytest_devsession.reporting.allure
import pytest_devsession.reporting.live
import pytest_devsession.reporting.manifest
import pytest_devsession.reporting.summary  # noqa: F401
from pytest_devsession.backends.lambdatest.backend import LambdaTestBackend
from pytest_devsession.backends.lambdatest.settings import LambdaTestSettings
from pytest_devsession.settings import Secret, Settings


def pytest_configure(config: pytest.Config) -> None:
    # The lambdatest_emulator fixture comes with the package's devsession_emulator plugin.
    config.addinivalue_line("markers", "engine_grid: needs the engine's cloud-grid support of issue 11 "
                                       "(devsession_chrome at a RemoteBrowsers backend, devsession.capabilities, "
                                       "the verdict and downloads of each remote session)")
    config.addinivalue_line("markers", "engine_artifacts: needs the engine to accept a backend's own artifact "
                                       "names (command.log) in --devsession-artifacts")


@pytest.fixture
def fake() -> Iterator[FakeLambdaTest]:
    server = FakeLambdaTest()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def make_backend(fake, tmp_path):
    """A LambdaTestBackend on ``fake``; keyword arguments replace settings (``ready_timeout``, ``har_raw``)
    or, prefixed ``section_``, the section's. Its waits are short and real."""
    made: list[LambdaTestBackend] = []

    def make(**overrides) -> LambdaTestBackend:
        section = LambdaTestSettings(username=USERNAME, access_key=Secret(ACCESS_KEY), hub_url=fake.url + "/wd/hub",
                                     api_url=fake.api_url, mobile_api_url=fake.mobile_api_url)
        section = replace(section, **{k[8:]: v for k, v in overrides.items() if k.startswith("section_")})
        settings = Settings(enabled=True, backend="lambdatest", section=section, devices=("lambdatest",),
                            ready_timeout=5.0, build_name="build-7", store_dir=tmp_path / "store")
        settings = replace(settings, **{k: v for k, v in overrides.items() if not k.startswith("section_")})
        backend = LambdaTestBackend(settings, sleep=lambda seconds: time.sleep(min(seconds, 0.02)))
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def lt_run(pytester: pytest.Pytester, lambdatest_emulator, monkeypatch):
    """Run pytest (a subprocess) with --devsession --devsession-backend lambdatest against the emulator."""
    emulator = lambdatest_emulator
    monkeypatch.setenv("LT_USERNAME", emulator.username)
    monkeypatch.setenv("LT_ACCESS_KEY", emulator.access_key)
    monkeypatch.setenv("LT_HUB_URL", emulator.hub_url)
    monkeypatch.setenv("LT_API_URL", emulator.url)
    monkeypatch.setenv("PAGE_URL", emulator.root_url + "/test?testID=none")
    for name in ("DEVSESSION_BACKEND", "DEVSESSION_DEVICES", "DEVSESSION_USERFLOW", "DEVSESSION_ARTIFACTS",
                 "DEVSESSION_LAMBDATEST_CAPABILITIES", "LT_MOBILE_API_URL", "DEVSESSION_BUILD",
                 "DEVSESSION_RUN_BUILD", "DEVSESSION_BUILD_ID", "BUILD_ID", "CI_JOB_ID", "GITHUB_RUN_ID",
                 "BUILD_BUILDID"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str) -> Run:
        argv = ["--devsession", "--devsession-backend", "lambdatest", "-p", "no:cacheprovider",
                "--junitxml=junit.xml", "-o", "junit_family=xunit1", "-o", "junit_logging=all", *args]
        return Run(pytester.runpytest_subprocess(*argv, timeout=300), pytester.path, emulator.access_key)

    return run
