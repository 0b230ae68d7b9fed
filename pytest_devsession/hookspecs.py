"""The plugin's own hooks (``pytest_devsession_*``). Implement them in a conftest or plugin."""
from __future__ import annotations

import pytest


def pytest_devsession_backend_names(config):
    """Return the names of the backends this plugin provides (a list).

    ``--devsession-backend`` accepts these names and lists them when it is given another.
    A backend is a plugin with this hook, ``pytest_devsession_make_backend`` and, when it has
    settings of its own, ``pytest_devsession_backend_settings``; the built-in ones are
    ``pytest_devsession.backends.headspin.plugin``, ``.local.plugin`` and ``.lambdatest.plugin``
(registered with ``--devsession``; their options come from their ``add_options``).
    """


@pytest.hookspec(firstresult=True)
def pytest_devsession_backend_settings(name, config):
    """Return the settings section of the backend ``name`` (a frozen ``settings.Section``), or None.

    Called once, when ``--devsession`` is on and before any test, for the chosen backend only: read
    its options (CLI over environment over ini) and raise ``pytest.UsageError`` naming the setting at
    fault. The backend reads the section as ``settings.section``. The built-in implementations are
    ``trylast``.
    """


@pytest.hookspec(firstresult=True)
def pytest_devsession_make_backend(settings, config):
    """Return the backend object for ``settings.backend`` or None to let others try.

    Called just before the first test. The object implements ``backends.base.Backend`` and
    whichever optional parts of ``backends.base`` its service has. The built-in implementations
    are ``trylast``, so a plugin can replace any backend.
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


def pytest_devsession_make_enrichers(settings, config):
    """Something that adds to each captured test's evidence after the test, on the background pool,
    whatever backend captured it (DevRev's app session): return an object with ``name``, ``begin()``
    (before the first test; raise ``pytest.UsageError`` for bad input), ``enrich(window, record,
    folder, upload)`` and ``close()``, or None. Every plugin's answer is used."""
