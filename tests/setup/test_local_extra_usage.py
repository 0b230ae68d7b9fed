"""Without the [local] extra, `pytest --devsession` on the embedded local backend stops with one usage error."""
from __future__ import annotations

import pytest

BLOCKER = '''
import sys

BLOCKED = {"mitmproxy", "imageio_ffmpeg"}


class Blocker:
    """As if these packages were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Blocker())
'''
TEST = '''
import pathlib

def test_one():
    pathlib.Path(__file__).with_name("ran.marker").write_text("ran")
'''


@pytest.fixture
def project(pytester, monkeypatch):
    for name in ("DEVSESSION_BACKEND", "DEVSESSION_LOCAL_URL", "DEVSESSION_LOCAL_PROXY", "HEADSPIN_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(BLOCKER)
    pytester.makepyfile(test_one=TEST)
    return pytester


@pytest.mark.parametrize("how", ["default", "env"])
def test_missing_local_extra_is_one_usage_error_before_any_test(project, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("DEVSESSION_BACKEND", "local")
    result = project.runpytest_subprocess("--devsession", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    setting = "DEVSESSION_BACKEND" if how == "env" else "--devsession-backend"
    result.stderr.fnmatch_lines([
        f"ERROR: pytest-devsession: {setting}: the local backend's embedded capture server needs packages "
        "that are not installed (mitmproxy, imageio-ffmpeg): pip install 'pytest-devsession[local]'; "
        "or use --devsession-backend headspin (or --devsession-local-url for a capture server of your own)",
    ])
    assert result.stderr.str().count("pytest-devsession[local]") == 1
    assert not (project.path / "ran.marker").exists()
    assert "passed" not in result.stdout.str()


def test_only_the_embedded_capture_server_needs_the_extra(pytester, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mitmproxy" else real_find_spec(name, *a))
    with pytest.raises(pytest.UsageError, match=r"not installed \(mitmproxy\): pip install"):
        pytester.parseconfigure("--devsession")
    assert pytester.parseconfigure().pluginmanager.get_plugin("devsession-controller") is None
    # A capture server of one's own (nothing listens there: nothing is sent before the first test).
    config = pytester.parseconfigure("--devsession", "--devsession-local-url", "http://127.0.0.1:9",
                                     "--devsession-local-proxy", "http://127.0.0.1:9")
    assert config.pluginmanager.get_plugin("devsession-controller") is not None
