"""The plugin's own hooks (``pytest_devsession_*``). Implement them in a conftest or plugin."""
from __future__ import annotations

import pytest


@pytest.hookspec(firstresult=True)
def pytest_devsession_make_backend(settings, config):
    """Return the backend object for ``settings.backend`` or None to let others try.

    The built-in implementation is ``trylast``, so a plugin can replace any backend.
    """


def pytest_devsession_session_started(item, session_id, device_address):
    """A capture session is ready and the test ``item`` is about to run in it."""


def pytest_devsession_session_finished(item, record):
    """The capture of ``item`` stopped and its status is known.

    ``record`` is a ``pytest_devsession.record.SessionRecord`` (readable as a mapping too,
    ``record["status"]``), the same object that goes into manifest.json. Under
    pytest-rerunfailures this is called for every attempt, once it is known whether the
    attempt runs again: ``record["final"]`` is False (and the status Excluded) for one that does.
    """


def pytest_devsession_artifacts_collected(item, record, artifacts):
    """The artifacts of ``item`` are on disk: ``artifacts`` maps name to absolute path."""


def pytest_devsession_records_final(config, records):
    """Every session of the run is closed (its artifacts downloaded, its verdict sent or spooled),
    before pytest's reporters write their files; in the main process under xdist.

    ``records`` are the ``SessionRecord`` objects that go into manifest.json. Reporters that showed a test at
    its end complete it here (our Allure evidence does).
    """
