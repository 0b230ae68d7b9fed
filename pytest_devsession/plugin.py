"""Wiring only: the common options, ini settings, markers, hookspecs, the built-in backends' plugins,
and the controller.

Nothing heavy is imported here: without ``--devsession`` the plugin makes no
network call and changes nothing.
"""
from __future__ import annotations

import pytest

from . import hookspecs
from .names import ARTIFACT_EXTENSIONS, DEFAULT_ARTIFACTS, DEFAULT_VIDEO_SIZE, DOWNLOAD_MODES, SCOPES

CONTROLLER_NAME = "devsession-controller"
# The built-in backends and DevRev, plugins like any other (each: its settings section and factory), except
# that their options are declared from here (``add_options``) and they are registered only with --devsession:
# a pytest run without it imports four small modules and registers nothing more.
BUILTIN = ("pytest_devsession.backends.headspin.plugin", "pytest_devsession.backends.local.plugin",
           "pytest_devsession.backends.lambdatest.plugin", "pytest_devsession.devrev.plugin")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    import importlib

    from .backends.local import LOCAL_ARTIFACTS

    group = parser.getgroup("devsession", "capture sessions on real devices and browsers")
    group.addoption("--devsession", action="store_true", default=False,
                    help="run every test inside a capture session and keep its evidence")
    group.addoption("--devsession-backend", dest="devsession_backend", metavar="NAME",
                    help="capture service: a registered backend's name, local (default), headspin, lambdatest or "
                         "one a plugin adds (env DEVSESSION_BACKEND, ini devsession_backend)")
    group.addoption("--devsession-device", dest="devsession_devices", action="append", metavar="ADDRESS",
                    help="local backend: local (default: this machine's browsers and Appium) or adb:SERIAL; "
                         "HeadSpin: ID@HOSTNAME; LambdaTest: lambdatest (its grid, no device to hold). Repeat "
                         "for a pool shared by the xdist workers")
    group.addoption("--devsession-artifacts", dest="devsession_artifacts", metavar="EXTS",
                    help=f"comma-separated artifacts per session, by default the backend's. Local backend: default "
                         f"and accepted {','.join(LOCAL_ARTIFACTS)}; HeadSpin: default {','.join(DEFAULT_ARTIFACTS)}, "
                         f"any of: {', '.join(ARTIFACT_EXTENSIONS)}")
    group.addoption("--devsession-artifacts-dir", dest="devsession_artifacts_dir", metavar="DIR",
                    help="where each test's folder and manifest.json go (default devsession-artifacts)")
    group.addoption("--devsession-download", dest="devsession_download", metavar="MODE",
                    help=f"when to download artifacts: {', '.join(DOWNLOAD_MODES)} (default on)")
    group.addoption("--devsession-userflow", dest="devsession_userflow", metavar="NAME",
                    help="user flow for tests without a userflow marker")
    group.addoption("--devsession-store", dest="devsession_store", metavar="DIR",
                    help="folder of the run's leases, journal and spool, and the local backend's user flow "
                         "store (default .devsession)")
    group.addoption("--devsession-har-raw", dest="devsession_har_raw", action="store_true", default=False,
                    help="keep HAR files as captured, secrets included (default: redact Authorization, cookies, "
                         "API keys and tokens in headers, query strings and form fields)")
    group.addoption("--devsession-redact", dest="devsession_redact", metavar="NAMES",
                    help="more header/parameter names to redact in HAR files, comma-separated")
    group.addoption("--devsession-background", dest="devsession_background", metavar="N",
                    help="threads that name the session, send its status and measurements and download its "
                         "artifacts while the next test runs (default 4; 0: in the test's teardown; "
                         "env DEVSESSION_BACKGROUND, ini devsession_background)")
    group.addoption("--devsession-build", dest="devsession_build", metavar="NAME",
                    help="the run's build name at the service (env DEVSESSION_BUILD, ini devsession_build; default "
                         "the CI's build id, else when the run began): a tag on every session, LambdaTest's build")
    group.addoption("--devsession-scope", dest="devsession_scope", metavar="SCOPE",
                    help=f"one capture session around each {', '.join(SCOPES[:-1])} or the whole {SCOPES[-1]} "
                         "(default test; env DEVSESSION_SCOPE, ini devsession_scope); each test is still its own "
                         "unit of evidence: a label, a user flow event, its own HAR")
    group.addoption("--devsession-cleanup", dest="devsession_cleanup", action="store_true", default=False,
                    help="release devices and captures left by runs that died, then exit")
    group.addoption("--devsession-flush", dest="devsession_flush", action="store_true", default=False,
                    help="deliver statuses and measurements waiting in the spool, then exit")
    group.addoption("--devsession-ready-timeout", dest="devsession_ready_timeout", metavar="SECONDS",
                    help="deadline for a capture to become ready or complete (default 180)")

    parser.addini("devsession_backend", "capture service: local (default), headspin, lambdatest or one a plugin adds")
    parser.addini("devsession_devices", "device addresses, one per line", type="linelist")
    parser.addini("devsession_artifacts", "comma-separated artifact extensions")
    parser.addini("devsession_artifacts_dir", "folder for artifacts and manifest.json")
    parser.addini("devsession_download", "on, off or only-on-failure")
    parser.addini("devsession_capture", "all (default) or marked: capture only tests with a userflow or devsession "
                                        "marker or the devsession fixture")
    parser.addini("devsession_userflow", "user flow for tests without a userflow marker")
    parser.addini("devsession_store", "folder of the leases, journal, spool and local user flow store")
    parser.addini("devsession_har_raw", "keep HAR files unredacted (true/false)")
    parser.addini("devsession_redact", "more names to redact in HAR files, one per line or comma-separated")
    parser.addini("devsession_background", "threads for the steps after a test that need no device (default 4)")
    parser.addini("devsession_build", "the run's build name at the service")
    parser.addini("devsession_scope", "test (default), class, module or session: what one capture is opened around")
    parser.addini("devsession_ready_timeout", "deadline in seconds for capture start and completion")
    for name in BUILTIN:  # each built-in backend's own options
        importlib.import_module(name).add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "userflow(name, description=None): the test's capture session joins this HeadSpin user flow",
    )
    config.addinivalue_line(
        "markers",
        "devsession(capture=True, device=None, artifacts=None, mitm_ignore=None, "
        "network_keep_in_session_patterns=None, scope=None): per-test capture settings (scope: on a module "
        "or class, one capture around its tests: test, class, module or session)",
    )
    if not config.getoption("devsession", default=False):
        return  # off: nothing more is imported or done
    import importlib

    for name in BUILTIN:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.register(importlib.import_module(name), name)
    from .settings import resolve

    settings = resolve(config)
    from .controller import Controller

    controller = Controller(config, settings)
    config.pluginmanager.register(controller, CONTROLLER_NAME)
    if getattr(config.option, "allure_report_dir", None):  # allure-pytest is writing results (--alluredir)
        from .reporting.allure import PLUGIN_NAME, AllureEvidence

        config.pluginmanager.register(AllureEvidence(), PLUGIN_NAME)


