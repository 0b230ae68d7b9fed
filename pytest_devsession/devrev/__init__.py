"""DevRev session observability (issue 12): after each test, the app session its DevRev SDK recorded
is found (``finder``) and its evidence collected (``evidence``) through one client of DevRev's beta
observability API (``client``); the recording's frames become a video (``frames``). ``plugin`` holds
the options and ``enricher`` ties it to the run (the engine's background pool, the record).

Imported lazily: the plugin's options are registered at every pytest start, DevRev's client only
when ``--devsession-devrev-app`` is set.
"""
from __future__ import annotations

__all__ = ["APP_OPTION", "TOKEN_ENV", "Claims", "DevRevClient", "DevRevEvidence", "collect", "find_session"]

_WHERE = {"APP_OPTION": "client", "TOKEN_ENV": "client", "DevRevClient": "client", "DevRevEvidence": "evidence",
          "collect": "evidence", "Claims": "finder", "find_session": "finder"}


def __getattr__(name):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
