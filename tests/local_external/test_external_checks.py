"""A wrong or missing token, a dead server, a missing or broken proxy, a server that records
nothing and xdist against one shared proxy each stop the run once, before any test, and say why."""

from __future__ import annotations

import time

import pytest
from external_helpers import TOKEN, closed_port, flags

from pytest_devsession.services.capture import MITMPROXY_WARNING_FILTERS

pytestmark = [pytest.mark.filterwarnings(f) for f in MITMPROXY_WARNING_FILTERS]

TESTS = '''
from fetching import fetch

def test_one(devsession):
    fetch(devsession, "/one")

def test_two(devsession):
    fetch(devsession, "/two")
'''


def stopped_once(result, pytester, *words: str) -> str:
    """The run ended with a usage error naming ``words``, once, and ran no test."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.errlines if line.startswith("ERROR: pytest-devsession:")]
    assert len(errors) == 1, result.errlines
    for word in words:
        assert word in errors[0]
    assert not list(pytester.path.glob("ran-*")), "a test ran"
    assert TOKEN not in result.stdout.str() + result.stderr.str()
    return errors[0]


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_a_wrong_or_missing_token(pytester, run, necto, token):
    pytester.makepyfile(test_calls=TESTS)
    result, _ = run(necto, token=token)
    message = stopped_once(result, pytester, "DEVSESSION_LOCAL_TOKEN", "HTTP 401",
                           "Web UI: http://localhost:8889/?token=...")
    assert ("refused the API token" if token else "needs an API token") in message
    assert "wrong-token" not in message


def test_a_dead_server_is_one_short_check(pytester, run):
    pytester.makepyfile(test_calls=TESTS)
    dead = f"http://127.0.0.1:{closed_port()}"
    began = time.monotonic()
    result, _ = run(None, "--devsession-local-url", dead, "--devsession-local-proxy", dead)
    took = time.monotonic() - began
    stopped_once(result, pytester, "--devsession-local-url", f"nothing answers at {dead}")
    assert took < 15, f"{took:.1f} s: the check is one try, not retries per test"


def test_a_missing_proxy(pytester, run, necto):
    pytester.makepyfile(test_calls=TESTS)
    result, _ = run(None, "--devsession-local-url", necto.api_url)
    stopped_once(result, pytester, "--devsession-local-proxy", "around the capture")


def test_a_proxy_that_does_not_forward(pytester, run, necto):
    found = flags(necto)
    pytester.makepyfile(test_calls=TESTS)
    nowhere = f"http://127.0.0.1:{closed_port()}"
    result, _ = run(None, "--devsession-local-url", necto.api_url, "--devsession-local-proxy", nowhere)
    stopped_once(result, pytester, "--devsession-local-proxy", nowhere)
    assert flags(necto) == found, "the probe session is gone, the flags are back"


def test_a_server_that_records_nothing(pytester, run, necto):
    (recording,) = necto.api.sessions()
    kept = necto.api("POST", "/sessions", json={"name": "kept"}).json()
    necto.api("DELETE", f"/sessions/{recording['id']}").raise_for_status()  # NectoProxy now drops all traffic
    pytester.makepyfile(test_calls=TESTS)
    result, _ = run(necto)
    stopped_once(result, pytester, "--devsession-local-url", "recorded no request", "restart it")
    assert [s["id"] for s in necto.api.sessions()] == [kept["id"]]


@pytest.mark.parametrize("behave, why", [("nectoproxy", "cannot be told apart in one recording"),
                                         ("documented", "keeps one session active at a time")])
def test_xdist_workers_cannot_share_one_capture_server(pytester, run, request, behave, why):
    pytest.importorskip("xdist")
    server = request.getfixturevalue("necto" if behave == "nectoproxy" else "documented")
    found = flags(server)
    pytester.makepyfile(test_calls=TESTS)
    result, _ = run(server, "-n", "2")
    stopped_once(result, pytester, "-n: 2 xdist workers", why, "Run without -n")
    assert flags(server) == found
