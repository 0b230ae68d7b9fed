"""Devices of the org: who holds each one, and how a device is named and found.

``DevicesMixin`` is the part of ``Org`` that owns ``devices`` (address -> Device).
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
OS_VERSIONS = {"android": "14", "ios": "17.4"}


@dataclass
class Device:
    serial: str
    hostname: str = "127.0.0.1"
    platform: str = "android"
    device_id: str = ""
    os_version: str = ""
    locked_by: str | None = None
    lock_count: int = 0
    unlock_count: int = 0

    def __post_init__(self):
        if self.platform not in OS_VERSIONS:
            raise ValueError(f"platform must be 'android' or 'ios', not {self.platform!r}")
        self.device_id = self.device_id or self.serial
        self.os_version = self.os_version or OS_VERSIONS[self.platform]

    @property
    def address(self) -> str:
        return f"{self.serial}@{self.hostname}"


def parse_device(spec) -> tuple[str, str, str]:
    """(serial, hostname, platform) from "serial@host[:platform]" or a tuple."""
    if isinstance(spec, (tuple, list)):
        serial, hostname, *rest = spec
        platform = rest[0] if rest else "android"
    else:
        serial, sep, hostname = str(spec).partition("@")
        base, colon, platform = hostname.rpartition(":")
        if colon and platform in OS_VERSIONS:
            hostname = base
        else:
            platform = "android"
        if not sep:
            serial = ""
    if not serial or not hostname or platform not in OS_VERSIONS:
        raise ValueError(f"Invalid device {spec!r}: use serial@host or serial@host:android|ios")
    return serial, hostname, platform


class DevicesMixin:
    """The org's devices and their locks. Expects ``self.devices``."""

    devices: dict[str, Device]

    def add_device(self, serial: str, hostname: str = "127.0.0.1", platform: str = "android",
                   locked_by: str | None = None) -> str:
        device = Device(serial=serial, hostname=hostname, platform=platform, locked_by=locked_by)
        self.devices[device.address] = device
        return device.address

    def device(self, address) -> Device:
        if not isinstance(address, str) or address not in self.devices:
            raise ApiError(404, "Invalid device ID.")
        return self.devices[address]

    def device_by_serial(self, serial: str, platform: str) -> Device:
        for device in self.devices.values():
            if device.serial == serial and device.platform == platform:
                return device
        raise ApiError(404, f"No {platform} device {serial!r}.")

    def device_by_id(self, device_id, hostname=None) -> Device:
        for device in self.devices.values():
            if device.device_id == device_id and hostname in (None, device.hostname):
                return device
        raise ApiError(404, "Invalid device ID.")

    def lock_device(self, device: Device) -> bool:
        if device.locked_by not in (None, YOU):
            return False
        device.locked_by = YOU
        device.lock_count += 1
        return True

    def unlock_device(self, device: Device) -> bool:
        if device.locked_by != YOU:
            return False
        device.locked_by = None
        device.unlock_count += 1
        return True
