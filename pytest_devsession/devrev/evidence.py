"""A found DevRev session's evidence for the test's record.

``collect`` reads each recording's data and makes of it:

* ``session.devrev.json``: ``{"session": <the session as listed>, "recordings": [<data.get answer>, ...]}``,
  as DevRev sent them (frame links included; the token is never in them, scrubbed all the same);
* measurements, each ``type: "DevRev"``: ``app launch time (cold|warm)`` (the launch type in the
  key, ms), ``session duration`` (ms), ``available RAM`` and ``total RAM`` (bytes, as DevRev sends them);
* the crash and ANR flags (the session's or any recording's) and the log text DevRev keeps with them;
* the timeline as an HTML table (offset, event type and name, what it concerned, screen) for pytest-html;
* ``session.devrev.mp4``: the recordings' frames at their times (see ``frames``).

Whatever cannot be had is a sentence in ``problems``; only every recording's data failing
entirely is raised (a ``BackendError``: there is no evidence at all).
"""
from __future__ import annotations

import html
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..backends.base import BackendError
from ..files import write_atomic
from . import frames as frame_video
from .client import DevRevClient
from .finder import epoch

TYPE = "DevRev"
JSON, MP4, LOG = "devrev.json", "devrev.mp4", "devrev.log"


@dataclass
class DevRevEvidence:
    session_id: str
    files: dict[str, str] = field(default_factory=dict)  # artifact name (devrev.json, devrev.mp4, devrev.log) -> absolute path
    measurements: list[dict] = field(default_factory=list)  # {key, value, units, type: "DevRev"}
    crash: bool = False
    anr: bool = False
    crash_log: str | None = None
    timeline_html: str = ""
    problems: list[str] = field(default_factory=list)
    details: dict[str, dict] = field(default_factory=dict)  # artifact name -> what it holds (mp4: frames, duration_s)


def collect(client: DevRevClient, session: dict, folder: Path, *, stem: str = "session", video: bool = True,
            web: bool = False) -> DevRevEvidence:
    """The evidence of ``session`` (a ``find_session`` answer), its files written in ``folder`` as
    ``{stem}.devrev.json``, ``{stem}.devrev.mp4`` and, with a crash or ANR log, ``{stem}.devrev.log``."""
    session_id = str(session.get("session_id"))
    evidence = DevRevEvidence(session_id)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    recordings: list[tuple[str, dict]] = []
    for recording_id in session.get("recording_ids") or ():
        try:
            recordings.append((str(recording_id), client.recording_data(session_id, str(recording_id), web=web)))
        except BackendError as exc:
            if not recordings and recording_id == (session.get("recording_ids") or [None])[-1]:
                raise
            evidence.problems.append(f"DevRev recording {recording_id} of session {session_id} could not be read: {exc}")
    if not recordings:
        return evidence
    document = {"session": session, "recordings": [data for _, data in recordings]}
    path = folder / f"{stem}.devrev.json"
    write_atomic(path, client.scrub(json.dumps(document, ensure_ascii=False, indent=1)))
    evidence.files[JSON] = str(path.resolve())
    evidence.measurements = measurements(session, [data for _, data in recordings])
    _flags(evidence, session, [data for _, data in recordings], client.scrub)
    if evidence.crash_log:
        log = folder / f"{stem}.devrev.log"
        write_atomic(log, evidence.crash_log)
        evidence.files[LOG] = str(log.resolve())
    evidence.timeline_html = client.scrub(timeline_html([data for _, data in recordings]))
    if video:
        _video(client, session, recordings, folder / f"{stem}.devrev.mp4", evidence, web)
    return evidence


def _measure(key: str, value, units: str) -> dict | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return {"key": key, "value": value, "units": units, "type": TYPE}


def measurements(session: dict, recordings: list[dict]) -> list[dict]:
    """The session's measurements: each from the first recording that has it."""
    found: list[dict | None] = []
    launch = next((d["app_launch"] for d in recordings if isinstance(d.get("app_launch"), dict)
                   and isinstance(d["app_launch"].get("launch_time_ms"), (int, float))), None)
    if launch is not None:
        kind = str(launch.get("launch_type") or "").strip()
        found.append(_measure(f"app launch time ({kind})" if kind else "app launch time", launch["launch_time_ms"], "ms"))
    duration = session.get("session_duration_ms")
    if not isinstance(duration, (int, float)):
        duration = next((d.get("session_duration_ms") for d in recordings if d.get("session_duration_ms") is not None), None)
    found.append(_measure("session duration", duration, "ms"))
    for name, key in (("available RAM", "available_ram"), ("total RAM", "total_ram")):
        found.append(_measure(name, next((d.get(key) for d in recordings if d.get(key) is not None), None), "bytes"))
    return [m for m in found if m is not None]