@pytest.fixture
def devsession(request: pytest.FixtureRequest):
    """The test's capture session: ``.session_id``, ``.device_address``, ``.url``,
    ``.artifacts_dir`` and ``.measure(key, value, units=None, type=None)``.

    Without ``--devsession`` it is an inactive handle whose measurements are
    kept but go nowhere, so tests run the same with and without capture.
    """
    from .handle import DevSession, handle_key

    handle = request.node.stash.get(handle_key, None)
    if handle is None:
        handle = DevSession(nodeid=request.node.nodeid)
        request.node.stash[handle_key] = handle
    return handle


def _missing(message: str):
    """Skip when a real part is missing, or fail where it is required (CI)."""
    import os

    if os.environ.get("DEVSESSION_REQUIRE_REAL") == "1":
        pytest.fail(message + " (DEVSESSION_REQUIRE_REAL=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def devsession_chrome(request: pytest.FixtureRequest, devsession):
    """Headless Chromium routed through the capture (loopback included, its CA trusted)
    and attached to the session, like pytest-selenium's ``selenium`` fixture."""
    from .backends.base import RemoteBrowsers

    controller = request.config.pluginmanager.get_plugin(CONTROLLER_NAME)
    settings = getattr(controller, "settings", None)
    size = getattr(getattr(settings, "section", None), "video_size", DEFAULT_VIDEO_SIZE)
    backend = getattr(getattr(controller, "run", None), "backend", None)
    if isinstance(backend, RemoteBrowsers) and devsession.active:
        # A browser of the service's grid (LambdaTest), attached to the test's capture by the backend.
        driver = backend.remote_chrome(devsession.driver_id, request.node.nodeid, size)
        try:
            yield driver
        finally:
            driver.quit()  # always, whatever the outcome: the session ends and its artifacts follow
        return
    from .drivers.browser import find_chromium, start_chrome

    binary, driver_path = find_chromium()
    if not binary or not driver_path:
        _missing("Chromium is not installed: run `python -m pytest_devsession setup` "
                 "(or install chromium and chromedriver with your package manager)")
    driver = start_chrome(proxy_url=devsession.proxy_url, ca_cert_path=devsession.ca_cert_path, window_size=size)
    try:
        devsession.attach(driver)
        yield driver
        devsession.detach(driver)
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def devsession_appium_url(request: pytest.FixtureRequest):
    """URL of a running Appium server: --devsession-appium-url, or one started (and
    stopped) for this run whose log is cut per session into appium.log."""
    controller = request.config.pluginmanager.get_plugin(CONTROLLER_NAME)
    from .backends.base import AppiumProvider

    backend = getattr(getattr(controller, "run", None), "backend", None)
    if isinstance(backend, AppiumProvider):
        try:
            url = backend.appium_url()  # the backend stops the server it starts, and cuts its log
        except FileNotFoundError as exc:
            _missing(str(exc))
        yield url
        return
    from .drivers.appium import INSTALL_HINT, AppiumServer, find_appium

    url = request.config.getoption("devsession_appium_url", default=None)
    if url:
        yield url
        return
    binary = find_appium(request.config.invocation_params.dir)
    if not binary:
        _missing(f"Appium is not installed: {INSTALL_HINT}")
    log = request.config.invocation_params.dir / ".devsession" / "appium-standalone.log"
    with AppiumServer(binary, log_path=log) as server:
        yield server.url
