"""The polling helper: GET until done, waiting out what means "not now", pauses capped at 100 ms."""
from __future__ import annotations

import time

import pytest
from http_helpers import Answer

from pytest_devsession.backends.base import AuthenticationError, BackendError
from pytest_devsession.http.client import DENSE_INTERVAL, POLL_INTERVAL_MAX, Backoff, wait_for

FAR = 600.0  # a deadline no test reaches: every wait is recorded, not slept


def test_poll_intervals_start_short_and_never_exceed_100_ms(server, client, sleeps):
    server.answer(*[Answer(404, {"status": "no timestamps yet"}) for _ in range(20)],
                  Answer(200, {"capture-started": 1}))
    body = client.poll("/sessions/s1/timestamps", action="wait for capture to be ready", done=lambda b: True,
                       deadline=time.monotonic() + FAR)
    assert body == {"capture-started": 1}
    assert len(server.seen) == 21 and len(sleeps) == 20
    assert sleeps[0] <= 0.05
    # Each wait is the rest of an interval once the poll's round trip is taken off it.
    assert POLL_INTERVAL_MAX <= 0.1 and max(sleeps) <= POLL_INTERVAL_MAX
    assert sleeps[-1] > sleeps[0]  # it grew towards the cap


def test_the_round_trip_is_part_of_the_interval(server, client, sleeps):
    server.answer(Answer(404, delay=0.3), Answer(200, {"capture-started": 1}))
    client.poll("/sessions/s1/timestamps", action="wait", done=lambda b: True, deadline=time.monotonic() + FAR)
    assert sleeps == [0.0]  # a poll slower than its interval is followed by the next one at once


def test_poll_waits_out_no_answer_5xx_429_and_not_done(server, client, sleeps):
    server.answer(Answer(drop=True), Answer(503), Answer(429, headers={"Retry-After": "2"}),
                  Answer(200, {"capture-started": 1}), Answer(200, {"capture-started": 1, "capture-complete": 2}))
    body = client.poll("/sessions/s1/timestamps", action="wait for capture to complete",
                       done=lambda b: "capture-complete" in b, deadline=time.monotonic() + FAR)
    assert body["capture-complete"] == 2 and len(server.seen) == 5
    assert 1.9 < sleeps[2] <= 2.0  # the server asked for it
    assert all(pause <= POLL_INTERVAL_MAX for n, pause in enumerate(sleeps) if n != 2)


@pytest.mark.parametrize("answer, error", [(Answer(403, {"status": "not your session"}), BackendError),
                                           (Answer(401, {"status": "Unauthorized"}), AuthenticationError)])
def test_poll_raises_other_answers_at_once(server, client, sleeps, answer, error):
    server.answer(answer)
    with pytest.raises(error):
        client.poll("/sessions/s1/timestamps", action="wait", done=lambda b: True, deadline=time.monotonic() + FAR)
    assert len(server.seen) == 1 and sleeps == []


def test_a_404_can_mean_gone(server, client, sleeps):
    server.answer(Answer(404, {"error": "Session not found"}))
    with pytest.raises(BackendError, match=r"Session not found \(HTTP 404\)"):
        client.poll("/api/sessions/s1", action="wait", done=lambda b: True, deadline=time.monotonic() + FAR,
                    absent_is_pending=False)
    assert sleeps == []


def test_poll_gives_up_at_its_deadline_naming_the_last_answer(server, client, sleeps):
    server.answer(Answer(404, {"status": "Session timestamps not found"}))
    with pytest.raises(BackendError) as raised:
        client.poll("/sessions/s1/timestamps", action="wait for capture to be ready", done=lambda b: True,
                    deadline=time.monotonic())
    assert str(raised.value) == ("wait for capture to be ready: gave up waiting "
                                 "(last answer: HTTP 404: Session timestamps not found)")
    assert raised.value.status is None and sleeps == []


def test_settle_returns_what_there_is_at_the_deadline():
    fetched = iter(range(100))
    assert wait_for(lambda: next(fetched), lambda n: False, deadline=time.monotonic(), action="x", settle=True) == 0


def test_backoff():
    intervals = Backoff().intervals()
    first = [next(intervals) for _ in range(12)]
    assert first[0] == 0.025 and first[-1] == POLL_INTERVAL_MAX and max(first) <= 0.1


def test_polls_follow_one_another_closely_from_just_before_the_expected_moment(server, client, sleeps):
    server.answer(*[Answer(404, {"status": "no timestamps yet"}) for _ in range(8)],
                  Answer(200, {"capture-started": 1}))
    # The last capture on this device took this long: it is about due now.
    client.poll("/sessions/s1/timestamps", action="wait for capture to be ready", done=lambda b: True,
                deadline=time.monotonic() + FAR, expected=time.monotonic())
    assert len(sleeps) == 8 and max(sleeps) <= DENSE_INTERVAL
    sleeps.clear()
    server.answer(*[Answer(404, {"status": "no timestamps yet"}) for _ in range(8)],
                  Answer(200, {"capture-started": 1}))
    # Far from the expected moment: the usual intervals, which grow past the dense one.
    client.poll("/sessions/s2/timestamps", action="wait for capture to be ready", done=lambda b: True,
                deadline=time.monotonic() + FAR, expected=time.monotonic() + FAR)
    assert max(sleeps) > DENSE_INTERVAL
