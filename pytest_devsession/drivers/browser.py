"""A headless Chromium driven by Selenium, optionally routed through a capturing proxy."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from ..settings import DEFAULT_VIDEO_SIZE as DEFAULT_WINDOW_SIZE

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
DRIVER_NAMES = ("chromedriver",)
BLANK_PAGE = "about:blank"
# Where Chromium and chromedriver start: replaced by BLANK_PAGE before anything is recorded.
START_PAGES = ("chrome://", "data:,")
INSTALL_HINT = ("run `python -m pytest_devsession setup` (it installs Chromium and chromedriver), or install them "
                "with your package manager, e.g. `apt-get install chromium chromium-driver`")

BASE_ARGS = (
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # QUIC would go around an HTTP proxy.
    "--disable-quic",
)


class DevsessionChrome(webdriver.Chrome):
    """``webdriver.Chrome`` that removes its own temporary profile folder on ``quit()``."""

    user_data_dir: str | None = None

    def quit(self) -> None:
        try:
            super().quit()
        finally:
            if self.user_data_dir:
                shutil.rmtree(self.user_data_dir, ignore_errors=True)


def find_chromium() -> tuple[str | None, str | None]:
    """(browser binary, chromedriver) found on PATH under their usual names; None for what is missing."""
    return _which(BROWSER_NAMES), _which(DRIVER_NAMES)


def chrome_options(
    proxy_url: str | None,
    ca_cert_path: str | os.PathLike[str] | None = None,
    headless: bool = True,
    extra_args: Iterable[str] = (),
    window_size: tuple[int, int] | None = DEFAULT_WINDOW_SIZE,
) -> webdriver.ChromeOptions:
    """Options for a throwaway Chromium; with a proxy, loopback traffic goes through it too.

    Certificates: with ``ca_cert_path`` Chromium accepts a certificate when the CA's
    public key is among the keys of the certificates the server sends
    (``--ignore-certificate-errors-spki-list``; on Linux Chromium trusts a CA file only
    through an NSS database). That holds for mitmproxy, whose generated certificates
    reuse its CA's key, and for servers that send the CA in their chain; not for leaf
    certificates with their own key sent without the CA. Without ``ca_cert_path`` but
    with a proxy, every certificate error is ignored (``--ignore-certificate-errors``).
    Without both, certificates are checked as usual.
    """
    options = webdriver.ChromeOptions()
    if headless:
        options.add_argument("--headless=new")
    for arg in BASE_ARGS:
        options.add_argument(arg)
    if window_size:
        options.add_argument(f"--window-size={window_size[0]},{window_size[1]}")
    if proxy_url:
        options.add_argument(f"--proxy-server={proxy_url}")
        # Without <-loopback> Chromium sends localhost and 127.0.0.1 around the proxy.
        options.add_argument("--proxy-bypass-list=<-loopback>")
    if ca_cert_path is not None:
        options.add_argument(f"--ignore-certificate-errors-spki-list={spki_hash(ca_cert_path)}")
    elif proxy_url:
        options.add_argument("--ignore-certificate-errors")
    for arg in extra_args:
        options.add_argument(arg)
    return options


def start_chrome(
    proxy_url: str | None = None,
    ca_cert_path: str | os.PathLike[str] | None = None,
    headless: bool = True,
    chromedriver: str | None = None,
    binary: str | None = None,
    extra_args: Iterable[str] = (),
    window_size: tuple[int, int] | None = DEFAULT_WINDOW_SIZE,
) -> DevsessionChrome:
    """Start Chromium on a blank page in a fresh temporary profile, removed again by ``quit()``.

    A driver that is never quit leaves its profile behind (``devsession-chrome-*``
    in the temporary folder) and its browser running: quit it in a ``finally``.

    ``chromedriver`` and ``binary`` default to what :func:`find_chromium` finds; the
    driver is never downloaded (Selenium Manager is not used).
    """
    found_binary, found_driver = find_chromium()
    binary = binary or found_binary
    # Checked here: given a path that is not there, Selenium would try Selenium Manager.
    resolved = shutil.which(chromedriver or found_driver or DRIVER_NAMES[0])
    if not resolved:
        raise FileNotFoundError(f"chromedriver {chromedriver or 'on PATH'} not found: {INSTALL_HINT}")
    options = chrome_options(proxy_url, ca_cert_path, headless, extra_args, window_size)
    if binary:
        options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="devsession-chrome-")
    options.add_argument(f"--user-data-dir={profile}")
    try:
        driver = DevsessionChrome(service=Service(resolved), options=options)
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver.user_data_dir = profile
    try:
        # Chromium opens on its New Tab page: a recording starts on a blank page instead.
        driver.get(BLANK_PAGE)
        if window_size:
            fit_viewport(driver, window_size)
    except BaseException:
        driver.quit()
        raise
    return driver


def fit_viewport(driver: webdriver.Chrome, size: tuple[int, int]) -> None:
    """Resize the window so that the page itself (not the window) is ``size``: headless
    Chromium still reserves room for its toolbars."""
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    if tuple(inner) != tuple(size):
        driver.set_window_size(width + size[0] - inner[0], height + size[1] - inner[1])


def debugger_address(driver: webdriver.Chrome) -> str:
    """``host:port`` of the browser's DevTools endpoint, as chromedriver reports it."""
    address = (driver.capabilities.get("goog:chromeOptions") or {}).get("debuggerAddress")
    if not address:
        raise RuntimeError("chromedriver reported no goog:chromeOptions.debuggerAddress")
    return address


def spki_hash(cert_path: str | os.PathLike[str]) -> str:
    """Base64 SHA-256 of a PEM or DER certificate's SubjectPublicKeyInfo, as Chromium pins it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = Path(cert_path).read_bytes()
    cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def _which(names: Iterable[str]) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None
