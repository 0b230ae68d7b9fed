"""The local backend's hooks: its options, its settings section and the backend, under the name ``local``."""
from __future__ import annotations

import pytest

NAME = "local"
active_key = pytest.StashKey[bool]()  # the run captures with this backend


def add_options(parser: pytest.Parser) -> None:
    """Its options, declared at every pytest start by the main plugin (this module is registered with --devsession)."""
    group = parser.getgroup("devsession")
    group.addoption("--devsession-local-url", dest="devsession_local_url", metavar="URL",
                    help="local backend: drive this capture server (Sessions API) instead of the embedded one "
                         "(env DEVSESSION_LOCAL_URL; its token from DEVSESSION_LOCAL_TOKEN)")
    group.addoption("--devsession-local-proxy", dest="devsession_local_proxy", metavar="URL",
                    help="local backend: the proxy of the server given by --devsession-local-url")
    group.addoption("--devsession-appium-url", dest="devsession_appium_url", metavar="URL",
                    help="local backend: a running Appium server; without it the plugin starts one when a test asks")
    group.addoption("--devsession-video-size", dest="devsession_video_size", metavar="WxH",
                    help="local backend: browser window and video frame size (default 1280x720; "
                         "env DEVSESSION_VIDEO_SIZE, ini devsession_video_size)")
    parser.addini("devsession_local_url", "local backend: URL of a capture server's Sessions API")
    parser.addini("devsession_local_proxy", "local backend: proxy URL of that server")
    parser.addini("devsession_appium_url", "local backend: URL of a running Appium server")
    parser.addini("devsession_video_size", "local backend: browser window and video frame size, WIDTHxHEIGHT")


def pytest_devsession_backend_names(config):
    return [NAME]


@pytest.hookimpl(trylast=True)
def pytest_devsession_backend_settings(name, config):
    if name != NAME:
        return None
    from .settings import resolve

    section = resolve(config)
    config.stash[active_key] = True
    return section


@pytest.hookimpl(trylast=True)
def pytest_devsession_make_backend(settings, config):
    if settings.backend == NAME:
        from .backend import LocalBackend

        return LocalBackend(settings, config)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.stash.get(active_key, False):
        return
    from ...services.capture.proxy import MITMPROXY_WARNING_FILTERS

    # mitmproxy warns on its own thread for every intercepted TLS connection;
    # under -W error that would abort the handshake. Only item marks come last.
    for item in items:
        for entry in MITMPROXY_WARNING_FILTERS:
            item.add_marker(pytest.mark.filterwarnings(entry))
