"""The HTTP server base: routes, 404/405, the bearer token, the ready event and a stop that closes idle connections."""
from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from pytest_devsession.http.server import HttpError, HttpServer, Request, Response, Route, json_response

TOKEN = "srv-5ecret-0123456789"


def _echo(request: Request) -> Response:
    return json_response({"method": request.method, "target": request.target, "params": request.params,
                          "query": request.query, "body": request.json()})


def _fail(request: Request) -> Response:
    raise RuntimeError(f"boom with {TOKEN}")


def _refuse(request: Request) -> Response:
    raise HttpError(409, "Taken", {"X-Why": "taken"})


def _stream(request: Request) -> Response:
    return Response(200, iter([b"ab", b"cd", b"e"]), "text/plain", length=5)


ROUTES = [
    Route("GET", r"/items", _echo),
    Route("POST", r"/items", _echo),
    Route("GET", r"/items/(?P<item_id>[^/]+)", _echo),
    Route("DELETE", r"/items/(?P<item_id>[^/]+)", _echo),
    Route("GET", r"/health", _echo, public=True),
    Route("GET", r"/fail", _fail),
    Route("PUT", r"/taken", _refuse),
    Route("GET", r"/stream", _stream),
]


@pytest.fixture
def caller() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


@pytest.fixture
def app() -> Iterator[HttpServer]:
    with HttpServer(ROUTES, name="test-server") as server:
        yield server


@pytest.fixture
def guarded() -> Iterator[HttpServer]:
    with HttpServer(ROUTES, token=TOKEN, token_param="token", name="test-server") as server:
        yield server


def test_routes_params_query_and_json_body(app, caller):
    got = caller.post(app.url + "/items/?a=1&a=2", json={"x": 1}, timeout=5).json()
    assert got == {"method": "POST", "target": "/items/?a=1&a=2", "params": {}, "query": {"a": ["1", "2"]},
                   "body": {"x": 1}}
    assert caller.get(app.url + "/items/a%20b", timeout=5).json()["params"] == {"item_id": "a b"}


def test_unknown_path_is_404(app, caller):
    response = caller.get(app.url + "/nothing", timeout=5)
    assert (response.status_code, response.json()) == (404, {"error": "Not found"})


def test_known_path_with_another_method_is_405_with_allow(app, caller):
    response = caller.put(app.url + "/items", timeout=5)
    assert (response.status_code, response.json()) == (405, {"error": "Method not allowed"})
    assert response.headers["Allow"] == "GET, POST"
    assert caller.post(app.url + "/items/7", timeout=5).headers["Allow"] == "DELETE, GET"


def test_head_is_served_as_get_without_a_body(app, caller):
    head = caller.head(app.url + "/stream", timeout=5)
    assert (head.status_code, head.content, head.headers["Content-Length"]) == (200, b"", "5")
    assert caller.head(app.url + "/taken", timeout=5).headers["Allow"] == "PUT"  # no GET route: none for HEAD


def test_without_the_token_401_with_a_json_body_that_does_not_echo_it(guarded, caller):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = caller.get(guarded.url + "/items", headers=headers, timeout=5)
        assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})
        assert response.headers["WWW-Authenticate"] == "Bearer"
    unknown = caller.get(guarded.url + "/nothing", timeout=5)  # which paths exist is not told either
    assert unknown.status_code == 401 and TOKEN not in unknown.text + str(unknown.headers)


def test_the_token_opens_every_route_and_public_ones_need_none(guarded, caller):
    assert caller.get(guarded.url + "/health", timeout=5).status_code == 200
    assert caller.get(guarded.url + "/items", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).status_code == 200
    in_query = caller.get(guarded.url + f"/items?token={TOKEN}", timeout=5)
    assert in_query.status_code == 200
    assert in_query.json()["target"] == "/items?token=***"  # what a log may keep


def test_handler_errors_become_answers_and_a_bug_a_500_without_the_token(guarded, caller, capsys):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    refused = caller.put(guarded.url + "/taken", headers=auth, timeout=5)
    assert (refused.status_code, refused.json(), refused.headers["X-Why"]) == (409, {"error": "Taken"}, "taken")
    bad_json = caller.post(guarded.url + "/items", data=b"{not json", headers=auth, timeout=5)
    assert (bad_json.status_code, bad_json.json()) == (400, {"error": "Invalid JSON body"})
    bug = caller.get(guarded.url + "/fail", headers=auth, timeout=5)
    assert bug.status_code == 500 and "RuntimeError: boom with ***" in bug.json()["error"]
    assert TOKEN not in bug.text and TOKEN not in capsys.readouterr().err


def test_an_iterable_body_is_streamed_with_its_length(app, caller):
    response = caller.get(app.url + "/stream", timeout=5)
    assert (response.content, response.headers["Content-Length"]) == (b"abcde", "5")


def test_a_bad_content_length_is_400_and_closes_the_connection(app):
    with socket.create_connection(("127.0.0.1", app.port), timeout=5) as sock:
        sock.sendall(b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\n")
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in answer


def test_a_subclass_gives_its_own_error_body(caller):
    class Enveloped(HttpServer):
        def error(self, status, message, headers=None):
            return json_response({"status": message, "status_code": status}, status, headers)

    with Enveloped(ROUTES) as server:
        assert caller.get(server.url + "/nothing", timeout=5).json() == {"status": "Not found", "status_code": 404}


def test_ready_once_start_returns_and_cleared_by_stop(caller):
    server = HttpServer(ROUTES)
    assert not server.ready.is_set() and not server.running
    with pytest.raises(RuntimeError, match="not running"):
        server.url
    assert server.start() is server
    try:
        assert server.ready.is_set() and server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        assert caller.get(server.url + "/items", timeout=5).status_code == 200  # no wait, no retry
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    finally:
        server.stop()
    assert not server.ready.is_set() and repr(server) == "<HttpServer not started>"
    server.stop()  # twice is fine


@pytest.mark.timeout(5)  # without closing the idle connection, stop() would wait for it for a minute
def test_stop_closes_an_idle_keep_alive_connection():
    server = HttpServer(ROUTES, name="idle-test").start()
    port = server.port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/items")
        response = connection.getresponse()
        assert response.status == 200 and response.read() and not response.will_close  # kept open, idle
        server.stop()
        assert connection.sock.recv(1) == b""  # closed by the server
    finally:
        connection.close()
    assert not [t for t in threading.enumerate() if t.name.startswith(f"idle-test:{port}")]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data
