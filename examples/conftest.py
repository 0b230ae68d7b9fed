import pytest

from app import App


@pytest.fixture(scope="session")
def app():
    """The example web app, served on loopback for the whole run."""
    with App() as running:
        yield running
