"""The terminal summary: a line per session with -v, totals always."""
from __future__ import annotations

from collections import Counter

from ..record import SessionRecord


def _size(n: float) -> str:
    units = ("B", "KB", "MB", "GB")
    step = 0
    while n >= 1024 and step < len(units) - 1:
        n, step = n / 1024, step + 1
    return f"{n:.0f} B" if step == 0 else f"{n:.1f} {units[step]}"


def write(terminal, records: list, verbose: bool, manifest: str | None) -> None:
    terminal.section("devsession")
    records = sorted((SessionRecord.of(r) for r in records), key=lambda r: (r.nodeid, r.attempt))
    if verbose:
        for r in records:
            extra = f" - {r.status_message}" if r.status_message else ""
            terminal.line(f"{r.status or 'no status'} {r.nodeid} {r.url or ''}{extra}".rstrip())
    sessions = [r for r in records if r.session_id]
    # Attempts that pytest-rerunfailures reran are counted apart: the statuses are the tests' final ones.
    reruns = sum(1 for r in sessions if not r.final)
    by_status = Counter(r.status or "no status" for r in sessions if r.final)
    artifacts = sum(len(r.artifacts) for r in records)
    size = sum(r.artifact_bytes for r in records)
    uploaded = sum(len(r.measurements) for r in records if r.measurements_uploaded)
    kept = sum(len(r.measurements) for r in records if not r.measurements_uploaded)
    problems = [p for r in records for p in r.problems]
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(by_status.items())) or "none"
    if reruns:
        statuses += f"; {reruns} rerun attempt{'s' if reruns > 1 else ''}, Excluded"
    terminal.line(f"sessions: {len(sessions)} ({statuses})")
    terminal.line(f"artifacts: {artifacts} ({_size(size)})")
    line = f"measurements uploaded: {uploaded}"
    if kept:
        line += f"; {kept} not uploaded (no user flow or upload failed), kept in the reports and manifest"
    terminal.line(line)
    if problems:
        terminal.line(f"problems: {len(problems)}", yellow=True)
        for r in records:
            attempt = f" (attempt {r.attempt})" if r.attempt > 1 or not r.final else ""
            for p in r.problems:
                terminal.line(f"  {r.nodeid}{attempt}: {p}", yellow=True)
    else:
        terminal.line("problems: 0")
    if manifest:
        terminal.line(f"manifest: {manifest}")
