"""Files that are either whole or absent: never a half file posing as the real one."""
from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> int:
    """Write ``data`` next to ``path`` and rename it into place; returns the size in bytes."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    partial = path.with_name(path.name + ".part")
    try:
        partial.write_bytes(payload)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return len(payload)
