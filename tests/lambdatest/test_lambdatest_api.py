"""The backend's calls to LambdaTest's API: the credentials check, the verdict, the links, the drivers."""
from __future__ import annotations

import pytest
from fake_lambdatest import ACCESS_KEY, MOBILE_API, Scripted

from pytest_devsession.backends.base import (
    Artifacts,
    AuthenticationError,
    Backend,
    BackendError,
    CaptureOptions,
    Drivers,
    Links,
    Locking,
    RemoteBrowsers,
    RemoteSessions,
    Verdict,
    Verdicts,
)


class Driver:
    """What the backend reads of a Selenium or Appium driver."""

    def __init__(self, session_id: str, caps: dict | None = None) -> None:
        self.session_id = session_id
        self.caps = caps or {"browserName": "chrome", "platformName": "linux"}


def verdict(status="Failed", message="AssertionError: assert 1 == 2", **kwargs) -> Verdict:
    return Verdict(name="tests/test_a.py::test_one", description="Checks one thing.", status=status, message=message,
                   tags={"outcome": status.lower(), "build": "b-1"},
                   measurements=[{"key": "load", "value": 1.5, "units": "s", "type": None}], **kwargs)


def test_its_parts(make_backend):
    backend = make_backend()
    for part in (Backend, Drivers, RemoteSessions, RemoteBrowsers, Verdicts, Artifacts, Links):
        assert isinstance(backend, part), part.__name__
    assert not isinstance(backend, Locking)
    assert backend.outlives_process is False


def test_devices_checks_the_credentials_once(make_backend, fake):
    backend = make_backend()
    assert list(backend.devices()) == ["lambdatest"]
    assert list(backend.devices()) == ["lambdatest"]
    assert [path for _, path, _ in fake.requests("GET")] == ["/automation/api/v1/sessions?limit=1"]


def test_refused_credentials_are_an_authentication_error(make_backend, fake):
    fake.script.append(Scripted("GET", "/sessions", 401, f"HTTP Basic: Access denied. (key {ACCESS_KEY})"))
    with pytest.raises(AuthenticationError) as caught:
        make_backend().devices()
    text = str(caught.value)
    assert "LT_USERNAME and LT_ACCESS_KEY" in text and "Access denied" in text
    assert ACCESS_KEY not in text
    assert len(fake.requests("GET")) == 1  # never tried again


def test_a_capture_is_a_container_of_the_drivers_sessions(make_backend, fake):
    backend = make_backend()
    device = backend.devices()["lambdatest"]
    capture = backend.start_capture(device, CaptureOptions("tests/test_a.py::test_one"))
    other = backend.start_capture(device, CaptureOptions("tests/test_a.py::test_two"))
    assert capture != other
    backend.wait_ready(capture, 0)
    assert backend.sessions_of(capture) == []
    backend.attach(capture, Driver("s-1"))
    backend.attach(capture, Driver("s-2"))
    backend.attach(capture, Driver("s-1"))  # attached twice: one session
    backend.detach(capture, Driver("s-1"))  # still the test's: its verdict and evidence come later
    backend.stop_capture(capture, 0)
    assert backend.sessions_of(capture) == ["s-1", "s-2"]
    assert backend.sessions_of(other) == []
    assert backend.session_url(capture) is None
    assert len(fake.seen) == 1  # the credentials check only: a capture makes no request


def test_an_unstarted_driver_cannot_be_attached(make_backend):
    backend = make_backend()
    with pytest.raises(ValueError, match="no session id"):
        backend.attach("lambdatest-x", Driver(""))


def test_capabilities_carry_the_build_the_name_and_the_evidence_options(make_backend):
    backend = make_backend(section_capabilities={"browserVersion": "latest", "platformName": "Windows 11",
                                                 "resolution": "1920x1080", "LT:Options": {"console": "error"},
                                                 "goog:chromeOptions": {"args": ["--lang=fr"]}})
    caps = backend.capabilities("lambdatest-x", "tests/test_a.py::test_one")
    assert caps == {
        "browserName": "chrome", "browserVersion": "latest", "platformName": "Windows 11",
        "goog:chromeOptions": {"args": ["--lang=fr"]},
        "LT:Options": {"build": "build-7", "name": "tests/test_a.py::test_one", "video": True, "network": True,
                       "network.full.har": True, "console": "error", "resolution": "1920x1080"},
    }
    caps["LT:Options"]["video"] = False  # the test's own copy
    assert backend.capabilities("lambdatest-x", "n")["LT:Options"]["video"] is True


