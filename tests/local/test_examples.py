"""The main job: `pytest --devsession examples/` on the embedded default, as a new user runs it."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from local_helpers import entries, video_seconds

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_examples_produce_their_evidence(pytester, local_run):
    for source in EXAMPLES.glob("*.py"):
        shutil.copy(source, pytester.path / source.name)  # examples/conftest.py replaces the APP conftest
    result, manifest = local_run("-v", "-rs")
    outcomes = result.parseoutcomes()
    if os.environ.get("DEVSESSION_REQUIRE_REAL") == "1":
        assert outcomes == {"passed": 5}, outcomes
    else:
        assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, outcomes
    root = pytester.path / "devsession-artifacts"
    sessions = {s["nodeid"].split("::")[-1]: s for s in manifest["sessions"]}
    assert {name: s["problems"] for name, s in sessions.items() if s["problems"]} == {}
    result.stdout.fnmatch_lines(["problems: 0"])

    api = sessions["test_login_succeeds"]
    assert [urlsplit(u).path for u in entries(root / api["artifacts"]["har"])] == ["/api/login"]
    assert api["userflow"] == "Example login API" and api["status"] == "Passed"
    assert api["measurements"][0]["key"] == "Login API time"

    # Without a real part (outside CI) its example is skipped: Excluded, with no artifacts to read.
    if sessions.get("test_sign_in_from_the_page", {}).get("status") == "Passed":
        web = sessions["test_sign_in_from_the_page"]
        paths = [urlsplit(u).path for u in entries(root / web["artifacts"]["har"])]
        assert "/login" in paths and "/api/login" in paths
        assert video_seconds(root / web["artifacts"]["mp4"]) > 0.2
        assert web["artifact_details"]["mp4"]["frames"] >= 2
        assert web["artifact_details"]["har"]["har_entries"] >= 2
        assert "login answered 200" in (root / web["artifacts"]["jsconsole.log"]).read_text()
        keys = {m["key"] for m in web["measurements"]}
        assert {"Time to first byte", "DOM content loaded", "Page load", "Login round trip"} <= keys

    if sessions.get("test_login_screen_has_its_fields", {}).get("status") == "Passed":
        app = sessions["test_login_screen_has_its_fields"]
        log = (root / app["artifacts"]["appium.log"]).read_text()
        assert "/element" in log

    junit = (pytester.path / "junit.xml").read_text()
    assert "devsession_har" in junit
    assert json.loads((root / "manifest.json").read_text())["version"] == 1
