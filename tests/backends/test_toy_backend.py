"""A backend that is not built in: a toy registered from a conftest, with an option and settings of its own.

It has the core and two optional parts (user flows, artifacts); no locks, links, proxy or drivers,
and it implements nothing for them.
"""
from __future__ import annotations

import json

import pytest

TOY_CONFTEST = '''
import json
import threading
from dataclasses import dataclass
from itertools import count

import pytest

from pytest_devsession.backends.base import Device
from pytest_devsession.settings import Section, usage

NAME = "toy"


def pytest_addoption(parser):
    parser.addoption("--toy-option", dest="toy_option", metavar="LABEL",
                     help="toy backend: the label each of its captures starts with")


def pytest_devsession_backend_names(config):
    return [NAME]


@dataclass(frozen=True)
class ToySettings(Section):
    label: str = ""

    default_devices = ("toy-1",)
    device_form = "toy-N"
    default_artifacts = ("device.log",)
    accepted_artifacts = ("device.log",)


def pytest_devsession_backend_settings(name, config):
    if name != NAME:
        return None
    label = config.getoption("toy_option")
    if not label:
        raise usage("--toy-option", "the toy backend needs a label")
    return ToySettings(label=label)


class ToyBackend:
    """Captures in memory: a capture is the lines of what happened to it."""

    name = NAME
    service_url = None
    outlives_process = False
    device_source = "the toy box"
    devices_setting = "--toy-option"

    def __init__(self, settings, folder):
        self.label = settings.section.label
        self.folder = folder
        self.captures = {}
        self.flows = []
        self.lock = threading.Lock()
        self.ids = count(1)

    def devices(self):
        return {f"toy-{n}": Device(address=f"toy-{n}", serial=str(n), hostname="toy", platform="toy")
                for n in (1, 2)}

    def start_capture(self, device, options):
        session_id = f"toy-session-{next(self.ids)}"
        self.captures[session_id] = [f"{self.label}: {options.name} on {device.address}"]
        return session_id

    def wait_ready(self, session_id, deadline):
        self.captures[session_id].append("ready")

    def stop_capture(self, session_id, deadline):
        self.captures[session_id].append("stopped")

    def report_status(self, session_id, userflow, description, status, message):
        with self.lock:
            self.flows.append({"session_id": session_id, "userflow": userflow, "status": status})

    def upload_measurements(self, session_id, userflow, measurements):
        with self.lock:
            self.flows.append({"session_id": session_id, "userflow": userflow, "measurements": measurements})

    def download(self, session_id, ext, dest):
        data = "\\n".join(self.captures[session_id]) + "\\n"
        dest.write_text(data)
        return len(data)

    def close(self):
        (self.folder / "toy-flows.json").write_text(json.dumps(self.flows))


def pytest_devsession_make_backend(settings, config):
    if settings.backend == NAME:
        return ToyBackend(settings, config.rootpath)
    return None
'''

TESTS = '''
import pytest


@pytest.mark.userflow("Toy flow")
@pytest.mark.devsession(device="toy-2")
def test_passes(devsession):
    devsession.measure("Load", 12.5, units="ms")
    assert devsession.session_id.startswith("toy-session-") and devsession.device_address == "toy-2"
    assert devsession.url is None and devsession.proxies == {}
    devsession.attach(object())  # the toy records no driver: nothing to attach to


@pytest.mark.userflow("Toy flow")
def test_fails(devsession):
    assert devsession.device_address == "toy-1"
    assert False, "as planned"
'''


@pytest.fixture
def toy(pytester, monkeypatch):
    for name in ("DEVSESSION_BACKEND", "DEVSESSION_DEVICES", "DEVSESSION_ARTIFACTS", "DEVSESSION_USERFLOW"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(TOY_CONFTEST)
    return pytester


def test_a_backend_from_a_conftest_captures_every_test(toy):
    toy.makepyfile(test_toy=TESTS)
    result = toy.runpytest("--devsession", "--devsession-backend", "toy", "--toy-option", "blue",
                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    folder = toy.path / "devsession-artifacts"
    manifest = json.loads((folder / "manifest.json").read_text())
    sessions = {s["nodeid"].split("::")[-1]: s for s in manifest["sessions"]}
    passed, failed = sessions["test_passes"], sessions["test_fails"]
    assert (passed["backend"], passed["status"], passed["device_address"]) == ("toy", "Passed", "toy-2")
    assert (failed["backend"], failed["status"], failed["device_address"]) == ("toy", "Failed", "toy-1")
    assert "as planned" in failed["status_message"]
    assert passed["problems"] == [] and failed["problems"] == []
    assert passed["measurements"] == [{"key": "Load", "value": 12.5, "units": "ms", "type": None}]
    # The toy's own capture, with its own option's value, downloaded as the test's artifact.
    log = (folder / passed["artifacts"]["device.log"]).read_text().splitlines()
    assert log == ["blue: test_toy.py::test_passes on toy-2", "ready", "stopped"]
    flows = json.loads((toy.path / "toy-flows.json").read_text())
    assert {(f["session_id"], f.get("status")) for f in flows if "status" in f} == {
        (passed["session_id"], "Passed"), (failed["session_id"], "Failed")}
    assert [f["measurements"][0]["key"] for f in flows if "measurements" in f] == ["Load"]


def test_the_toy_backend_checks_its_own_option_before_any_test(toy):
    toy.makepyfile(test_toy=TESTS)
    result = toy.runpytest("--devsession", "--devsession-backend", "toy", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "pytest-devsession: --toy-option: the toy backend needs a label" in result.stderr.str()
    assert not (toy.path / "devsession-artifacts").exists()


def test_an_unknown_backend_is_a_usage_error_that_lists_the_registered_ones(toy):
    toy.makepyfile(test_toy=TESTS)
    result = toy.runpytest("--devsession", "--devsession-backend", "tyo", "--toy-option", "blue",
                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert ("pytest-devsession: --devsession-backend: no plugin provides the backend 'tyo'; "
            "the backends registered: headspin, lambdatest, local, toy") in result.stderr.str()
