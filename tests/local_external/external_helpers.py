"""Helpers for the tests of external capture servers: the API client, a closed port, reading a run's output."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import requests

TOKEN = "external-token-9f3e1c"


class Api:
    """The server's API with the token: ``api.get("/sessions")`` is the JSON answer."""

    def __init__(self, base_url: str, token: str | None = TOKEN):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.trust_env = False
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return self.http.request(method, f"{self.base_url}/api{path}", timeout=10, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, **kwargs: object):
        response = self("GET", path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def sessions(self) -> list[dict]:
        return self.get("/sessions")["sessions"]


def flags(server) -> dict[str, tuple]:
    """Each session's name and flags, by id: what "left as found" means (``updatedAt`` moves)."""
    return {s["id"]: (s["name"], s["isActive"], s["isRecording"]) for s in server.api.sessions()}


def through(server, url: str) -> requests.Response:
    """GET ``url`` through ``server``'s proxy, trusting its CA."""
    with requests.Session() as http:
        http.trust_env = False
        return http.get(url, proxies={"http": server.proxy_url, "https": server.proxy_url},
                        verify=str(server.capture.ca_cert_path), timeout=10)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def har_paths(pytester: pytest.Pytester, manifest: dict) -> dict[str, list[str]]:
    """Each test's HAR as the paths (with query) of its requests, in order, by test name."""
    found = {}
    for session in manifest["sessions"]:
        har = json.loads((pytester.path / "devsession-artifacts" / session["artifacts"]["har"]).read_text())
        urls = [e["request"]["url"] for e in har["log"]["entries"]]
        found[session["nodeid"].split("::")[-1]] = ["/" + u.split("/", 3)[3] for u in urls]
    return found


def everything_written(folder: Path) -> str:
    """Every file a run wrote, as one text (to look for a secret in)."""
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()
                     and ".devsession" not in p.parts and p.suffix != ".pyc" and os.path.getsize(p) < 5_000_000)
