"""Device handlers: the device list and the lock and unlock routes (by serial, UDID or id)."""

from __future__ import annotations

import json

from ..models import OWNER_EMAIL, YOU, ApiError, Device, Org
from .common import Request, Response, int_arg, json_response


def render_device(device: Device) -> dict:
    owner = OWNER_EMAIL if device.locked_by == YOU else device.locked_by
    return {
        "device_id": device.device_id,
        "serial": device.serial,
        "hostname": device.hostname,
        "device_type": device.platform,
        "os_version": device.os_version,
        "status": "online",
        "owner_email": owner,
        "device_address": device.address,
    }


def list_devices(org: Org, req: Request) -> Response:
    devices = [render_device(d) for d in org.devices.values()]
    selector = req.arg("selector")
    if selector:
        try:
            wanted = json.loads(selector)
        except ValueError:
            raise ApiError(400, "Invalid selector: not JSON.") from None
        if not isinstance(wanted, dict):
            raise ApiError(400, "Invalid selector: must be a JSON object.")
        devices = [d for d in devices if all(d.get(k) == v for k, v in wanted.items())]
    return json_response({"devices": devices})


def _serial_lock(platform: str, locking: bool):
    def handler(org: Org, req: Request) -> Response:
        if req.arg("timeout") is not None:
            int_arg(req, "timeout", None, minimum=1)
        device = org.device_by_serial(req.params["serial"], platform)
        if locking:
            done = org.lock_device(device)
            message = f"{device.address} locked." if done else "Did not lock."
        else:
            done = org.unlock_device(device)
            message = f"{device.address} unlocked." if done else "Did not unlock."
        return json_response({"status": 0 if done else 1, "message": message})
    handler.__name__ = f"{'lock' if locking else 'unlock'}_{platform}"
    return handler


adb_lock = _serial_lock("android", True)
adb_unlock = _serial_lock("android", False)
idevice_lock = _serial_lock("ios", True)
idevice_unlock = _serial_lock("ios", False)


def _device_from_body(org: Org, req: Request) -> Device:
    body = req.json_object()
    device_id = body.get("device_id")
    if not isinstance(device_id, str) or not device_id:
        raise ApiError(400, "Missing or invalid argument: device_id.")
    return org.device_by_id(device_id, body.get("hostname"))


def lock_by_id(org: Org, req: Request) -> Response:
    device = _device_from_body(org, req)
    if not org.lock_device(device):
        raise ApiError(403, "Device is currently in use by someone else.")
    return json_response({"status_code": 200, "status": f"Locked device {device.device_id}.",
                          "hostname": device.hostname, "serial": device.serial})


def unlock_by_id(org: Org, req: Request) -> Response:
    device = _device_from_body(org, req)
    if not org.unlock_device(device):
        raise ApiError(403, "Did not unlock: the device is not locked by you.")
    return json_response({"status_code": 200, "status": f"Unlocked device {device.device_id}.",
                          "hostname": device.hostname, "serial": device.serial})
