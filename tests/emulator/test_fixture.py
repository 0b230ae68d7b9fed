import subprocess
import sys

import pytest_devsession
from pytest_devsession.emulator import Fault


def test_fixture_gives_the_shared_server(headspin_emulator, headspin_emulator_server):
    assert headspin_emulator is headspin_emulator_server
    assert headspin_emulator.url.endswith("/v0")


def test_fixture_state_dirtied_here(headspin_emulator, api):
    api.start_capture()
    api.put("/userflows", json={"name": "left over"})
    headspin_emulator.add_fault(Fault(path="/never"))
    headspin_emulator.add_device("extra")
    headspin_emulator.complete_delay = 9
    assert headspin_emulator.sessions


def test_fixture_state_is_reset_for_the_next_test(headspin_emulator):
    assert headspin_emulator.sessions == {} and headspin_emulator.userflows == {}
    assert headspin_emulator.faults == [] and headspin_emulator.requests == []
    assert len(headspin_emulator.devices) == 3 and headspin_emulator.complete_delay == 0.05


def test_loading_the_plugin_is_cheap():
    probe = ("import sys, pytest_devsession.emulator.fixture; "
             "print(sorted(m for m in ('http.server', 'pytest_devsession.emulator.server', 'pytest_devsession.emulator.lambdatest.server', 'pytest_devsession.emulator.devrev.server') if m in sys.modules))")
    root = str(__import__("pathlib").Path(pytest_devsession.__file__).resolve().parent.parent)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=root, timeout=30)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
