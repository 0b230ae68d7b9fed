"""How many processes run the tests: the xdist workers this run really starts, or one."""
from __future__ import annotations

import pytest


def xdist_workers(config: pytest.Config) -> tuple[int, str] | None:
    """How many workers xdist will really start in this run, and the options that say so."""
    if not config.pluginmanager.has_plugin("xdist") or getattr(config.option, "dist", "no") == "no":
        return None
    if getattr(config.option, "collectonly", False) or not getattr(config.option, "tx", None):
        return None
    count = 0
    for spec in config.option.tx:  # "3*popen" is three workers, as xdist reads it
        times, star, _ = spec.partition("*")
        count += int(times) if star and times.isdigit() else 1
    numprocesses = getattr(config.option, "numprocesses", None)
    if numprocesses:
        maxprocesses = getattr(config.option, "maxprocesses", None)
        how = f"-n {numprocesses}" + (f" --maxprocesses {maxprocesses}" if maxprocesses else "")
    else:
        how = " ".join(f"--tx {spec}" for spec in config.option.tx)
    return count, how


def process_count(config) -> int:
    """How many processes run tests at once (a worker knows it from xdist; the main process counts)."""
    if config is None:
        return 1
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return int(workerinput.get("workercount", 1))
    workers = xdist_workers(config)
    return workers[0] if workers else 1
