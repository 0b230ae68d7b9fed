"""What every handler shares: the parsed request, answers in the API's shapes, query arguments.

A handler is ``handler(org, request) -> Response`` and runs with ``org.lock`` held. Errors are
raised as ``ApiError`` and rendered by the server in the API's envelope.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ...http.server import Response, json_response
from ..models import ApiError

__all__ = ["Request", "Download", "Response", "json_response", "error_response", "drop", "success",
           "int_arg", "bool_arg", "when"]


@dataclass
class Request:
    method: str
    path: str  # after /v0, unquoted, without the query
    query: dict  # name -> list of values
    body: bytes
    base_url: str  # ends with /v0
    params: dict = field(default_factory=dict)

    def arg(self, name: str, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list:
        return list(self.query.get(name, ()))

    def json(self, error_status: int = 400):
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(error_status, "Request body is not valid JSON.") from None

    def json_object(self, error_status: int = 400) -> dict:
        body = self.json(error_status)
        if not isinstance(body, dict):
            raise ApiError(error_status, "Request body must be a JSON object.")
        return body


@dataclass
class Download(Response):
    """An artifact: its body goes out at the emulator's download bandwidth."""


def error_response(status: int, message: str, headers: dict | None = None) -> Response:
    return json_response({"status": message, "status_code": status}, status, headers)


def drop() -> Response:
    return Response(drop=True)


def success(status: str = "Success") -> Response:
    return json_response({"status": status, "status_code": 200})


def int_arg(req: Request, name: str, default, minimum: int = 0):
    raw = req.arg(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid {name}: {raw!r} is not an integer.") from None
    if value < minimum:
        raise ApiError(400, f"Invalid {name}: must be at least {minimum}.")
    return value


def bool_arg(req: Request, name: str, default: bool) -> bool:
    raw = req.arg(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ApiError(400, f"Invalid {name}: {raw!r} is not true or false.")


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))
