"""Turn a test's three reports into a HeadSpin status and a short message."""
from __future__ import annotations

PASSED, FAILED, EXCLUDED = "Passed", "Failed", "Excluded"
MESSAGE_LIMIT = 300


def _crash(report) -> str:
    """The one line that says what went wrong (or why it was skipped), shortened."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        # The first line names the error; pytest's assertion rewriting adds the rest.
        text = crash.message.strip().splitlines()[0]
    elif isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, reason) of a skip
        text = str(longrepr[2]).removeprefix("Skipped: ")
    else:
        lines = str(longrepr or "").strip().splitlines()
        text = lines[-1] if lines else ""
    text = " ".join(text.split())
    return text[: MESSAGE_LIMIT - 3] + "..." if len(text) > MESSAGE_LIMIT else text


def decide(reports) -> tuple[str, str | None]:
    """Status over setup, call and teardown, as pytest itself counts them.

    The first failing phase names the message; skips and xfails are Excluded;
    a non-strict xpass is Passed (pytest reports a strict one as failed).
    """
    by_phase = {r.when: r for r in reports}
    for phase in ("setup", "call", "teardown"):
        report = by_phase.get(phase)
        if report is not None and report.failed:
            kind = "failed in call" if phase == "call" else f"error in {phase}"
            return FAILED, f"{kind}: {_crash(report)}"
    for phase in ("setup", "call"):
        report = by_phase.get(phase)
        if report is not None and report.skipped:
            if hasattr(report, "wasxfail"):
                return EXCLUDED, f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
            return EXCLUDED, f"skipped: {_crash(report)}"
    call = by_phase.get("call")
    if call is not None and hasattr(call, "wasxfail"):
        return PASSED, f"xpass: {call.wasxfail}" if call.wasxfail else "xpass"
    return PASSED, None
