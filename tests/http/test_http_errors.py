"""The one error type: what it keeps of a failed request, what it never keeps, and what the spool makes of it."""
from __future__ import annotations

import pickle

import pytest
from http_helpers import TOKEN, Answer

from pytest_devsession.backends.base import AuthenticationError, BackendError, DeviceUnavailable
from pytest_devsession.spool import transient


def test_the_error_keeps_status_words_request_id_and_request_never_the_token(server, client):
    server.answer(Answer(409, {"message": f"session is active (token {TOKEN})"}, headers={"X-Request-Id": "req-42"}))
    with pytest.raises(BackendError) as raised:
        client.json("DELETE", f"/sessions/s1?token={TOKEN}", action="delete the session")
    error = raised.value
    assert (error.status, error.words, error.request_id, error.request) == (
        409, "session is active (token ***)", "req-42", "DELETE /v0/sessions/s1")
    assert str(error) == "delete the session: session is active (token ***) (HTTP 409), request id req-42"
    shown = " ".join([str(error), repr(error), *map(str, vars(error).values()), str(pickle.loads(pickle.dumps(error)))])
    assert TOKEN not in shown
    # ... while the request itself did carry it, in the header
    assert server.seen[0][2]["Authorization"] == f"Bearer {TOKEN}"


def test_words_of_every_shape(server, client):
    server.answer(Answer(500, "  <html> Internal\n error </html>"), Answer(502, {"error": "bad gateway"}),
                  Answer(400, [1, 2]), Answer(404, b""))
    found = []
    for _ in range(4):
        with pytest.raises(BackendError) as raised:
            client.json("POST", "/x", action="x")
        found.append(raised.value.words)
    assert found == ["<html> Internal error </html>", "bad gateway", "[1, 2]", "Not Found"]


def test_an_answer_that_is_not_json(server, sleeps):
    from pytest_devsession.http.client import Client

    client = Client(server.url, TOKEN, hint="is --devsession-api-url right?", sleep=sleeps.append)
    server.answer(Answer(200, "<html>Sign in</html>"))
    with pytest.raises(BackendError) as raised:
        client.json("GET", "/devices", action="list devices")
    client.close()
    assert str(raised.value) == (f"list devices: expected JSON from {server.url}, got text/plain; "
                                 "is --devsession-api-url right? (HTTP 200)")
    assert sleeps == []


def test_the_controllers_contract():
    # The controller prints ``message`` alone for a refused token, and ``str()`` for the rest.
    refused = AuthenticationError("HeadSpin refused the API token in HEADSPIN_API_TOKEN: Unauthorized", status=401,
                                  action="list devices")
    assert refused.message.startswith("HeadSpin refused") and str(refused).startswith("list devices: HeadSpin")
    assert str(DeviceUnavailable("Did not lock.", action="lock a@b")) == "lock a@b: Did not lock."
    assert str(BackendError("no answer")) == "no answer"


@pytest.mark.parametrize("error, spooled", [
    (BackendError("cannot reach"), True),
    (BackendError("busy", status=429), True),
    (BackendError("down", status=503), True),
    (AuthenticationError("refused", status=401), True),  # a token put right later delivers it
    (BackendError("bad data", status=400), False),
    (BackendError("no such flow", status=404), False),
    (ValueError("not ours"), False),
])
def test_what_is_worth_spooling_comes_from_the_error(error, spooled):
    assert transient(error) is spooled
