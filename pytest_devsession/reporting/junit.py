"""JUnit XML properties and attachment lines for one session record."""
from __future__ import annotations

PREFIX = "devsession_"


def property_name(artifact: str) -> str:
    return PREFIX + artifact.replace(".", "_")


def is_ours(prop) -> bool:
    """A ``(name, value)`` user property this plugin wrote."""
    return isinstance(prop, tuple) and bool(prop) and str(prop[0]).startswith(PREFIX)


def properties(record: dict) -> list[tuple[str, str]]:
    """The session's properties; a final attempt also names the attempts that were rerun before it."""
    props = [
        ("devsession_session_id", record.get("session_id")),
        ("devsession_session_url", record.get("url")),
        ("devsession_status", record.get("status")),
        ("devsession_userflow", record.get("userflow")),
    ]
    if (record.get("attempt") or 1) > 1:
        props.append(("devsession_attempt", record["attempt"]))
    props += [(property_name(name), path) for name, path in record.get("artifacts", {}).items()]
    for earlier in record.get("earlier_attempts", []):
        if earlier.get("url"):
            props.append((f"devsession_attempt_{earlier['attempt']}_url", earlier["url"]))
        else:
            props.append((f"devsession_attempt_{earlier['attempt']}_session_id", earlier["session_id"]))
    return [(name, str(value)) for name, value in props if value]


def attachment_lines(record: dict) -> str:
    """``[[ATTACHMENT|path]]`` lines that Jenkins and GitLab read from system-out."""
    return "".join(f"[[ATTACHMENT|{path}]]\n" for path in record.get("artifacts", {}).values())
