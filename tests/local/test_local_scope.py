"""One capture-server session around a module (--devsession-scope module) on the embedded backend:
each test's HAR cut from it by the test's window, each test's browser video its own, one store entry per test."""
from __future__ import annotations

from urllib.parse import urlsplit

from pytest_devsession.backends.local.store import Store

from local_helpers import entries, video_seconds

MODULE = '''
import time
import pytest, requests

@pytest.mark.userflow("Scoped")
@pytest.mark.parametrize("name", ["alpha", "beta", "gamma"])
def test_call(site, devsession, name):
    http = requests.Session()
    http.trust_env = False
    http.get(f"{site}/{name}", proxies=devsession.proxies)
    devsession.measure("calls", 1)
    assert name != "beta", "beta fails"

def test_page(site, devsession_chrome):
    devsession_chrome.get(site + "/page")
    time.sleep(1.0)
'''


def test_a_module_shares_one_capture_session_and_each_test_keeps_its_own_har_video_and_entry(
        pytester, local_run, needs_chromium):
    pytester.makepyfile(test_scoped=MODULE)
    result, manifest = local_run("--devsession-scope", "module")
    result.assert_outcomes(passed=3, failed=1)
    sessions = {s["nodeid"].split("::")[-1]: s for s in manifest["sessions"]}
    assert len({s["session_id"] for s in sessions.values()}) == 1  # one capture for the module
    assert {s["scope"] for s in sessions.values()} == {"module"}
    root = pytester.path / "devsession-artifacts"
    for name in ("alpha", "beta", "gamma"):
        entry = sessions[f"test_call[{name}]"]
        assert [urlsplit(u).path for u in entries(root / entry["artifacts"]["har"])] == [f"/{name}"]
        assert entry["problems"] == []
    page = sessions["test_page"]
    paths = [urlsplit(u).path for u in entries(root / page["artifacts"]["har"])]
    assert "/page" in paths and not {"/alpha", "/beta", "/gamma"} & set(paths)  # (Chromium adds its favicon)
    assert 0.7 <= video_seconds(root / page["artifacts"]["mp4"]) <= 2.5  # its own browser's video
    store = Store(pytester.path / ".devsession" / "store.sqlite3")
    statuses = sorted((s["name"].split("::")[-1], s["status"]) for s in store.sessions("Scoped"))
    assert statuses == [("test_call[alpha]", "Passed"), ("test_call[beta]", "Failed"), ("test_call[gamma]", "Passed")]
    assert len(store.measurements("Scoped")) == 3
