"""The one error a model or a handler raises: an answer in the API's error envelope."""

from __future__ import annotations

# What the real service answers (HTTP 500) when a capture could not be started.
START_FAILED = "Error starting session."


class ApiError(Exception):
    """An answer in the API's error envelope: {"status": message, "status_code": N}."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
