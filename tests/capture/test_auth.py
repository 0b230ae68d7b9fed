"""With api_token set, every /api/* route but /api/health needs the bearer token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_devsession.services.capture import CaptureServer

TOKEN = "s3cret-token"
UNAUTHORIZED = {"error": "Unauthorized: missing or invalid token"}


@pytest.fixture(scope="module")
def capture() -> Iterator[CaptureServer]:
    with CaptureServer(api_token=TOKEN) as server:
        yield server


def test_health_needs_no_token(anonymous_api):
    assert anonymous_api("GET", "/health").status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/sessions"),
        ("POST", "/sessions"),
        ("GET", "/sessions/active"),
        ("GET", "/sessions/some-id"),
        ("PATCH", "/sessions/some-id"),
        ("DELETE", "/sessions/some-id"),
        ("POST", "/sessions/some-id/activate"),
        ("GET", "/har/export/some-id"),
        ("GET", "/no-such-route"),
    ],
)
def test_every_other_route_needs_the_token(anonymous_api, method, path):
    response = anonymous_api(method, path)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN}x", "Bearer", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}"],
)
def test_wrong_tokens_are_refused(anonymous_api, header):
    response = anonymous_api("GET", "/sessions", headers={"Authorization": header})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_the_token_opens_the_api(api, capture):
    assert capture.api_token == TOKEN
    session = api.new_session("authorized")
    assert api.ok("GET", "/sessions/active")["id"] == session["id"]
    assert api("GET", f"/har/export/{session['id']}").status_code == 200
