"""A closed session's verdict at the service: its name and tags, its user flow status, its measurements.

The same steps for a test's session (``closing.py``, on the background pool) and for one that a
dead xdist worker left open (``recovery.py``). Each request is a ``step``: its failure becomes a
problem of the record, and a failure that may pass later goes to the spool for the next run.
"""
from __future__ import annotations

from .backends.base import Annotation, BackendError, Device, Naming, Parts, UserFlows, Verdict, Verdicts
from .record import SessionRecord
from .spool import transient


def step(record: SessionRecord, label: str, action, spool_as, spool, backend: str, service_url: str | None) -> bool:
    """One request after the test: its failure becomes a problem of the record; a failure that may
    pass later (``transient``) with ``spool_as`` (kind, payload) goes to the spool for the next run."""
    try:
        action()
        return True
    except Exception as exc:  # noqa: BLE001 - a failure of ours never changes the outcome
        if spool_as is not None and transient(exc):
            try:
                spool.put(spool_as[0], backend, service_url, **spool_as[1])
                record.problems.append(f"{describe(label, exc)}; kept in the spool for a later run")
                record.spooled += 1
                return False
            except OSError as spool_error:
                record.problems.append(f"cannot write the spool: {spool_error}")
        record.problems.append(describe(label, exc))
        return False


def describe(label: str, exc: Exception) -> str:
    # A service error already says which request failed.
    return str(exc) if isinstance(exc, BackendError) and exc.action else f"{label}: {exc}"


def payloads(session_id: str, record: SessionRecord, description: str | None) -> tuple[tuple, tuple]:
    """What the spool keeps of a verdict: (kind, payload) for the status and for the measurements."""
    common = dict(session_id=session_id, userflow=record.userflow)
    return (("status", dict(common, description=description, status=record.status, message=record.status_message)),
            ("measurements", dict(common, measurements=record.measurements)))


def tags(record: SessionRecord, build_id: str | None) -> dict[str, str]:
    found = {"outcome": (record.status or "unknown").lower() if record.final else "rerun"}
    if build_id:
        found["build"] = build_id
    return found


def give(backend, spool, service_url: str | None, record: SessionRecord, *, doc: str = "",
         description: str | None = None, build_id: str | None = None, name: bool = True,
         measurements: list[dict] | None = None) -> None:
    """Name and tag the session (unless ``name`` is False), set its user flow status, upload its
    measurements (never raises). ``measurements``: the test's own (default: the record's)."""
    session_id = record.session_id
    measurements = list(record.measurements) if measurements is None else measurements

    def request(label, action, spool_as=None) -> bool:
        return step(record, label, action, spool_as, spool, backend.name, service_url)

    if isinstance(backend, Verdicts):  # the whole verdict in one call, to each of the test's sessions
        found = tags(record, build_id)
        if record.userflow:
            found["userflow"] = record.userflow
        whole = Verdict(record.nodeid, doc, record.status or "", record.status_message, found,
                        list(measurements), record.userflow)
        done = [request("give the verdict", lambda sid=sid: backend.give_verdict(sid, whole))
                for sid in (record.sessions or [session_id]) if sid]
        record.measurements_uploaded = bool(done) and all(done) and bool(measurements)
        return

    if name and isinstance(backend, Naming):
        request("name the session",
                lambda: backend.annotate(session_id, Annotation(record.nodeid, doc, tags(record, build_id))))
    userflow = record.userflow
    if userflow and not isinstance(backend, UserFlows):
        if measurements:
            record.problems.append(f"{len(measurements)} measurement(s) not uploaded: the "
                                   f"{backend.name} backend has no user flows")
    elif userflow:
        status_spool, measurements_spool = payloads(session_id, record, description)
        request("set the user flow status", lambda: backend.report_status(
            session_id, userflow, description, record.status, record.status_message), status_spool)
        if measurements:
            record.measurements_uploaded = request(
                "upload measurements", lambda: backend.upload_measurements(session_id, userflow, measurements),
                measurements_spool)
    elif measurements:
        record.problems.append(f"{len(measurements)} measurement(s) not uploaded: the test has no "
                               "user flow (add @pytest.mark.userflow or --devsession-userflow)")


def spool(backend_name: str, service_url: str | None, spool, record: SessionRecord,
          description: str | None) -> None:
    """The run was interrupted before the verdict went out: it waits in the spool for the next run
    (raises OSError when the spool cannot be written)."""
    if not record.userflow:
        return
    for kind, payload in payloads(record.session_id, record, description):
        if kind == "status" or record.measurements:
            spool.put(kind, backend_name, service_url, **payload)
    record.spooled += 1
    record.problems.append("status and measurements kept in the spool: the run was interrupted")


def give_part(backend, record: SessionRecord, device: Device, part, description: str | None = None) -> None:
    """A test inside a shared capture: its own entry in its user flow (on HeadSpin a label and a
    performance event), with its status and measurements (never raises). Not spooled: a part's
    entry cannot be made later without its window; its measurements stay in the reports."""
    userflow, measurements = record.userflow, record.measurements
    if not userflow or not isinstance(backend, Parts):
        if measurements:
            record.problems.append(f"{len(measurements)} measurement(s) not uploaded: the test has no user flow "
                                   "(add @pytest.mark.userflow or --devsession-userflow)")
        return
    done = step(record, "report the test's part of the shared capture", lambda: backend.report_part(
        record.session_id, device, part, userflow, description, record.status, record.status_message, measurements),
        None, None, backend.name, None)
    record.measurements_uploaded = done and bool(measurements)
    record.label_id = part.label_id
