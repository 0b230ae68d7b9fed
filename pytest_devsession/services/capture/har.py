"""HAR export of a session's flows, by mitmproxy's own HAR writer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .sessions import now_ms


def make_har(flows: Sequence[Any]) -> dict[str, Any]:
    """HAR 1.2 with one entry per flow, in the order the requests started."""
    from mitmproxy.addons.savehar import SaveHar  # loaded already, among DumpMaster's default addons

    return SaveHar().make_har(flows)


def har_filename(session_name: str) -> str:
    """``<safe name>_<epoch ms>.har`` as NectoProxy names its exports."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", session_name).strip("._") or "session"
    return f"{safe}_{now_ms()}.har"
