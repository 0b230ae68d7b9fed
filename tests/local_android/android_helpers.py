"""Helpers shared by the Android tests (conftest modules share one name, so tests import from here)."""
from __future__ import annotations

import stat
import sys
from pathlib import Path

SERIAL = "emulator-5554"


def write_script(path: Path, body: str) -> Path:
    """An executable Python script run by this interpreter (stands in for the `adb` binary)."""
    path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path
