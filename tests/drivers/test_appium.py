from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_devsession.drivers.appium import (
    AppiumServer,
    AppiumStartError,
    appium_options,
    cut_session_log,
    fake_app_path,
    fake_capabilities,
    find_appium,
)


@pytest.fixture(scope="module")
def server(appium_bin, tmp_path_factory):
    srv = AppiumServer(appium_bin, log_path=tmp_path_factory.mktemp("appium") / "appium.log")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def new_session(url: str):
    from appium import webdriver

    return webdriver.Remote(url, options=appium_options(fake_capabilities()))


def children_of(pid: int) -> list[int]:
    """Every descendant of pid, from /proc (empty where there is no /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_each_session_gets_its_own_log(server, tmp_path):
    from appium.webdriver.common.appiumby import AppiumBy

    a = new_session(server.url)
    try:
        b = new_session(server.url)
        try:
            field = a.find_element(AppiumBy.ID, "username")
            field.send_keys("alice")
            assert field.text == "alice"
            b.find_element(AppiumBy.ACCESSIBILITY_ID, "password")
            a.find_element(AppiumBy.ID, "login").click()
        finally:
            b.quit()
    finally:
        a.quit()
    assert a.session_id != b.session_id

    for mine, other in ((a.session_id, b.session_id), (b.session_id, a.session_id)):
        dest = tmp_path / f"{mine}.log"
        kept = cut_session_log(server.log_path, mine, dest)
        text = dest.read_text()
        assert kept > 10
        assert not (tmp_path / f"{mine}.log.part").exists()
        assert other not in text
        assert text.count("[HTTP] --> POST /session {") == 1  # its own creation, not the other's
        assert "<-- POST /session 200" in text
        assert f"Session created with session id: {mine}" in text
        assert f"--> POST /session/{mine}/element " in text
        assert f"<-- DELETE /session/{mine} 200" in text
        assert not text.lstrip().startswith("{")  # readable lines, not JSON

    text_a = (tmp_path / f"{a.session_id}.log").read_text()
    assert f"/session/{a.session_id}/element/1/value" in text_a and "click" in text_a


def test_unknown_session_cuts_nothing(server, tmp_path):
    assert cut_session_log(server.log_path, "no-such-session", tmp_path / "none.log", wait_for_quit=0) == 0
    assert (tmp_path / "none.log").read_text() == ""


def test_stop_leaves_no_process(appium_bin, tmp_path):
    srv = AppiumServer(appium_bin, log_path=tmp_path / "appium.log")
    started = time.monotonic()
    with srv:
        start_seconds = time.monotonic() - started
        proc = srv.process
        descendants = children_of(proc.pid)
        port = srv.port
        assert srv.url == f"http://127.0.0.1:{port}"
    assert start_seconds < 30
    assert proc.returncode is not None
    assert not running(proc.pid) and not any(running(pid) for pid in descendants)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    srv.stop()  # idempotent
    assert '"level"' in (tmp_path / "appium.log").read_text()


def test_start_failure_shows_the_servers_own_words(appium_bin, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        srv = AppiumServer(appium_bin, port=taken.getsockname()[1], log_path=tmp_path / "appium.log")
        with pytest.raises(AppiumStartError, match="EADDRINUSE"):
            srv.start(timeout=20)
    assert srv.process is None


def test_find_appium_order(tmp_path, monkeypatch):
    local = tmp_path / ".appium" / "node_modules" / ".bin" / "appium"
    local.parent.mkdir(parents=True)
    local.write_text("#!/bin/sh\n")
    monkeypatch.delenv("APPIUM_HOME", raising=False)

    monkeypatch.setenv("DEVSESSION_APPIUM_BIN", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="DEVSESSION_APPIUM_BIN"):
        find_appium(tmp_path)
    monkeypatch.setenv("DEVSESSION_APPIUM_BIN", str(local))
    assert find_appium("/nonexistent") == str(local)

    monkeypatch.delenv("DEVSESSION_APPIUM_BIN")
    assert find_appium(tmp_path) == str(local)
    monkeypatch.chdir(tmp_path)
    assert find_appium() == str(local)
    # The folder holding node_modules is where Appium must look for its drivers.
    assert AppiumServer(str(local), log_path=tmp_path / "x.log").appium_home == str(tmp_path / ".appium")


def test_fake_app_describes_a_login_screen(need_module):
    need_module("appium", "appium-python-client")
    caps = fake_capabilities()
    assert caps["platformName"] == caps["appium:automationName"] == "Fake"
    assert Path(caps["appium:app"]) == fake_app_path()
    ids = {node.get("id") for node in ET.parse(fake_app_path()).iter() if node.get("id")}
    assert {"username", "password", "login"} <= ids
    assert appium_options(caps).to_capabilities()["appium:app"] == caps["appium:app"]
