"""Allure evidence for one session: the link, the artifacts, the measurements and the problems.

Registered (by plugin.py) only when allure-pytest writes results (``--alluredir``).
Both hooks run while allure-pytest still holds the test's result open (it closes
it in ``pytest_runtest_logfinish``): the artifacts in our teardown
``pytest_runtest_makereport`` wrapper, the link and measurements with the teardown
report. So allure's public ``attach``/``dynamic`` calls land on that test's result;
under pytest-rerunfailures each attempt's on that attempt's own result.
"""
from __future__ import annotations

import json

import pytest

PLUGIN_NAME = "devsession-allure"

# artifact name -> (MIME type allure shows it by, file extension in the results folder)
_TYPES = {
    "har": ("application/json", "har"),
    "mar": ("application/json", "mar"),
    "mp4": ("video/mp4", "mp4"),
    "csv": ("text/csv", "csv"),
    "pcap": ("application/vnd.tcpdump.pcap", "pcap"),
}


def attachment_type(artifact: str) -> tuple[str, str]:
    """The MIME type and extension of an artifact (``har``, ``mp4``, ``appium.log``, ``device.log.gz``, ...)."""
    if artifact in _TYPES:
        return _TYPES[artifact]
    if artifact.endswith(".gz"):
        return "application/gzip", artifact
    return "text/plain", artifact  # the logs and sslkeylog.txt


class AllureEvidence:
    """Puts each captured test's evidence on its Allure result."""

    def __init__(self) -> None:
        self.running: str | None = None  # the node id whose Allure result is open

    # allure-pytest opens a test's result in its (tryfirst, so outer) protocol wrapper and closes it
    # in pytest_runtest_logfinish or, when the test is interrupted, at the end of that wrapper.
    # pytest-rerunfailures runs every attempt inside one protocol, each between its own
    # logstart and logfinish; allure-pytest gives each attempt a result of its own.
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item):
        self.running = item.nodeid
        try:
            return (yield)
        finally:
            self.running = None

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running = nodeid

    @pytest.hookimpl(trylast=True)  # after the controller gave a verdict still pending at logfinish
    def pytest_runtest_logfinish(self) -> None:
        self.running = None

    def _check_open(self, item: pytest.Item) -> None:
        # A capture closed after its test (Ctrl-C, the end of the run) has no open Allure
        # result: attaching then would land on another test's, or fail inside allure.
        if self.running != item.nodeid:
            raise RuntimeError(f"the Allure result of {item.nodeid} is already closed; its evidence is "
                               "in manifest.json only")

    def pytest_devsession_artifacts_collected(self, item: pytest.Item, record: dict, artifacts: dict) -> None:
        import allure

        self._check_open(item)
        for name, path in artifacts.items():
            mime, extension = attachment_type(name)
            allure.attach.file(path, name=f"session.{name}", attachment_type=mime, extension=extension)

    def pytest_devsession_session_finished(self, item: pytest.Item, record: dict) -> None:
        # Called for every captured test, downloads or not: the link, measurements and problems go here.
        import allure

        self._check_open(item)
        if record.get("url"):
            allure.dynamic.link(record["url"], name=f"capture session {record['session_id']}")
        if record.get("measurements"):
            allure.attach(json.dumps(record["measurements"], indent=1), name="devsession measurements",
                          attachment_type=allure.attachment_type.JSON)
        if record.get("problems"):
            allure.attach("\n".join(record["problems"]), name="devsession problems",
                          attachment_type=allure.attachment_type.TEXT)
