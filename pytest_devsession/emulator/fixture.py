"""pytest plugin: offline HeadSpin, LambdaTest and DevRev APIs for tests (one plugin, the package's
``devsession_emulator`` entry point: nothing is imported until a fixture is used).

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


# LambdaTest (emulator/lambdatest/): a W3C hub in front of a local Chromium, and the Automation API.
# What a test may set through the fixture's parameter.
LAMBDATEST_SETTINGS = ("artifact_delay", "signed_link_ttl", "latency")


@pytest.fixture(scope="session")
def lambdatest_emulator_server():
    """A running LambdaTestEmulator shared by the whole test session."""
    from .lambdatest.server import LambdaTestEmulator

    emulator = LambdaTestEmulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def lambdatest_emulator(request, lambdatest_emulator_server):
    """The shared LambdaTestEmulator, reset (no sessions, faults or logged requests, default
    settings), then with the settings of an indirect parameter (a dict, names in ``LAMBDATEST_SETTINGS``)."""
    lambdatest_emulator_server.reset()
    settings = getattr(request, "param", None) or {}
    unknown = sorted(set(settings) - set(LAMBDATEST_SETTINGS))
    if unknown:
        raise ValueError(f"lambdatest_emulator has no setting {', '.join(unknown)}: use {', '.join(LAMBDATEST_SETTINGS)}")
    for name, value in settings.items():
        setattr(lambdatest_emulator_server, name, value)
    yield lambdatest_emulator_server
    lambdatest_emulator_server.hub.quit_all()  # a browser the test left open


# DevRev (emulator/devrev/): the observability API and an upload route that plays the SDK.
# What a test may set through the fixture's parameter.
DEVREV_SETTINGS = ("upload_delay", "frame_link_ttl", "rate_limit", "rate_window")


@pytest.fixture(scope="session")
def devrev_emulator_server():
    """A running DevRevEmulator shared by the whole test session."""
    from .devrev.server import DevRevEmulator

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
    ``DEVREV_SETTINGS``)."""
    devrev_emulator_server.reset()
    settings = getattr(request, "param", None) or {}
    unknown = sorted(set(settings) - set(DEVREV_SETTINGS))
    if unknown:
        raise ValueError(f"devrev_emulator has no setting {', '.join(unknown)}: use {', '.join(DEVREV_SETTINGS)}")
    for name, value in settings.items():
        setattr(devrev_emulator_server, name, value)
    return devrev_emulator_server
