"""Local backend: a run that tests nothing starts no capture server and writes no store or manifest."""
from __future__ import annotations

import json

import pytest

# Written by the inner run as it ends: what it loaded.
LOADED = '''
import json, sys
from pathlib import Path

def pytest_unconfigure(config):
    Path("loaded.json").write_text(json.dumps(
        {name: name in sys.modules for name in ("mitmproxy", "pytest_devsession.backends.local.backend")}))
'''

PREVIOUS = b'{"version": 1, "sessions": [{"nodeid": "test_old.py::test_old"}]}\n'


@pytest.mark.parametrize("args, source, code", [
    (["--co"], "def test_a(devsession): pass", pytest.ExitCode.OK),
    (["--fixtures"], "def test_a(devsession): pass", pytest.ExitCode.OK),
    ([], "import pytest\n\n@pytest.mark.devsession(capture='yes')\ndef test_a(): pass", pytest.ExitCode.USAGE_ERROR),
])
def test_a_run_that_tests_nothing_starts_no_capture_server(pytester, monkeypatch, args, source, code):
    for name in ("DEVSESSION_BACKEND", "DEVSESSION_DEVICES", "DEVSESSION_LOCAL_URL", "DEVSESSION_LOCAL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(LOADED)
    pytester.makepyfile(test_a=source)
    (pytester.path / "devsession-artifacts").mkdir()
    manifest = pytester.path / "devsession-artifacts" / "manifest.json"
    manifest.write_bytes(PREVIOUS)
    result = pytester.runpytest_subprocess("--devsession", "-p", "no:cacheprovider", *args)
    assert result.ret == code, result.stdout.str() + result.stderr.str()
    loaded = json.loads((pytester.path / "loaded.json").read_text())
    assert loaded == {"mitmproxy": False, "pytest_devsession.backends.local.backend": False}
    assert not (pytester.path / ".devsession").exists(), "the user flow store was written"
    assert manifest.read_bytes() == PREVIOUS
    assert [p.name for p in manifest.parent.iterdir()] == ["manifest.json"]
