"""pytest-rerunfailures (real) beside ours, against the emulator: each attempt is a session of its own,
attempts that were rerun join the flow as Excluded, the final attempt carries the test's status."""
from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("pytest_rerunfailures")

# Every attempt measures its own number: a measurement of an earlier attempt in a later
# session (or the other way round) shows at once.
SUITE = '''
import pytest

ATTEMPTS = {}


def attempt(name):
    ATTEMPTS[name] = ATTEMPTS.get(name, 0) + 1
    return ATTEMPTS[name]


@pytest.mark.userflow("Reruns")
def test_flaky(devsession):
    n = attempt("flaky")
    devsession.measure("flaky attempt", n)
    assert n >= 2, f"flaky attempt {n}"


@pytest.mark.userflow("Reruns")
def test_broken(devsession):
    n = attempt("broken")
    devsession.measure("broken attempt", n)
    assert False, f"broken attempt {n}"


@pytest.mark.userflow("Reruns")
def test_steady(devsession):
    devsession.measure("steady attempt", attempt("steady"))
'''

# (test, attempt) -> (final, status, message) as the flow and the manifest must have them
EXPECTED = {
    ("test_flaky", 1): (False, "Excluded", "rerun 1 of 2: failed in call: AssertionError: flaky attempt 1"),
    ("test_flaky", 2): (True, "Passed", None),
    ("test_broken", 1): (False, "Excluded", "rerun 1 of 2: failed in call: AssertionError: broken attempt 1"),
    ("test_broken", 2): (False, "Excluded", "rerun 2 of 2: failed in call: AssertionError: broken attempt 2"),
    ("test_broken", 3): (True, "Failed", "failed in call: AssertionError: broken attempt 3"),
    ("test_steady", 1): (True, "Passed", None),
}


def attempts(run) -> dict[tuple[str, int], dict]:
    entries = run.manifest["sessions"]
    found = {(e["nodeid"].split("::")[-1], e["attempt"]): e for e in entries}
    assert len(found) == len(entries), "two manifest entries for one attempt"
    return found


def session_url(session_id: str) -> str:
    return f"https://ui-dev.headspin.io/sessions/{session_id}/waterfall"  # the default UI (HEADSPIN_UI_URL unset)


