"""pytest plugin: an offline LambdaTest for tests.

``lambdatest_emulator_server`` (session scope) runs one emulator per test process (its
chromedriver starts with the first browser session); ``lambdatest_emulator`` hands it to a test
after a ``reset()``, with the settings of an indirect parameter applied for that test only::

    @pytest.mark.parametrize("lambdatest_emulator", [{"artifact_delay": 1.0}], indirect=True)
    def test_waits_for_the_video(lambdatest_emulator): ...

The emulator gives ``url`` (the API's base), ``hub_url`` (without credentials),
``hub_url_with_credentials``, ``username``, ``access_key``, ``sessions``, ``requests``,
``reset()``, ``add_fault(...)`` and ``add_session(...)``.
"""

import pytest

# What a test may set through the fixture's parameter.
SETTINGS = ("artifact_delay", "signed_link_ttl", "latency")


@pytest.fixture(scope="session")
def lambdatest_emulator_server():
    """A running LambdaTestEmulator shared by the whole test session."""
    from .server import LambdaTestEmulator

    emulator = LambdaTestEmulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def lambdatest_emulator(request, lambdatest_emulator_server):
    """The shared LambdaTestEmulator, reset (no sessions, faults or logged requests, default
    settings), then with the settings of an indirect parameter (a dict, names in ``SETTINGS``)."""
    lambdatest_emulator_server.reset()
    settings = getattr(request, "param", None) or {}
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"lambdatest_emulator has no setting {', '.join(unknown)}: use {', '.join(SETTINGS)}")
    for name, value in settings.items():
        setattr(lambdatest_emulator_server, name, value)
    yield lambdatest_emulator_server
    lambdatest_emulator_server.hub.quit_all()  # a browser the test left open
