"""``python -m pytest_devsession setup``: the real machine for --check and the npm install, fakes for apt."""
from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_env(monkeypatch, tmp_path) -> dict[str, str]:
    """This process's environment without an Appium of the user's, Appium's home in an empty temp folder."""
    for name in ("DEVSESSION_APPIUM_BIN", "APPIUM_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEVSESSION_APPIUM_HOME", str(tmp_path / "appium-home"))
    return dict(os.environ)
