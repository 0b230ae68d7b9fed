"""DevRevClient against the loopback stand-in: headers, DevRev's error shapes, retries, check()."""
from __future__ import annotations

import time

import pytest
from devrev_fake import APP, TOKEN

from pytest_devsession.backends.base import AuthenticationError, BackendError
from pytest_devsession.devrev.client import DevRevClient

LIST = "/observability.sessions.list"


def test_every_request_carries_the_token_json_and_the_beta_scope(fake, client):
    fake.add_session("s1", time.time())
    client.list_sessions("android", None, None)
    client.get_session("android", "s1")
    client.recording_data("s1", "rec-s1")
    assert len(fake.requests) == 3
    for request in fake.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Devrev-Scope"] == "beta"
    listed = fake.requests[0].json()
    assert listed["version_key"] == APP and listed["platform"] == "android" and listed["type"] == "mobile"
    assert fake.requests[2].json() == {"session_id": "s1", "recording_id": "rec-s1", "version_key": APP}


def test_a_429_burst_is_waited_out_as_retry_after_says(fake, client, sleeps):
    fake.faults += [(LIST, 429, {"retry_after": 9}, {"Retry-After": "1.5"})] * 2
    assert client.list_sessions("android", None, None) == []
    assert sleeps == [1.5, 1.5]  # the header wins over the body
    assert len(fake.requests) == 3


def test_a_429_without_retry_after_waits_the_body_s_retry_after(fake, client, sleeps):
    fake.faults.append((LIST, 429, {"retry_after": 2}, {}))
    client.list_sessions("android", None, None)
    assert sleeps == [2.0]


@pytest.mark.parametrize("status", [500, 503])
def test_500_and_503_are_sent_again_after_a_backoff(fake, client, sleeps, status):
    fake.faults += [(LIST, status, {}, {})] * 2
    fake.add_session("s1", time.time())
    assert [s["session_id"] for s in client.list_sessions("android", None, None)] == ["s1"]
    assert len(sleeps) == 2 and all(0.4 <= s <= 2.0 for s in sleeps)


def test_other_errors_are_not_sent_again_and_keep_devrev_s_words(fake, client, sleeps):
    fake.faults.append((LIST, 400, {"message": "bad cursor", "detail": "cursor is malformed"}, {}))
    with pytest.raises(BackendError) as caught:
        client.list_sessions("android", None, None)
    assert sleeps == [] and len(fake.requests) == 1
    error = caught.value
    assert error.status == 400 and error.words == "bad cursor: cursor is malformed (bad_request)"
    assert error.request == "POST /observability.sessions.list"


def test_500_for_good_gives_up_with_devrev_s_words(fake, client, sleeps):
    fake.faults += [(LIST, 500, {"reference_id": "ref-1"}, {})] * 10
    with pytest.raises(BackendError) as caught:
        client.list_sessions("android", None, None)
    assert caught.value.status == 500 and "fault 500" in str(caught.value)
    assert len(fake.requests) == 5  # the first and four more


def test_a_refused_token_is_an_authentication_error_naming_devrev_token(fake, sleeps):
    client = DevRevClient(fake.url, "wrong-token", APP, sleep=sleeps.append)
    with pytest.raises(AuthenticationError) as caught:
        client.check()
    assert "DEVREV_TOKEN" in str(caught.value) and caught.value.status == 401
    assert "wrong-token" not in str(caught.value)
    assert sleeps == []


def test_forbidden_is_an_authentication_error_too(fake, client):
    fake.faults.append((LIST, 403, {"message": "token lacks the observability scope"}, {}))
    with pytest.raises(AuthenticationError, match="DEVREV_TOKEN.*lacks the observability scope"):
        client.check()


def test_an_unknown_app_names_the_option(fake):
    client = DevRevClient(fake.url, TOKEN, "no-such-app", sleep=lambda s: None)
    with pytest.raises(BackendError) as caught:
        client.check()
    assert not isinstance(caught.value, AuthenticationError)
    assert "--devsession-devrev-app" in str(caught.value) and "no-such-app" in str(caught.value)
    assert caught.value.status == 404


def test_an_app_without_sessions_passes_the_check(client):
    client.check()


def test_sessions_are_listed_page_after_page(fake, client):
    now = time.time()
    for index in range(5):
        fake.add_session(f"s{index}", now + index)
    assert [s["session_id"] for s in client.list_sessions("android", None, None)] == [f"s{i}" for i in range(5)]
    cursors = [r.json().get("cursor") for r in fake.requests]
    assert cursors == [None, "2", "4"]


def test_the_token_is_never_in_an_error(fake, client):
    fake.faults.append((LIST, 400, {"message": f"token {TOKEN} is odd"}, {}))
    with pytest.raises(BackendError) as caught:
        client.list_sessions("android", None, None)
    assert TOKEN not in str(caught.value) and TOKEN not in caught.value.words
