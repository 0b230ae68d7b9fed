"""Starting and stopping: one master per process, the shared server, failures, timings."""

from __future__ import annotations

import http.client
import logging
import socket
import time

import pytest
import requests

from pytest_devsession.services.capture import CaptureServer, get_shared_server, stop_shared_server


def is_listening(url: str) -> bool:
    host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def test_start_and_stop_are_quick_and_free_both_ports():
    server = CaptureServer()
    started = time.perf_counter()
    server.start()
    start_s = time.perf_counter() - started
    api_url, proxy_url, confdir = server.api_url, server.proxy_url, server.confdir
    assert api_url.startswith("http://127.0.0.1:") and proxy_url.startswith("http://127.0.0.1:")
    assert is_listening(api_url) and is_listening(proxy_url)
    assert server.ca_cert_path == confdir / "mitmproxy-ca-cert.pem" and server.ca_cert_path.is_file()

    stopping = time.perf_counter()
    server.stop()
    stop_s = time.perf_counter() - stopping
    assert not is_listening(api_url) and not is_listening(proxy_url)
    assert not confdir.exists(), "the temporary confdir is removed"
    server.stop()  # idempotent
    assert (start_s, stop_s) < (5.0, 2.0)
    print(f"start {start_s * 1000:.0f} ms, stop {stop_s * 1000:.0f} ms")


def test_addresses_need_a_running_server():
    server = CaptureServer()
    for attribute in ("api_url", "proxy_url", "ca_cert_path"):
        with pytest.raises(RuntimeError):
            getattr(server, attribute)


def test_a_given_confdir_is_kept_and_its_ca_reused(tmp_path):
    with CaptureServer(confdir=tmp_path) as server:
        assert server.ca_cert_path == tmp_path / "mitmproxy-ca-cert.pem"
        first_ca = server.ca_cert_path.read_bytes()
    assert server.ca_cert_path.read_bytes() == first_ca
    with CaptureServer(confdir=tmp_path) as again:
        assert again.ca_cert_path.read_bytes() == first_ca


def test_a_second_server_in_the_process_is_refused():
    with CaptureServer() as first:
        second = CaptureServer()
        with pytest.raises(RuntimeError, match="already running in this process"):
            second.start()
        assert not second.running
        assert first.running
    # once the first stops, another may start
    with CaptureServer() as third:
        assert third.running


def test_the_shared_server_is_one_per_process():
    try:
        shared = get_shared_server(api_token="t")
        assert get_shared_server() is shared
        assert shared.api_token == "t"
        with pytest.raises(RuntimeError, match="get_shared_server"):
            CaptureServer().start()
    finally:
        stop_shared_server()
    assert not shared.running
    stop_shared_server()  # nothing running: no-op
    try:
        assert get_shared_server() is not shared
    finally:
        stop_shared_server()


def test_stop_with_open_connections_and_a_request_in_flight(origin):
    server = CaptureServer().start()
    with requests.Session() as client:
        client.trust_env = False
        client.proxies = {"http": server.proxy_url}
        client.get(f"{origin.url}/kept-alive", timeout=10)  # leaves a keep-alive connection open
        stopping = time.perf_counter()
        server.stop()
        assert time.perf_counter() - stopping < 2.0
        with pytest.raises(requests.ConnectionError):
            client.get(f"{origin.url}/after-stop", timeout=5)


def test_stop_ends_keep_alive_api_connections():
    server = CaptureServer().start()
    host, port = server.api_url.rsplit("//", 1)[1].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/api/sessions")
        assert connection.getresponse().read() == b'{"sessions": []}'
        server.stop()
        with pytest.raises((http.client.HTTPException, OSError)):
            connection.request("GET", "/api/sessions")
            connection.getresponse()
    finally:
        connection.close()


def test_a_busy_proxy_port_fails_clearly_and_frees_the_slot():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = CaptureServer(proxy_port=busy.getsockname()[1])
        with pytest.raises(RuntimeError, match="mitmproxy failed to start.*address already in use"):
            server.start()
        assert not server.running
    with CaptureServer() as after:
        assert after.running


def test_a_busy_api_port_fails_and_stops_the_proxy():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = CaptureServer(api_port=busy.getsockname()[1])
        with pytest.raises(OSError):
            server.start()
        assert not server.running
    with CaptureServer() as after:
        assert after.running


def test_unknown_mitmproxy_options_are_reported_and_leave_no_log_handler():
    with pytest.raises(RuntimeError, match="unknown mitmproxy options: no_such_option"):
        CaptureServer(mitmproxy_options={"no_such_option": 1}).start()
    assert not [h for h in logging.getLogger().handlers if type(h).__module__.startswith("mitmproxy")]


def test_mitmproxy_options_defined_by_addons_are_accepted():
    # stream_large_bodies is defined by an addon, not by mitmproxy's core options
    with CaptureServer(mitmproxy_options={"stream_large_bodies": "10m", "ssl_insecure": True}) as server:
        assert server.running
