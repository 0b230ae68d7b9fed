"""DevRev client tests: unit tests against a small loopback stand-in of DevRev's API
(``devrev_fake``), and tests against the DevRev emulator when it is there."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from devrev_fake import APP, TOKEN, FakeDevRev

from pytest_devsession.devrev.client import DevRevClient


def pytest_configure(config: pytest.Config) -> None:
    try:
        import pytest_devsession.emulator.devrev.fixture as emulator_plugin
    except ImportError:  # not there yet: the emulator tests skip
        emulator_plugin = None
    if emulator_plugin is not None and not config.pluginmanager.is_registered(emulator_plugin):
        config.pluginmanager.register(emulator_plugin, "devsession_devrev_emulator")


@pytest.fixture
def fake() -> Iterator[FakeDevRev]:
    server = FakeDevRev()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake: FakeDevRev, sleeps: list[float]) -> Iterator[DevRevClient]:
    """A client of ``fake`` whose waits are recorded and kept short (at most 20 ms)."""
    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(min(seconds, 0.02))

    made = DevRevClient(fake.url, TOKEN, APP, sleep=sleep, timeout=5)
    yield made
    made.close()
