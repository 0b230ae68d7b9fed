"""``python -m pytest_devsession setup``: install what the local backend runs, when it is missing.

Chromium and chromedriver come from the system package manager, Appium 3 and its fake
driver from npm into a cache folder that ``find_appium()`` looks in. Each part is looked
for the way the plugin looks for it; ``check=True`` only reports.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .backends.local.settings import LOCAL_EXTRA
from .drivers.appium import BIN_ENV, HOME_ENV, appium_cache_dir, appium_home_of, find_appium
from .settings import missing_packages

COMMAND = "python -m pytest_devsession setup"
APPIUM_EXTRA = (("appium", "Appium-Python-Client"),)
# Major versions pinned: the fake driver's next major may need the next Appium (a peer dependency).
APPIUM_PACKAGES = ("appium@3", "@appium/fake-driver@6")
APT_PACKAGES = ("chromium", "chromium-driver")
APT_LISTS = Path("/var/lib/apt/lists")
# Printed, not run: these need an answer from the user or a package manager we cannot drive safely.
OTHER_INSTALLERS = (
    ("dnf", "sudo dnf install -y chromium chromedriver"),
    ("brew", "brew install --cask google-chrome chromedriver"),
)
NODE_HINT = "install Node.js 20.19 or newer with npm (https://nodejs.org/en/download, or your package manager)"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Part:
    """One thing the local backend runs: where it was found, or what to do about it."""

    name: str
    where: str | None = None  # a path, or the packages found; None when missing
    version: str = ""
    note: str = ""  # what to do when it is missing

    @property
    def present(self) -> bool:
        return self.where is not None

    def line(self) -> str:
        if self.present:
            return f"  ok       {self.name:<15} {self.where}{' ' + self.version if self.version else ''}"
        return f"  missing  {self.name:<15} {self.note}"


def run(check: bool = False, say: Say = print) -> int:
    """Look for every part, install what is missing (unless ``check``); 0 when all are present."""
    started = time.monotonic()
    say(f"pytest-devsession {'setup --check' if check else 'setup'}: what the local backend runs")
    results = [python_packages(say), chromium(check, say), appium(check, say)]
    missing = [name for found, _, names in results if not found for name in names]
    if missing:
        say(f"missing: {', '.join(missing)} (the lines above say what to do)")
        return 1
    if any(installed for _, installed, _ in results):
        say(f"done in {time.monotonic() - started:.0f} s: everything is installed")
    else:
        say("everything is installed" + ("" if check else "; nothing to do"))
    return 0


# Each step says what it found and returns (all present, installed something, names still missing).

def python_packages(say: Say) -> tuple[bool, bool, list[str]]:
    parts = [_python_part("[local] extra", LOCAL_EXTRA, "local"), _python_part("[appium] extra", APPIUM_EXTRA, "appium")]
    _show(parts, say)
    return all(p.present for p in parts), False, [p.name for p in parts if not p.present]


def chromium(check: bool, say: Say) -> tuple[bool, bool, list[str]]:
    parts = _chromium_parts()
    _show(parts, say)
    missing = [p.name for p in parts if not p.present]
    if not missing or check or parts[0].note == _NO_SELENIUM:
        return not missing, False, missing
    if not _install_chromium(say):
        return False, False, missing
    parts = _chromium_parts()
    _show(parts, say)
    still = [p.name for p in parts if not p.present]
    if still:
        say(f"  {', '.join(still)} still not found on PATH after the install: the plugin looks for "
            "chromium, chromium-browser, google-chrome or chrome, and chromedriver")
    return not still, True, still


def appium(check: bool, say: Say) -> tuple[bool, bool, list[str]]:
    node = _tool("node", NODE_HINT)
    npm = _tool("npm", f"needed to install Appium: {NODE_HINT}")
    try:
        binary = find_appium(Path.cwd())
    except FileNotFoundError as exc:  # DEVSESSION_APPIUM_BIN names no file: the plugin looks no further
        _show([node, npm, Part("appium", note=f"{exc}: fix or unset {BIN_ENV}")], say)
        return False, False, ["appium"]
    parts = _appium_parts(binary)
    _show([node, npm, *parts], say)
    missing = [p.name for p in parts if not p.present]
    node_ok = node.present and _node_runs_appium(node.version)
    if node.present and not node_ok:
        say(f"  node {node.version} is too old for Appium 3 (it needs ^20.19, ^22.12 or >=24): {NODE_HINT}")
    cache = appium_cache_dir()
    into_cache = bool(missing) and (binary is None or _home(binary).resolve() == cache.resolve())
    if into_cache and not npm.present:
        missing.append("npm")
    if not node_ok:
        missing.insert(0, "node")
    if not missing or check:
        return not missing, False, missing
    if not into_cache:
        if "fake driver" in missing:
            home = shlex.quote(str(_home(binary)))
            say(f"  not installing: {binary} looks for drivers in {_home(binary)}. Run `cd {home} && npm install "
                f"@appium/fake-driver` yourself, or unset {BIN_ENV} and APPIUM_HOME and run `{COMMAND}` again")
        return False, False, missing
    if "node" in missing or "npm" in missing:
        say(f"  not installing Appium: it needs Node.js and npm; {NODE_HINT}")
        return False, False, missing
    if not _install_appium(cache, say):
        return False, False, missing
    parts = _appium_parts(find_appium(Path.cwd()))
    _show(parts, say)
    still = [p.name for p in parts if not p.present]
    return not still, True, still


# looking ---------------------------------------------------------------------

_NO_SELENIUM = f"not looked for: selenium is missing (pip install 'pytest-devsession[local]', then `{COMMAND}`)"


def _python_part(name: str, packages: tuple[tuple[str, str], ...], extra: str) -> Part:
    missing = missing_packages(packages)
    if missing:
        return Part(name, note=f"{', '.join(missing)}: pip install 'pytest-devsession[{extra}]'")
    return Part(name, ", ".join(f"{dist} {_dist_version(dist)}" for _, dist in packages))


def _chromium_parts() -> list[Part]:
    try:
        from .drivers.browser import find_chromium  # the plugin's own lookup; it needs selenium
    except ImportError:
        return [Part("chromium", note=_NO_SELENIUM), Part("chromedriver", note=_NO_SELENIUM)]
    binary, driver = find_chromium()
    hint = (f"`{COMMAND}` installs it with apt-get" if shutil.which("apt-get")
            else f"run `{_chromium_command_text()}`")
    return [_binary_part("chromium", binary, hint), _binary_part("chromedriver", driver, hint)]


def _appium_parts(binary: str | None) -> list[Part]:
    cache = appium_cache_dir()
    hint = f"`{COMMAND}` installs it into {cache} (or set {BIN_ENV}, {HOME_ENV})"
    if binary is None:
        return [Part("appium", note=hint), Part("fake driver", note="installed with appium")]
    driver = _home(binary) / "node_modules" / "@appium" / "fake-driver"
    fake = Part("fake driver", str(driver), _package_version(driver)) if driver.is_dir() else Part(
        "fake driver", note=f"not in {_home(binary)}, where {binary} looks for drivers")
    package = Path(binary).parent.parent / "appium"  # node_modules/.bin/appium -> node_modules/appium
    appium = Part("appium", binary, _package_version(package)) if package.is_dir() else _binary_part(
        "appium", binary, hint)
    return [appium, fake]


def _tool(name: str, hint: str) -> Part:
    return _binary_part(name, shutil.which(name), hint)


def _binary_part(name: str, path: str | None, hint: str) -> Part:
    if not path:
        return Part(name, note=hint)
    return Part(name, path, _version([path, "--version"]))


def _home(binary: str) -> Path:
    return Path(appium_home_of(binary) or Path.home() / ".appium")


def _version(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return "(does not run)"
    found = re.search(r"\d+(\.\d+)+", done.stdout)
    return found.group(0) if found else "(version unknown)"


def _package_version(folder: Path) -> str:
    try:
        return str(json.loads((folder / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return "(version unknown)"


def _dist_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "(version unknown)"


def _node_runs_appium(version: str) -> bool:
    numbers = [int(n) for n in re.findall(r"\d+", version)[:2]]
    if len(numbers) < 2:
        return True  # unknown: let Appium say so itself
    major, minor = numbers
    return (major == 20 and minor >= 19) or (major == 22 and minor >= 12) or major >= 24


def _show(parts: list[Part], say: Say) -> None:
    for part in parts:
        say(part.line())


# installing ------------------------------------------------------------------

def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _privilege() -> list[str] | None:
    """The prefix that runs a command as root without asking: none, ``sudo -n``, or None (cannot)."""
    if _is_root():
        return []
    if shutil.which("sudo"):
        done = subprocess.run(["sudo", "-n", "true"], capture_output=True, stdin=subprocess.DEVNULL)
        if done.returncode == 0:
            return ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"]  # sudo drops the environment
    return None


def _apt_lists_empty() -> bool:
    try:
        return not any("_Packages" in entry.name for entry in APT_LISTS.iterdir())
    except OSError:
        return True


def _chromium_command_text() -> str:
    if shutil.which("apt-get"):
        update = "sudo apt-get update && " if _apt_lists_empty() else ""
        return f"{update}sudo apt-get install -y {' '.join(APT_PACKAGES)}"
    for tool, command in OTHER_INSTALLERS:
        if shutil.which(tool):
            return command
    return "install Chromium and chromedriver with your package manager, both on PATH"


def _install_chromium(say: Say) -> bool:
    if not shutil.which("apt-get"):
        say(f"  not installing Chromium: run `{_chromium_command_text()}` yourself, then `{COMMAND}` again")
        return False
    prefix = _privilege()
    if prefix is None:
        say(f"  not installing Chromium: it needs root, and sudo asks for a password or is missing. "
            f"Run `{_chromium_command_text()}` yourself, then `{COMMAND}` again")
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = [*prefix, "apt-get", "update", "-q"]
    install = [*prefix, "apt-get", "install", "-y", "-q", *APT_PACKAGES]
    if _apt_lists_empty() and not _step(update, "the package lists are empty: updating them", say, env):
        return False
    if _step(install, "installing Chromium and chromedriver (about 30 s)", say, env, quiet_failure=True):
        return True
    return (_step(update, "the install failed: updating the package lists and trying again", say, env)
            and _step(install, "installing Chromium and chromedriver", say, env))


def _install_appium(home: Path, say: Say) -> bool:
    try:
        home.mkdir(parents=True, exist_ok=True)
        package = home / "package.json"
        if not package.exists():  # npm init refuses some folder names; this is all npm needs
            package.write_text(json.dumps({"name": "devsession-appium", "private": True}) + "\n")
    except OSError as exc:
        say(f"  cannot use {home}: {exc.strerror or exc}; set {HOME_ENV} to a folder you can write to")
        return False
    cmd = ["npm", "install", "--no-audit", "--no-fund", *APPIUM_PACKAGES]
    return _step(cmd, f"installing Appium and its fake driver into {home} (about 30 s)", say, cwd=home)


def _step(cmd: list[str], what: str, say: Say, env: dict[str, str] | None = None,
          cwd: Path | None = None, quiet_failure: bool = False) -> bool:
    """Run ``cmd``, saying what and how; on failure show the end of its output."""
    say(f"  {what}: {shlex.join(cmd)}")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    except OSError as exc:
        say(f"  could not run {cmd[0]}: {exc.strerror or exc}")
        return False
    if done.returncode != 0 and not quiet_failure:
        tail = (done.stdout + done.stderr).strip().splitlines()[-10:]
        say(f"  failed (exit code {done.returncode}):" + "".join(f"\n    {line}" for line in tail))
    return done.returncode == 0
