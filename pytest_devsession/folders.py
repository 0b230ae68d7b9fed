"""Each test's artifact folder: named from its node id, safe on every OS, unique in the run.

Node ids that sanitize alike (``test_x[a b]``, ``test_x[a/b]``) may run on different
xdist workers at once, so a name is claimed for the whole run (an exclusive create under
``<artifacts>/.devsession-claims/<run id>/``) before it is used; a taken name gets a
short hash of the node id.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

CLAIMS = ".devsession-claims"


def folder_name(nodeid: str) -> str:
    """A file name that is safe on every OS and never leaves its parent folder."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid).strip("._-") or "test"
    if len(name) > 100:
        name = name[:90].rstrip("._-") + "-" + hashlib.sha1(nodeid.encode()).hexdigest()[:8]
    return name


class Folders:
    """The folders this process gave out; ``run_id`` is the same in every xdist worker of a run."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.root = root
        self.run_id = run_id
        self.taken: dict[str, str] = {}  # folder name -> node id

    def take(self, nodeid: str) -> Path:
        """A fresh folder for a test (not created yet); a rerun of the same test gets ``-run2``, ..."""
        name = folder_name(nodeid)
        runs = sum(1 for taken in self.taken.values() if taken == nodeid)
        if runs:
            name = f"{name}-run{runs + 1}"
        digest = hashlib.sha1(nodeid.encode()).hexdigest()[:8]
        candidates = [name, f"{name}-{digest}"] + [f"{name}-{digest}-{n}" for n in range(2, 1000)]
        name = next(c for c in candidates if self._claim(c))
        self.taken[name] = nodeid
        folder = self.root / name
        if folder.exists():  # evidence of an earlier run must not pass for this one's
            shutil.rmtree(folder, ignore_errors=True)
        return folder

    def _claim(self, name: str) -> bool:
        if name in self.taken:
            return False
        claims = self.root / CLAIMS / self.run_id
        try:
            claims.mkdir(parents=True, exist_ok=True)
            os.close(os.open(claims / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        except OSError:
            pass  # claims cannot be written: the folder's own creation will report the problem
        return True

    def end_of_run(self) -> None:
        """Every worker is done (the main process): the run's claims are no longer needed."""
        shutil.rmtree(self.root / CLAIMS, ignore_errors=True)
