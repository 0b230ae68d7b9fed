"""How setup installs Chromium: fake apt-get, sudo and dnf on an otherwise empty PATH (the real apt-get never runs)."""
from __future__ import annotations

from pathlib import Path

import pytest

from setup_helpers import statuses, write_tool
from pytest_devsession import setup

APT_GET = '''
with open(os.path.join(HERE, "calls.log"), "a") as log:
    log.write(" ".join(["apt-get", *sys.argv[1:]]) + f" [DEBIAN_FRONTEND={os.environ.get('DEBIAN_FRONTEND')}]\\n")
if sys.argv[1] == "update":
    open(os.path.join(HERE, "updated"), "w").close()
    sys.exit(0)
if os.path.exists(os.path.join(HERE, "fail-until-update")) and not os.path.exists(os.path.join(HERE, "updated")):
    print("E: Unable to locate package chromium", file=sys.stderr)
    sys.exit(100)
if not os.path.exists(os.path.join(HERE, "install-nothing")):
    for name, text in (("chromium", "Chromium 120.0.6099.1 built on Debian"), ("chromedriver", "ChromeDriver 120.0.6099.1 (x)")):
        with open(os.path.join(HERE, name), "w") as out:
            out.write(f"#!/bin/sh\\necho '{text}'\\n")
        os.chmod(os.path.join(HERE, name), 0o755)
'''
SUDO = '''
with open(os.path.join(HERE, "calls.log"), "a") as log:
    log.write(" ".join(["sudo", *sys.argv[1:]]) + "\\n")
args = sys.argv[1:]
if os.path.exists(os.path.join(HERE, "sudo-asks")):
    print("sudo: a password is required", file=sys.stderr)
    sys.exit(1)
args = args[1:] if args[:1] == ["-n"] else args
if args == ["true"]:
    sys.exit(0)
os.environ.clear()  # like sudo's env_reset
os.environ["PATH"] = HERE
if args[0] == "env":
    args = args[1:]
    while "=" in args[0]:
        os.environ.update([args.pop(0).split("=", 1)])
os.execvp(args[0], args)
'''
DNF = '''
with open(os.path.join(HERE, "calls.log"), "a") as log:
    log.write(" ".join(["dnf", *sys.argv[1:]]) + "\\n")
'''


class Machine:
    def __init__(self, bin_dir: Path, lists: Path) -> None:
        self.bin = bin_dir
        self.lists = lists
        self.lines: list[str] = []

    def calls(self) -> list[str]:
        log = self.bin / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def flag(self, name: str) -> None:
        (self.bin / name).touch()

    def chromium(self, check: bool = False):
        return setup.chromium(check, self.lines.append)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Machine:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4").touch()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(setup, "APT_LISTS", lists)
    monkeypatch.setattr(setup, "_is_root", lambda: True)
    return Machine(bin_dir, lists)


INSTALL = "apt-get install -y -q chromium chromium-driver [DEBIAN_FRONTEND=noninteractive]"
UPDATE = "apt-get update -q [DEBIAN_FRONTEND=noninteractive]"


def test_root_installs_with_apt_get(machine):
    write_tool(machine.bin, "apt-get", APT_GET)
    assert machine.chromium() == (True, True, [])
    assert machine.calls() == [INSTALL]
    found = statuses(machine.output)
    assert found["chromium"] == ("ok", f"{machine.bin / 'chromium'} 120.0.6099.1")
    assert found["chromedriver"] == ("ok", f"{machine.bin / 'chromedriver'} 120.0.6099.1")


def test_a_failed_install_updates_the_lists_and_tries_again(machine):
    write_tool(machine.bin, "apt-get", APT_GET)
    machine.flag("fail-until-update")
    assert machine.chromium() == (True, True, [])
    assert machine.calls() == [INSTALL, UPDATE, INSTALL]
    assert "updating the package lists and trying again" in machine.output


def test_empty_package_lists_are_updated_first(machine):
    write_tool(machine.bin, "apt-get", APT_GET)
    for entry in machine.lists.iterdir():
        entry.unlink()
    assert machine.chromium() == (True, True, [])
    assert machine.calls() == [UPDATE, INSTALL]


def test_a_user_with_passwordless_sudo_installs_through_it(machine, monkeypatch):
    write_tool(machine.bin, "apt-get", APT_GET)
    write_tool(machine.bin, "sudo", SUDO)
    monkeypatch.setattr(setup, "_is_root", lambda: False)
    assert machine.chromium() == (True, True, [])
    assert machine.calls() == [
        "sudo -n true",
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver",
        INSTALL,
    ]


@pytest.mark.parametrize("sudo", ["asks for a password", "missing"])
def test_without_root_or_passwordless_sudo_the_command_is_printed_not_run(machine, monkeypatch, sudo):
    write_tool(machine.bin, "apt-get", APT_GET)
    if sudo != "missing":
        write_tool(machine.bin, "sudo", SUDO)
        machine.flag("sudo-asks")
    monkeypatch.setattr(setup, "_is_root", lambda: False)
    assert machine.chromium() == (False, False, ["chromium", "chromedriver"])
    assert not any(call.startswith("apt-get") for call in machine.calls())
    assert "it needs root, and sudo asks for a password or is missing" in machine.output
    assert "Run `sudo apt-get install -y chromium chromium-driver` yourself" in machine.output


def test_check_installs_nothing(machine):
    write_tool(machine.bin, "apt-get", APT_GET)
    assert machine.chromium(check=True) == (False, False, ["chromium", "chromedriver"])
    assert machine.calls() == []
    assert statuses(machine.output)["chromium"] == (
        "missing", "`python -m pytest_devsession setup` installs it with apt-get")


def test_other_package_managers_get_the_command_printed(machine):
    write_tool(machine.bin, "dnf", DNF)
    assert machine.chromium() == (False, False, ["chromium", "chromedriver"])
    assert machine.calls() == []
    assert "run `sudo dnf install -y chromium chromedriver` yourself" in machine.output


def test_no_package_manager_says_what_to_install(machine):
    assert machine.chromium() == (False, False, ["chromium", "chromedriver"])
    assert "install Chromium and chromedriver with your package manager, both on PATH" in machine.output


def test_present_chromium_is_left_alone(machine):
    write_tool(machine.bin, "apt-get", APT_GET)
    write_tool(machine.bin, "chromium", "print('Chromium 121.0.1')")
    write_tool(machine.bin, "chromedriver", "print('ChromeDriver 121.0.1 (x)')")
    assert machine.chromium() == (True, False, [])
    assert machine.calls() == []
    assert statuses(machine.output)["chromium"] == ("ok", f"{machine.bin / 'chromium'} 121.0.1")


def test_an_install_that_leaves_no_chromium_on_path_says_so(machine):
    write_tool(machine.bin, "apt-get", APT_GET)
    machine.flag("install-nothing")
    assert machine.chromium() == (False, True, ["chromium", "chromedriver"])
    assert "still not found on PATH after the install" in machine.output
