"""The real npm install of Appium and its fake driver into a temp cache folder, then the plugin's use of it."""
from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from setup_helpers import require, run_setup, statuses, write_tool

NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``setup`` run once with XDG_CACHE_HOME in a temp folder: (env, Appium's home, the first run)."""
    from pytest_devsession.drivers.browser import find_chromium

    require(all(find_chromium()), "Chromium or chromedriver is missing: python -m pytest_devsession setup")
    require(shutil.which("npm") and shutil.which("node"), "Node.js and npm are missing")
    root = tmp_path_factory.mktemp("setup")
    guard = root / "guard"
    guard.mkdir()
    # Chromium is present, so setup must not touch apt-get; should it try, this one fails loudly.
    write_tool(guard, "apt-get", "print('the tests must never run apt-get'); sys.exit(99)")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEVSESSION_APPIUM_BIN", "DEVSESSION_APPIUM_HOME", "APPIUM_HOME")}
    env.update(XDG_CACHE_HOME=str(root / "cache"), PATH=f"{guard}{os.pathsep}{os.environ['PATH']}")
    project = root / "project"
    project.mkdir()
    first = run_setup("setup", env=env, cwd=project)
    if first.returncode != 0 and any(code in first.stdout for code in NETWORK_ERRORS):
        require(False, f"npm cannot reach its registry:\n{first.stdout}")
    return env, root / "cache" / "pytest-devsession" / "appium", project, first


def test_setup_installs_appium_and_the_fake_driver(installed):
    env, home, project, first = installed
    assert first.returncode == 0, first.stdout + first.stderr
    assert "apt-get" not in first.stdout
    assert f"installing Appium and its fake driver into {home}" in first.stdout
    found = statuses(first.stdout.split("installing Appium")[1])
    version = json.loads((home / "node_modules" / "appium" / "package.json").read_text())["version"]
    assert version.startswith("3.")
    assert found["appium"] == ("ok", f"{home / 'node_modules' / '.bin' / 'appium'} {version}")
    assert found["fake driver"][0] == "ok"
    assert first.stdout.splitlines()[-1].endswith("everything is installed")


def test_a_second_setup_does_nothing_and_check_agrees(installed):
    env, home, project, first = installed
    again = run_setup("setup", env=env, cwd=project)
    assert again.returncode == 0, again.stdout
    assert "installing" not in again.stdout
    assert again.stdout.splitlines()[-1] == "everything is installed; nothing to do"
    check = run_setup("setup", "--check", env=env, cwd=project)
    assert check.returncode == 0, check.stdout
    assert check.stdout.splitlines()[-1] == "everything is installed"
    assert statuses(check.stdout)["appium"][1].startswith(str(home / "node_modules" / ".bin" / "appium"))


def test_the_plugin_runs_the_installed_appium_with_its_fake_driver(installed, monkeypatch, tmp_path):
    env, home, project, first = installed
    require("appium" in sys.modules or __import__("importlib").util.find_spec("appium"),
            "Appium-Python-Client is missing: pip install 'pytest-devsession[appium]'")
    from appium import webdriver

    from pytest_devsession.drivers.appium import AppiumServer, appium_options, fake_capabilities, find_appium

    for name in ("DEVSESSION_APPIUM_BIN", "DEVSESSION_APPIUM_HOME", "APPIUM_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    binary = find_appium(project)
    assert binary == str(home / "node_modules" / ".bin" / "appium")
    with AppiumServer(binary, log_path=tmp_path / "appium.log") as server:
        assert server.appium_home == str(home)
        driver = webdriver.Remote(server.url, options=appium_options(fake_capabilities()))
        try:
            assert driver.find_element("id", "username")
        finally:
            driver.quit()
