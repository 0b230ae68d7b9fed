"""Per-test cost of --devsession, against a plain pytest run of the same tests in the same process.

Run by hand (never in CI: machines are shared and noisy):

    python benchmarks/overhead.py [--tests 30] [--rounds 3]

Each configuration runs the same suite of trivial tests in a pytest subprocess, a few rounds; the
report gives the median wall time, the ratio to plain pytest, and the added milliseconds per test.
HeadSpin runs against the emulator with no artificial delays, so the figure is the plugin's own
cost plus loopback HTTP, not a device's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_devsession.emulator import HeadSpinEmulator


def suite(folder: Path, count: int) -> None:
    lines = ["import pytest", ""]
    for n in range(count):
        lines += [f'@pytest.mark.userflow("Bench")', f"def test_{n}(devsession):",
                  f'    devsession.measure("n", {n})', ""]
    (folder / "test_bench.py").write_text("\n".join(lines))


def timed(folder: Path, args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, HeadSpinEmulator(ready_delay=0, complete_delay=0) as emulator:
        folder = Path(tmp)
        suite(folder, options.tests)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVSESSION_", "HEADSPIN_"))}
        headspin_env = {**base_env, "HEADSPIN_API_TOKEN": emulator.token, "HEADSPIN_API_URL": emulator.url}
        configs = [
            ("plain pytest (baseline)", [], base_env),
            ("--devsession, local backend (HAR only)", ["--devsession", "--devsession-artifacts", "har"], base_env),
            ("--devsession, HeadSpin emulator, downloads on", ["--devsession", "--devsession-backend", "headspin",
             "--devsession-device", emulator.DEFAULT_DEVICES[0]], headspin_env),
            ("--devsession, HeadSpin emulator, downloads off", ["--devsession", "--devsession-backend", "headspin",
             "--devsession-device", emulator.DEFAULT_DEVICES[0], "--devsession-download", "off"], headspin_env),
        ]
        results = {}
        for _ in range(options.rounds):  # interleaved, so that a noisy moment hits every configuration
            for name, args, env in configs:
                results.setdefault(name, []).append(timed(folder, args, env))
        baseline = statistics.median(results[configs[0][0]])
        print(f"{options.tests} tests, median of {options.rounds} rounds")
        print(f"{'configuration':48} {'seconds':>8} {'ratio':>7} {'ms/test added':>14}")
        for name, _, _ in configs:
            median = statistics.median(results[name])
            added = (median - baseline) / options.tests * 1000
            print(f"{name:48} {median:8.2f} {median / baseline:7.2f} {added:14.1f}")


if __name__ == "__main__":
    main()
