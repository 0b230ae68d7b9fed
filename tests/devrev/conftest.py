"""DevRev client tests: unit tests against a small loopback stand-in of DevRev's API
(``devrev_fake``), and tests against the DevRev emulator when it is there."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from devrev_fake import APP, TOKEN, FakeDevRev

from pytest_devsession.devrev.client import DevRevClient


# The devrev_emulator fixture comes with the package's devsession_emulator plugin (emulator/fixture.py).


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
