"""LambdaTest's settings section: its hub and APIs, the user's capabilities, and the credentials (from
the environment only). The run's build name is the engine's (``settings.build_name``)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

import pytest

from ...settings import Secret, Section, parse_url, setting, usage
from . import routes

USERNAME_ENV = "LT_USERNAME"
ACCESS_KEY_ENV = "LT_ACCESS_KEY"
# Keys that would put credentials in the capabilities (sent to the hub, readable by the test).
CREDENTIAL_KEYS = frozenset({"user", "username", "accesskey", "access_key", "key"})


@dataclass(frozen=True)
class LambdaTestSettings(Section):
    username: str = ""
    access_key: Secret = field(default_factory=lambda: Secret(""), repr=False)
    hub_url: str = routes.DEFAULT_HUB_URL
    api_url: str = routes.DEFAULT_API_URL
    mobile_api_url: str = routes.DEFAULT_MOBILE_API_URL
    capabilities: dict = field(default_factory=dict)  # the user's, merged into each browser's

    # One pseudo-device: the grid hands out browsers; nothing is locked.
    default_devices = ("lambdatest",)
    device_form = "lambdatest"
    default_artifacts = ("mp4", "har", "jsconsole.log")
    accepted_artifacts = ("mp4", "har", "jsconsole.log", "command.log", "selenium.log")
    # Its one device may run any number of tests at once (the grid queues what is over the account's
    # concurrency): the device pool need not hand it out one test at a time.
    pool_devices: ClassVar[bool] = False

    def check_device(self, setting: str, address: str) -> str:
        if address != "lambdatest":
            raise usage(setting, f"the lambdatest backend has one device, 'lambdatest' (got {address!r}); "
                                 "choose browsers with --devsession-lambdatest-capabilities")
        return address

    def masks(self) -> tuple[str, ...]:
        """The texts that give the access key away: every one is masked wherever it could show."""
        from .browser import secret_forms

        return secret_forms(self.username, self.access_key.reveal())


def _url(config: pytest.Config, name: str, env: str, default: str) -> str:
    where, value = setting(config, name, env, default)
    value = str(value).strip()
    try:
        credentials = urlsplit(value).username is not None or urlsplit(value).password is not None
    except ValueError:
        credentials = False
    if credentials:  # never echoed: the value holds a secret
        raise usage(where, f"the URL holds credentials; give the URL alone, the credentials in {USERNAME_ENV} "
                           f"and {ACCESS_KEY_ENV}")
    return parse_url(where, value)


def parse_capabilities(where: str, raw) -> dict:
    """The user's capabilities: a JSON object, with no credentials in it."""
    if raw in (None, ""):
        return {}
    text = "\n".join(raw) if isinstance(raw, list) else str(raw)
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise usage(where, f"expected a JSON object of capabilities, e.g. "
                           f"'{{\"browserVersion\": \"latest\", \"platformName\": \"Windows 11\"}}' ({exc})") from None
    if not isinstance(value, dict):
        raise usage(where, f"expected a JSON object of capabilities, got {type(value).__name__}")
    found = [k for k in _keys(value) if k.lower() in CREDENTIAL_KEYS]
    if found:
        raise usage(where, f"credentials ({', '.join(sorted(set(found)))}) are not taken from the capabilities; "
                           f"set {USERNAME_ENV} and {ACCESS_KEY_ENV}")
    return value


def _keys(value: dict):
    for key, inner in value.items():
        yield str(key)
        if str(key) in routes.OPTIONS_KEYS and isinstance(inner, dict):
            yield from (str(k) for k in inner)


def resolve(config: pytest.Config) -> LambdaTestSettings:
    hub_url = _url(config, "devsession_lambdatest_hub", "LT_HUB_URL", routes.DEFAULT_HUB_URL)
    api_url = _url(config, "devsession_lambdatest_api_url", "LT_API_URL", routes.DEFAULT_API_URL)
    mobile_api_url = _url(config, "devsession_lambdatest_mobile_api_url", "LT_MOBILE_API_URL",
                          routes.DEFAULT_MOBILE_API_URL)
    capabilities = parse_capabilities(*setting(config, "devsession_lambdatest_capabilities",
                                               "DEVSESSION_LAMBDATEST_CAPABILITIES", ""))
    username = os.environ.get(USERNAME_ENV, "").strip()
    access_key = Secret(os.environ.get(ACCESS_KEY_ENV, "").strip())
    missing = [name for name, value in ((USERNAME_ENV, username), (ACCESS_KEY_ENV, access_key)) if not value]
    if missing:
        raise usage(" and ".join(missing), f"the lambdatest backend needs {' and '.join(missing)} in the "
                                           "environment (credentials are never taken from the command line "
                                           "or an ini file)")
    return LambdaTestSettings(username=username, access_key=access_key, hub_url=hub_url, api_url=api_url,
                              mobile_api_url=mobile_api_url, capabilities=capabilities)
