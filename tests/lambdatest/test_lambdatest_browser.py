"""The browser at LambdaTest's hub: its capabilities, the credentials as Basic auth, and the access key
masked in any failure."""
from __future__ import annotations

import base64
import traceback

import pytest
from fake_lambdatest import ACCESS_KEY, USERNAME

from pytest_devsession.backends.lambdatest import browser
from pytest_devsession.backends.lambdatest.browser import (
    RemoteBrowserError,
    mask,
    secret_forms,
)


def test_remote_chrome_starts_at_the_hub_with_basic_auth_and_is_attached(make_backend, fake):
    backend = make_backend()
    driver = backend.remote_chrome("lambdatest-x", "tests/test_a.py::test_one", (1280, 720))
    try:
        assert backend.sessions_of("lambdatest-x") == ["hub-1"]
        (started,) = fake.hub_sessions
        assert started["authorization"] == "Basic " + base64.b64encode(f"{USERNAME}:{ACCESS_KEY}".encode()).decode()
        caps = started["capabilities"]
        assert caps["browserName"] == "chrome"
        assert caps["LT:Options"] == {"build": "build-7", "name": "tests/test_a.py::test_one", "video": True,
                                      "network": True, "network.full.har": True, "console": True}
        assert "--window-size=1280,720" in caps["goog:chromeOptions"]["args"]
        assert all(ACCESS_KEY not in path for _, path, _ in fake.seen)
    finally:
        driver.quit()


def test_a_refused_browser_never_shows_the_key(make_backend, fake):
    fake.hub_refuses = True
    with pytest.raises(RemoteBrowserError) as caught:
        make_backend().remote_chrome("lambdatest-x", "t", (800, 600))
    error = caught.value
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert "cannot start a browser at LambdaTest's hub" in text and "Unauthorized" in text
    for form in secret_forms(USERNAME, ACCESS_KEY):
        assert form not in text
    assert ACCESS_KEY not in text
    assert error.__cause__ is None and error.__suppress_context__
    assert "Basic ***" in text and "https://***@hub.lambdatest.com" in text


# Selenium 4.51 warns at each request of a driver whose URL holds credentials; an older one, which has
# no ClientConfig to take them, does not.
@pytest.mark.filterwarnings("ignore:Embedding username and password in URL")
def test_an_old_selenium_gets_the_credentials_in_the_url_and_still_never_shows_them(make_backend, fake,
                                                                                    monkeypatch):
    monkeypatch.setattr(browser, "_client_config", lambda *args: None)
    backend = make_backend()
    driver = backend.remote_chrome("lambdatest-x", "t", None)
    driver.quit()
    assert fake.hub_sessions[0]["authorization"].startswith("Basic ")
    fake.hub_refuses = True
    with pytest.raises(RemoteBrowserError) as caught:
        backend.remote_chrome("lambdatest-x", "t", None)
    assert ACCESS_KEY not in str(caught.value)


def test_an_unreachable_hub_is_a_masked_error(make_backend):
    backend = make_backend(section_hub_url="http://127.0.0.1:9/wd/hub")
    with pytest.raises(RemoteBrowserError) as caught:
        backend.remote_chrome("lambdatest-x", "t", None)
    assert ACCESS_KEY not in str(caught.value)
    assert backend.sessions_of("lambdatest-x") == []


def test_every_form_of_the_key_is_masked():
    key = "k3y/with+odd=chars"
    forms = secret_forms("me@corp", key)
    text = (f"{key} me@corp:{key} me%40corp:k3y%2Fwith%2Bodd%3Dchars "
            f"{base64.b64encode(f'me@corp:{key}'.encode()).decode()} k3y%2Fwith%2Bodd%3Dchars")
    assert mask(text, forms) == "*** *** *** *** ***"
    assert secret_forms("me", "") == ()
