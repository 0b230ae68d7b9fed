"""pytest plugin: an offline HeadSpin API for tests.

``headspin_emulator_server`` (session scope) runs one emulator per test process;
``headspin_emulator`` hands it to a test after a ``reset()``.
"""

import pytest


@pytest.fixture(scope="session")
def headspin_emulator_server():
    """A running HeadSpinEmulator shared by the whole test session."""
    from .server import HeadSpinEmulator

    emulator = HeadSpinEmulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def headspin_emulator(headspin_emulator_server):
    """The shared HeadSpinEmulator, reset: default devices, no sessions, flows or faults."""
    headspin_emulator_server.reset()
    return headspin_emulator_server
