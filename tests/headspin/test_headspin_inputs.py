"""Bad input from the service and the machine, and secrets in what we attach."""
from __future__ import annotations

import json
import socket

import pytest

from pytest_devsession.emulator import Fault
from pytest_devsession.emulator.artifacts import APP_SECRETS


def _locks(emulator) -> list:
    return [r for r in emulator.requests if r[1].endswith(("/lock", "/unlock"))]


def test_unreachable_api_url(pytester, devsession_run, headspin_emulator):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once the probe is closed
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run("--devsession-api-url", f"http://127.0.0.1:{closed}/v0")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--devsession-api-url: cannot list devices at http://127.0.0.1:{closed}/v0" in run.output()
    assert "cannot reach" in run.output()


@pytest.mark.parametrize("body, needle", [
    ("<html><body>Sign in</body></html>", "expected JSON from"),
    ({"items": []}, "the device list has no 'devices' array"),
])
def test_api_answering_something_else(pytester, devsession_run, headspin_emulator, body, needle):
    headspin_emulator.add_fault(Fault(method="GET", path=r"^/devices$", kind="status", status=200, body=body,
                                      times=None))
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run()
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert needle in run.output()
    assert _locks(headspin_emulator) == []


def test_artifacts_folder_that_cannot_be_written(pytester, devsession_run, headspin_emulator):
    (pytester.path / "not-a-folder").write_text("a file where the folder should be")
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run("--devsession-artifacts-dir", "not-a-folder/sub", reports=False)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--devsession-artifacts-dir: cannot write to" in run.output()
    assert headspin_emulator.requests == []


def test_full_disk_loses_no_outcome_and_leaves_no_half_file(pytester, devsession_run, headspin_emulator):
    # While the session is open the inner run may write no file past 1500 bytes: the downloads hit
    # that limit as they would a full disk (the limit goes again when every session is closed, so
    # that pytest's own output gets written).
    pytester.makeconftest('''
        import resource, signal

        def pytest_devsession_session_started():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1500, resource.RLIM_INFINITY))

        def pytest_devsession_records_final():  # every session closed, downloads done (or failed)
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    ''')
    pytester.makepyfile(test_a='''
        import pytest

        @pytest.mark.userflow("Disk")
        def test_a(devsession):
            devsession.measure("k", 1)
    ''')
    run = devsession_run("-q", subprocess=True, reports=False)
    run.result.assert_outcomes(passed=1)
    out = run.output()
    assert "download mp4" in out and "File too large" in out
    assert not list((run.path / "devsession-artifacts").rglob("*.part"))
    assert not list((run.path / "devsession-artifacts").rglob("session.mp4"))
    (session,) = headspin_emulator.sessions.values()
    assert session.state == "complete"
    flow = headspin_emulator.userflow_by_name("Disk")
    assert [m["value"] for e in flow.events.values() for m in e.measurements] == [1]
    assert all(d.locked_by is None for d in headspin_emulator.devices.values())


def test_har_is_redacted_unless_asked_raw(pytester, devsession_run, headspin_emulator):
    pytester.makepyfile(test_a="def test_a(): pass")
    run = devsession_run("--devsession-artifacts", "har", "--devsession-redact", "User-Agent")
    run.result.assert_outcomes(passed=1)
    (har_path,) = (run.path / "devsession-artifacts").rglob("session.har")
    text = har_path.read_text()
    assert not any(secret in text for secret in APP_SECRETS)
    headers = {h["name"]: h["value"] for h in json.loads(text)["log"]["entries"][0]["request"]["headers"]}
    assert headers["Authorization"] == headers["Cookie"] == headers["User-Agent"] == "[REDACTED]"
    assert headers["Host"] != "[REDACTED]"

    headspin_emulator.reset()
    run = devsession_run("--devsession-artifacts", "har", "--devsession-har-raw")
    run.result.assert_outcomes(passed=1)
    (har_path,) = (run.path / "devsession-artifacts").rglob("session.har")
    assert all(secret in har_path.read_text() for secret in APP_SECRETS)


def test_node_ids_never_write_outside_the_artifacts_folder(pytester, devsession_run):
    pytester.makepyfile(test_a='''
        import pytest

        @pytest.mark.parametrize("name", ["../../escape", "/etc/passwd", "a\\\\b:c*?<>|", "con"])
        def test_odd(name):
            pass
    ''')
    run = devsession_run("--devsession-artifacts", "har")
    run.result.assert_outcomes(passed=4)
    root = (run.path / "devsession-artifacts").resolve()
    hars = list(run.path.rglob("session.har"))
    assert len(hars) == 4
    for har in hars:
        assert har.resolve().parent.parent == root
    assert not (run.path.parent / "escape").exists()
