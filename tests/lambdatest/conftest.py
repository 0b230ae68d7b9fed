"""LambdaTest backend tests: unit tests against a small loopback stand-in of its API
(``fake_lambdatest``), and acceptance tests (pytester) against the LambdaTest emulator."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fake_lambdatest import ACCESS_KEY, USERNAME, FakeLambdaTest

# Imported here so that pytester's in-process runs share one copy of requests and of the reporting
# package's modules (it restores sys.modules after each run; see tests/headspin/conftest.py).
import pytest_devsession.backends.lambdatest.backend  # noqa: F401
import pytest_devsession.reporting.allure  # noqa: F401
import pytest_devsession.reporting.live  # noqa: F401
import pytest_devsession.reporting.manifest  # noqa: F401
import pytest_devsession.reporting.summary  # noqa: F401
from pytest_devsession.backends.lambdatest.backend import LambdaTestBackend
from pytest_devsession.backends.lambdatest.settings import LambdaTestSettings
from pytest_devsession.settings import Secret, Settings

PLUGIN = "pytest_devsession.backends.lambdatest.plugin"


def plugin_args() -> list[str]:
    """``-p`` for the LambdaTest plugin until plugin.py lists it among its ``pytest_plugins``."""
    from pytest_devsession import plugin

    return [] if PLUGIN in getattr(plugin, "pytest_plugins", ()) else ["-p", PLUGIN]


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
