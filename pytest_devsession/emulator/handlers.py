"""Route handlers: parse the request, call the model, render the answer. No state here.

Each handler is ``handler(org, request) -> Response`` and runs with ``org.lock`` held.
Errors are raised as ``ApiError`` and rendered by the server in the API's envelope.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid
from dataclasses import dataclass, field

from ..http.server import Response, json_response
from . import artifacts
from .models import (
    DEFAULT_STATUS_FILTER, OWNER_EMAIL, STATUS_FILTERS, YOU, ApiError, CaptureSession, Device, Org,
    PerfEvent, UserFlow, parse_time,
)

MEASUREMENT_FIELDS = (
    "user_flow_id", "user_flow_name", "perf_event_id", "event_time", "session_id",
    "perf_key_id", "key_name", "key_type", "key_units", "value",
)
_KEY_NAMESPACE = uuid.UUID("6f1c1e2a-1d1b-4e57-9a51-0c2e6f1f7d10")


@dataclass
class Request:
    method: str
    path: str  # after /v0, unquoted, without the query
    query: dict  # name -> list of values
    body: bytes
    base_url: str  # ends with /v0
    params: dict = field(default_factory=dict)

    def arg(self, name: str, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list:
        return list(self.query.get(name, ()))

    def json(self, error_status: int = 400):
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(error_status, "Request body is not valid JSON.") from None

    def json_object(self, error_status: int = 400) -> dict:
        body = self.json(error_status)
        if not isinstance(body, dict):
            raise ApiError(error_status, "Request body must be a JSON object.")
        return body


@dataclass
class Download(Response):
    """An artifact: its body goes out at the emulator's download bandwidth."""


def error_response(status: int, message: str, headers: dict | None = None) -> Response:
    return json_response({"status": message, "status_code": status}, status, headers)


def drop() -> Response:
    return Response(drop=True)


def success(status: str = "Success") -> Response:
    return json_response({"status": status, "status_code": 200})


