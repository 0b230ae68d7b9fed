"""``pytest --devsession --devsession-local-url ... --devsession-local-proxy ...`` against our own
server, as NectoProxy really behaves and as its API page says: each test's HAR holds its own
requests, and the server is left as found."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from external_helpers import TOKEN, everything_written, flags, har_paths, through

from pytest_devsession.services.capture import MITMPROXY_WARNING_FILTERS

pytestmark = [pytest.mark.filterwarnings(f) for f in MITMPROXY_WARNING_FILTERS]

TESTS = '''
from fetching import fetch

def test_first(devsession):
    fetch(devsession, "/first-a?n=1", "/first-b")

def test_second(devsession):
    fetch(devsession, "/second")

def test_quiet(devsession):
    pass

def test_third(devsession):
    fetch(devsession, "/third-a", "/third-b", "/third-c")
'''
EXPECTED = {"test_first": ["/first-a?n=1", "/first-b"], "test_second": ["/second"], "test_quiet": [],
            "test_third": ["/third-a", "/third-b", "/third-c"]}


def test_nectoproxy_each_test_gets_its_own_window_of_the_one_recording(pytester, run, necto, origin):
    (recording,) = necto.api.sessions()
    before_run = ["/before"]
    through(necto, origin.url + "/before")  # the user's own traffic, before the run
    found = flags(necto)
    pytester.makepyfile(test_calls=TESTS)

    result, manifest = run(necto, "-v")

    result.assert_outcomes(passed=4)
    assert har_paths(pytester, manifest) == EXPECTED
    assert "problems: 0" in result.stdout.str()
    # No session created, none renamed, the user's recording still active and recording
    assert flags(necto) == found
    listed = [e["path"] for e in necto.api.get("/traffic", params={"sortDirection": "asc"})["entries"]]
    assert listed == before_run + [p for name in EXPECTED for p in EXPECTED[name]], "no probe entry left behind"
    for session in manifest["sessions"]:
        assert session["session_id"].startswith(recording["id"] + "@")
    # The report link points at the recording session and needs the reader's token
    urls = {p.get("value") for p in ET.parse(pytester.path / "junit.xml").iter("property")
            if p.get("name") == "devsession_session_url"}
    assert urls == {f"{necto.api_url}/api/sessions/{recording['id']}?token="}
    assert TOKEN not in everything_written(pytester.path)
    assert TOKEN not in result.stdout.str() + result.stderr.str()


def test_documented_server_gets_a_session_per_test_and_is_left_as_found(pytester, run, documented):
    user = documented.api("POST", "/sessions", json={"name": "the user's"}).json()
    documented.api("POST", f"/sessions/{user['id']}/activate").raise_for_status()
    idle = documented.api("POST", "/sessions", json={"name": "idle"}).json()
    found = flags(documented)
    assert found[user["id"]] == ("the user's", True, True)
    pytester.makepyfile(test_calls=TESTS)

    result, manifest = run(documented)

    result.assert_outcomes(passed=4)
    assert har_paths(pytester, manifest) == EXPECTED
    assert flags(documented) == found, "our sessions deleted, the user's active again"
    assert {s["session_id"] for s in manifest["sessions"]}.isdisjoint({user["id"], idle["id"]})
    assert all(s.get("url") is None for s in manifest["sessions"]), "no link to a deleted session"
    assert TOKEN not in everything_written(pytester.path)


def test_https_through_an_external_server_with_its_ca(pytester, run, necto, tls_origin, monkeypatch):
    monkeypatch.setenv("TLS_ORIGIN", tls_origin.url)
    pytester.makepyfile(test_tls='''
        import os
        from fetching import fetch

        def test_tls(devsession):
            assert os.path.isfile(devsession.ca_cert_path)
            fetch(devsession, "/secure", origin=os.environ["TLS_ORIGIN"], verify=devsession.ca_cert_path)
        ''')

    result, manifest = run(necto)

    result.assert_outcomes(passed=1)
    (session,) = manifest["sessions"]
    har = json.loads((pytester.path / "devsession-artifacts" / session["artifacts"]["har"]).read_text())
    assert [e["request"]["url"] for e in har["log"]["entries"]] == [f"{tls_origin.url}/secure"]
