"""Settings resolved once, CLI over environment over ini, into a frozen value.

Every validator raises ``pytest.UsageError`` naming the setting and what it
accepts, so bad input is refused before any device is locked.
"""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BACKENDS = ("local", "headspin")
DOWNLOAD_MODES = ("on", "off", "only-on-failure")
CAPTURE_MODES = ("all", "marked")
# HeadSpin's Session API: the extensions a session's data can be downloaded as.
ARTIFACT_EXTENSIONS = (
    "mp4", "har", "mar", "csv", "pcap", "sslkeylog.txt",
    "appium.log", "appium.log.gz", "selenium.log", "selenium.log.gz",
    "device.log", "device.log.gz", "jsconsole.log", "jsconsole.log.gz",
)
DEFAULT_ARTIFACTS = ("har", "mp4")
# What the embedded local backend can produce (the rest needs HeadSpin's capture), and what it
# downloads by default: locally an artifact a test cannot have (a video without a browser) is simply absent.
LOCAL_ARTIFACTS = ("har", "mp4", "jsconsole.log", "appium.log", "device.log")
DEFAULT_API_URL = "https://api-dev.headspin.io/v0"
DEFAULT_UI_URL = "https://ui-dev.headspin.io"
TOKEN_ENV = "HEADSPIN_API_TOKEN"
DEVICE_ADDRESS = re.compile(r"^[A-Za-z0-9._:-]+@[A-Za-z0-9.-]+$")
LOCAL_DEVICE = re.compile(r"^(local|adb:[A-Za-z0-9._:-]+)$")
ANY_DEVICE = re.compile(f"{DEVICE_ADDRESS.pattern}|{LOCAL_DEVICE.pattern}")
LOCAL_TOKEN_ENV = "DEVSESSION_LOCAL_TOKEN"
DEFAULT_VIDEO_SIZE = (1280, 720)
# The [local] extra, which the embedded capture server needs: (import name, distribution name).
LOCAL_EXTRA = (
    ("mitmproxy", "mitmproxy"), ("selenium", "selenium"),
    ("websocket", "websocket-client"), ("imageio_ffmpeg", "imageio-ffmpeg"),
)


