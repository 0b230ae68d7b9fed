"""Reports of a test that pytest-rerunfailures reran: the final attempt's session, the earlier ones as links."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_devsession.reporting import html, junit, manifest

FLAKY = '''
import pytest

ATTEMPTS = []

@pytest.mark.userflow("Reruns")
def test_flaky(devsession):
    ATTEMPTS.append(1)
    devsession.measure("attempt", len(ATTEMPTS))
    assert len(ATTEMPTS) > 1
'''


def record(tmp_path: Path, attempt: int, final: bool, earlier: list[dict] = ()) -> dict:
    folder = tmp_path / f"test_x-run{attempt}"
    return {
        "nodeid": "test_a.py::test_x", "attempt": attempt, "final": final, "backend": "headspin",
        "session_id": f"s{attempt}", "device_address": "d@h", "userflow": "Flow",
        "status": "Passed" if final else "Excluded", "status_message": None if final else f"rerun {attempt} of 2: x",
        "url": f"https://ui/sessions/s{attempt}/waterfall", "artifacts": {"har": str(folder / "session.har")},
        "artifact_details": {}, "measurements": [], "problems": [], "earlier_attempts": list(earlier),
    }


def earlier_of(rec: dict) -> dict:
    return {name: rec[name] for name in ("attempt", "session_id", "url", "status_message", "artifacts")}


def test_junit_names_the_final_session_and_each_earlier_attempt_once(tmp_path):
    first = record(tmp_path, 1, False)
    second = dict(record(tmp_path, 2, False), url=None)  # a backend without session pages
    final = record(tmp_path, 3, True, [earlier_of(first), earlier_of(second)])
    props = junit.properties(final)
    assert props == [
        ("devsession_session_id", "s3"), ("devsession_session_url", "https://ui/sessions/s3/waterfall"),
        ("devsession_status", "Passed"), ("devsession_userflow", "Flow"), ("devsession_attempt", "3"),
        ("devsession_har", final["artifacts"]["har"]),
        ("devsession_attempt_1_url", "https://ui/sessions/s1/waterfall"), ("devsession_attempt_2_session_id", "s2"),
    ]
    assert all(junit.is_ours(p) for p in props)
    assert not junit.is_ours(("build", "7")) and not junit.is_ours("devsession_not_a_pair")
    # A test that ran once says nothing of attempts.
    assert [name for name, _ in junit.properties(record(tmp_path, 1, True))] == [
        "devsession_session_id", "devsession_session_url", "devsession_status", "devsession_userflow", "devsession_har"]


def test_html_links_earlier_attempts_relative_to_the_report(tmp_path):
    pytest.importorskip("pytest_html")
    first = record(tmp_path, 1, False)
    final = record(tmp_path, 2, True, [earlier_of(first)])
    links = [(e["name"], e["content"]) for e in html.extras(final) if e["format_type"] == "url"]
    assert links == [("headspin session", "https://ui/sessions/s2/waterfall")]
    # The artifacts and the earlier attempts, once downloaded: what fills the row's placeholder.
    anchors = re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', html.artifacts_html(final, tmp_path))
    assert anchors == [("test_x-run2/session.har", "har"),
                       ("https://ui/sessions/s1/waterfall", "attempt 1 (rerun) session"),
                       ("test_x-run1/session.har", "attempt 1 (rerun) har")]
    assert [e for e in html.extras(final) if html.is_placeholder(e, final)]


def test_manifest_orders_attempts_and_says_which_is_final(tmp_path):
    final = record(tmp_path, 2, True)
    first = record(tmp_path, 1, False)
    path = manifest.write(tmp_path, [final, first])
    entries = json.loads(path.read_text())["sessions"]
    assert [(e["attempt"], e["final"], e["status"]) for e in entries] == [(1, False, "Excluded"), (2, True, "Passed")]
    assert entries[0]["artifacts"] == {"har": "test_x-run1/session.har"}
    assert "earlier_attempts" not in entries[1]  # the earlier attempts are entries of their own


def test_allure_gives_each_attempt_its_own_result_with_its_own_session(pytester, emulator_run, headspin_emulator):
    pytest.importorskip("allure_pytest")
    pytest.importorskip("pytest_rerunfailures")
    pytester.makepyfile(FLAKY)
    run = emulator_run("--reruns", "1")
    assert "1 passed, 1 rerun" in run.result.stdout.str()
    results = [json.loads(f.read_text()) for f in run.folder.glob("*-result.json")]
    entries = json.loads((run.path / "devsession-artifacts" / "manifest.json").read_text())["sessions"]
    by_session = {e["session_id"]: e for e in entries}
    assert [(e["attempt"], e["final"]) for e in entries] == [(1, False), (2, True)]
    # allure-pytest writes one result per attempt (Allure shows the earlier one under retries).
    assert sorted(r["status"] for r in results) == ["failed", "passed"]
    assert len({r["historyId"] for r in results}) == 1
    for result in results:
        [link] = result["links"]
        session_id = link["url"].split("/sessions/")[1].split("/")[0]
        entry = by_session[session_id]
        assert result["status"] == ("passed" if entry["final"] else "failed")
        files = {a["name"]: run.folder / a["source"] for a in result["attachments"]}
        assert files["session.har"].read_bytes() == (
            run.path / "devsession-artifacts" / entry["artifacts"]["har"]).read_bytes()
        assert json.loads(files["devsession measurements"].read_text()) == entry["measurements"] == [
            {"key": "attempt", "value": entry["attempt"], "units": None, "type": None}]
        assert "devsession problems" not in files
    assert len(headspin_emulator.sessions) == 2
    assert all(device.locked_by is None for device in headspin_emulator.devices.values())


def test_allure_attachment_types_of_every_artifact_name():
    from pytest_devsession.reporting.allure import attachment_type

    assert attachment_type("mp4") == ("video/mp4", "mp4")
    assert attachment_type("2.mp4") == ("video/mp4", "mp4")  # a second driver's session at a grid
    assert attachment_type("devrev.mp4") == ("video/mp4", "devrev.mp4")  # the app's own recording
    assert attachment_type("devrev.json") == ("application/json", "devrev.json")
    assert attachment_type("device.log.gz") == ("application/gzip", "device.log.gz")
    assert attachment_type("appium.log") == ("text/plain", "appium.log")
