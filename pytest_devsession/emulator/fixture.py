"""pytest plugin: an offline HeadSpin API for tests.

``headspin_emulator_server`` (session scope) runs one emulator per test process;
``headspin_emulator`` hands it to a test after a ``reset()``, with the settings of an indirect
parameter applied for that test only::

    @pytest.mark.parametrize("headspin_emulator", [{"cooldown": 30}], indirect=True)
    def test_retry_after_cooldown(headspin_emulator): ...
"""

import pytest

# What a test may set through the fixture's parameter (the emulator's settable attributes).
SETTINGS = ("ready_delay", "complete_delay", "cooldown", "video_metadata_delay", "latency", "bandwidth",
            "video_bytes", "flaky_capture_setup", "basic_auth")


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
def headspin_emulator(request, headspin_emulator_server):
    """The shared HeadSpinEmulator, reset: default devices and settings, no sessions, flows or faults;
    then the settings of an indirect parameter (a dict, names in ``SETTINGS``) for this test."""
    headspin_emulator_server.reset()
    settings = getattr(request, "param", None) or {}
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"headspin_emulator has no setting {', '.join(unknown)}: use {', '.join(SETTINGS)}")
    for name, value in settings.items():
        setattr(headspin_emulator_server, name, value)
    return headspin_emulator_server
