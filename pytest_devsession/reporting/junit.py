"""JUnit XML properties and attachment lines for one session record."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..record import SessionRecord

PREFIX = "devsession_"


def property_name(artifact: str) -> str:
    return PREFIX + artifact.replace(".", "_")


def is_ours(prop) -> bool:
    """A ``(name, value)`` user property this plugin wrote."""
    return isinstance(prop, tuple) and bool(prop) and str(prop[0]).startswith(PREFIX)


def properties(record: SessionRecord, artifacts: bool = True) -> list[tuple[str, str]]:
    """The session's properties; a final attempt also names the attempts that were rerun before it.

    ``artifacts=False``: without the artifacts, which ``amend`` adds once they are downloaded."""
    record = SessionRecord.of(record)
    props = [
        ("devsession_session_id", record.session_id),
        ("devsession_session_url", record.url),
        ("devsession_status", record.status),
        ("devsession_userflow", record.userflow),
    ]
    if record.attempt > 1:
        props.append(("devsession_attempt", record.attempt))
    if record.scope != "test":  # a capture shared by the test's class, module or run
        props += [("devsession_scope", record.scope), ("devsession_part_id", record.part_id)]
    if artifacts:
        props += artifact_properties(record)
    for earlier in record.earlier_attempts:
        if earlier.get("url"):
            props.append((f"devsession_attempt_{earlier['attempt']}_url", earlier["url"]))
        else:
            props.append((f"devsession_attempt_{earlier['attempt']}_session_id", earlier["session_id"]))
    return [(name, str(value)) for name, value in props if value is not None and value != ""]


def artifact_properties(record: SessionRecord) -> list[tuple[str, str]]:
    """What is known once the session is closed: its artifacts and, inside a shared capture, the
    test's label and where it starts in the session's video."""
    record = SessionRecord.of(record)
    app = record.app_session or {}
    late = [("devsession_label_id", record.label_id), ("devsession_video_offset", record.video_offset),
            ("devsession_app_session_id", app.get("session_id")),
            ("devsession_app_crash", "true" if app.get("crash") else None),
            ("devsession_app_anr", "true" if app.get("anr") else None)]
    return [(name, str(value)) for name, value in late if value is not None] + \
        [(property_name(name), str(path)) for name, path in record.artifacts.items()]


def amend(config, records: list[SessionRecord]) -> int:
    """Add each session's artifacts to its testcase in pytest's JUnit XML, before the file is written.

    The artifacts are downloaded after the test's report went by (in the background), so
    they join the testcase here: as properties, and as ``[[ATTACHMENT|path]]`` lines in its
    system-out. Returns how many testcases were completed.
    """
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return 0
    by_id = {r.evidence_id: r for r in map(SessionRecord.of, records) if r.session_id and r.final}
    done = 0
    for reporter in getattr(xml, "node_reporters_ordered", []):
        try:
            testcase = reporter.to_xml()
        except Exception:  # noqa: BLE001 - a reporter of another shape: leave it as pytest made it
            continue
        properties_node = testcase.find("properties")
        if properties_node is None:
            continue
        found = {p.get("name"): p.get("value") for p in properties_node.findall("property")}
        record = by_id.get(found.get("devsession_part_id") or found.get("devsession_session_id"))
        if record is None:
            continue
        for name, value in artifact_properties(record):
            properties_node.append(ET.Element("property", name=name, value=value))
        lines = attachment_lines(record)
        shown = getattr(xml, "log_passing_tests", True) or record.status != "Passed"
        if lines and shown and xml.logging in ("system-out", "all", "out-err"):
            out = testcase.find("system-out")
            if out is None:
                out = ET.SubElement(testcase, "system-out")
            out.text = (out.text or "") + lines
        done += 1
    return done


def attachment_lines(record: SessionRecord) -> str:
    """``[[ATTACHMENT|path]]`` lines that Jenkins and GitLab read from system-out."""
    return "".join(f"[[ATTACHMENT|{path}]]\n" for path in SessionRecord.of(record).artifacts.values())
