"""pytest plugin: an offline DevRev observability API for tests.

``devrev_emulator_server`` (session scope) runs one emulator per test process; ``devrev_emulator``
hands it to a test after a ``reset()``, with the settings of an indirect parameter applied for that
test only::

    @pytest.mark.parametrize("devrev_emulator", [{"upload_delay": 0, "frame_link_ttl": 5}], indirect=True)
    def test_reads_the_recording(devrev_emulator): ...

The emulator gives ``url``, ``token``, ``app_id`` (the default app's App ID), ``sessions``,
``requests``, ``upload_session(...)``, ``add_app(...)``, ``add_fault(...)`` and ``reset()``.
"""

import pytest

# What a test may set through the fixture's parameter.
SETTINGS = ("upload_delay", "frame_link_ttl", "rate_limit", "rate_window")


@pytest.fixture(scope="session")
def devrev_emulator_server():
    """A running DevRevEmulator shared by the whole test session."""
    from .server import DevRevEmulator

    emulator = DevRevEmulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def devrev_emulator(request, devrev_emulator_server):
    """The shared DevRevEmulator, reset (the default app only, no sessions, faults or logged
    requests, default settings), then with the settings of an indirect parameter (a dict, names in
    ``SETTINGS``)."""
    devrev_emulator_server.reset()
    settings = getattr(request, "param", None) or {}
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"devrev_emulator has no setting {', '.join(unknown)}: use {', '.join(SETTINGS)}")
    for name, value in settings.items():
        setattr(devrev_emulator_server, name, value)
    return devrev_emulator_server
