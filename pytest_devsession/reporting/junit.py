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
    if artifacts:
        props += artifact_properties(record)
    for earlier in record.earlier_attempts:
        if earlier.get("url"):
            props.append((f"devsession_attempt_{earlier['attempt']}_url", earlier["url"]))
        else:
            props.append((f"devsession_attempt_{earlier['attempt']}_session_id", earlier["session_id"]))
    return [(name, str(value)) for name, value in props if value]


def artifact_properties(record: SessionRecord) -> list[tuple[str, str]]:
    return [(property_name(name), str(path)) for name, path in SessionRecord.of(record).artifacts.items()]


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
    by_session = {r.session_id: r for r in map(SessionRecord.of, records) if r.session_id and r.final}
    done = 0
    for reporter in getattr(xml, "node_reporters_ordered", []):
        try:
            testcase = reporter.to_xml()
        except Exception:  # noqa: BLE001 - a reporter of another shape: leave it as pytest made it
            continue
        properties_node = testcase.find("properties")
        if properties_node is None:
            continue
        ids = [p.get("value") for p in properties_node.findall("property") if p.get("name") == "devsession_session_id"]
        record = by_session.get(ids[0]) if ids else None
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