class Secret:
    """A value that never shows itself in repr, str or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    enabled: bool = False
    backend: str = "local"
    api_url: str = DEFAULT_API_URL
    ui_url: str = DEFAULT_UI_URL
    token: Secret = field(default_factory=lambda: Secret(""), repr=False)
    devices: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = DEFAULT_ARTIFACTS
    artifacts_dir: Path = Path("devsession-artifacts")
    download: str = "on"
    capture: str = "all"
    userflow: str | None = None
    ready_timeout: float = 180.0
    build_id: str | None = None
    local_url: str | None = None
    local_proxy: str | None = None
    local_token: Secret = field(default_factory=lambda: Secret(""), repr=False)
    appium_url: str | None = None
    store_dir: Path = Path(".devsession")
    har_raw: bool = False
    redact: tuple[str, ...] = ()
    video_size: tuple[int, int] = DEFAULT_VIDEO_SIZE
    background: int = 4  # threads for the steps after a test that need no device; 0: in the test's teardown
    cleanup: bool = False
    flush: bool = False


def _setting(config: pytest.Config, name: str, env: str, default=None) -> tuple[str, object]:
    """CLI over environment over ini for the option and ini setting ``name``.

    Returns (where the value came from, the value), so that an error names the
    setting the user actually set.
    """
    value = config.getoption(name, default=None)
    if value not in (None, [], ""):
        return "--" + name.replace("_", "-"), value
    if os.environ.get(env):
        return env, os.environ[env]
    value = config.getini(name)
    if value not in (None, [], ""):
        return f"{name} (ini)", value
    return "--" + name.replace("_", "-"), default


def _flag(config: pytest.Config, option: str, env: str) -> bool:
    if config.getoption(option, default=False):
        return True
    raw = os.environ.get(env) or config.getini(option)
    if isinstance(raw, bool):
        return raw
    value = str(raw or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise _usage(env if os.environ.get(env) else option + " (ini)", f"got {raw!r}; accepted values: true, false")


def _usage(setting: str, message: str) -> pytest.UsageError:
    return pytest.UsageError(f"pytest-devsession: {setting}: {message}")


def parse_choice(setting: str, value: str, choices: tuple[str, ...]) -> str:
    value = value.strip().lower()
    if value not in choices:
        raise _usage(setting, f"got {value!r}; accepted values: {', '.join(choices)}")
    return value


def parse_artifacts(setting: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part for chunk in value.splitlines() for part in chunk.split(",")]
    else:
        items = [part for chunk in value for part in str(chunk).split(",")]
    result: list[str] = []
    for item in (i.strip().lstrip(".").lower() for i in items):
        if not item:
            continue
        if item not in ARTIFACT_EXTENSIONS:
            raise _usage(
                setting,
                f"unknown artifact extension {item!r}; accepted: {', '.join(ARTIFACT_EXTENSIONS)}",
            )
        if item not in result:
            result.append(item)
    return tuple(result)


def parse_device(setting: str, value: str, backend: str = "headspin") -> str:
    value = value.strip()
    if backend == "local":
        if not LOCAL_DEVICE.match(value):
            raise _usage(setting, f"malformed device {value!r} for the local backend; expected 'local' "
                                  "(this machine's browsers and Appium) or adb:SERIAL (an Android device)")
    elif not DEVICE_ADDRESS.match(value):
        raise _usage(
            setting,
            f"malformed device address {value!r}; expected SERIAL@HOSTNAME, "
            "for example 2124d0e6@proxy-us-mv-1.headspin.io",
        )
    return value


def parse_url(setting: str, value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", value):
        raise _usage(setting, f"got {value!r}; expected an http:// or https:// URL")
    return value


def parse_timeout(setting: str, value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise _usage(setting, f"got {value!r}; expected a number of seconds greater than 0") from None
    if not seconds > 0:
        raise _usage(setting, f"got {value!r}; expected a number of seconds greater than 0")
    return seconds


def parse_count(setting: str, value, most: int = 64) -> int:
    try:
        count = int(str(value).strip())
    except (TypeError, ValueError):
        raise _usage(setting, f"got {value!r}; expected a whole number from 0 to {most}") from None
    if not 0 <= count <= most:
        raise _usage(setting, f"got {value!r}; expected a whole number from 0 to {most}")
    return count


def missing_packages(packages: tuple[tuple[str, str], ...]) -> list[str]:
    """The distribution names of ``(import name, distribution name)`` pairs that cannot be
    imported; looks without importing (an import of mitmproxy alone costs 600 ms)."""
    missing = []
    for module, distribution in packages:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(distribution)
    return missing


def parse_size(setting: str, value) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(value))
    width, height = (int(match[1]), int(match[2])) if match else (0, 0)
    if not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise _usage(setting, f"got {value!r}; expected WIDTHxHEIGHT in pixels, e.g. 1280x720 "
                              "(16 to 7680 wide, 16 to 4320 high)")
    return width, height


def _devices(config: pytest.Config, backend: str) -> tuple[str, ...]:
    raw = config.getoption("devsession_devices", default=None) or []
    setting = "--devsession-device"
    if not raw and os.environ.get("DEVSESSION_DEVICES"):
        raw, setting = os.environ["DEVSESSION_DEVICES"].replace(",", "\n").splitlines(), "DEVSESSION_DEVICES"
    if not raw:
        raw, setting = config.getini("devsession_devices"), "devsession_devices (ini)"
    devices: list[str] = []
    for item in raw:
        if item.strip() and item.strip() not in devices:
            devices.append(parse_device(setting, item, backend))
    return tuple(devices)


def resolve(config: pytest.Config) -> Settings:
    """Read every setting once; raise UsageError on the first bad one."""
    if not config.getoption("devsession", default=False):
        return Settings(enabled=False)

    backend_from, backend = _setting(config, "devsession_backend", "DEVSESSION_BACKEND", "local")
    backend = parse_choice(backend_from, backend, BACKENDS)
    api_url = parse_url(*_setting(config, "devsession_api_url", "HEADSPIN_API_URL", DEFAULT_API_URL))
    ui_url = parse_url(*_setting(config, "devsession_ui_url", "HEADSPIN_UI_URL", DEFAULT_UI_URL))
    token = Secret(os.environ.get(TOKEN_ENV, "").strip() if backend == "headspin" else "")
    if backend == "headspin" and not token:
        raise _usage(
            TOKEN_ENV,
            "the HeadSpin backend needs an API token in the environment variable "
            f"{TOKEN_ENV} (it is never taken from the command line or an ini file)",
        )
    devices = _devices(config, backend) or (("local",) if backend == "local" else ())
    cleanup = bool(config.getoption("devsession_cleanup", default=False))
    flush = bool(config.getoption("devsession_flush", default=False))
    if backend == "headspin" and not devices and not (cleanup or flush):
        raise _usage(
            "--devsession-device",
            "the HeadSpin backend needs at least one device: --devsession-device SERIAL@HOSTNAME "
            "(repeatable), DEVSESSION_DEVICES, or the ini setting devsession_devices (one per line)",
        )
    artifacts_from, artifacts_value = _setting(config, "devsession_artifacts", "DEVSESSION_ARTIFACTS")
    artifacts = parse_artifacts(artifacts_from, artifacts_value) if artifacts_value is not None else (
        LOCAL_ARTIFACTS if backend == "local" else DEFAULT_ARTIFACTS)
    if backend == "local":
        unsupported = [a for a in artifacts if a not in LOCAL_ARTIFACTS]
        if unsupported:
            raise _usage(artifacts_from, f"{', '.join(unsupported)} cannot be captured by the local backend; "
                                         f"accepted: {', '.join(LOCAL_ARTIFACTS)}")
    userflow_from, userflow = _setting(config, "devsession_userflow", "DEVSESSION_USERFLOW")
    if userflow is not None and not str(userflow).strip():
        raise _usage(userflow_from, "expected a non-empty user flow name")
    local_url = _setting(config, "devsession_local_url", "DEVSESSION_LOCAL_URL")
    if backend == "local" and not local_url[1] and not (cleanup or flush):
        missing = missing_packages(LOCAL_EXTRA)
        if missing:
            raise _usage(backend_from, "the local backend's embedded capture server needs packages that are "
                                       f"not installed ({', '.join(missing)}): pip install 'pytest-devsession[local]'"
                                       "; or use --devsession-backend headspin (or --devsession-local-url for a "
                                       "capture server of your own)")
    local_proxy = _setting(config, "devsession_local_proxy", "DEVSESSION_LOCAL_PROXY")
    appium_url = _setting(config, "devsession_appium_url", "DEVSESSION_APPIUM_URL")
    redact = str(_setting(config, "devsession_redact", "DEVSESSION_REDACT", "")[1])
    build_id = next((os.environ[k] for k in ("DEVSESSION_BUILD_ID", "BUILD_ID", "CI_JOB_ID", "GITHUB_RUN_ID", "BUILD_BUILDID") if os.environ.get(k)), None)
    return Settings(
        enabled=True,
        backend=backend,
        api_url=api_url,
        ui_url=ui_url,
        token=token,
        devices=devices,
        artifacts=artifacts,
        artifacts_dir=_path(config, _setting(config, "devsession_artifacts_dir", "DEVSESSION_ARTIFACTS_DIR",
                                             "devsession-artifacts")[1]),
        download=parse_choice(*_setting(config, "devsession_download", "DEVSESSION_DOWNLOAD", "on"), DOWNLOAD_MODES),
        capture=parse_choice("devsession_capture (ini)", config.getini("devsession_capture") or "all", CAPTURE_MODES),
        userflow=str(userflow).strip() if userflow else None,
        ready_timeout=parse_timeout(*_setting(config, "devsession_ready_timeout", "DEVSESSION_READY_TIMEOUT", 180)),
        build_id=build_id,
        local_url=parse_url(*local_url) if local_url[1] else None,
        local_proxy=parse_url(*local_proxy) if local_proxy[1] else None,
        local_token=Secret(os.environ.get(LOCAL_TOKEN_ENV, "").strip()),
        appium_url=parse_url(*appium_url) if appium_url[1] else None,
        store_dir=_path(config, _setting(config, "devsession_store", "DEVSESSION_STORE", ".devsession")[1]),
        har_raw=_flag(config, "devsession_har_raw", "DEVSESSION_HAR_RAW"),
        video_size=parse_size(*_setting(config, "devsession_video_size", "DEVSESSION_VIDEO_SIZE",
                                        "{}x{}".format(*DEFAULT_VIDEO_SIZE))),
        background=parse_count(*_setting(config, "devsession_background", "DEVSESSION_BACKGROUND", 4)),
        redact=tuple(n.strip() for n in redact.replace("\n", ",").split(",") if n.strip()),
        cleanup=cleanup,
        flush=flush,
    )


def _path(config: pytest.Config, value) -> Path:
    """A folder setting, relative to where pytest was started."""
    path = Path(str(value))
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path
