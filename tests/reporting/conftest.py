"""Reports read by their own tools: pytest with --devsession and a reporting plugin, the results read back."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class AllureRun:
    result: pytest.RunResult
    path: Path

    @property
    def folder(self) -> Path:
        return self.path / "allure-results"

    def results(self) -> dict[str, dict]:
        """Each test's Allure result by test name."""
        found = [json.loads(f.read_text()) for f in self.folder.glob("*-result.json")]
        return {r["name"]: r for r in found}

    def attachments(self, result: dict) -> dict[str, Path]:
        """A result's attachments by name, as files in the results folder."""
        return {a["name"]: self.folder / a["source"] for a in result.get("attachments", [])}

    @property
    def manifest(self) -> dict[str, dict]:
        data = json.loads((self.path / "devsession-artifacts" / "manifest.json").read_text())
        return {s["nodeid"].split("::")[-1]: s for s in data["sessions"]}


@pytest.fixture
def allure_run(pytester: pytest.Pytester, monkeypatch):
    """Run pytest --devsession in a subprocess (allure-pytest keeps global state); returns an AllureRun.

    ``allure=False`` runs without --alluredir. The backend's environment is set by the fixtures below.
    """
    for name in ("DEVSESSION_DEVICES", "DEVSESSION_ARTIFACTS", "DEVSESSION_DOWNLOAD", "DEVSESSION_USERFLOW",
                 "DEVSESSION_LOCAL_URL", "DEVSESSION_LOCAL_PROXY", "HEADSPIN_UI_URL"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, allure: bool = True) -> AllureRun:
        argv = ["--devsession", "-p", "no:cacheprovider", *(["--alluredir", "allure-results"] if allure else []), *args]
        return AllureRun(pytester.runpytest_subprocess(*argv, timeout=120), pytester.path)

    return run


@pytest.fixture
def emulator_run(allure_run, headspin_emulator, monkeypatch):
    """``allure_run`` against the HeadSpin emulator, with quick captures."""
    monkeypatch.setenv("HEADSPIN_API_TOKEN", headspin_emulator.token)
    monkeypatch.setenv("HEADSPIN_API_URL", headspin_emulator.url)
    monkeypatch.setenv("DEVSESSION_BACKEND", "headspin")
    monkeypatch.setenv("DEVSESSION_DEVICES", headspin_emulator.DEFAULT_DEVICES[0])
    headspin_emulator.ready_delay = 0.05
    headspin_emulator.complete_delay = 0.05
    return allure_run


@pytest.fixture
def local_allure_run(allure_run, monkeypatch):
    """``allure_run`` on the embedded local backend."""
    monkeypatch.setenv("DEVSESSION_BACKEND", "local")
    monkeypatch.delenv("HEADSPIN_API_TOKEN", raising=False)
    return allure_run
