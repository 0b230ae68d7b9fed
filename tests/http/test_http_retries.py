"""Which failed requests are sent again, and after which wait: against a real loopback server,
with a client whose ``sleep`` only records (nothing here waits for a backoff)."""
from __future__ import annotations

import email.utils
import socket
import time

import pytest
from http_helpers import TOKEN, Answer

from pytest_devsession.backends.base import AuthenticationError, BackendError
from pytest_devsession.emulator import Fault
from pytest_devsession.http.client import NO_RETRY, REPEATABLE, SEND_ONCE, Client, Retry


def test_503_is_retried_then_succeeds(server, client, sleeps):
    server.answer(Answer(503, {"status": "busy"}), Answer(503, {"status": "busy"}), Answer(200, {"ok": 1}))
    assert client.json("GET", "/things", action="list things") == {"ok": 1}
    assert server.methods() == ["GET"] * 3
    assert len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1]  # a growing backoff


def test_429_honours_retry_after_even_for_a_create(server, client, sleeps):
    server.answer(Answer(429, {"status": "slow down"}, headers={"Retry-After": "7"}), Answer(200, {"id": "s1"}))
    assert client.json("POST", "/sessions", action="create", retry=SEND_ONCE) == {"id": "s1"}
    assert server.methods() == ["POST", "POST"]
    assert sleeps == [7.0]


def test_retry_after_as_an_http_date(server, client, sleeps):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.answer(Answer(429, headers={"Retry-After": when}), Answer(200, {"ok": 1}))
    client.json("GET", "/things", action="list things")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 30


def test_a_retry_after_too_long_gives_up_at_once(server, client, sleeps):
    server.answer(Answer(429, {"status": "come back tomorrow"}, headers={"Retry-After": "86400"}))
    with pytest.raises(BackendError) as raised:
        client.json("GET", "/things", action="list things")
    assert raised.value.status == 429 and raised.value.retry_after == 86400
    assert sleeps == [] and server.methods() == ["GET"]


def test_429_and_503_from_the_emulator(headspin_emulator, sleeps):
    busy = headspin_emulator.add_fault(Fault(method="GET", path=r"^/devices$", kind="status", status=503, times=2))
    limited = headspin_emulator.add_fault(Fault(method="PUT", path=r"^/userflows$", kind="retry_after",
                                                retry_after=3, times=1))
    client = Client(headspin_emulator.url, headspin_emulator.token, sleep=sleeps.append)
    try:
        assert "devices" in client.json("GET", "/devices", action="list devices")
        assert busy.hits == 2 and len(sleeps) == 2
        sleeps.clear()
        assert client.json("PUT", "/userflows", action="create user flow", json={"name": "Login"})["user_flow_id"]
        assert limited.hits == 1 and sleeps == [3.0]
    finally:
        client.close()


def test_a_create_is_not_sent_again_after_a_read_timeout(server, sleeps):
    client = Client(server.url, TOKEN, timeout=0.2, sleep=sleeps.append)
    server.answer(Answer(200, {"id": "late"}, delay=1.0))
    with pytest.raises(BackendError) as raised:
        client.json("POST", "/sessions", action="start capture", retry=SEND_ONCE)
    client.close()
    error = raised.value
    assert error.status is None  # no answer: the controller then treats the device as uncertain
    assert str(error) == f"start capture: no answer from {server.url}: timed out after 0.2 s"
    assert error.request == "POST /sessions"
    assert server.methods() == ["POST"] and sleeps == []


@pytest.mark.parametrize("answer", [Answer(500, {"status": "Error starting session.", "status_code": 500}),
                                    Answer(drop=True)], ids=["500", "dropped"])
def test_a_create_is_not_sent_again_after_a_500_or_a_dropped_connection(server, client, sleeps, answer):
    server.answer(answer)
    with pytest.raises(BackendError) as raised:
        client.json("POST", "/sessions", action="start capture")  # POST: sent once by default
    assert server.methods() == ["POST"] and sleeps == []
    if answer.drop:
        assert raised.value.status is None
        assert raised.value.words == "the connection was closed"
    else:
        assert str(raised.value) == "start capture: Error starting session. (HTTP 500)"


def test_a_request_that_never_left_is_sent_again_even_once_only(sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once the probe is closed
    client = Client(f"http://127.0.0.1:{closed}/v0", TOKEN, sleep=sleeps.append)
    with pytest.raises(BackendError) as raised:
        client.json("POST", "/sessions", action="start capture", retry=SEND_ONCE)
    client.close()
    assert len(sleeps) == SEND_ONCE.retries
    assert raised.value.status is None and raised.value.words == "Connection refused"
    assert str(raised.value) == f"start capture: cannot reach http://127.0.0.1:{closed}/v0: Connection refused"


def test_401_raises_authentication_error_without_retry(server, client, sleeps):
    server.answer(Answer(401, {"status": "Unauthorized", "status_code": 401}))
    with pytest.raises(AuthenticationError) as raised:
        client.json("GET", "/devices", action="list devices")
    assert raised.value.message == "the service refused the token: Unauthorized"
    assert raised.value.status == 401 and raised.value.words == "Unauthorized"
    assert server.methods() == ["GET"] and sleeps == []


def test_other_4xx_are_not_retried(server, client, sleeps):
    server.answer(Answer(400, {"message": "Invalid measurement data"}))
    with pytest.raises(BackendError, match=r"^upload: Invalid measurement data \(HTTP 400\)$"):
        client.json("GET", "/m", action="upload")
    assert server.methods() == ["GET"] and sleeps == []


def test_a_download_cut_short_is_fetched_again(server, client, sleeps, tmp_path):
    video = bytes(range(256)) * 40
    server.answer(Answer(200, video, cut=1000), Answer(200, video))
    dest = tmp_path / "session.mp4.part"
    assert client.download("/sessions/s1.mp4", dest, action="download mp4") == len(video)
    assert dest.read_bytes() == video
    assert server.methods() == ["GET", "GET"] and len(sleeps) == 1


def test_a_download_cut_short_every_time_says_so(server, client, sleeps, tmp_path):
    server.answer(*[Answer(200, b"x" * 5000, cut=100) for _ in range(REPEATABLE.retries + 1)])
    with pytest.raises(BackendError, match=r"^download mp4: the download was cut short"):
        client.download("/sessions/s1.mp4", tmp_path / "part", action="download mp4")
    assert len(server.seen) == REPEATABLE.retries + 1


@pytest.mark.parametrize("policy, status, sent, retried", [
    (REPEATABLE, None, True, True),     # a read timeout: safe to send again
    (SEND_ONCE, None, True, False),     # ... but a create may have been carried out
    (SEND_ONCE, None, False, True),     # it never left
    (SEND_ONCE, 429, True, True),       # the server did nothing
    (SEND_ONCE, 503, True, False),
    (REPEATABLE, 503, True, True),
    (REPEATABLE, 404, True, False),
    (NO_RETRY, 503, True, False),
])
def test_the_policies(policy, status, sent, retried):
    assert (policy.wait(1, BackendError("x", status=status), sent) is not None) is retried
    assert policy.wait(policy.retries + 1, BackendError("x", status=status), sent) is None


def test_backoff_doubles_up_to_its_limit():
    policy = Retry(retries=10, backoff=1, backoff_max=4, jitter=0)
    assert [policy.wait(n, BackendError("x", status=503), True) for n in range(1, 6)] == [1, 2, 4, 4, 4]
