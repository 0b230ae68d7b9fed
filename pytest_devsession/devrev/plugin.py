"""DevRev's options, and the enricher the run asks for (``pytest_devsession_make_enrichers``).

Turned on by the app's id: ``--devsession-devrev-app`` (ini ``devsession_devrev_app``, env
``DEVREV_APP_ID``); the token only from ``DEVREV_TOKEN``. Nothing heavy is imported here.
"""
from __future__ import annotations

import pytest

PLATFORMS = ("android", "ios", "web")


def add_options(parser: pytest.Parser) -> None:
    """Its options, declared at every pytest start by the main plugin (this module is registered with --devsession)."""
    group = parser.getgroup("devsession")
    group.addoption("--devsession-devrev-app", dest="devsession_devrev_app", metavar="APP_ID",
                    help="DevRev: the app's App ID (its SDK's appId; env DEVREV_APP_ID): each test's evidence gets "
                         "the app session the SDK recorded; the token is read from DEVREV_TOKEN only")
    group.addoption("--devsession-devrev-api-url", dest="devsession_devrev_api_url", metavar="URL",
                    help="DevRev: the API (env DEVREV_API_URL; default https://api.devrev.ai)")
    group.addoption("--devsession-devrev-platform", dest="devsession_devrev_platform", metavar="PLATFORM",
                    help="DevRev: android, ios or web (default: the device's platform, else android)")
    group.addoption("--devsession-devrev-timeout", dest="devsession_devrev_timeout", metavar="SECONDS",
                    help="DevRev: how long after a test its app session may take to appear (default 120)")
    parser.addini("devsession_devrev_app", "DevRev: the app's App ID")
    parser.addini("devsession_devrev_api_url", "DevRev: the API base URL")
    parser.addini("devsession_devrev_platform", "DevRev: android, ios or web")
    parser.addini("devsession_devrev_timeout", "DevRev: seconds an app session may take to appear after its test")


def pytest_devsession_make_enrichers(settings, config):
    import os

    from ..settings import parse_choice, parse_timeout, setting, usage

    app_from, app = setting(config, "devsession_devrev_app", "DEVREV_APP_ID", None)
    if not app or not str(app).strip():
        return None
    token = os.environ.get("DEVREV_TOKEN", "")
    if not token:
        raise usage(app_from, "DevRev needs its token in the environment variable DEVREV_TOKEN (never a flag or an "
                              "ini setting)")
    platform = setting(config, "devsession_devrev_platform", "DEVREV_PLATFORM", None)
    from .enricher import DevRevEnricher

    return DevRevEnricher(
        app_id=str(app).strip(), token=token,
        api_url=str(setting(config, "devsession_devrev_api_url", "DEVREV_API_URL", "https://api.devrev.ai")[1]),
        platform=parse_choice(platform[0], str(platform[1]), PLATFORMS) if platform[1] else None,
        timeout=parse_timeout(*setting(config, "devsession_devrev_timeout", "DEVREV_TIMEOUT", 120)))
