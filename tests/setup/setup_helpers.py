"""Helpers of the setup tests (a module of their own: importing from conftest depends on the order)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REQUIRE_ENV = "DEVSESSION_REQUIRE_REAL"


def require(found: object, message: str) -> None:
    """Skip (or fail, with DEVSESSION_REQUIRE_REAL=1) when a real part is missing."""
    if found:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(message)


def write_tool(folder: Path, name: str, body: str) -> Path:
    """An executable ``folder/name`` that runs ``body`` (Python; ``sys``, ``os`` and ``HERE`` are there)."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport os, sys\nHERE = {str(folder)!r}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def run_setup(*args: str, env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_devsession", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def statuses(output: str) -> dict[str, tuple[str, str]]:
    """``{part: (ok|missing, the rest of its line)}`` from setup's output."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^  (ok|missing) +(.+?) {2,}(.*)$", line)
        if match:
            found[match.group(2)] = (match.group(1), match.group(3))
    return found
