"""When setup installs Appium, and what it says instead: fake node and npm on an otherwise empty PATH."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from setup_helpers import statuses, write_tool
from pytest_devsession import setup

NPM = '''
with open(os.path.join(HERE, "calls.log"), "a") as log:
    log.write(f"npm {' '.join(sys.argv[1:])} (in {os.getcwd()})\\n")
if sys.argv[1] == "--version":
    print("10.9.0")
    sys.exit(0)
if os.path.exists(os.path.join(HERE, "npm-fails")):
    print("npm error code E403\\nnpm error 403 Forbidden - GET https://registry.npmjs.org/appium")
    sys.exit(1)
for package, folder in (("appium", "appium"), ("@appium/fake-driver", os.path.join("@appium", "fake-driver"))):
    where = os.path.join("node_modules", folder)
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, "package.json"), "w") as out:
        out.write('{"name": "%s", "version": "9.9.9"}' % package)
os.makedirs(os.path.join("node_modules", ".bin"), exist_ok=True)
with open(os.path.join("node_modules", ".bin", "appium"), "w") as out:
    out.write("#!/bin/sh\\necho 9.9.9\\n")
os.chmod(os.path.join("node_modules", ".bin", "appium"), 0o755)
'''


class Machine:
    def __init__(self, bin_dir: Path, home: Path, project: Path) -> None:
        self.bin, self.home, self.project = bin_dir, home, project
        self.lines: list[str] = []

    def node(self, version: str = "v20.19.1") -> None:
        write_tool(self.bin, "node", f"print({version!r})")

    def npm(self) -> None:
        write_tool(self.bin, "npm", NPM)

    def npm_installs(self) -> list[str]:
        log = self.bin / "calls.log"
        return [c for c in log.read_text().splitlines() if "--version" not in c] if log.exists() else []

    def appium(self, check: bool = False):
        return setup.appium(check, self.lines.append)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Machine:
    for name in ("DEVSESSION_APPIUM_BIN", "APPIUM_HOME"):
        monkeypatch.delenv(name, raising=False)
    bin_dir, home, project = tmp_path / "bin", tmp_path / "cache" / "appium", tmp_path / "project"
    bin_dir.mkdir()
    project.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("DEVSESSION_APPIUM_HOME", str(home))
    monkeypatch.chdir(project)
    return Machine(bin_dir, home, project)


def test_installs_into_the_cache_folder_with_a_package_file_of_its_own(machine):
    machine.node()
    machine.npm()
    assert machine.appium() == (True, True, [])
    assert machine.npm_installs() == [f"npm install --no-audit --no-fund appium@3 @appium/fake-driver@6 (in {machine.home})"]
    assert json.loads((machine.home / "package.json").read_text()) == {"name": "devsession-appium", "private": True}
    found = statuses(machine.output)
    assert found["appium"] == ("ok", f"{machine.home / 'node_modules' / '.bin' / 'appium'} 9.9.9")
    assert found["fake driver"] == ("ok", f"{machine.home / 'node_modules' / '@appium' / 'fake-driver'} 9.9.9")


def test_an_existing_package_file_is_kept(machine):
    machine.node()
    machine.npm()
    machine.home.mkdir(parents=True)
    (machine.home / "package.json").write_text('{"name": "mine", "private": true, "dependencies": {}}')
    assert machine.appium() == (True, True, [])
    assert json.loads((machine.home / "package.json").read_text())["name"] == "mine"


def test_without_node_it_says_what_to_install(machine):
    machine.npm()
    assert machine.appium() == (False, False, ["node", "appium", "fake driver"])
    assert machine.npm_installs() == []
    assert "not installing Appium: it needs Node.js and npm; install Node.js 20.19 or newer" in machine.output


def test_without_npm_it_says_what_to_install(machine):
    machine.node()
    assert machine.appium() == (False, False, ["appium", "fake driver", "npm"])
    assert statuses(machine.output)["npm"][0] == "missing"
    assert "it needs Node.js and npm" in machine.output


def test_a_node_too_old_for_appium_3_is_refused(machine):
    machine.node("v18.19.0")
    machine.npm()
    assert machine.appium() == (False, False, ["node", "appium", "fake driver"])
    assert machine.npm_installs() == []
    assert "node 18.19.0 is too old for Appium 3" in machine.output


def test_a_failing_npm_shows_its_own_words(machine):
    machine.node()
    machine.npm()
    (machine.bin / "npm-fails").touch()
    assert machine.appium() == (False, False, ["appium", "fake driver"])
    assert "failed (exit code 1):" in machine.output
    assert "npm error 403 Forbidden" in machine.output


def test_check_installs_nothing(machine):
    machine.node()
    machine.npm()
    assert machine.appium(check=True) == (False, False, ["appium", "fake driver"])
    assert machine.npm_installs() == [] and not machine.home.exists()


def test_a_project_appium_without_the_fake_driver_is_not_shadowed(machine):
    machine.node()
    machine.npm()
    binary = machine.project / ".appium" / "node_modules" / ".bin" / "appium"
    binary.parent.mkdir(parents=True)
    write_tool(binary.parent, "appium", "print('3.8.0')")
    assert machine.appium() == (False, False, ["fake driver"])
    assert machine.npm_installs() == []  # installing into the cache folder would change nothing: .appium wins
    assert f"Run `cd {machine.project / '.appium'} && npm install @appium/fake-driver` yourself" in machine.output


def test_a_wrong_appium_bin_is_named(machine, monkeypatch):
    machine.node()
    machine.npm()
    monkeypatch.setenv("DEVSESSION_APPIUM_BIN", str(machine.project / "nowhere"))
    assert machine.appium() == (False, False, ["appium"])
    assert machine.npm_installs() == []
    assert f"DEVSESSION_APPIUM_BIN={machine.project / 'nowhere'} is not a file: fix or unset" in machine.output
