"""API tests: each one runs inside a capture session and reports to a user flow."""
import time

import pytest
import requests


@pytest.fixture
def http(devsession):
    session = requests.Session()
    session.trust_env = False
    # On a backend with a local capture proxy, route the client through it.
    proxies = getattr(devsession, "proxies", None)
    if proxies:
        session.proxies.update(proxies)
    yield session
    session.close()


@pytest.mark.userflow("Example login API", description="The JSON login endpoint")
def test_login_succeeds(app, http, devsession):
    """A known user signs in."""
    started = time.perf_counter()
    response = http.post(f"{app.url}/api/login", json={"user": "ada", "password": "lovelace"})
    devsession.measure("Login API time", round((time.perf_counter() - started) * 1000, 2), units="ms")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "user": "ada"}


@pytest.mark.userflow("Example login API")
def test_wrong_password_is_refused(app, http, devsession):
    response = http.post(f"{app.url}/api/login", json={"user": "ada", "password": "babbage"})
    devsession.measure("Status code", response.status_code)
    assert response.status_code == 401
