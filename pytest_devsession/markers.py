"""Parse the ``userflow`` and ``devsession`` markers into plain per-test options."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from .settings import ANY_DEVICE, SCOPES, parse_artifacts

DEVSESSION_KWARGS = ("capture", "device", "artifacts", "mitm_ignore", "network_keep_in_session_patterns", "scope")


@dataclass(frozen=True)
class MarkerOptions:
    capture: bool = True
    userflow: str | None = None
    userflow_description: str | None = None
    device: str | None = None
    artifacts: tuple[str, ...] | None = None
    mitm_ignore: tuple[str, ...] = ()
    network_keep_in_session_patterns: tuple[str, ...] = ()
    marked: bool = False
    scope: str | None = None  # from a module's or class's marker; None: the run's --devsession-scope


class MarkerError(Exception):
    pass


def _strings(name: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise MarkerError(f"@pytest.mark.devsession({name}=...) expects a list of strings, got {value!r}")
    return tuple(value)


def _userflow(mark: pytest.Mark) -> tuple[str, str | None]:
    args, kwargs = list(mark.args), dict(mark.kwargs)
    unknown = set(kwargs) - {"name", "description"}
    if unknown:
        raise MarkerError(
            f"@pytest.mark.userflow got unknown argument(s) {', '.join(sorted(unknown))}; "
            "accepted: userflow(name, description=None)"
        )
    if len(args) > 2 or (args and "name" in kwargs):
        raise MarkerError("@pytest.mark.userflow takes one name and an optional description: userflow(name, description=None)")
    name = args[0] if args else kwargs.get("name")
    description = args[1] if len(args) > 1 else kwargs.get("description")
    if not isinstance(name, str) or not name.strip():
        raise MarkerError(f"@pytest.mark.userflow needs a non-empty user flow name as a string, got {name!r}")
    if description is not None and not isinstance(description, str):
        raise MarkerError(f"@pytest.mark.userflow(description=...) must be a string, got {description!r}")
    return name.strip(), description


def parse(item: pytest.Item) -> MarkerOptions:
    """Merge the item's markers (the closest wins); raise MarkerError naming the problem."""
    userflow = description = None
    mark = item.get_closest_marker("userflow")
    if mark is not None:
        userflow, description = _userflow(mark)

    values: dict = {}
    marks = list(item.iter_markers("devsession"))
    for node, mark in item.iter_markers_with_node("devsession"):
        if "scope" in mark.kwargs and isinstance(node, pytest.Function):
            raise MarkerError("@pytest.mark.devsession(scope=...) belongs on a module (pytestmark) or a class: "
                              "it says what one capture is opened around, and a test is always inside it")
    for mark in reversed(marks):  # farthest first, so the closest overrides
        if mark.args:
            raise MarkerError(
                f"@pytest.mark.devsession takes keyword arguments only ({', '.join(DEVSESSION_KWARGS)}), "
                f"got positional {mark.args!r}"
            )
        unknown = set(mark.kwargs) - set(DEVSESSION_KWARGS)
        if unknown:
            raise MarkerError(
                f"@pytest.mark.devsession got unknown argument(s) {', '.join(sorted(unknown))}; "
                f"accepted: {', '.join(DEVSESSION_KWARGS)}"
            )
        values.update(mark.kwargs)

    capture = values.get("capture", True)
    if not isinstance(capture, bool):
        raise MarkerError(f"@pytest.mark.devsession(capture=...) must be True or False, got {capture!r}")
    device = values.get("device")
    if device is not None and (not isinstance(device, str) or not ANY_DEVICE.match(device)):
        raise MarkerError(
            f"@pytest.mark.devsession(device=...) must be a device address of the backend (such as SERIAL@HOSTNAME, "
            f"'local' or adb:SERIAL), got {device!r}"
        )
    artifacts = values.get("artifacts")
    if artifacts is not None:
        if not isinstance(artifacts, (str, list, tuple)):
            raise MarkerError(f"@pytest.mark.devsession(artifacts=...) must be a list of extensions, got {artifacts!r}")
        try:
            artifacts = parse_artifacts("@pytest.mark.devsession(artifacts=...)", artifacts)
        except pytest.UsageError as exc:
            raise MarkerError(str(exc).removeprefix("pytest-devsession: ")) from None
    scope = values.get("scope")
    if scope is not None and scope not in SCOPES:
        raise MarkerError(f"@pytest.mark.devsession(scope=...) must be one of {', '.join(SCOPES)}, got {scope!r}")
    return MarkerOptions(
        scope=scope,
        capture=capture,
        userflow=userflow,
        userflow_description=description,
        device=device,
        artifacts=artifacts,
        mitm_ignore=_strings("mitm_ignore", values.get("mitm_ignore", ())),
        network_keep_in_session_patterns=_strings(
            "network_keep_in_session_patterns", values.get("network_keep_in_session_patterns", ())
        ),
        marked=bool(marks) or item.get_closest_marker("userflow") is not None
        or "devsession" in getattr(item, "fixturenames", ()),
    )
