"""The process's one shared CaptureServer (one per xdist worker)."""

from __future__ import annotations

import atexit
import threading
from typing import Any

from .server import CaptureServer

_lock = threading.Lock()
_shared: CaptureServer | None = None
_atexit_registered = False


def get_shared_server(**kwargs: Any) -> CaptureServer:
    """The process's running shared server, started with ``kwargs`` (CaptureServer's
    arguments) on first use; later calls return it and ignore ``kwargs``."""
    global _shared, _atexit_registered
    with _lock:
        if _shared is None or not _shared.running:
            server = CaptureServer(**kwargs).start()
            _shared = server
            if not _atexit_registered:
                atexit.register(stop_shared_server)
                _atexit_registered = True
        return _shared


def stop_shared_server() -> None:
    """Stop the shared server if one runs."""
    global _shared
    with _lock:
        server, _shared = _shared, None
    if server is not None:
        server.stop()
