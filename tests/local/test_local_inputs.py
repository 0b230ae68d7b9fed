"""Bad input to the local backend's own settings, and what --help tells a new user."""
from __future__ import annotations

import re

import pytest


def test_help_states_the_local_defaults(pytester):
    result = pytester.runpytest_subprocess("--help")
    text = " ".join(result.stdout.str().split())
    assert "local (default: this machine's browsers and Appium) or adb:SERIAL" in text
    assert "Local backend: default and accepted har,mp4,jsconsole.log,appium.log,device.log" in text
    assert "--devsession-video-size=WxH" in text and "default 1280x720" in text
    assert not re.search(r"seeds? 0\d\d", text, re.I)  # services are named, never the documents we read


@pytest.mark.parametrize("given, source, args", [
    ("1280", "--devsession-video-size", ["--devsession-video-size", "1280"]),
    ("0x720", "--devsession-video-size", ["--devsession-video-size", "0x720"]),
    ("big", "DEVSESSION_VIDEO_SIZE", []),
])
def test_a_bad_video_size_names_the_setting_and_the_accepted_form(pytester, monkeypatch, given, source, args):
    if not args:
        monkeypatch.setenv("DEVSESSION_VIDEO_SIZE", given)
    pytester.makepyfile("def test_never(): raise AssertionError('must not run')")
    result = pytester.runpytest_subprocess("--devsession", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*pytest-devsession: {source}: got '{given}'; expected WIDTHxHEIGHT in pixels*"])
    assert "must not run" not in result.stdout.str()
