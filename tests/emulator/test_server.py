import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from pytest_devsession.emulator import Fault, HeadSpinEmulator


def test_url_and_token_shape(headspin_emulator):
    parts = urlsplit(headspin_emulator.url)
    assert parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.path == "/v0"
    assert parts.port > 0
    assert len(headspin_emulator.token) == 32
    assert headspin_emulator.token not in repr(headspin_emulator)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_missing_or_wrong_token_is_401(headspin_emulator, headers):
    response = requests.get(headspin_emulator.url + "/devices", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"status": "Unauthorized", "status_code": 401}


def test_token_in_url_is_refused_and_never_logged(headspin_emulator):
    emu = headspin_emulator
    host = urlsplit(emu.url).netloc
    as_userinfo = requests.get(f"http://{emu.token}@{host}/v0/devices", timeout=5)
    in_query = requests.get(f"{emu.url}/devices?token={emu.token}", timeout=5)
    in_path = requests.get(f"http://{host}/v0/{emu.token}/devices", timeout=5)
    assert [as_userinfo.status_code, in_query.status_code, in_path.status_code] == [401, 401, 401]
    assert emu.token not in repr(emu.requests)
    assert ("GET", "/v0/devices?token=***", 401) in emu.requests


def test_unknown_route_and_wrong_method_answer_json(api):
    missing = api.get("/nothing/here")
    assert missing.status_code == 404 and missing.json()["status_code"] == 404
    outside = api.get("/../v1/devices".replace("/..", ""))  # not under /v0
    assert outside.status_code == 404
    wrong_method = api.delete("/devices")
    assert wrong_method.status_code == 405 and wrong_method.json()["status_code"] == 405


def test_requests_are_logged_in_order_without_headers(api, headspin_emulator):
    api.get("/devices")
    api.get("/userflows/missing")
    assert headspin_emulator.requests == [("GET", "/v0/devices", 200), ("GET", "/v0/userflows/missing", 404)]


def test_keep_alive_and_connection_close(headspin_emulator):
    host, port = "127.0.0.1", urlsplit(headspin_emulator.url).port
    request = (f"GET /v0/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {headspin_emulator.token}\r\n"
               "{extra}\r\n")
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(request.format(extra="").encode() * 2)  # pipelined on one connection
        sock.sendall(request.format(extra="Connection: close\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.count(b"Content-Length:") == 3
    assert b"Connection: close" in data


def test_start_stop_context_manager_frees_the_port():
    with HeadSpinEmulator(token="t0k") as emu:
        port = urlsplit(emu.url).port
        # an idle keep-alive connection must not keep stop() waiting
        http = requests.Session()
        assert http.get(emu.url + "/devices", headers={"Authorization": "Bearer t0k"}, timeout=5).ok
        started = time.monotonic()
    assert time.monotonic() - started < 2
    http.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(RuntimeError):
        emu.url
    assert not [t for t in threading.enumerate() if t.name.startswith(f"headspin-emulator:{port}")]


def test_reset_restores_defaults(headspin_emulator, api):
    emu = headspin_emulator
    emu.ready_delay = 5
    emu.flaky_capture_setup = True
    emu.add_device("extra", platform="ios")
    emu.add_fault(Fault(path="/nothing"))
    api.start_capture()
    api.put("/userflows", json={"name": "flow"})
    emu.reset()
    assert list(emu.devices) == HeadSpinEmulator.DEFAULT_DEVICES
    assert all(d.locked_by is None for d in emu.devices.values())
    assert emu.sessions == {} and emu.userflows == {} and emu.requests == [] and emu.faults == []
    assert emu.ready_delay == 0.05 and emu.complete_delay == 0.05 and emu.flaky_capture_setup is False


def test_custom_devices_and_clock():
    now = [1000.0]
    with HeadSpinEmulator(devices=["a1@lab", "i1@lab:ios"], clock=lambda: now[0], ready_delay=10) as emu:
        assert [(d.serial, d.platform) for d in emu.devices.values()] == [("a1", "android"), ("i1", "ios")]
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {emu.token}"
        http.post(emu.url + "/adb/a1/lock", timeout=5)
        body = {"session_type": "capture", "device_address": "a1@lab", "nowait": True}
        session_id = http.post(emu.url + "/sessions", json=body, timeout=5).json()["session_id"]
        assert emu.sessions[session_id].state == "starting"
        now[0] += 10
        assert emu.sessions[session_id].state == "active"
        assert http.get(f"{emu.url}/sessions/{session_id}/timestamps", timeout=5).json() == {"capture-started": 1010.0}
        emu.reset()
        assert list(emu.devices) == ["a1@lab", "i1@lab"]
        http.close()


def test_parallel_requests_are_served(api):
    results = []

    def worker():
        client = requests.Session()
        client.headers.update(api.http.headers)
        results.extend(client.get(api.emulator.url + "/devices", timeout=5).status_code for _ in range(10))
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 80
