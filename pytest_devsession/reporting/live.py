"""What the reports show of a session at its test's end, and their completion when every session is closed.

At the test's end (its teardown report) the session's link, status and measurements are known;
its artifacts are downloaded after, in the background. So the report gets what is known (JUnit
properties, pytest-html extras with a placeholder, the record itself as plain data for xdist and
the manifest), and ``complete`` adds the artifacts when the run has closed every session, before
pytest-html and JUnit XML write their files. Allure completes its own results (``allure.py``).
"""
from __future__ import annotations

import pytest

from ..record import SessionRecord
from . import html as html_report
from . import junit


class LiveReports:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.placeholders: dict[str, dict] = {}  # evidence id -> its pytest-html extra, filled at the end

    def attach(self, item: pytest.Item, report, record: SessionRecord) -> None:
        """What the reports show at the test's end."""
        report.devsession = record.to_dict()  # plain data: it reaches the main process and the manifest
        if not record.final:
            return  # the final attempt's testcase and row link this session
        props = junit.properties(record, artifacts=False)
        item.user_properties.extend(props)
        report.user_properties.extend(props)
        if self.config.pluginmanager.has_plugin("html"):
            report.extras = list(getattr(report, "extras", [])) + html_report.extras(record)

    def logged(self, report, record: SessionRecord) -> None:
        """A teardown report carrying ``record`` was logged (this process's or an xdist worker's):
        remember the row's placeholder for the artifacts."""
        for extra in getattr(report, "extras", None) or ():
            if html_report.is_placeholder(extra, record):
                self.placeholders[record.evidence_id] = extra

    def complete(self, records: list[SessionRecord]) -> None:
        """Every session is closed: the artifacts join the JUnit testcases and the pytest-html rows."""
        junit.amend(self.config, records)
        report_dir = html_report.report_dir(self.config)
        for record in records:
            placeholder = self.placeholders.get(record.evidence_id or "")
            if placeholder is not None:
                placeholder["content"] = html_report.artifacts_html(record, report_dir)
