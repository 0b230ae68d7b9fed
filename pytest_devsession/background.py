"""The steps after a test that need no device, off the test's critical path.

Only what needs the device stays in the test's teardown: stop the capture and wait until it is
complete. Naming the session, its user flow status, the measurements and the downloads run here,
on a bounded pool of threads (``--devsession-background``, default 4), while the next test's
capture starts. Hooks of ours and reporters run on pytest's own thread: a job hands them back
with ``call_soon`` and they run at the next hook of the run, or when the run drains the pool
before any report is written. With 0 threads every job runs at once, in the teardown.

Ctrl-C while the run drains: jobs not started run their ``cancel`` (a verdict goes to the spool,
a download becomes a problem), jobs under way are waited for; a second Ctrl-C leaves them.
The threads are daemons, so that a run left that way ends at once.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Job:
    run: Callable[[], None]
    cancel: Callable[[], None]


class Background:
    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._soon: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # jobs submitted and not ended (queued or running)
        self._running = 0
        self._workers: list[threading.Thread] = []

    def submit(self, run: Callable[[], None], cancel: Callable[[], None] = lambda: None) -> None:
        """Run ``run`` on the pool (at once, here, without one); it reports its own failures.
        ``cancel`` stands in for it when the run is interrupted before it started."""
        if not self.threads:
            run()
            return
        if not self._workers:
            self._workers = [threading.Thread(target=self._work, name=f"devsession-{n}", daemon=True)
                             for n in range(self.threads)]
            for worker in self._workers:
                worker.start()
        # Counted before it is queued: never a job the drain does not wait for. (A Ctrl-C in between
        # leaves the count one too high: the drain also ends when nothing is queued or running.)
        with self._lock:
            self._pending += 1
        try:
            self._queue.put(Job(run, cancel))
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                self._running += 1
            try:
                job.run()
            except BaseException:  # noqa: BLE001 - a job reports its own failures; the thread lives on
                pass
            finally:
                with self._lock:
                    self._running -= 1
                    self._pending -= 1
                    self._idle.notify_all()

    def call_soon(self, call: Callable[[], None]) -> None:
        """Run ``call`` on pytest's thread at the next chance (at once, when this is that thread)."""
        if not self.threads and threading.current_thread() is threading.main_thread():
            call()
            return
        self._soon.append(call)

    def run_soon(self) -> None:
        """Run what the jobs handed back; from pytest's thread only."""
        while self._soon:
            self._soon.popleft()()

    def outstanding(self) -> int:
        with self._lock:
            return self._pending

    def waiting(self) -> int:
        """Jobs submitted and not started yet."""
        with self._lock:
            return max(self._pending - self._running, 0)

    def drain(self, progress: Callable[[], None], every: float = 2.0) -> None:
        """Wait for every job, running what they hand back, with a progress line every ``every``
        seconds. Raises KeyboardInterrupt on Ctrl-C (``interrupt`` then deals with what is left)."""
        said = time.monotonic()
        while True:
            self.run_soon()
            with self._lock:
                if self._pending <= 0 or (not self._running and self._queue.empty()):
                    break
                self._idle.wait(timeout=0.2)
            if time.monotonic() - said >= every:
                progress()
                said = time.monotonic()
        self.run_soon()

    def interrupt(self, say: Callable[[str], None]) -> int:
        """Ctrl-C: cancel the jobs not started, wait for those under way (a second Ctrl-C leaves
        them); returns how many were left running."""
        cancelled = 0
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                continue
            with self._lock:
                self._pending -= 1
            cancelled += 1
            try:
                job.cancel()
            except Exception:  # noqa: BLE001
                pass
        running = self.outstanding()
        if running:
            say(f"pytest-devsession: waiting for {running} step(s) under way to end (Ctrl-C again to leave them)")
            try:
                with self._lock:
                    while self._running:
                        self._idle.wait(timeout=0.2)
            except KeyboardInterrupt:
                pass
        self.run_soon()
        return self.outstanding()

    def shutdown(self) -> None:
        for _ in self._workers:
            self._queue.put(None)
