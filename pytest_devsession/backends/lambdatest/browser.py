"""A browser at LambdaTest's hub, its capabilities, and the access key kept out of every message.

The hub takes the credentials as HTTP Basic auth. Selenium is given them through its ``ClientConfig``
(never in the hub URL, which Selenium logs at DEBUG and warns about); with a Selenium too old for
that, they go in the URL. Either way an exception raised while the driver starts is replaced by one
whose text has the key masked, with no chained cause that would repeat it.
"""
from __future__ import annotations

import base64
import copy
import warnings
from urllib.parse import quote, urlsplit, urlunsplit

from . import routes

MASK = "***"


def secret_forms(username: str, key: str) -> tuple[str, ...]:
    """Every form in which the key could show: as is, URL-quoted, in ``user:key@``, in a Basic header."""
    if not key:
        return ()
    pairs = (f"{username}:{key}", f"{quote(username, safe='')}:{quote(key, safe='')}")
    forms = {key, quote(key, safe=""), *pairs,
             *(base64.b64encode(pair.encode()).decode() for pair in pairs)}
    return tuple(sorted(forms, key=len, reverse=True))  # the longest first: user:key before key


def mask(text: str, forms: tuple[str, ...]) -> str:
    for form in forms:
        text = text.replace(form, MASK)
    return text


class RemoteBrowserError(Exception):
    """A browser could not be started at the hub; the text is the original's, the access key masked."""


def capabilities(user: dict, build: str, name: str) -> dict:
    """A Chrome's W3C capabilities for one test: LambdaTest's options (build, name, video, the network
    log and its full HAR, the console log) with the user's merged over them.

    The user's W3C keys and extension keys (with a ``:``) stay at the top level; ``LT:Options`` (any
    case) is merged into LambdaTest's options, and so is any other key.
    """
    options: dict = {"build": build, "name": name, "video": True, "network": True, "network.full.har": True,
                     "console": True}
    top: dict = {"browserName": "chrome"}
    for key, value in copy.deepcopy(user).items():
        if key.lower() == routes.OPTIONS_KEY.lower() and isinstance(value, dict):
            options.update(value)
        elif key in routes.W3C_CAPABILITIES or ":" in key:
            top[key] = value
        else:
            options[key] = value
    return {**top, routes.OPTIONS_KEY: options}


def lt_options(capabilities: dict) -> dict | None:
    """LambdaTest's options in a set of capabilities, whichever case names them; None without any."""
    for key, value in (capabilities or {}).items():
        if isinstance(key, str) and key.lower() == routes.OPTIONS_KEY.lower() and isinstance(value, dict):
            return value
    return None


def _client_config(hub_url: str, username: str, key: str):
    """Selenium's ClientConfig with Basic auth, or None when this Selenium has none that takes it."""
    try:
        from selenium.webdriver.remote.client_config import ClientConfig

        return ClientConfig(remote_server_addr=hub_url, username=username, password=key)
    except (ImportError, TypeError):
        return None


def _with_credentials(hub_url: str, username: str, key: str) -> str:
    parts = urlsplit(hub_url)
    netloc = f"{quote(username, safe='')}:{quote(key, safe='')}@{parts.netloc}"
    return urlunsplit(parts._replace(netloc=netloc))


def start_remote_chrome(hub_url: str, username: str, secret, caps: dict, window_size: tuple[int, int] | None):
    """A started ``webdriver.Remote`` Chrome at ``hub_url``; any failure is a ``RemoteBrowserError``
    whose text is the original's with the key masked, and no chained cause."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    if window_size:
        options.add_argument(f"--window-size={window_size[0]},{window_size[1]}")
    for name, value in caps.items():
        options.set_capability(name, value)
    forms = secret_forms(username, secret.reveal())
    error: BaseException | None = None
    try:
        config = _client_config(hub_url, username, secret.reveal())
        with warnings.catch_warnings():
            # Only for a Selenium without ClientConfig auth, which warns about the URL's credentials.
            warnings.filterwarnings("ignore", message="Embedding username and password in URL")
            if config is not None:
                driver = webdriver.Remote(command_executor=hub_url, options=options, client_config=config)
            else:
                driver = webdriver.Remote(command_executor=_with_credentials(hub_url, username, secret.reveal()),
                                          options=options)
    except Exception as exc:  # noqa: BLE001 - every failure is remade without the key
        error = masked_error(exc, forms)
    if error is not None:
        raise error
    return driver


def masked_error(exc: BaseException, forms: tuple[str, ...]) -> BaseException:
    """``exc`` remade with the key masked in its text and without its cause, context or traceback."""
    text = mask(f"{type(exc).__name__}: {exc}", forms)
    error = RemoteBrowserError(f"cannot start a browser at LambdaTest's hub: {text}")
    error.__cause__ = None
    error.__suppress_context__ = True
    return error