def _flags(evidence: DevRevEvidence, session: dict, recordings: list[dict], scrub) -> None:
    logs = [d.get("observability_sessions_log_data") for d in recordings]
    logs = [log for log in logs if isinstance(log, dict)]
    evidence.crash = bool(session.get("is_crash")) or any(log.get("is_crash") for log in logs)
    evidence.anr = bool(session.get("is_anr")) or any(log.get("is_anr") for log in logs)
    texts = [str(log.get("value")) for log in logs if log.get("value")]
    evidence.crash_log = scrub("\n\n".join(texts)) if texts else None


def _offset(ms) -> str:
    return f"+{ms / 1000:.3f} s" if isinstance(ms, (int, float)) and not isinstance(ms, bool) else ""


def timeline_html(recordings: list[dict]) -> str:
    """The recordings' events as one HTML table, in time order; "" without events."""
    events = [e for d in recordings for e in (d.get("recording_events_timeline") or ()) if isinstance(e, dict)]
    if not events:
        return ""
    events.sort(key=lambda e: e.get("timestamp_offset_ms") if isinstance(e.get("timestamp_offset_ms"), (int, float)) else 0)
    rows = []
    for event in events:
        kind = " / ".join(str(event[k]) for k in ("event_type", "event_name") if event.get(k))
        what = next((str(event[k]) for k in ("name", "object_name", "exception_class_name", "custom_tag")
                     if event.get(k)), "")
        cells = (_offset(event.get("timestamp_offset_ms")), kind, what, str(event.get("screen") or ""))
        rows.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    return ('<table class="devrev-timeline"><thead><tr><th>Time</th><th>Event</th><th>Name</th><th>Screen</th>'
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _video(client: DevRevClient, session: dict, recordings: list[tuple[str, dict]], dest: Path,
           evidence: DevRevEvidence, web: bool) -> None:
    spool = Path(tempfile.mkdtemp(prefix="devsession-devrev-"))
    try:
        timed: list[tuple[Path, float]] = []
        base = None
        for number, (recording_id, data) in enumerate(recordings):
            created = epoch(data.get("created_at")) or epoch(session.get("created_at"))
            base = created if base is None else base
            shift = (created - base) if created is not None and base is not None else 0.0
            timed += [(path, seconds + shift) for path, seconds in
                      _recording_frames(client, session, recording_id, data, spool / str(number), evidence, web)]
        if not timed:
            if any(d.get("video_playback_data") for _, d in recordings):
                evidence.problems.append(f"DevRev session {evidence.session_id}: no frame of its recording could be fetched")
            return
        made = frame_video.encode_mp4(timed, dest)
        if made["skipped"]:
            evidence.problems.append(f"DevRev session {evidence.session_id}: {made['skipped']} frames of another image "
                                     "format than the first were left out of the video")
        evidence.files[MP4] = str(dest.resolve())
        evidence.details[MP4] = {"frames": made["frames"], "duration_s": made["duration_s"]}
    except BackendError as exc:
        evidence.problems.append(f"DevRev session {evidence.session_id}: no video: {client.scrub(str(exc))}")
    except ImportError as exc:  # the encoder comes with the [local] extra; the rest of the evidence does not need it
        evidence.problems.append(f"DevRev session {evidence.session_id}: no video: {exc.name or exc} is not installed "
                                 "(pip install 'pytest-devsession[local]')")
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _recording_frames(client: DevRevClient, session: dict, recording_id: str, data: dict, folder: Path,
                      evidence: DevRevEvidence, web: bool) -> list[tuple[Path, float]]:
    """One recording's frames (file, seconds from its start); expired links asked for again once."""
    duration = session.get("session_duration_ms")
    listed = frame_video.frame_links(data, duration)
    times = {key: seconds for key, seconds, _ in listed}
    got, failed = frame_video.fetch(listed, folder, client.sleep)
    if any(frame_video.expired(error) for error in failed.values()):
        fresh = client.recording_data(evidence.session_id, recording_id, web=web)
        again = [frame for frame in frame_video.frame_links(fresh, duration) if frame[0] in failed]
        more, failed = frame_video.fetch(again, folder / "again", client.sleep)
        got.update(more)
    if failed:
        key, error = next(iter(failed.items()))
        evidence.problems.append(f"DevRev recording {recording_id}: {len(failed)} of {len(listed)} frames could not be "
                                 f"fetched (frame {key}: {client.scrub(str(error))})")
    missing = [key for key, _, link in listed if not link]
    if missing:
        evidence.problems.append(f"DevRev recording {recording_id}: {len(missing)} frames have no link")
    return [(path, times[key]) for key, path in got.items()]
