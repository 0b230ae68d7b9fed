"""A scripted loopback server per test, and a client of it that only records its waits."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from http_helpers import TOKEN, Scripted

from pytest_devsession.http.client import Client


@pytest.fixture
def server() -> Iterator[Scripted]:
    httpd = Scripted()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the client asked for, in order; nothing really waits."""
    return []


@pytest.fixture
def client(server: Scripted, sleeps: list[float]) -> Iterator[Client]:
    made = Client(server.url + "/v0", TOKEN, timeout=5, sleep=sleeps.append,
                  refused=lambda words: f"the service refused the token: {words}")
    yield made
    made.close()
