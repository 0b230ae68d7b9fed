"""The terminal summary: a line per session with -v, totals always."""
from __future__ import annotations

from collections import Counter


def _size(n: float) -> str:
    units = ("B", "KB", "MB", "GB")
    step = 0
    while n >= 1024 and step < len(units) - 1:
        n, step = n / 1024, step + 1
    return f"{n:.0f} B" if step == 0 else f"{n:.1f} {units[step]}"


def write(terminal, records: list[dict], verbose: bool, manifest: str | None) -> None:
    terminal.section("devsession")
    records = sorted(records, key=lambda r: (r["nodeid"], r.get("attempt") or 1))
    if verbose:
        for r in records:
            extra = f" - {r['status_message']}" if r.get("status_message") else ""
            terminal.line(f"{r.get('status') or 'no status'} {r['nodeid']} {r.get('url') or ''}{extra}".rstrip())
    sessions = [r for r in records if r.get("session_id")]
    # Attempts that pytest-rerunfailures reran are counted apart: the statuses are the tests' final ones.
    reruns = sum(1 for r in sessions if r.get("final") is False)
    by_status = Counter(r.get("status") or "no status" for r in sessions if r.get("final") is not False)
    artifacts = sum(len(r.get("artifacts", {})) for r in records)
    size = sum(r.get("artifact_bytes", 0) for r in records)
    uploaded = sum(len(r.get("measurements", [])) for r in records if r.get("measurements_uploaded"))
    kept = sum(len(r.get("measurements", [])) for r in records if not r.get("measurements_uploaded"))
    problems = [p for r in records for p in r.get("problems", [])]
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
            attempt = f" (attempt {r['attempt']})" if (r.get("attempt") or 1) > 1 or r.get("final") is False else ""
            for p in r.get("problems", []):
                terminal.line(f"  {r['nodeid']}{attempt}: {p}", yellow=True)
    else:
        terminal.line("problems: 0")
    if manifest:
        terminal.line(f"manifest: {manifest}")