def _int_arg(req: Request, name: str, default, minimum: int = 0):
    raw = req.arg(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid {name}: {raw!r} is not an integer.") from None
    if value < minimum:
        raise ApiError(400, f"Invalid {name}: must be at least {minimum}.")
    return value


def _bool_arg(req: Request, name: str, default: bool) -> bool:
    raw = req.arg(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ApiError(400, f"Invalid {name}: {raw!r} is not true or false.")


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


# ---------------------------------------------------------------- rendering

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


def render_session(session: CaptureSession) -> dict:
    serial, hostname = session.device_address.split("@", 1)
    return {
        "session_id": session.session_id,
        "session_type": "capture",
        "state": session.state,
        "active": session.active,
        "device_address": session.device_address,
        "device_id": serial,
        "hostname": hostname,
        "name": session.name,
        "description": session.description,
        "tags": session.tags,
        "start_time": round(session.created, 3),
        "end_time": None if session.ended_at is None else round(session.ended_at, 3),
        "capture_video": session.capture_video,
        "capture_network": session.capture_network,
        "mitm_ignore": session.mitm_ignore,
        "network_keep_in_session_patterns": session.network_keep_in_session_patterns,
        "timestamps": session.timestamps(),
    }


def render_userflow(flow: UserFlow) -> dict:
    return {"user_flow_id": flow.user_flow_id, "name": flow.name,
            "description": flow.description, "created_time": flow.created_time}


def render_perftest(flow: UserFlow) -> dict:
    return {"created_time": flow.created_time, "perf_test_id": flow.user_flow_id,
            "description": flow.description, "name": flow.name}


def render_event(event: PerfEvent) -> dict:
    return {
        "user_flow_id": event.user_flow_id,
        "perf_event_id": event.perf_event_id,
        "session_id": event.session_id,
        "status": event.status,
        "status_message": event.status_message,
        "host": event.host,
        "device_id": event.device_id,
        "event_time": _when(event.event_time),
    }


def render_measurement(org: Org, event: PerfEvent, item: dict) -> dict:
    key_id = uuid.uuid5(_KEY_NAMESPACE, f"{item['type']}\0{item['key']}")
    return {
        "user_flow_id": event.user_flow_id,
        "user_flow_name": org.userflows[event.user_flow_id].name,
        "perf_event_id": event.perf_event_id,
        "event_time": _when(event.event_time),
        "session_id": event.session_id,
        "perf_key_id": str(key_id),
        "key_name": item["key"],
        "key_type": item["type"],
        "key_units": item["units"],
        "value": item["value"],
    }


def _measurements_response(org: Org, req: Request, rows: list) -> Response:
    fmt = (req.arg("format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise ApiError(400, f"Invalid format {fmt!r}: use csv or json.")
    offset = _int_arg(req, "offset", 0)
    limit = _int_arg(req, "limit", None)
    rows = rows[offset:] if limit is None else rows[offset:offset + limit]
    records = [render_measurement(org, event, item) for event, item in rows]
    if fmt == "json":
        return json_response({"measurements": records})
    if not records:
        return Response(204, b"", None)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MEASUREMENT_FIELDS)
    for record in records:
        writer.writerow("" if record[name] is None else record[name] for name in MEASUREMENT_FIELDS)
    return Response(200, out.getvalue().encode(), "text/csv; charset=utf-8")


# ---------------------------------------------------------------- devices

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
            _int_arg(req, "timeout", None, minimum=1)
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


# ---------------------------------------------------------------- capture sessions

def _string_list(body: dict, name: str) -> list:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, f"Invalid {name}: must be a list of strings.")
    return value


def create_session(org: Org, req: Request) -> Response:
    body = req.json_object()
    if body.get("session_type") != "capture":
        raise ApiError(400, "Invalid session_type: only 'capture' sessions can be created here.")
    address = body.get("device_address")
    if not isinstance(address, str) or not address:
        raise ApiError(400, "Missing or invalid argument: device_address.")
    mitm_ignore = _string_list(body, "mitm_ignore")
    for pattern in mitm_ignore:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ApiError(400, f"Invalid mitm_ignore pattern {pattern!r}: {exc}.") from None
    session = org.create_session(
        address, mitm_ignore, _string_list(body, "network_keep_in_session_patterns"),
        capture_video=bool(body.get("capture_video", True)),
        capture_network=bool(body.get("capture_network", True)),
    )
    if body.get("nowait") is not True:
        # The device leaves the network while capture is set up: a blocking
        # request loses its connection although the session was created.
        return drop()
    return json_response({"session_id": session.session_id})


def get_session(org: Org, req: Request) -> Response:
    return json_response(render_session(org.session(req.params["session_id"])))


def list_sessions(org: Org, req: Request) -> Response:
    tags = []
    for raw in req.args("tag"):
        key, sep, value = raw.partition(":")
        if not sep:
            raise ApiError(400, f"Invalid tag {raw!r}: use key:value.")
        tags.append((key, value))
    page, next_token = org.list_sessions(
        include_all=_bool_arg(req, "include_all", False),
        num_sessions=_int_arg(req, "num_sessions", 10, minimum=1),
        tags=tags,
        offset=_int_arg(req, "next_token", 0),
    )
    return json_response({"sessions": [render_session(s) for s in page], "next_token": next_token})


def stop_session(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    body = req.json_object(error_status=500)
    if body.get("active") is not False:
        raise ApiError(500, 'Invalid request body: expected {"active": false}.')
    was_active = session.active
    org.stop_session(session)
    if was_active and body.get("nowait") is not True:
        return drop()  # the device leaves the network while capture ends
    return json_response({"msg": f"Video uploaded to {req.base_url}/sessions/{session.session_id}.mp4"})


def delete_session(org: Org, req: Request) -> Response:
    # The real service answers 500 for an id it does not know (its Session API documentation).
    org.delete_session(org.session(req.params["session_id"], status_code=500))
    return success()


def timestamps(org: Org, req: Request) -> Response:
    session = org.sessions.get(req.params["session_id"])
    if session is None:
        raise ApiError(404, "No timestamps")
    session.advance(org.now())
    if org.flaky_capture_setup and session.state in ("starting", "stopping"):
        step = session.flaky_polls % 3
        session.flaky_polls += 1
        if step == 0:
            return drop()
        if step == 1:
            return error_response(502, "Bad Gateway")
    stamps = session.answer_timestamps(org.now())
    if not stamps:
        raise ApiError(404, "No timestamps")
    return json_response(stamps)


def tls_exceptions(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    return json_response(org.tls_exceptions(session, artifacts.PINNED_HOSTS))


def get_description(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    return json_response({"name": session.name, "description": session.description})


def set_description(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    body = req.json_object()
    if not {"name", "description"} & body.keys():
        raise ApiError(400, "Give name and/or description.")
    for key in ("name", "description"):
        if key in body:
            if body[key] is not None and not isinstance(body[key], str):
                raise ApiError(400, f"Invalid {key}: must be a string.")
            setattr(session, key, body[key])
    return success()


def delete_description(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    session.name = session.description = None
    return success()


def get_tags(org: Org, req: Request) -> Response:
    return json_response(org.session(req.params["session_id"]).tags)


def add_tags(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    tags = req.json()
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and len(t) == 1 and isinstance(next(iter(t.values())), (str, int, float))
        for t in tags
    ):
        raise ApiError(400, 'Tags must be a list of one-key objects: [{"key": "value"}, ...].')
    session.tags.extend({k: str(v) for k, v in t.items()} for t in tags)
    return success()


def delete_tags(org: Org, req: Request) -> Response:
    org.session(req.params["session_id"]).tags.clear()
    return success()


def download(org: Org, req: Request) -> Response:
    session = org.session(req.params["session_id"])
    ext = req.params["ext"]
    if ext not in artifacts.CONTENT_TYPES:
        raise ApiError(404, f"Unknown download type {ext!r}: use one of {', '.join(artifacts.CONTENT_TYPES)}.")
    if ext == "mp4":
        fps = _int_arg(req, "fps", None, minimum=2)
        if fps is not None and fps >= 120:
            raise ApiError(400, "Invalid fps: must be greater than 1 and less than 120.")
        if not session.capture_video:
            raise ApiError(404, "This session has no video.")
    if ext in artifacts.NETWORK_KINDS and not session.capture_network:
        raise ApiError(404, "This session has no network capture.")
    device = org.devices.get(session.device_address)
    body = artifacts.render(
        ext, session.session_id, session.device_address, device.platform if device else "android",
        session.started_at or session.created, complete=session.state == "complete", video_bytes=org.video_bytes,
    )
    session.downloads.append(ext)
    return Download(200, body, artifacts.CONTENT_TYPES[ext],
                    {"Content-Disposition": f'attachment; filename="{session.session_id}.{ext}"'})


# ---------------------------------------------------------------- user flows

def list_userflows(org: Org, req: Request) -> Response:
    return json_response({"user_flows": [render_userflow(f) for f in org.userflows.values()]})


def put_userflow(org: Org, req: Request) -> Response:
    body = req.json_object()
    return json_response(render_userflow(org.put_userflow(body.get("name"), body.get("description"))))


def get_userflow(org: Org, req: Request) -> Response:
    return json_response(render_userflow(org.userflow(req.params["user_flow_id"])))


def delete_userflow(org: Org, req: Request) -> Response:
    org.delete_userflow(org.userflow(req.params["user_flow_id"]))
    return success()


def userflow_measurements(org: Org, req: Request) -> Response:
    flow = org.userflow(req.params["user_flow_id"])
    statuses = req.args("status")
    for raw in statuses:
        if raw.lower() not in STATUS_FILTERS:
            raise ApiError(400, f"Invalid status {raw!r}: use passed, failed, not_set or excluded.")
    start, end = req.arg("start_time"), req.arg("end_time")
    rows = org.measurements(
        list(flow.events.values()),
        session_ids=set(req.args("session_id")),
        keys=set(req.args("key")),
        start_time=None if start in (None, "") else parse_time(start),
        end_time=None if end in (None, "") else parse_time(end),
        statuses={STATUS_FILTERS[s.lower()] for s in statuses} if statuses else set(DEFAULT_STATUS_FILTER),
    )
    return _measurements_response(org, req, rows)


def _flow_session(org: Org, req: Request) -> PerfEvent:
    return org.flow_session(org.userflow(req.params["user_flow_id"]), req.params["session_id"])


def _flow_event(org: Org, req: Request) -> PerfEvent:
    return org.flow_event(org.userflow(req.params["user_flow_id"]), req.params["event_id"])


def list_flow_sessions(org: Org, req: Request) -> Response:
    flow = org.userflow(req.params["user_flow_id"])
    return json_response({"sessions": [render_event(e) for e in flow.events.values() if e.session_id]})


def attach_session(org: Org, req: Request) -> Response:
    flow = org.userflow(req.params["user_flow_id"])
    body = req.json_object()
    event = org.attach_session(flow, body.get("session_id"), body.get("status"), body.get("status_message"))
    return json_response(render_event(event))


def get_flow_session(org: Org, req: Request) -> Response:
    return json_response(render_event(_flow_session(org, req)))


def patch_flow_session(org: Org, req: Request) -> Response:
    event = _flow_session(org, req)
    return json_response(render_event(org.update_event(event, req.json_object())))


def delete_flow_session(org: Org, req: Request) -> Response:
    org.remove_event(_flow_session(org, req))
    return success()


def post_session_measurements(org: Org, req: Request) -> Response:
    event = _flow_session(org, req)
    org.add_measurements(event, req.json_object().get("data"))
    return success("Sucesss")  # sic: the real service's spelling (Performance Monitoring API)


def get_session_measurements(org: Org, req: Request) -> Response:
    event = _flow_session(org, req)
    return _measurements_response(org, req, org.measurements([event], keys=set(req.args("key"))))


def list_events(org: Org, req: Request) -> Response:
    flow = org.userflow(req.params["user_flow_id"])
    return json_response({"events": [render_event(e) for e in flow.events.values()]})


def create_event(org: Org, req: Request) -> Response:
    flow = org.userflow(req.params["user_flow_id"])
    body = req.json_object()
    try:
        if body.get("device_address") is not None:
            device = org.device(body["device_address"])
        elif body.get("device_id") is not None and body.get("hostname") is not None:
            device = org.device_by_id(body["device_id"], body["hostname"])
        else:
            raise ApiError(400, "Missing device_address.")
    except ApiError:
        raise ApiError(400, "Missing or invalid device_address.") from None
    return json_response(render_event(org.create_event(flow, device)))


def get_event(org: Org, req: Request) -> Response:
    return json_response(render_event(_flow_event(org, req)))


def patch_event(org: Org, req: Request) -> Response:
    event = _flow_event(org, req)
    return json_response(render_event(org.update_event(event, req.json_object())))


def delete_event(org: Org, req: Request) -> Response:
    org.remove_event(_flow_event(org, req))
    return success()


def post_event_measurements(org: Org, req: Request) -> Response:
    event = _flow_event(org, req)
    org.add_measurements(event, req.json_object().get("data"))
    return success("Sucesss")  # sic, as above


def get_event_measurements(org: Org, req: Request) -> Response:
    event = _flow_event(org, req)
    return _measurements_response(org, req, org.measurements([event], keys=set(req.args("key"))))


# ---------------------------------------------------------------- legacy perftests

def list_perftests(org: Org, req: Request) -> Response:
    return json_response({"perf_tests": [render_perftest(f) for f in org.userflows.values()]})


def get_perftest(org: Org, req: Request) -> Response:
    return json_response(render_perftest(org.userflow(req.params["user_flow_id"])))


def upload_perftest(org: Org, req: Request) -> Response:
    flow, event = org.legacy_upload(req.json_object())
    return json_response({
        "status": "Success", "status_code": 200,
        "perf_test_id": flow.user_flow_id, "test_name": flow.name,
        "session_id": event.session_id if event else None,
        "perf_event_id": event.perf_event_id if event else None,
    })


def waterfall_page(org: Org, req: Request) -> Response:
    """The emulator's stand-in for HeadSpin's session page (``{ui}/sessions/{id}/waterfall``):
    what the emulator knows of the session, so that report links lead somewhere real."""
    import html

    session_id = req.params["session_id"]
    try:
        session = render_session(org.session(session_id))
    except ApiError as exc:
        return Response(exc.status_code, f"<h1>{html.escape(exc.message)}</h1>".encode(), "text/html; charset=utf-8")
    rows = "".join(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(json.dumps(value))}</td></tr>"
                   for key, value in session.items())
    page = (f"<!doctype html><title>Session {html.escape(session_id)} (HeadSpin emulator)</title>"
            f"<h1>Session {html.escape(session_id)}</h1><p>HeadSpin emulator: no waterfall, only the session's "
            f"state.</p><table>{rows}</table>")
    return Response(200, page.encode(), "text/html; charset=utf-8")
