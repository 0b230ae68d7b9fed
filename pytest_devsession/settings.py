"""Settings resolved once, CLI over environment over ini, into a frozen value.

The common settings are here; each backend resolves its own section (``Section``) through the
``pytest_devsession_backend_settings`` hook. Every validator raises ``pytest.UsageError`` naming the
setting and what it accepts, so bad input is refused before any device is locked.
"""
from __future__ import annotations

import importlib.util
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from .names import (  # noqa: F401 - the names settings has always offered
    ARTIFACT_EXTENSIONS,
    CAPTURE_MODES,
    DEFAULT_ARTIFACTS,
    DEFAULT_VIDEO_SIZE,
    DOWNLOAD_MODES,
    SCOPES,
)

RUN_BUILD_ENV = "DEVSESSION_RUN_BUILD"  # the timestamp build name of a run without one, for its xdist workers
ANY_DEVICE = re.compile(r"^[A-Za-z0-9._:@-]+$")


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


class Section:
    """A backend's own settings, resolved by its plugin (``pytest_devsession_backend_settings``)
    into a frozen dataclass that subclasses this one; the backend reads it as ``settings.section``.

    The class attributes say what the common settings leave to the backend; override them.
    """

    default_devices: ClassVar[tuple[str, ...]] = ()  # the device pool when none is given; (): one is needed
    device_form: ClassVar[str] = "ADDRESS"  # how an address looks, for the message that asks for one
    default_artifacts: ClassVar[tuple[str, ...]] = DEFAULT_ARTIFACTS
    accepted_artifacts: ClassVar[tuple[str, ...]] = ARTIFACT_EXTENSIONS

    def check_device(self, setting: str, address: str) -> str:
        """The address as the backend takes it; raise ``usage(setting, ...)`` when it is malformed."""
        return address


@dataclass(frozen=True)
class Settings:
    enabled: bool = False
    backend: str = "local"
    section: object = None  # the backend's own settings (a Section), None for a backend that has none
    devices: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = DEFAULT_ARTIFACTS
    artifacts_dir: Path = Path("devsession-artifacts")
    download: str = "on"
    capture: str = "all"
    userflow: str | None = None
    ready_timeout: float = 180.0
    build_id: str | None = None
    build_name: str = ""  # the run's build: --devsession-build, else the CI's build id, else when the run began
    store_dir: Path = Path(".devsession")
    har_raw: bool = False
    redact: tuple[str, ...] = ()
    background: int = 4  # threads for the steps after a test that need no device; 0: in the test's teardown
    scope: str = "test"  # what one capture is opened around: a test, a class, a module or the run (SCOPES)
    cleanup: bool = False
    flush: bool = False


def setting(config: pytest.Config, name: str, env: str, default=None) -> tuple[str, object]:
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
    raise usage(env if os.environ.get(env) else option + " (ini)", f"got {raw!r}; accepted values: true, false")


def usage(setting: str, message: str) -> pytest.UsageError:
    return pytest.UsageError(f"pytest-devsession: {setting}: {message}")


def parse_choice(setting: str, value: str, choices: tuple[str, ...]) -> str:
    value = value.strip().lower()
    if value not in choices:
        raise usage(setting, f"got {value!r}; accepted values: {', '.join(choices)}")
    return value


# Artifact names beyond HeadSpin's that the run's backend produces (its section's accepted_artifacts):
# known from the moment the settings are resolved, so that markers accept them too.
_BACKEND_ARTIFACTS: set[str] = set()


def parse_artifacts(setting: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part for chunk in value.splitlines() for part in chunk.split(",")]
    else:
        items = [part for chunk in value for part in str(chunk).split(",")]
    result: list[str] = []
    for item in (i.strip().lstrip(".").lower() for i in items):
        if not item:
            continue
        known = ARTIFACT_EXTENSIONS + tuple(sorted(_BACKEND_ARTIFACTS - set(ARTIFACT_EXTENSIONS)))
        if item not in known:
            raise usage(setting, f"unknown artifact extension {item!r}; accepted: {', '.join(known)}")
        if item not in result:
            result.append(item)
    return tuple(result)


