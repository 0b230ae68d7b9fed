"""`-p pytest_devsession` loads the plugin where autoloading is off (locked-down CI), and with
autoloading on it is still registered once."""
from __future__ import annotations

import json

import pytest

REGISTERED = '''
import json
from pathlib import Path

import pytest_devsession.plugin

def pytest_configure(config):
    names = [name for name, plugin in config.pluginmanager.list_name_plugin()
             if plugin is pytest_devsession.plugin]
    Path("registered.json").write_text(json.dumps(names))
'''


@pytest.mark.parametrize("autoload", [False, True])
def test_the_package_name_loads_the_plugin_once(pytester, devsession_run, monkeypatch, autoload):
    if autoload:
        monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    else:
        monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest(REGISTERED)
    pytester.makepyfile(test_a="def test_a(devsession):\n    assert devsession.session_id")
    run = devsession_run("-p", "pytest_devsession", subprocess=True, reports=False)
    run.result.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "registered.json").read_text()) == ["devsession"]
    assert [s["nodeid"] for s in run.manifest["sessions"]] == ["test_a.py::test_a"]


def test_no_devsession_still_turns_the_plugin_off(pytester, devsession_run, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_a="def test_a(): pass")
    result = pytester.runpytest_subprocess("-p", "pytest_devsession", "-p", "no:devsession", "--devsession")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unrecognized arguments: --devsession" in result.stderr.str()
