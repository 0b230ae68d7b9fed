"""JUnit XML with pytest's default junit_family (xunit2): the properties are written, without a warning."""
from __future__ import annotations

import xml.etree.ElementTree as ET


def test_the_default_junit_family_keeps_the_properties(pytester, devsession_run):
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run("--junitxml=junit.xml", "-o", "junit_logging=system-out", "-p", "no:hypothesispytest",
                         reports=False)
    # No "... is incompatible with junit_family 'xunit2'": pytest's record_property says that; we don't use it.
    run.result.assert_outcomes(passed=1, warnings=0)
    assert "incompatible with junit_family" not in run.output()
    (case,) = ET.parse(run.path / "junit.xml").iter("testcase")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["devsession_session_id"] == run.sessions()["test_a"]["session_id"]
    assert props["devsession_status"] == "Passed"
    assert props["devsession_har"].endswith("session.har")
    system_out = "".join(e.text or "" for e in case.iter("system-out"))
    assert f"[[ATTACHMENT|{props['devsession_har']}]]" in system_out
