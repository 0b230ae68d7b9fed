"""``python -m pytest_devsession.local`` as a subprocess, stopped with SIGINT."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

TOKEN = "cli-token-1234"


def read_lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def wait_for(lines: queue.Queue, pattern: str, seen: list[str], timeout: float = 20.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")


def test_standalone_server_serves_until_sigint(origin):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_devsession.local", "--port", "0", "--proxy-port", "0", "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        api_url = wait_for(lines, r"Sessions API: (http://127\.0\.0\.1:\d+)/api \(requires", seen)[1]
        proxy_url = wait_for(lines, r"Proxy: +(http://127\.0\.0\.1:\d+)", seen)[1]
        ca_path = wait_for(lines, r"CA cert: +(\S+mitmproxy-ca-cert\.pem)", seen)[1]
        wait_for(lines, r"Press Ctrl-C", seen)
        assert os.path.isfile(ca_path)

        with requests.Session() as http:
            http.trust_env = False
            assert http.get(f"{api_url}/api/health", timeout=5).status_code == 200
            assert http.get(f"{api_url}/api/sessions", timeout=5).status_code == 401
            http.headers["Authorization"] = f"Bearer {TOKEN}"
            session = http.post(f"{api_url}/api/sessions", json={"name": "cli"}, timeout=5).json()
            http.post(f"{api_url}/api/sessions/{session['id']}/activate", timeout=5).raise_for_status()
            proxied = http.get(f"{origin.url}/bytes/10", proxies={"http": proxy_url}, timeout=5)
            assert proxied.content == b"x" * 10
            counted = http.get(f"{api_url}/api/sessions/{session['id']}", timeout=5).json()
            assert (counted["trafficCount"], counted["totalBytes"]) == (1, 10)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        wait_for(lines, r"Stopped\.", seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert TOKEN not in "".join(seen)
    assert not os.path.exists(ca_path), "the temporary confdir is removed on stop"


def test_standalone_server_reports_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = subprocess.run(
            [sys.executable, "-m", "pytest_devsession.services.capture", "--port", "0", "--proxy-port", str(busy.getsockname()[1])],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert "could not start the capture server" in result.stderr
