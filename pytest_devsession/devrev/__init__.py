"""DevRev session observability (issue 12, DevRev side): after each test, the app session its
DevRev SDK recorded is found (``finder``) and its evidence collected (``evidence``) through one
client of DevRev's beta observability API (``client``); the recording's frames become a video
(``frames``).

The engine calls, from its background pool: ``DevRevClient.check()`` once before the first test,
then per test ``find_session(...)`` and, when a session was found, ``collect(...)``.
"""
from __future__ import annotations

from .client import APP_OPTION, TOKEN_ENV, DevRevClient
from .evidence import DevRevEvidence, collect
from .finder import Claims, find_session

__all__ = ["APP_OPTION", "TOKEN_ENV", "Claims", "DevRevClient", "DevRevEvidence", "collect", "find_session"]