def parse_url(setting: str, value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", value):
        raise usage(setting, f"got {value!r}; expected an http:// or https:// URL")
    return value


def parse_timeout(setting: str, value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise usage(setting, f"got {value!r}; expected a number of seconds greater than 0") from None
    if not seconds > 0:
        raise usage(setting, f"got {value!r}; expected a number of seconds greater than 0")
    return seconds


def parse_count(setting: str, value, most: int = 64) -> int:
    try:
        count = int(str(value).strip())
    except (TypeError, ValueError):
        raise usage(setting, f"got {value!r}; expected a whole number from 0 to {most}") from None
    if not 0 <= count <= most:
        raise usage(setting, f"got {value!r}; expected a whole number from 0 to {most}")
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
        raise usage(setting, f"got {value!r}; expected WIDTHxHEIGHT in pixels, e.g. 1280x720 "
                              "(16 to 7680 wide, 16 to 4320 high)")
    return width, height


def _devices(config: pytest.Config, section: Section) -> tuple[str, ...]:
    raw = config.getoption("devsession_devices", default=None) or []
    setting = "--devsession-device"
    if not raw and os.environ.get("DEVSESSION_DEVICES"):
        raw, setting = os.environ["DEVSESSION_DEVICES"].replace(",", "\n").splitlines(), "DEVSESSION_DEVICES"
    if not raw:
        raw, setting = config.getini("devsession_devices"), "devsession_devices (ini)"
    devices: list[str] = []
    for item in raw:
        if item.strip() and item.strip() not in devices:
            devices.append(section.check_device(setting, item.strip()))
    return tuple(devices)


def backend_names(config: pytest.Config) -> list[str]:
    """The backends the registered plugins provide (``pytest_devsession_backend_names``)."""
    return sorted({name for names in config.hook.pytest_devsession_backend_names(config=config) for name in names})


def resolve(config: pytest.Config) -> Settings:
    """Read every setting once; raise UsageError on the first bad one."""
    if not config.getoption("devsession", default=False):
        return Settings(enabled=False)

    backend_from, backend = setting(config, "devsession_backend", "DEVSESSION_BACKEND", "local")
    backend = str(backend).strip().lower()
    names = backend_names(config)
    if backend not in names:
        raise usage(backend_from, f"no plugin provides the backend {backend!r}; the backends registered: "
                                  f"{', '.join(names) or 'none'}")
    section = config.hook.pytest_devsession_backend_settings(name=backend, config=config)
    rules = section if isinstance(section, Section) else Section()
    cleanup = bool(config.getoption("devsession_cleanup", default=False))
    flush = bool(config.getoption("devsession_flush", default=False))
    devices = _devices(config, rules) or rules.default_devices
    if not devices and not (cleanup or flush):
        raise usage(
            "--devsession-device",
            f"the {backend} backend needs at least one device: --devsession-device {rules.device_form} "
            "(repeatable), DEVSESSION_DEVICES, or the ini setting devsession_devices (one per line)",
        )
    _BACKEND_ARTIFACTS.clear()
    _BACKEND_ARTIFACTS.update(rules.accepted_artifacts)
    artifacts_from, artifacts_value = setting(config, "devsession_artifacts", "DEVSESSION_ARTIFACTS")
    artifacts = parse_artifacts(artifacts_from, artifacts_value) if artifacts_value is not None else \
        rules.default_artifacts
    unsupported = [a for a in artifacts if a not in rules.accepted_artifacts]
    if unsupported:
        raise usage(artifacts_from, f"{', '.join(unsupported)} cannot be captured by the {backend} backend; "
                                    f"accepted: {', '.join(rules.accepted_artifacts)}")
    userflow_from, userflow = setting(config, "devsession_userflow", "DEVSESSION_USERFLOW")
    if userflow is not None and not str(userflow).strip():
        raise usage(userflow_from, "expected a non-empty user flow name")
    redact = str(setting(config, "devsession_redact", "DEVSESSION_REDACT", "")[1])
    build_id = next((os.environ[k] for k in ("DEVSESSION_BUILD_ID", "BUILD_ID", "CI_JOB_ID", "GITHUB_RUN_ID", "BUILD_BUILDID") if os.environ.get(k)), None)
    build_from, build = setting(config, "devsession_build", "DEVSESSION_BUILD", None)
    if build is not None and not str(build).strip():
        raise usage(build_from, "expected a non-empty build name")
    build_id = str(build).strip() if build else build_id
    # One name for the whole run: xdist's workers inherit it from the main process's environment.
    build_name = build_id or os.environ.setdefault(RUN_BUILD_ENV, time.strftime("pytest-%Y-%m-%d-%H%M%S"))
    return Settings(
        enabled=True,
        backend=backend,
        section=section,
        devices=devices,
        artifacts=artifacts,
        artifacts_dir=path_setting(config, setting(config, "devsession_artifacts_dir", "DEVSESSION_ARTIFACTS_DIR",
                                                   "devsession-artifacts")[1]),
        download=parse_choice(*setting(config, "devsession_download", "DEVSESSION_DOWNLOAD", "on"), DOWNLOAD_MODES),
        capture=parse_choice("devsession_capture (ini)", config.getini("devsession_capture") or "all", CAPTURE_MODES),
        userflow=str(userflow).strip() if userflow else None,
        ready_timeout=parse_timeout(*setting(config, "devsession_ready_timeout", "DEVSESSION_READY_TIMEOUT", 180)),
        build_id=build_id,
        build_name=build_name,
        store_dir=path_setting(config, setting(config, "devsession_store", "DEVSESSION_STORE", ".devsession")[1]),
        har_raw=_flag(config, "devsession_har_raw", "DEVSESSION_HAR_RAW"),
        background=parse_count(*setting(config, "devsession_background", "DEVSESSION_BACKGROUND", 4)),
        scope=parse_choice(*setting(config, "devsession_scope", "DEVSESSION_SCOPE", "test"), SCOPES),
        redact=tuple(n.strip() for n in redact.replace("\n", ",").split(",") if n.strip()),
        cleanup=cleanup,
        flush=flush,
    )


def path_setting(config: pytest.Config, value) -> Path:
    """A folder setting, relative to where pytest was started."""
    path = Path(str(value))
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path
