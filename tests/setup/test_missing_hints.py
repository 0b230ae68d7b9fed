"""A skipped browser or app test names the setup command, once, in one sentence."""
from __future__ import annotations

import importlib.util

from setup_helpers import require

TESTS = '''
def test_web(devsession_chrome):
    pass


def test_app(devsession_appium_url):
    pass
'''


def test_skips_name_the_setup_command(pytester, monkeypatch, tmp_path):
    require(importlib.util.find_spec("mitmproxy") and importlib.util.find_spec("selenium"),
            "the [local] extra is missing: pip install 'pytest-devsession[local]'")
    for name in ("DEVSESSION_REQUIRE_REAL", "DEVSESSION_APPIUM_BIN", "DEVSESSION_APPIUM_URL", "APPIUM_HOME",
                 "DEVSESSION_BACKEND", "DEVSESSION_LOCAL_URL", "DEVSESSION_LOCAL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no chromium, no chromedriver, no appium
    monkeypatch.setenv("DEVSESSION_APPIUM_HOME", str(tmp_path / "no-appium-here"))
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("--devsession", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=2)
    skips = [line for line in result.stdout.lines if line.startswith("SKIPPED")]
    assert len(skips) == 2, result.stdout.str()
    for what in ("Chromium", "Appium"):
        line = next(line for line in skips if f"{what} is not installed: " in line)
        assert "run `python -m pytest_devsession setup`" in line
        assert line.count("is not installed") == 1, line
