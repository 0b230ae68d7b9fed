"""HeadSpin's settings section: its API and UI, and the token (from the environment only)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pytest

from ...settings import Secret, Section, parse_url, setting, usage

TOKEN_ENV = "HEADSPIN_API_TOKEN"
DEFAULT_API_URL = "https://api-dev.headspin.io/v0"
DEFAULT_UI_URL = "https://ui-dev.headspin.io"
# ID@HOSTNAME as the device list gives it: ID is an Android device's serial, an iOS device's UDID,
# any other kind's own id (no space, @, slash or comma: DEVSESSION_DEVICES is comma separated).
DEVICE_ADDRESS = re.compile(r"^[^\s@/?#,]+@[A-Za-z0-9._-]+(:[0-9]+)?$")


@dataclass(frozen=True)
class HeadSpinSettings(Section):
    api_url: str = DEFAULT_API_URL
    ui_url: str = DEFAULT_UI_URL
    token: Secret = field(default_factory=lambda: Secret(""), repr=False)

    device_form = "ID@HOSTNAME"

    def check_device(self, setting: str, address: str) -> str:
        if not DEVICE_ADDRESS.match(address):
            raise usage(setting, f"malformed device address {address!r}; expected ID@HOSTNAME as HeadSpin's "
                                 "device list gives it (ID: an Android device's serial, an iOS device's UDID), "
                                 "for example 2124d0e6@proxy-us-mv-1.headspin.io")
        return address


def resolve(config: pytest.Config) -> HeadSpinSettings:
    api_url = parse_url(*setting(config, "devsession_api_url", "HEADSPIN_API_URL", DEFAULT_API_URL))
    ui_url = parse_url(*setting(config, "devsession_ui_url", "HEADSPIN_UI_URL", DEFAULT_UI_URL))
    token = Secret(os.environ.get(TOKEN_ENV, "").strip())
    if not token:
        raise usage(TOKEN_ENV, "the HeadSpin backend needs an API token in the environment variable "
                               f"{TOKEN_ENV} (it is never taken from the command line or an ini file)")
    return HeadSpinSettings(api_url=api_url, ui_url=ui_url, token=token)
