import pytest
import requests

import pytest_devsession.emulator.devrev.fixture as devrev_plugin


def pytest_configure(config):
    # Registered here until the package declares the plugin as a pytest11 entry point.
    if not config.pluginmanager.is_registered(devrev_plugin):
        config.pluginmanager.register(devrev_plugin, "devsession_devrev_emulator")


@pytest.fixture
def api(devrev_emulator):
    """requests against the emulator: its token, the beta scope header and a timeout; paths relative
    to its URL; no proxy from the environment."""

    class Api(requests.Session):
        def request(self, method, path, **kwargs):
            kwargs.setdefault("timeout", 10)
            return super().request(method, devrev_emulator.url + path, **kwargs)

    session = Api()
    session.trust_env = False
    session.headers.update({"Authorization": f"Bearer {devrev_emulator.token}", "X-Devrev-Scope": "beta"})
    yield session
    session.close()
