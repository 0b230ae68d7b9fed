"""Helpers of the LambdaTest tests: the plugin's ``-p`` and a pytester run's results."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest




@dataclass
class Run:
    result: pytest.RunResult
    path: Path
    secret: str

    @property
    def manifest(self) -> dict:
        return json.loads((self.path / "devsession-artifacts" / "manifest.json").read_text())

    def sessions(self) -> dict[str, dict]:
        """The manifest's sessions by test name."""
        return {s["nodeid"].split("::")[-1]: s for s in self.manifest["sessions"]}

    def artifact(self, session: dict, name: str) -> Path:
        return self.path / "devsession-artifacts" / session["artifacts"][name]

    def output(self) -> str:
        return "\n".join(self.result.outlines + self.result.errlines)

    def assert_secret_absent(self) -> None:
        """The access key is in no file the run wrote, and not in its output."""
        assert self.secret not in self.output()
        checked = 0
        for file in self.path.rglob("*"):
            if file.is_file():
                checked += 1
                assert self.secret.encode() not in file.read_bytes(), f"the access key leaked into {file}"
        assert checked > 0
