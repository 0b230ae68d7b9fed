"""JUnit XML properties and attachment lines for one session record."""
from __future__ import annotations


def property_name(artifact: str) -> str:
    return "devsession_" + artifact.replace(".", "_")


def properties(record: dict) -> list[tuple[str, str]]:
    props = [
        ("devsession_session_id", record.get("session_id")),
        ("devsession_session_url", record.get("url")),
        ("devsession_status", record.get("status")),
        ("devsession_userflow", record.get("userflow")),
    ]
    props += [(property_name(name), path) for name, path in record.get("artifacts", {}).items()]
    return [(name, str(value)) for name, value in props if value]


def attachment_lines(record: dict) -> str:
    """``[[ATTACHMENT|path]]`` lines that Jenkins and GitLab read from system-out."""
    return "".join(f"[[ATTACHMENT|{path}]]\n" for path in record.get("artifacts", {}).values())
