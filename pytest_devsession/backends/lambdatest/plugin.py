"""LambdaTest's hooks: its options, its settings section and the backend, under the name ``lambdatest``."""
from __future__ import annotations

import pytest

NAME = "lambdatest"


def add_options(parser: pytest.Parser) -> None:
    """Its options, declared at every pytest start by the main plugin (this module is registered with --devsession)."""
    group = parser.getgroup("devsession")
    group.addoption("--devsession-lambdatest-hub", dest="devsession_lambdatest_hub", metavar="URL",
                    help="LambdaTest: the Selenium hub (env LT_HUB_URL; default https://hub.lambdatest.com/wd/hub). "
                         "The credentials are read from LT_USERNAME and LT_ACCESS_KEY only")
    group.addoption("--devsession-lambdatest-api-url", dest="devsession_lambdatest_api_url", metavar="URL",
                    help="LambdaTest: the Automation API (env LT_API_URL; default "
                         "https://api.lambdatest.com/automation/api/v1)")
    group.addoption("--devsession-lambdatest-mobile-api-url", dest="devsession_lambdatest_mobile_api_url",
                    metavar="URL", help="LambdaTest: the App Automation API, for Appium sessions (env "
                                        "LT_MOBILE_API_URL; default https://mobile-api.lambdatest.com/mobile-automation/api/v1)")
    group.addoption("--devsession-lambdatest-capabilities", dest="devsession_lambdatest_capabilities", metavar="JSON",
                    help="LambdaTest: capabilities merged into each browser's, a JSON object (W3C keys at the top, "
                         "any other key, and those of LT:Options, into LT:Options; env "
                         "DEVSESSION_LAMBDATEST_CAPABILITIES, ini devsession_lambdatest_capabilities)")
    parser.addini("devsession_lambdatest_hub", "LambdaTest: the Selenium hub URL")
    parser.addini("devsession_lambdatest_api_url", "LambdaTest: the Automation API base URL")
    parser.addini("devsession_lambdatest_mobile_api_url", "LambdaTest: the App Automation API base URL")
    parser.addini("devsession_lambdatest_capabilities", "LambdaTest: capabilities merged into each browser's (JSON)")


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
        from .backend import LambdaTestBackend

        return LambdaTestBackend(settings)
    return None

