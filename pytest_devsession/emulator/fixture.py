"""pytest plugin: offline HeadSpin, LambdaTest and DevRev APIs for tests (one plugin, the package's
``devsession_emulator`` entry point: nothing is imported until a fixture is used).

``headspin_emulator_server`` (session scope) runs one emulator per test process;
``headspin_emulator`` hands it to a test after a ``reset()``, with the settings of an indirect
parameter applied for that test only::

    @pytest.mark.parametrize("headspin_emulator", [{"cooldown": 30}], indirect=True)
    def test_retry_after_cooldown(headspin_emulator): ...

``lambdatest_emulator`` and ``devrev_emulator`` work the same way; each emulator class's ``SETTINGS``
names what a test may set.
"""


import pytest


def _running(emulator):
    """Serve ``emulator`` for the whole test session."""
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def _for_the_test(emulator, request, name: str):
    """The shared emulator, reset, then with the settings of the test's indirect parameter (a dict)."""
    emulator.reset()
    settings = getattr(request, "param", None) or {}
    allowed = type(emulator).SETTINGS
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise ValueError(f"{name} has no setting {', '.join(unknown)}: use {', '.join(allowed)}")
    for key, value in settings.items():
        setattr(emulator, key, value)
    return emulator


@pytest.fixture(scope="session")
def headspin_emulator_server():
    """A running HeadSpinEmulator shared by the whole test session."""
    from .server import HeadSpinEmulator

    yield from _running(HeadSpinEmulator())


@pytest.fixture
def headspin_emulator(request, headspin_emulator_server):
    """The shared HeadSpinEmulator, reset (default devices and settings, no sessions, flows or faults)."""
    return _for_the_test(headspin_emulator_server, request, "headspin_emulator")


# LambdaTest (emulator/lambdatest/): a W3C hub in front of a local Chromium, and the Automation API.
@pytest.fixture(scope="session")
def lambdatest_emulator_server():
    """A running LambdaTestEmulator shared by the whole test session."""
    from .lambdatest.server import LambdaTestEmulator

    yield from _running(LambdaTestEmulator())


@pytest.fixture
def lambdatest_emulator(request, lambdatest_emulator_server):
    """The shared LambdaTestEmulator, reset (no sessions, faults or logged requests, default settings)."""
    yield _for_the_test(lambdatest_emulator_server, request, "lambdatest_emulator")
    lambdatest_emulator_server.hub.quit_all()  # a browser the test left open


# DevRev (emulator/devrev/): the observability API and an upload route that plays the SDK.
@pytest.fixture(scope="session")
def devrev_emulator_server():
    """A running DevRevEmulator shared by the whole test session."""
    from .devrev.server import DevRevEmulator

    yield from _running(DevRevEmulator())


@pytest.fixture
def devrev_emulator(request, devrev_emulator_server):
    """The shared DevRevEmulator, reset (the default app only, no sessions, faults or logged requests)."""
    return _for_the_test(devrev_emulator_server, request, "devrev_emulator")
