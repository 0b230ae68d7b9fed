"""Device handlers: the device list and the lock and unlock routes (by serial, UDID, id or selector).

Every lock and unlock goes into the org's lock log with the route it came by.
"""

from __future__ import annotations

import json
import re

from ..models import OWNER_EMAIL, YOU, ApiError, Device, Org
from ..models.devices import matches
from .common import Request, Response, int_arg, json_response


def render_device(device: Device) -> dict:
    return {**device.facts(), "owner_email": OWNER_EMAIL if device.locked_by == YOU else device.locked_by}


def parse_selector(value) -> dict:
    """A device selector: a JSON object (or its text), or ``key:value`` pairs separated by spaces or
    commas (``device_type:android os_version:14``)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError(400, "Invalid selector: not JSON.") from None
    elif isinstance(value, str):
        pairs = [part.partition(":") for part in re.split(r"[\s,]+", value.strip()) if part]
        if not pairs or any(not key or not sep for key, sep, _value in pairs):
            raise ApiError(400, f"Invalid selector {value!r}: use a JSON object or key:value pairs.")
        value = {key: text for key, _sep, text in pairs}
    if not isinstance(value, dict) or not value or not all(
            isinstance(v, (str, int, float, bool)) or v is None for v in value.values()):
        raise ApiError(400, "Invalid selector: must be an object of device fields to values.")
    return value


def list_devices(org: Org, req: Request) -> Response:
    devices = [render_device(d) for d in org.devices.values()]
    if req.arg("selector"):
        wanted = parse_selector(req.arg("selector"))
        devices = [d for d in devices if matches(d, wanted)]
    return json_response({"devices": devices})


def _route_lock(route: str, locking: bool):
    def handler(org: Org, req: Request) -> Response:
        if req.arg("timeout") is not None:
            int_arg(req, "timeout", None, minimum=1)
        device = org.device_on_route(route, req.params["serial"])
        if locking:
            done = org.lock_device(device, route)
            message = f"{device.address} locked." if done else "Did not lock."
        else:
            done = org.unlock_device(device, route)
            message = f"{device.address} unlocked." if done else "Did not unlock."
        return json_response({"status": 0 if done else 1, "message": message})
    handler.__name__ = f"{route}_{'lock' if locking else 'unlock'}"
    return handler


adb_lock = _route_lock("adb", True)
adb_unlock = _route_lock("adb", False)
idevice_lock = _route_lock("idevice", True)
idevice_unlock = _route_lock("idevice", False)


def _device_from_body(org: Org, req: Request, locking: bool) -> Device:
    """By ``device_id`` (and ``hostname``); else by ``selector``; else the whole body is the selector
    (what some public clients send: ``{"model": ..., "city": ...}``)."""
    body = req.json_object()
    if "device_id" in body:
        device_id = body["device_id"]
        if not isinstance(device_id, str) or not device_id:
            raise ApiError(400, "Missing or invalid argument: device_id.")
        return org.device_by_id(device_id, body.get("hostname"))
    if not body:
        raise ApiError(400, "Missing argument: device_id or selector.")
    return org.select_device(parse_selector(body["selector"] if "selector" in body else body), locking)


def _answer(device: Device, status: str) -> Response:
    return json_response({"status_code": 200, "status": f"{status} device {device.device_id}.",
                          "hostname": device.hostname, "serial": device.serial})


def lock_by_id(org: Org, req: Request) -> Response:
    device = _device_from_body(org, req, locking=True)
    if not org.lock_device(device, "devices"):
        raise ApiError(403, "Device is currently in use by someone else.")
    return _answer(device, "Locked")


def unlock_by_id(org: Org, req: Request) -> Response:
    device = _device_from_body(org, req, locking=False)
    if not org.unlock_device(device, "devices"):
        raise ApiError(403, "Did not unlock: the device is not locked by you.")
    return _answer(device, "Unlocked")
