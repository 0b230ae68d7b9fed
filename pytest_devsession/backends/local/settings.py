"""The local backend's settings section: an external capture server, an Appium server, the video size."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pytest

from ...settings import (
    DEFAULT_VIDEO_SIZE,
    Secret,
    Section,
    missing_packages,
    parse_size,
    parse_url,
    setting,
    usage,
)

# What it can produce (the rest needs HeadSpin's capture), and what it downloads by default: an
# artifact a test cannot have (a video without a browser) is simply absent (LOCAL_ARTIFACTS).
from . import LOCAL_ARTIFACTS  # noqa: F401 - offered here as before

TOKEN_ENV = "DEVSESSION_LOCAL_TOKEN"
LOCAL_DEVICE = re.compile(r"^(local|adb:[A-Za-z0-9._:-]+)$")
# The [local] extra, which the embedded capture server needs: (import name, distribution name).
LOCAL_EXTRA = (
    ("mitmproxy", "mitmproxy"), ("selenium", "selenium"),
    ("websocket", "websocket-client"), ("imageio_ffmpeg", "imageio-ffmpeg"),
)


@dataclass(frozen=True)
class LocalSettings(Section):
    local_url: str | None = None  # a capture server to drive instead of the embedded one
    local_proxy: str | None = None  # that server's proxy
    local_token: Secret = field(default_factory=lambda: Secret(""), repr=False)
    appium_url: str | None = None  # a running Appium server
    video_size: tuple[int, int] = DEFAULT_VIDEO_SIZE

    default_devices = ("local",)
    device_form = "local|adb:SERIAL"
    default_artifacts = LOCAL_ARTIFACTS
    accepted_artifacts = LOCAL_ARTIFACTS

    def check_device(self, setting: str, address: str) -> str:
        if not LOCAL_DEVICE.match(address):
            raise usage(setting, f"malformed device {address!r} for the local backend; expected 'local' "
                                 "(this machine's browsers and Appium) or adb:SERIAL (an Android device)")
        return address


def resolve(config: pytest.Config) -> LocalSettings:
    local_url = setting(config, "devsession_local_url", "DEVSESSION_LOCAL_URL")
    maintenance = config.getoption("devsession_cleanup", default=False) or \
        config.getoption("devsession_flush", default=False)
    if not local_url[1] and not maintenance:
        missing = missing_packages(LOCAL_EXTRA)
        if missing:
            backend_from = setting(config, "devsession_backend", "DEVSESSION_BACKEND", "local")[0]
            raise usage(backend_from, "the local backend's embedded capture server needs packages that are "
                                      f"not installed ({', '.join(missing)}): pip install 'pytest-devsession[local]'"
                                      "; or use --devsession-backend headspin (or --devsession-local-url for a "
                                      "capture server of your own)")
    local_proxy = setting(config, "devsession_local_proxy", "DEVSESSION_LOCAL_PROXY")
    appium_url = setting(config, "devsession_appium_url", "DEVSESSION_APPIUM_URL")
    return LocalSettings(
        local_url=parse_url(*local_url) if local_url[1] else None,
        local_proxy=parse_url(*local_proxy) if local_proxy[1] else None,
        local_token=Secret(os.environ.get(TOKEN_ENV, "").strip()),
        appium_url=parse_url(*appium_url) if appium_url[1] else None,
        video_size=parse_size(*setting(config, "devsession_video_size", "DEVSESSION_VIDEO_SIZE",
                                       "{}x{}".format(*DEFAULT_VIDEO_SIZE))),
    )
