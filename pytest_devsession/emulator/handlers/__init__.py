"""Route handlers, one module per resource: parse the request, call the model, render the answer.
No state here.

``devices`` (device list, locks), ``sessions`` (capture sessions and their downloads),
``userflows`` (Performance Monitoring); ``common`` holds the request and the answers they share.
Each handler is ``handler(org, request) -> Response`` and runs with ``org.lock`` held.
"""

from .common import Download, Request, Response, error_response, json_response

__all__ = ["Download", "Request", "Response", "error_response", "json_response"]