@pytest.mark.parametrize(("status", "status_ind"), [("Passed", "passed"), ("Failed", "failed"),
                                                     ("Excluded", "skipped"), ("Odd", "unknown")])
def test_the_verdict_is_one_patch(make_backend, fake, status, status_ind):
    session = fake.add("s-1")
    make_backend().give_verdict("s-1", verdict(status, userflow="Login"))
    assert session.patches == [{
        "name": "tests/test_a.py::test_one", "status_ind": status_ind, "reason": "AssertionError: assert 1 == 2",
        "tags": [f"outcome:{status.lower()}", "build:b-1", "userflow:Login"],
        "custom_data": {"measurements": [{"key": "load", "value": 1.5, "units": "s"}],
                        "description": "Checks one thing."},
    }]


def test_a_verdict_without_a_message_has_no_reason_and_the_key_never_goes(make_backend, fake):
    session = fake.add("s-1")
    backend = make_backend()
    backend.give_verdict("s-1", verdict("Passed", None))
    backend.give_verdict("s-1", verdict("Failed", f"hub at https://lt-user:{ACCESS_KEY}@hub/wd/hub refused"))
    assert "reason" not in session.patches[0]
    assert session.patches[1]["reason"] == "hub at https://***@hub/wd/hub refused"


def test_a_verdict_answered_200_with_fail_is_not_done(make_backend, fake):
    fake.add("s-1")
    fake.script.append(Scripted("PATCH", "/sessions/s-1", 200, {"message": "Please provide a valid payload",
                                                               "status": "fail"}))
    with pytest.raises(BackendError) as caught:
        make_backend().give_verdict("s-1", verdict())
    assert caught.value.words == "Please provide a valid payload"
    assert caught.value.request == "PATCH /automation/api/v1/sessions/s-1"
    assert not caught.value.temporary  # not kept for a later run: the same body would fail again
    assert len(fake.requests("PATCH")) == 1


def test_a_verdict_is_sent_again_after_5xx_and_429(make_backend, fake):
    session = fake.add("s-1")
    fake.script += [Scripted("PATCH", "/sessions/s-1", 500, {"message": "Internal Server Error"}),
                    Scripted("PATCH", "/sessions/s-1", 429, {"message": "Too Many Requests"}, {"Retry-After": "0"})]
    make_backend().give_verdict("s-1", verdict())
    assert len(fake.requests("PATCH")) == 3
    assert len(session.patches) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_verdict_is_never_sent_again(make_backend, fake, status):
    fake.add("s-1")
    fake.script.append(Scripted("PATCH", "/sessions/s-1", status, {"message": "Access denied", "status": "fail"}))
    with pytest.raises(AuthenticationError if status == 401 else BackendError) as caught:
        make_backend().give_verdict("s-1", verdict())
    assert caught.value.status == status
    assert len(fake.requests("PATCH")) == 1


def test_the_session_link_comes_from_its_details_once(make_backend, fake):
    fake.add("s-1", test_id="ABCDE-FGHIJ")
    fake.add("s-2", details={"dashboard_url": "https://automation.lambdatest.com/logs/?testID=XYZ"})
    backend = make_backend()
    assert backend.session_url("s-1") == "https://automation.lambdatest.com/test?testID=ABCDE-FGHIJ"
    assert backend.session_url("s-1") == "https://automation.lambdatest.com/test?testID=ABCDE-FGHIJ"
    assert backend.session_url("s-2") == "https://automation.lambdatest.com/logs/?testID=XYZ"
    assert backend.session_url("unknown") is None  # a link is not worth failing for
    assert len(fake.requests("GET", "/sessions/s-1")) == 1


def test_an_appium_session_is_read_on_the_mobile_api(make_backend, fake):
    session = fake.add("app-1", test_id="APP-1")
    backend = make_backend()
    backend.attach("lambdatest-x", Driver("app-1", {"platformName": "Android", "appium:deviceName": "Pixel 8"}))
    backend.give_verdict("app-1", verdict("Passed", None))
    assert backend.session_url("app-1") == "https://appautomation.lambdatest.com/test?testID=APP-1"
    assert len(session.patches) == 1
    assert all(path.startswith(MOBILE_API) for _, path, _ in fake.requests(contains="app-1"))
