"""Performance Monitoring handlers: user flows, their sessions and performance events,
custom measurements (JSON and CSV), and the legacy ``perftests`` routes."""

from __future__ import annotations

import csv
import io
import uuid

from ..models import DEFAULT_STATUS_FILTER, STATUS_FILTERS, ApiError, Org, PerfEvent, UserFlow, parse_time
from .common import Request, Response, int_arg, json_response, success, when

MEASUREMENT_FIELDS = (
    "user_flow_id", "user_flow_name", "perf_event_id", "event_time", "session_id",
    "perf_key_id", "key_name", "key_type", "key_units", "value",
)
_KEY_NAMESPACE = uuid.UUID("6f1c1e2a-1d1b-4e57-9a51-0c2e6f1f7d10")


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
        "event_time": when(event.event_time),
    }


def render_measurement(org: Org, event: PerfEvent, item: dict) -> dict:
    key_id = uuid.uuid5(_KEY_NAMESPACE, f"{item['type']}\0{item['key']}")
    return {
        "user_flow_id": event.user_flow_id,
        "user_flow_name": org.userflows[event.user_flow_id].name,
        "perf_event_id": event.perf_event_id,
        "event_time": when(event.event_time),
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
    offset = int_arg(req, "offset", 0)
    limit = int_arg(req, "limit", None)
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
    event = org.create_event(flow, device, body.get("session_id"), body.get("status"), body.get("status_message"))
    return json_response(render_event(event))


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


# legacy perftests

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
