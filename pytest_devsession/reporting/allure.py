"""Allure evidence for one session: the link, the artifacts, the measurements and the problems.

Registered (by plugin.py) only when allure-pytest writes results (``--alluredir``).
The link, the measurements and a label with the session id go on the test's result while
allure-pytest holds it open (it closes it in ``pytest_runtest_logfinish``), with the teardown
report; under pytest-rerunfailures each attempt's on that attempt's own result. The
artifacts are downloaded after that, in the background: when every session of the run is
closed (``pytest_devsession_records_final``), they are added to the result files the label
names, as allure's own attachments (``<uuid>-attachment.<ext>`` beside ``<uuid>-result.json``).
"""
from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from ..files import write_atomic
from ..record import SessionRecord

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
    first, _, rest = artifact.partition(".")
    if first.isdigit() and rest:  # the n-th session's (a test with several drivers at a cloud grid)
        artifact = rest
    if artifact in _TYPES:
        return _TYPES[artifact]
    last = artifact.rsplit(".", 1)[-1]
    if last in _TYPES:  # devrev.mp4: the app's own recording
        return _TYPES[last][0], artifact
    if last == "json":  # devrev.json
        return "application/json", artifact
    if artifact.endswith(".gz"):
        return "application/gzip", artifact
    return "text/plain", artifact  # the logs and sslkeylog.txt


LABEL = "devsession_session_id"
PART_LABEL = "devsession_part_id"  # a test inside a capture its class, module or run shares


class AllureEvidence:
    """Puts each captured test's evidence on its Allure result."""

    def __init__(self, results_dir: str | None = None) -> None:
        self.results_dir = results_dir
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

    def pytest_devsession_session_finished(self, item: pytest.Item, record: dict) -> None:
        # Called for every captured test, downloads or not: the link, measurements and the label here.
        import allure

        if self.running != item.nodeid:
            # A capture closed after its test (Ctrl-C, the end of the run) has no open Allure
            # result: attaching then would land on another test's, or fail inside allure.
            raise RuntimeError(f"the Allure result of {item.nodeid} is already closed; its evidence is "
                               "in manifest.json only")
        if record.session_id:
            allure.dynamic.label(LABEL, record.session_id)
            if record.part_id:
                allure.dynamic.label(PART_LABEL, record.part_id)
        if record.url:
            allure.dynamic.link(record.url, name=f"capture session {record.session_id}")
        if record.measurements:
            allure.attach(json.dumps(record.measurements, indent=1), name="devsession measurements",
                          attachment_type=allure.attachment_type.JSON)

    def pytest_devsession_records_final(self, config, records: list[dict]) -> None:
        """Every session is closed: its artifacts and problems join the result its label names."""
        folder = Path(self.results_dir or getattr(config.option, "allure_report_dir", "") or "")
        records = [SessionRecord.of(r) for r in records]
        wanted = {r.evidence_id: r for r in records if r.session_id and (r.artifacts or r.problems)}
        # Under xdist the results were written by the workers; the records reached this process.
        if not wanted or not folder.is_dir():
            return
        for path in folder.glob("*-result.json"):
            try:
                result = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            labels = {label.get("name"): label.get("value") for label in result.get("labels", [])}
            record = wanted.get(labels.get(PART_LABEL) or labels.get(LABEL))
            if record is None:
                continue
            attachments = result.setdefault("attachments", [])
            for name, artifact in record.artifacts.items():
                mime, extension = attachment_type(name)
                source = f"{uuid.uuid4()}-attachment.{extension}"
                try:
                    shutil.copyfile(artifact, folder / source)
                except OSError as exc:  # a problem of the session, in the manifest and in Allure itself
                    record.problems.append(f"allure: cannot attach session.{name}: {exc.strerror or exc}")
                    continue
                attachments.append({"name": f"session.{name}", "source": source, "type": mime})
            if record.problems:
                source = f"{uuid.uuid4()}-attachment.txt"
                (folder / source).write_text("\n".join(record.problems), encoding="utf-8")
                attachments.append({"name": "devsession problems", "source": source, "type": "text/plain"})
            write_atomic(path, json.dumps(result))
