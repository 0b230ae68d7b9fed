"""The device pool between real processes: one holder per device, given back when the holder dies."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from pytest_devsession.pool import DeviceBusy, Pool, available

pytestmark = pytest.mark.skipif(not available(), reason="the pool needs flock (not on Windows)")

HOLDER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from pytest_devsession.pool import Pool
    pool = Pool(Path(sys.argv[1]), "run-1", "gw7")
    assert pool.try_take("dev-a", "test_x.py::test_holder")
    print("held", flush=True)
    time.sleep(60)
''')


@pytest.fixture
def holder(tmp_path):
    """Another process that holds dev-a until it is killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_held_device_is_not_given_to_another_process_and_says_who_holds_it(tmp_path, holder):
    pool = Pool(tmp_path, "run-1", "gw0")
    assert not pool.try_take("dev-a", "test_y.py::test_waiting")
    with pytest.raises(DeviceBusy) as busy:
        pool.take(["dev-a"], "test_y.py::test_waiting", timeout=0.2)
    assert str(busy.value) == "dev-a is held by test_x.py::test_holder (gw7)"
    # Another device is free, and a list of candidates takes the first free one.
    assert pool.take(["dev-a", "dev-b"], "test_y.py::test_waiting", timeout=0.2) == "dev-b"


def test_the_kernel_gives_the_device_back_when_its_holder_dies(tmp_path, holder):
    pool = Pool(tmp_path, "run-1", "gw0")
    holder.kill()
    holder.wait()
    assert pool.take(["dev-a"], "test_y.py::test_next", timeout=5) == "dev-a"
    assert pool.state("dev-a")["holder"]["nodeid"] == "test_y.py::test_next"
    pool.give_back("dev-a")
    assert "holder" not in pool.state("dev-a")


def test_the_runs_locks_are_listed_for_its_main_process_only(tmp_path):
    ours, theirs = Pool(tmp_path, "run-1", "gw0"), Pool(tmp_path, "run-2", None)
    for pool, address in ((ours, "dev-a"), (theirs, "dev-b")):
        assert pool.try_take(address, None)
        pool.set_locked(address, True)
        pool.give_back(address)
    assert ours.locked_for_run() == ["dev-a"] and theirs.locked_for_run() == ["dev-b"]
    assert ours.try_take("dev-b", None) and not ours.locked_by_run("dev-b")


def test_a_process_waiting_for_a_device_says_who_holds_it_while_it_waits(tmp_path, holder):
    pool = Pool(tmp_path, "run-1", "gw2")
    lines = []
    with pytest.raises(DeviceBusy):
        pool.take(["dev-a"], "test_y.py::test_waiting", timeout=0.6, say=lines.append, every=0.2)
    assert lines and all(line.startswith("pytest-devsession: test_y.py::test_waiting waits for a free device (")
                         and line.endswith("dev-a is held by test_x.py::test_holder (gw7)") for line in lines), lines
