"""One capture session's record: what the reporters, the manifest, the hooks and the main process read.

Filled by ``closing.py`` (on pytest's thread and the background pool) and by ``recovery.py``;
read by ``reporting/``. It crosses xdist as a plain dict (``to_dict``/``from_dict``: a report
carries it) and stays readable as a mapping (``record["status"]``, ``record.get("url")``), as
the hooks of earlier versions handed it out.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class SessionRecord:
    nodeid: str
    backend: str | None = None
    session_id: str | None = None
    device_address: str | None = None
    userflow: str | None = None
    status: str | None = None  # Passed, Failed or Excluded
    status_message: str | None = None
    url: str | None = None  # the session's page at the service
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> absolute path, once downloaded
    artifact_details: dict[str, dict] = field(default_factory=dict)  # name -> what it holds (contents.py)
    artifact_bytes: int = 0
    measurements: list[dict] = field(default_factory=list)
    measurements_uploaded: bool = False
    problems: list[str] = field(default_factory=list)
    spooled: int = 0  # results kept in the spool for a later run
    attempt: int = 1  # pytest-rerunfailures' attempt, from 1
    final: bool = True  # False for an attempt that pytest ran again
    earlier_attempts: list[dict] = field(default_factory=list)  # on a final attempt: the ones rerun before it
    scope: str = "test"  # what the capture was opened around: test, class, module or session
    part_id: str | None = None  # in a shared capture: the test's own id in it (``{session_id}~{n}``)
    sessions: list[str] = field(default_factory=list)  # at a cloud grid: every session of the test's drivers
    # The app's own recorded session (DevRev): service, session_id, crash, anr, crash_log, timeline_html.
    app_session: dict = field(default_factory=dict)
    label_id: str | None = None  # in a shared capture: the service's mark of the test's window
    video_offset: float | None = None  # in a shared capture: where the test starts in the session's video (s)
    video_duration: float | None = None  # ... and how long it lasts there (s)

    @property
    def key(self) -> tuple:
        """The same session, whichever process or copy: node id, attempt and session id."""
        return self.nodeid, self.attempt, self.session_id

    @property
    def evidence_id(self) -> str | None:
        """What the reports find this test's evidence by: its part of a shared capture, or its session."""
        return self.part_id or self.session_id

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SessionRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})

    @classmethod
    def of(cls, record) -> SessionRecord:
        """``record`` as a SessionRecord (a dict from a report, a manifest or a test is converted)."""
        return record if isinstance(record, cls) else cls.from_dict(record)

    # Read and written as a mapping too, as the hooks handed records out before.
    def __getitem__(self, name: str):
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None

    def __setitem__(self, name: str, value) -> None:
        if name not in {f.name for f in fields(self)}:
            raise KeyError(name)
        setattr(self, name, value)

    def __contains__(self, name: str) -> bool:
        return name in {f.name for f in fields(self)}

    def get(self, name: str, default=None):
        return getattr(self, name, default)
