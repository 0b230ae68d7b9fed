"""The capture server: mitmproxy recording into sessions behind NectoProxy's Sessions API.

Importing this package is cheap; mitmproxy loads when a server starts.
"""

from .proxy import MITMPROXY_WARNING_FILTERS
from .recorder import DEFAULT_BACKGROUND_HOSTS
from .server import CaptureServer
from .sessions import SessionNotFound
from .shared import get_shared_server, stop_shared_server

__all__ = [
    "DEFAULT_BACKGROUND_HOSTS",
    "MITMPROXY_WARNING_FILTERS",
    "CaptureServer",
    "SessionNotFound",
    "get_shared_server",
    "stop_shared_server",
]
