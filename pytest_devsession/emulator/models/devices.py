"""Devices of the org: how each is named and found, who holds it, and the log of every lock.

``DevicesMixin`` is the part of ``Org`` that owns ``devices`` (address -> Device) and
``lock_log`` (one ``LockEvent`` per lock or unlock call).

A device's address is ``{device_id}@{hostname}``: Android's ``device_id`` is its serial, an
iOS device's is its UDID (which its serial need not be), other kinds (Roku, desktop) have ids
of their own. Which lock routes reach a device depends on its kind: ``adb`` (Android, by
serial), ``idevice`` (iOS, by UDID), and ``devices`` (any kind, by ``device_id`` or selector).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError

YOU = "you"
# How the emulator's own token owner appears as a device's owner_email.
OWNER_EMAIL = "you@emulator.local"

DEFAULT_DEVICES = (
    ("emu-android-1", "emulator.local", "android"),
    ("emu-android-2", "emulator.local", "android"),
    ("emu-ios-1", "emulator.local", "ios"),
)
# Device types (the device list's device_type) and the OS version each reports.
OS_VERSIONS = {"android": "14", "ios": "17.4", "roku": "13.0", "desktop": "Windows 11"}
# The per-platform lock route of each device type; every type can be locked by id on "devices".
PLATFORM_ROUTES = {"android": "adb", "ios": "idevice"}


@dataclass
class Device:
    serial: str
    hostname: str = "127.0.0.1"
    platform: str = "android"  # the device_type
    device_id: str = ""  # what the address starts with: Android's serial, iOS's UDID
    os_version: str = ""
    locked_by: str | None = None
    lock_count: int = 0
    unlock_count: int = 0
    capture_ended_at: float | None = None  # when its last capture was stopped (the cooldown counts from it)

    def __post_init__(self):
        if self.platform not in OS_VERSIONS:
            raise ValueError(f"device type must be one of {', '.join(OS_VERSIONS)}, not {self.platform!r}")
        if not self.serial or not self.hostname:
            raise ValueError("a device needs a serial and a hostname")
        self.device_id = self.device_id or self.serial
        if self.platform == "android" and self.device_id != self.serial:
            raise ValueError(f"an Android device is addressed by its serial: device_id {self.device_id!r} "
                             f"must be its serial {self.serial!r}")
        self.os_version = self.os_version or OS_VERSIONS[self.platform]

    @property
    def address(self) -> str:
        return f"{self.device_id}@{self.hostname}"

    def facts(self) -> dict:
        """What the device list says of it (owner aside); a selector matches these."""
        return {
            "device_id": self.device_id,
            "serial": self.serial,
            "hostname": self.hostname,
            "device_type": self.platform,
            "os_version": self.os_version,
            "status": "online",
            "device_address": self.address,
        }


@dataclass(frozen=True)
class LockEvent:
    """One lock or unlock call: ``time`` on the org's clock, the device's ``address``, ``action``
    "lock" or "unlock", ``route`` "adb", "idevice" or "devices", whether it succeeded (``ok``),
    and whether you held the device already when it came (``held_before``): a successful lock of a
    device held before is the same device locked twice at once."""

    time: float
    address: str
    action: str
    route: str
    ok: bool
    held_before: bool


def parse_device(spec) -> tuple[str, str, str, str]:
    """(serial, hostname, device type, device_id) from a spec.

    A string is ``ID@HOST[:TYPE[:SERIAL]]``: the device's address, then its type (android by
    default; ios, roku, desktop) and, where it differs from ID (an iOS UDID), its serial. A tuple
    is ``(serial, hostname[, type[, device_id]])``.
    """
    if isinstance(spec, (tuple, list)):
        serial, hostname, *rest = spec
        platform = rest[0] if rest else "android"
        device_id = rest[1] if len(rest) > 1 and rest[1] else serial
    else:
        device_id, sep, rest = str(spec).partition("@")
        hostname, *extra = rest.split(":")
        platform = extra[0] if extra else "android"
        serial = extra[1] if len(extra) > 1 and extra[1] else device_id
        if not sep or len(extra) > 2:
            device_id = ""
    if not device_id or not serial or not hostname or platform not in OS_VERSIONS:
        raise ValueError(f"Invalid device {spec!r}: use ID@HOST[:TYPE[:SERIAL]], TYPE one of "
                         f"{', '.join(OS_VERSIONS)} (ID: the serial of an Android device, the UDID of an iOS one)")
    return serial, hostname, platform, device_id


def matches(facts: dict, selector: dict) -> bool:
    """Whether a device described by ``facts`` has every ``key: value`` of ``selector`` (compared as text)."""
    return all(key in facts and str(facts[key]) == str(value) for key, value in selector.items())


class DevicesMixin:
    """The org's devices, their locks and the lock log. Expects ``self.devices``,
    ``self.lock_log`` and ``now()``."""

    devices: dict[str, Device]
    lock_log: list[LockEvent]

    def add_device(self, serial: str, hostname: str = "127.0.0.1", platform: str = "android",
                   locked_by: str | None = None, device_id: str | None = None) -> str:
        device = Device(serial=serial, hostname=hostname, platform=platform, locked_by=locked_by,
                        device_id=device_id or "")
        self.devices[device.address] = device
        return device.address

    def device(self, address) -> Device:
        if not isinstance(address, str) or address not in self.devices:
            raise ApiError(404, "Invalid device ID.")
        return self.devices[address]

    def device_on_route(self, route: str, name: str) -> Device:
        """The device that ``/{route}/{name}/lock`` reaches: on ``adb`` an Android device by its serial,
        on ``idevice`` an iOS device by its UDID; either also by its whole address."""
        for device in self.devices.values():
            if PLATFORM_ROUTES.get(device.platform) == route and name in (device.device_id, device.address):
                return device
        kind = "Android serial" if route == "adb" else "iOS UDID"
        raise ApiError(404, f"No device with {kind} {name!r}.")

    def device_by_id(self, device_id, hostname=None) -> Device:
        for device in self.devices.values():
            if device.device_id == device_id and hostname in (None, device.hostname):
                return device
        raise ApiError(404, "Invalid device ID.")

    def select_device(self, selector: dict, locking: bool) -> Device:
        """The first device matching ``selector`` that is free (to lock) or yours (to unlock)."""
        chosen = [d for d in self.devices.values() if matches(d.facts(), selector)]
        if not chosen:
            raise ApiError(404, "No device matches the selector.")
        wanted = None if locking else YOU
        for device in chosen:
            if device.locked_by == wanted:
                return device
        if locking:
            raise ApiError(403, "Every device matching the selector is in use.")
        raise ApiError(403, "Did not unlock: no device matching the selector is locked by you.")

    def lock_device(self, device: Device, route: str = "devices") -> bool:
        held_before = device.locked_by == YOU
        done = device.locked_by in (None, YOU)
        if done:
            device.locked_by = YOU
            device.lock_count += 1
        self.lock_log.append(LockEvent(self.now(), device.address, "lock", route, done, held_before))
        return done

    def unlock_device(self, device: Device, route: str = "devices") -> bool:
        done = device.locked_by == YOU
        if done:
            device.locked_by = None
            device.unlock_count += 1
        self.lock_log.append(LockEvent(self.now(), device.address, "unlock", route, done, done))
        return done

    def double_locks(self) -> list[LockEvent]:
        """Every successful lock of a device that you held already: what a pool of workers sharing
        one token must never do."""
        return [e for e in self.lock_log if e.action == "lock" and e.ok and e.held_before]
