"""``setup --check`` against this machine as it is: nothing installed, nothing run but ``--version``."""
from __future__ import annotations

import re
import shutil
import subprocess
import time

from setup_helpers import require, run_setup, statuses


def version_of(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20).stdout
    return re.search(r"\d+(\.\d+)+", out).group(0)


def test_check_reports_what_this_machine_has(clean_env, tmp_path):
    from pytest_devsession.drivers.browser import find_chromium

    browser, driver = find_chromium()
    require(browser and driver, "Chromium or chromedriver is missing: python -m pytest_devsession setup")
    project = tmp_path / "project"
    project.mkdir()

    started = time.monotonic()
    done = run_setup("setup", "--check", env=clean_env, cwd=project)
    elapsed = time.monotonic() - started

    found = statuses(done.stdout)
    assert found["chromium"] == ("ok", f"{browser} {version_of(browser)}"), done.stdout
    assert found["chromedriver"] == ("ok", f"{driver} {version_of(driver)}"), done.stdout
    assert found["[local] extra"][0] == "ok" and "mitmproxy " in found["[local] extra"][1]
    # Appium's home is an empty temp folder and the project has no .appium: only PATH can have one.
    on_path = shutil.which("appium")
    if on_path:
        assert found["appium"][0] == "ok" and found["appium"][1].startswith(on_path)
    else:
        assert found["appium"][0] == "missing"
        assert str(tmp_path / "appium-home") in found["appium"][1]
        assert "python -m pytest_devsession setup" in found["appium"][1]
        assert done.returncode == 1
        assert done.stdout.splitlines()[-1].startswith("missing: appium, fake driver")
    assert not (tmp_path / "appium-home").exists()  # --check installs nothing, not even the folder
    assert "installing" not in done.stdout
    assert elapsed < 10, elapsed
