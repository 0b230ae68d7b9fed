"""find_appium() looks in the folder that setup installs into, after the project's .appium and before PATH."""
from __future__ import annotations

from pathlib import Path

import pytest

from pytest_devsession.drivers.appium import AppiumServer, appium_cache_dir, appium_home_of, find_appium


def fake_appium(home: Path) -> Path:
    binary = home / "node_modules" / ".bin" / "appium"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return binary


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in ("DEVSESSION_APPIUM_BIN", "DEVSESSION_APPIUM_HOME", "APPIUM_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return monkeypatch


def test_cache_folder_default_follows_xdg(env, tmp_path):
    assert appium_cache_dir() == tmp_path / "home" / ".cache" / "pytest-devsession" / "appium"
    env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert appium_cache_dir() == tmp_path / "xdg" / "pytest-devsession" / "appium"
    env.setenv("DEVSESSION_APPIUM_HOME", str(tmp_path / "mine"))
    assert appium_cache_dir() == tmp_path / "mine"


def test_find_appium_order_with_the_cache_folder(env, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    assert find_appium(project) is None

    on_path = fake_appium(tmp_path / "global")
    env.setenv("PATH", str(on_path.parent))
    assert find_appium(project) == str(on_path)

    cached = fake_appium(tmp_path / "home" / ".cache" / "pytest-devsession" / "appium")
    assert find_appium(project) == str(cached)  # the cache folder before PATH

    in_project = fake_appium(project / ".appium")
    assert find_appium(project) == str(in_project)  # the project's own before the cache folder

    env.setenv("DEVSESSION_APPIUM_BIN", str(on_path))
    assert find_appium(project) == str(on_path)  # the explicit binary before everything


def test_appium_from_the_cache_folder_finds_its_drivers_there(env, tmp_path):
    env.setenv("DEVSESSION_APPIUM_HOME", str(tmp_path / "cache"))
    cached = fake_appium(tmp_path / "cache")
    assert find_appium(tmp_path) == str(cached)
    assert appium_home_of(str(cached)) == str(tmp_path / "cache")
    assert AppiumServer(str(cached), log_path=tmp_path / "a.log").appium_home == str(tmp_path / "cache")
    env.setenv("APPIUM_HOME", str(tmp_path / "elsewhere"))  # the user's own APPIUM_HOME still wins
    assert AppiumServer(str(cached), log_path=tmp_path / "a.log").appium_home == str(tmp_path / "elsewhere")
