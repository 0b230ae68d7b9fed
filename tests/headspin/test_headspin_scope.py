"""One capture around a module or a class (--devsession-scope, or a marker), against the emulator:
each test still its own unit of evidence (a label, a user flow event, its own HAR, the video's offset)."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

MODULE = '''
import time
import pytest

@pytest.mark.userflow("Scoped")
@pytest.mark.parametrize("n", range(4))
def test_step(devsession, n):
    time.sleep(1.1)  # one request round of the emulated app falls in each test's window
    devsession.measure("step", n, units="ms")
    assert n != 2, "the third step fails"

@pytest.mark.devsession(capture=False)
def test_outside():
    pass
'''


def _epoch(entry: dict) -> float:
    return datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00")).timestamp()


def test_a_module_shares_one_capture_and_each_test_keeps_its_own_evidence(devsession_run, headspin_emulator,
                                                                            pytester):
    pytester.makepyfile(test_scoped=MODULE)
    run = devsession_run("--devsession-scope", "module", "--devsession-artifacts", "har,mp4")
    run.result.assert_outcomes(passed=4, failed=1)
    (session,) = headspin_emulator.sessions.values()  # one capture for the module's four captured tests
    assert not session.active and session.name == "test_scoped.py"
    assert {"scope": "module"} in session.tags and {"passed": "3"} in session.tags and {"failed": "1"} in session.tags
    labels = list(session.labels.values())
    assert [label.name for label in labels] == [f"test_scoped.py::test_step[{n}]" for n in range(4)]
    # The flow has one event per test, with the test's own status and measurements.
    flow = headspin_emulator.userflow_by_name("Scoped")
    events = sorted(flow.events.values(), key=lambda e: e.event_time)
    assert [(e.session_id, e.status) for e in events] == [(session.session_id, s)
                                                          for s in ("Passed", "Passed", "Failed", "Passed")]
    assert sorted(m["value"] for e in events for m in e.measurements) == [0, 1, 2, 3]
    assert all(len(e.measurements) == 1 for e in events)
    entries = run.sessions()
    videos = set()
    for n, label in enumerate(labels):
        entry = entries[f"test_step[{n}]"]
        assert (entry["session_id"], entry["scope"], entry["label_id"]) == (session.session_id, "module", label.label_id)
        assert entry["problems"] == []
        har = json.loads((run.path / "devsession-artifacts" / entry["artifacts"]["har"]).read_text())
        times = [_epoch(e) for e in har["log"]["entries"]]
        # Its own requests only: every entry inside its label's window, and there are some.
        assert times and all(label.ts_start - 0.001 <= t <= label.ts_end + 0.001 for t in times), (n, times)
        videos.add(entry["artifacts"]["mp4"])
        assert entry["video_offset"] >= 0 and 1.0 <= entry["video_duration"] <= 3.0
    assert len(videos) == 1  # the session's one video, linked from every test
    offsets = [entries[f"test_step[{n}]"]["video_offset"] for n in range(4)]
    assert offsets == sorted(offsets) and offsets[-1] - offsets[0] >= 3.0
    # The reports: JUnit names the scope, the label and the offset; pytest-html starts the video there.
    junit = (run.path / "junit.xml").read_text()
    assert 'name="devsession_scope" value="module"' in junit and f'value="{labels[2].label_id}"' in junit
    html = (run.path / "report.html").read_text()
    assert f"#t={offsets[1]:.2f}," in html
    assert "test_outside" not in entries  # it opted out: no record, and it did not close the capture early
    assert all(d.locked_by is None for d in headspin_emulator.devices.values())


CLASSES = '''
import pytest

@pytest.mark.devsession(scope="class")
class TestFirst:
    def test_a(self, devsession):
        pass

    def test_b(self, devsession):
        pass

class TestSecond:
    pytestmark = pytest.mark.devsession(scope="class")

    def test_c(self, devsession):
        pass

def test_alone(devsession):
    pass
'''


def test_a_class_marker_shares_a_capture_per_class(devsession_run, headspin_emulator, pytester):
    pytester.makepyfile(test_classes=CLASSES)
    run = devsession_run()
    run.result.assert_outcomes(passed=4)
    by_test = {name: entry["session_id"] for name, entry in run.sessions().items()}
    assert by_test["test_a"] == by_test["test_b"] != by_test["test_c"] != by_test["test_alone"]
    names = sorted(s.name for s in headspin_emulator.sessions.values())
    assert names == ["test_classes.py::TestFirst", "test_classes.py::TestSecond", "test_classes.py::test_alone"]
    assert run.sessions()["test_alone"]["scope"] == "test" and run.sessions()["test_a"]["scope"] == "class"


def test_exitfirst_inside_a_shared_capture_closes_it_with_the_evidence(devsession_run, headspin_emulator, pytester):
    pytester.makepyfile(test_scoped=MODULE)
    run = devsession_run("--devsession-scope", "module", "-x")
    run.result.assert_outcomes(passed=2, failed=1)
    (session,) = headspin_emulator.sessions.values()
    assert not session.active
    failed = run.sessions()["test_step[2]"]
    assert failed["status"] == "Failed" and Path(run.path / "devsession-artifacts" / failed["artifacts"]["har"]).exists()
    assert all(d.locked_by is None for d in headspin_emulator.devices.values())


def test_a_scope_marker_on_a_test_function_is_a_usage_error(devsession_run, headspin_emulator, pytester):
    pytester.makepyfile(test_bad='''
import pytest

@pytest.mark.devsession(scope="module")
def test_x(devsession):
    pass
''')
    run = devsession_run()
    assert run.result.ret == 4
    assert "belongs on a module (pytestmark) or a class" in run.output()
    assert headspin_emulator.sessions == {}


def test_a_wrong_scope_names_the_setting_and_the_values(devsession_run, headspin_emulator, pytester):
    pytester.makepyfile(test_a="def test_a(devsession): pass")
    run = devsession_run("--devsession-scope", "suite")
    assert run.result.ret == 4
    assert "--devsession-scope: got 'suite'; accepted values: test, class, module, session" in run.output()
