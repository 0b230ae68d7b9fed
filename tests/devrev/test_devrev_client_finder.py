"""find_session against the loopback stand-in: late sessions, claims, no session, a named session."""
from __future__ import annotations

import threading
import time

import pytest

from pytest_devsession.backends.base import BackendError
from pytest_devsession.devrev.finder import Claims, epoch, find_session
from pytest_devsession.http.client import Backoff

FAST = Backoff(first=0.05, factor=1.5, most=0.2)


def find(client, claims, owner, start, end, **kwargs):
    kwargs.setdefault("timeout", 5.0)
    return find_session(client, platform="android", start=start, end=end, claims=claims, owner=owner,
                        backoff=FAST, **kwargs)


def test_a_session_that_shows_up_2_s_after_the_test_is_found(fake, client):
    start = time.time() - 3
    fake.add_session("late", start + 0.5, visible_in=2.0)
    began = time.monotonic()
    found = find(client, Claims(), "t1", start, start + 2.5)
    assert found["session_id"] == "late" and found["recording_ids"] == ["rec-late"]
    assert 1.9 <= time.monotonic() - began < 4.0


def test_two_tests_close_together_each_get_their_own_session(fake, client):
    base = time.time() - 10
    fake.add_session("first", base + 0.3)
    fake.add_session("second", base + 2.2)
    claims = Claims()
    claims.window("t2", base + 2.0, base + 4.0)  # the second test ended too; its search is not done yet
    assert find(client, claims, "t1", base, base + 1.9)["session_id"] == "first"
    assert find(client, claims, "t2", base + 2.0, base + 4.0)["session_id"] == "second"
    assert claims.owner("first") == "t1" and claims.owner("second") == "t2"


def test_concurrent_searches_never_claim_one_session_twice(fake, client):
    base = time.time() - 10
    fake.add_session("only", base + 1.0)
    claims, results = Claims(), {}

    def search(owner):
        results[owner] = find(client, claims, owner, base, base + 2.0, timeout=0.5)

    threads = [threading.Thread(target=search, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [owner for owner, found in results.items() if found is not None]
    assert len(winners) == 1 and claims.owner("only") == winners[0]


def test_an_already_claimed_session_is_not_taken_by_the_next_test(fake, client):
    base = time.time() - 10
    fake.add_session("one", base + 1.0)
    claims = Claims()
    assert claims.claim("one", "earlier")
    assert find(client, claims, "t1", base, base + 2.0, timeout=0.3) is None


def test_a_test_without_an_app_session_gets_none(fake, client):
    start = time.time() - 2
    fake.add_session("long-ago", start - 600)
    assert find(client, Claims(), "t1", start, start + 1, timeout=0.3) is None


def test_a_session_without_recordings_at_the_deadline_is_a_problem(fake, client):
    start = time.time() - 2
    fake.add_session("empty", start + 0.5, recording=False)
    with pytest.raises(BackendError, match="empty had no recording within 0.3 s"):
        find(client, Claims(), "t1", start, start + 1, timeout=0.3)


def test_another_device_s_session_is_not_the_test_s(fake, client):
    start = time.time() - 5
    fake.add_session("other", start + 0.2, model="iPhone 15")
    fake.add_session("mine", start + 1.0, model="Pixel 7")
    assert find(client, Claims(), "t1", start, start + 2, device_model="pixel 7")["session_id"] == "mine"


def test_a_named_session_is_read_directly(fake, client):
    fake.add_session("named", time.time() - 1000, visible_in=0.5)
    claims = Claims()
    found = find(client, claims, "t1", time.time() - 2, time.time(), session_id="named")
    assert found["session_id"] == "named" and claims.owner("named") == "t1"
    assert all(r.path == "/observability.sessions.get" for r in fake.requests)


def test_the_clock_and_sleep_are_injectable(fake, client):
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    assert find_session(client, platform="android", start=time.time(), end=time.time(), claims=Claims(), owner="t",
                        timeout=120, sleep=sleep, clock=lambda: now[0]) is None
    assert sum(waits) == pytest.approx(120) and max(waits) <= 5.0


def test_devrev_times_are_read_as_epoch_seconds():
    assert epoch("2023-01-01T12:00:00.000Z") == 1672574400.0
    assert epoch(1672574400000) == 1672574400.0
    assert epoch("nonsense") is None