def html_rows(path) -> dict[str, list[dict]]:
    """pytest-html's rows per node id, read from the report's own data."""
    blob = re.search(r'data-jsonblob="([^"]*)"', path.read_text()).group(1)
    return json.loads(html.unescape(blob))["tests"]


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_each_attempt_is_its_own_session_and_only_the_final_one_counts(
        pytester, devsession_run, headspin_emulator, extra):
    pytester.makepyfile(test_suite=SUITE)
    devices = [arg for d in headspin_emulator.DEFAULT_DEVICES[:2] for arg in ("--devsession-device", d)]
    run = devsession_run("--reruns", "2", "-v", *devices, *extra, device=None, subprocess=True)
    outcomes = run.result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed"), outcomes.get("rerun")) == (2, 1, 3), outcomes
    output = run.output()
    assert "INTERNALERROR" not in output

    # The manifest: one entry per attempt, with its own session, status, measurements and folder.
    found = attempts(run)
    assert set(found) == set(EXPECTED)
    for (name, number), (final, status, message) in EXPECTED.items():
        entry = found[(name, number)]
        assert (entry["final"], entry["status"], entry["status_message"]) == (final, status, message), entry
        assert [(m["key"], m["value"]) for m in entry["measurements"]] == [(f"{name[5:]} attempt", number)]
        assert entry["problems"] == [], entry["problems"]
        assert set(entry["artifacts"]) == {"har", "mp4"}
        assert (run.path / "devsession-artifacts" / entry["artifacts"]["har"]).is_file()
    assert len({e["session_id"] for e in found.values()}) == len(EXPECTED)
    assert len({e["artifacts"]["har"] for e in found.values()}) == len(EXPECTED)

    # The emulator: the same statuses and messages in the flow, each session only its own measurements,
    # every capture complete, no device locked.
    flow = headspin_emulator.userflow_by_name("Reruns")
    events = {event.session_id: event for event in flow.events.values()}
    assert set(events) == {e["session_id"] for e in found.values()}
    for key, entry in found.items():
        event = events[entry["session_id"]]
        assert (event.status, event.status_message) == (entry["status"], entry["status_message"]), key
        assert [(m["key"], m["value"]) for m in event.measurements] == [(f"{key[0][5:]} attempt", key[1])]
        session = headspin_emulator.sessions[entry["session_id"]]
        assert session.name == entry["nodeid"]
        assert session.has_tag("outcome", "rerun" if not entry["final"] else entry["status"].lower())
    assert len(headspin_emulator.sessions) == len(EXPECTED)
    assert all(session.state == "complete" for session in headspin_emulator.sessions.values())
    assert all(device.locked_by is None for device in headspin_emulator.devices.values())

    # The summary counts final outcomes and reruns apart, as pytest does.
    assert "sessions: 6 (1 Failed, 2 Passed; 3 rerun attempts, Excluded)" in output
    assert "Excluded test_suite.py::test_flaky " in output and "rerun 1 of 2: failed in call" in output

    # JUnit: only the final testcase of a test carries properties: its own session, and the earlier ones.
    testcases = ET.parse(run.path / "junit.xml").getroot().iter("testcase")
    with_properties: dict[str, list[list[tuple[str, str]]]] = {}
    for case in testcases:
        props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        if props:
            with_properties.setdefault(case.get("name"), []).append(props)
    assert set(with_properties) == {"test_flaky", "test_broken", "test_steady"}
    for name, [props] in with_properties.items():  # one testcase with properties per test
        names = [n for n, _ in props]
        assert len(names) == len(set(names)), props  # nothing piled up
        props = dict(props)
        last = max(n for (test, n) in found if test == name)
        final = found[(name, last)]
        assert props["devsession_session_id"] == final["session_id"]
        assert props["devsession_status"] == final["status"]
        assert props["devsession_har"].endswith(final["artifacts"]["har"])
        assert props["devsession_session_url"] == session_url(final["session_id"])
        earlier = {k: v for k, v in props.items() if k.startswith("devsession_attempt_")}
        assert earlier == {f"devsession_attempt_{n}_url": session_url(found[(name, n)]["session_id"])
                           for n in range(1, last)}
        assert props.get("devsession_attempt") == (str(last) if last > 1 else None)

    # pytest-html: the final row links the final session and each earlier one, once.
    rows = html_rows(run.path / "report.html")
    for name in ("test_flaky", "test_broken", "test_steady"):
        last = max(n for (test, n) in found if test == name)
        [final_row] = [r for r in rows[f"test_suite.py::{name}"] if r["result"] in ("Passed", "Failed")]
        # The session's link is a link of the row; the artifacts and earlier attempts, downloaded in the
        # background, fill the row's devsession html once every session is closed.
        links = [(e["name"], e["content"]) for e in final_row["extras"] if e["format_type"] == "url"]
        links += [(html.unescape(text), html.unescape(href)) for e in final_row["extras"] if e["format_type"] == "html"
                  for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', e["content"])]
        assert len(links) == len(set(links)), links
        sessions = {link for n, link in links if n.endswith("session")}
        assert sessions == {session_url(found[(name, n)]["session_id"]) for n in range(1, last + 1)}
        for n in range(1, last):
            har = "devsession-artifacts/" + found[(name, n)]["artifacts"]["har"]  # relative to the report
            assert (f"attempt {n} (rerun) har", har) in links


def test_only_on_failure_keeps_the_evidence_of_attempts_that_failed(pytester, devsession_run, headspin_emulator):
    # A rerun attempt failed: its evidence is what shows why the test is flaky.
    pytester.makepyfile(test_suite=SUITE)
    run = devsession_run("--reruns", "1", "-k", "flaky", "--devsession-download", "only-on-failure",
                         subprocess=True, reports=False)
    outcomes = run.result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun")) == (1, 1), outcomes
    found = attempts(run)
    assert set(found) == {("test_flaky", 1), ("test_flaky", 2)}
    assert set(found[("test_flaky", 1)]["artifacts"]) == {"har", "mp4"}
    assert found[("test_flaky", 1)]["status"] == "Excluded"
    assert found[("test_flaky", 2)]["artifacts"] == {}
    assert found[("test_flaky", 2)]["status"] == "Passed"
    assert all(device.locked_by is None for device in headspin_emulator.devices.values())
