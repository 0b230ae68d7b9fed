import pytest
import requests

# The devrev_emulator fixture comes with the package's devsession_emulator plugin (emulator/fixture.py).


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
