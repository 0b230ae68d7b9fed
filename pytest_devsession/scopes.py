"""One capture around many tests: ``--devsession-scope class|module|session``, or a module's or
class's ``@pytest.mark.devsession(scope=...)``.

A shared capture is opened before its scope's first capturing test and closed after its last one
in this process: when the next test is in another scope (tests inside it that opt out neither open
nor close it), when there is none, or when the run ends early. The device stays with the scope
until then. Each test inside it is a *part* (``state.Part``) with a window of its own: its own
verdict (``Parts.report_part``: on HeadSpin a label and a user flow event with its status and
measurements), its own cut of the artifacts (``Parts.download_part``: its HAR), and the session's
own artifacts (the video) linked with the test's offset in them. The shared session is named after
the scope and tagged with its outcome counts. Under xdist each worker opens its own capture for the
part of a scope it runs (``--dist loadscope`` keeps a module or class on one worker).
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import verdict
from .backends.base import SHARED, Annotation, HeldPerSession, Naming, Parts
from .devices import taken_key
from .downloads import download_all
from .handle import handle_key
from .opening import join, open_capture, part_state
from .record import SessionRecord
from .state import Capture, CaptureState, state_key


@dataclass
class Shared:
    key: tuple  # (scope, owner, what the capture was created with)
    capture: Capture
    address: str  # the pool device the scope holds until it is closed
    folder: Path  # the session's own artifacts (its video), linked from each test's record
    started: float  # epoch seconds: the capture became ready (its video's start, near enough)
    parts: int = 0
    records: list[SessionRecord] = field(default_factory=list)
    downloads: list[tuple] = field(default_factory=list)  # (state, record, exts, sent) waiting for the close
    files: dict = field(default_factory=dict)  # ext -> (path, size) or the error: the session's own artifacts
    left: int = 0  # tests whose downloads are still under way after the close
    lock: threading.Lock = field(default_factory=threading.Lock)


def scope_of(item: pytest.Item, requested: str) -> tuple[str, str]:
    """(scope, the node id of what the capture is opened around) for ``item``."""
    if requested == "class":
        node = item.getparent(pytest.Class)
        if node is not None:
            return "class", node.nodeid
        requested = "module"  # a test outside any class: its module is the nearest scope
    if requested == "module":
        node = item.getparent(pytest.Module)
        return ("module", node.nodeid) if node is not None else ("test", item.nodeid)
    if requested == "session":
        return "session", "session"
    return "test", item.nodeid


class Scopes:
    """The shared capture of this process (one at a time: a process runs one test at a time)."""

    def __init__(self, run, options_of, wants_capture) -> None:
        self.run = run
        self.options_of = options_of  # item -> its MarkerOptions
        self.wants_capture = wants_capture  # MarkerOptions -> bool
        self.current: Shared | None = None

    def scope(self, item: pytest.Item, options) -> tuple[str, str]:
        return scope_of(item, options.scope or self.run.settings.scope)

    def key(self, item: pytest.Item, options) -> tuple:
        return (*self.scope(item, options), options.device, options.mitm_ignore, options.network_keep_in_session_patterns)

    # a test ------------------------------------------------------------------------
    def enter(self, item: pytest.Item, options, handle) -> None:
        """Open the test's capture, or put the test inside the one its scope shares."""
        run = self.run
        scope, owner = self.scope(item, options)
        key = self.key(item, options)
        if self.current is not None and self.current.key != key:
            self.close(self.current)  # a test of another scope, or created otherwise (a pinned device)
        if scope == "test":
            join(run, item, handle, open_capture(run, item, options, handle))
            return
        if self.current is None:
            state = open_capture(run, item, options, handle, scope=scope, owner=owner)
            address = item.stash.get(taken_key, state.device.address)
            if taken_key in item.stash:
                del item.stash[taken_key]  # the scope holds the device, not its first test
            self.current = Shared(key, state.capture, address, run.folders.take(owner), time.time())
            folder = state.folder
        else:
            folder = None
        shared = self.current
        shared.parts += 1
        join(run, item, handle, part_state(run, item, options, shared.capture, shared.parts, shared.started, folder))

    def after(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """A test's teardown is over: close the shared capture when the next test is not in it."""
        shared = self.current
        if shared is None or self._continues(shared, nextitem):
            return
        self.close(shared)

    def _continues(self, shared: Shared, nextitem: pytest.Item | None) -> bool:
        if nextitem is None:
            return False
        try:
            options = self.options_of(nextitem)
        except Exception:  # noqa: BLE001 - its own marker error shows at its setup
            return False
        if not self.wants_capture(options):  # opting out, it neither opens nor closes the scope's capture
            return self.scope(nextitem, options) == shared.key[:2]
        return self.key(nextitem, options) == shared.key

    # a part's closing (called by the closer) ---------------------------------------
    def finish_part(self, item: pytest.Item, state: CaptureState, record: SessionRecord, download: bool,
                    closer) -> None:
        """The test inside a shared capture is over: its window ends; its downloads wait for the close."""
        run, part = self.run, state.part
        part.end = time.time()
        record.scope, record.label_id = state.capture.scope, part.label_id
        if isinstance(run.backend, Parts):
            closer._request(record)("end the test's part", lambda: run.backend.end_part(state.session_id, part))
        shared = self.current if self.current is not None and self.current.capture is state.capture else None
        if shared is not None:
            shared.records.append(record)
        exts = closer.to_download(state, record)
        if not exts:
            closer.job_done(record, state)
        elif not download or shared is None:
            record.problems.append("artifacts not downloaded: the run was interrupted")
            closer.job_done(record, state)
        else:
            handle = item.stash.get(handle_key, None)
            shared.downloads.append((state, record, exts, bool(handle and handle.sent_traffic)))

    # the shared capture's end ------------------------------------------------------
    def close(self, shared: Shared, interrupted: bool = False) -> None:
        """Stop the shared capture (the last test's teardown, or the run's end), give the device back;
        then, in the background, name it and download what its tests wait for."""
        run, closer = self.run, self.run.closer
        self.current = None
        session_id = shared.capture.session_id
        problems: list[str] = []
        deadline = run.settings.ready_timeout if not interrupted else min(run.settings.ready_timeout, 60)
        try:
            run.backend.stop_capture(session_id, time.monotonic() + deadline)
            stopped = True
            run.write_ledger("mark_session", session_id, stopped=True)
        except Exception as exc:  # noqa: BLE001 - a problem of each of its tests, never the run's end
            stopped = False
            problems.append(verdict.describe("stop capture", exc))
        finally:
            run.open.pop(session_id, None)
            run.devices.give_back_address(shared.address)
        for record in shared.records:
            record.problems.extend(problems)
        pending, shared.downloads = shared.downloads, []
        if not stopped or interrupted:
            why = "the run was interrupted" if interrupted else "the capture did not complete"
            for state, record, _, _ in pending:
                record.problems.append(f"artifacts not downloaded: {why}")
                closer.job_done(record, state)
            return
        run.background.submit(lambda: self._close_job(shared, pending),
                              cancel=lambda: [closer._cancelled_download(r, s) for s, r, _, _ in pending])

    def _close_job(self, shared: Shared, pending: list[tuple]) -> None:
        """Name the shared session after its scope with its outcome counts, then each test's downloads."""
        run, closer, backend = self.run, self.run.closer, self.run.backend
        session_id = shared.capture.session_id
        counts = Counter((r.status or "unknown").lower() for r in shared.records)
        scope_record = SessionRecord(shared.capture.owner, session_id=session_id)
        if isinstance(backend, Naming):
            tags = {"scope": shared.capture.scope, "tests": str(len(shared.records)),
                    **{status: str(n) for status, n in sorted(counts.items())}}
            if run.settings.build_id:
                tags["build"] = run.settings.build_id
            closer._request(scope_record)("name the session", lambda: backend.annotate(
                session_id, Annotation(shared.capture.owner, f"{len(shared.records)} test(s)", tags)))
        shared.left = len(pending)
        for state, record, exts, sent in pending:
            record.problems.extend(scope_record.problems)
            run.background.submit(lambda s=state, r=record, e=exts, t=sent: self._part_downloads(shared, s, r, e, t),
                                  cancel=lambda s=state, r=record: closer._cancelled_download(r, s))
        if not pending:
            self._discard(shared)

    def _discard(self, shared: Shared) -> None:
        """Every test of the shared capture has its artifacts: free what the session held."""
        if isinstance(self.run.backend, HeldPerSession):
            try:
                self.run.backend.discard(shared.capture.session_id)
            except Exception as exc:  # noqa: BLE001
                self.run.problems.append(f"cannot free what the session {shared.capture.session_id} held: {exc}")

    def _part_downloads(self, shared: Shared, state: CaptureState, record: SessionRecord, exts, sent: bool) -> None:
        closer, backend, part = self.run.closer, self.run.backend, state.part

        def get(ext: str, dest: Path) -> tuple[Path | None, int | None]:
            """The test's own cut of the artifact, or the session's own file (the video) with its offset."""
            size = backend.download_part(state.session_id, part, ext, dest) if isinstance(backend, Parts) else SHARED
            if size != SHARED:
                return dest, size
            path, size = self._shared_artifact(shared, ext)
            if path is not None and ext == "mp4":
                record.video_offset = round(part.offset, 3)
                record.video_duration = round((part.end or part.start) - part.start, 3)
            return path, size

        try:
            download_all(backend, record, state.folder, exts, closer._request(record), sent, get=get)
            record.label_id = part.label_id
        finally:
            closer.job_done(record, state)
            with shared.lock:
                shared.left -= 1
                last = shared.left == 0
            if last:
                self._discard(shared)

    def _shared_artifact(self, shared: Shared, ext: str) -> tuple[Path | None, int | None]:
        """The session's own artifact, downloaded once for all its tests (the first test asking waits)."""
        cache = shared.files
        with shared.lock:
            if ext not in cache:
                dest = shared.folder / f"session.{ext}"
                shared.folder.mkdir(parents=True, exist_ok=True)
                try:
                    size = self.run.backend.download(shared.capture.session_id, ext, dest)
                    cache[ext] = (dest if size is not None else None, size)
                except Exception as exc:  # noqa: BLE001 - each test that links it says so
                    cache[ext] = exc
            found = cache[ext]
        if isinstance(found, Exception):
            raise found
        return found

    def close_all(self, interrupted: bool) -> None:
        """The run ends: the shared capture still open is closed (its current test first)."""
        shared = self.current
        if shared is None:
            return
        item = self.run.open.get(shared.capture.session_id)
        state = item.stash.get(state_key, None) if item else None
        if state is not None and not state.closed:
            try:
                self.run.closer.keep(self.run.closer.finish(item, interrupted=True))
            except Exception as exc:  # noqa: BLE001
                self.run.problems.append(f"could not close the capture of {item.nodeid}: {exc}")
        if self.current is not None:
            self.close(shared, interrupted=interrupted)
