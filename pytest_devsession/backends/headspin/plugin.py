"""HeadSpin's hooks: its options, its settings section and the backend, under the name ``headspin``."""
from __future__ import annotations

import pytest

NAME = "headspin"


def add_options(parser: pytest.Parser) -> None:
    """Its options, declared at every pytest start by the main plugin (this module is registered with --devsession)."""
    group = parser.getgroup("devsession")
    group.addoption("--devsession-api-url", dest="devsession_api_url", metavar="URL",
                    help="HeadSpin API base URL (env HEADSPIN_API_URL; default https://api-dev.headspin.io/v0). "
                         "The token is read from HEADSPIN_API_TOKEN only")
    group.addoption("--devsession-ui-url", dest="devsession_ui_url", metavar="URL",
                    help="HeadSpin UI base URL for session links (env HEADSPIN_UI_URL; default https://ui-dev.headspin.io)")
    parser.addini("devsession_api_url", "HeadSpin API base URL")
    parser.addini("devsession_ui_url", "HeadSpin UI base URL")


def pytest_devsession_backend_names(config):
    return [NAME]


@pytest.hookimpl(trylast=True)
def pytest_devsession_backend_settings(name, config):
    if name == NAME:
        from .settings import resolve

        return resolve(config)
    return None


@pytest.hookimpl(trylast=True)
def pytest_devsession_make_backend(settings, config):
    if settings.backend == NAME:
        from .backend import HeadSpinBackend

        return HeadSpinBackend(settings)
    return None
