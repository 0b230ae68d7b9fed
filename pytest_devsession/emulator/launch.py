"""What every emulator's command does once its emulator is made (HeadSpin's, LambdaTest's, DevRev's):
start it, then run the user's command with the emulator's settings in its environment and exit with
its code, or, without a command, say where it is and serve until Ctrl-C or SIGTERM; stop it either way."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable


def write_secret(path: str, secret: str) -> None:
    """Write a token or key to ``path``, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


def where_secret(given: bool, file: str | None, what: str, flag: str) -> str:
    """Where the user finds the secret, for the banner (never the secret itself)."""
    if given:
        return f"the {flag} value"
    if file:
        return f"the {what} in {file}"
    return f"the {what} (random: pass {flag} or {flag}-file to know it)"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run_command(command: list, env: dict) -> int:
    try:
        code = subprocess.run(command, env=env, check=False).returncode
    except FileNotFoundError:
        print(f"emulator: command not found: {command[0]}", file=sys.stderr)
        return 127
    except KeyboardInterrupt:
        return 130
    return code if code >= 0 else 128 - code


def serve(emulator, address: str, command: list, environment: Callable[[], dict], banner: Callable[[], str]) -> int:
    """Start ``emulator`` (listening at ``address``, for the message when it cannot), then run
    ``command`` with ``environment()`` added to ours, or print ``banner()`` and serve until stopped."""
    try:
        emulator.start()
    except OSError as exc:
        print(f"emulator: cannot listen on {address}: {exc}", file=sys.stderr)
        return 2
    try:
        if command:
            return run_command(command, {**os.environ, **environment()})
        print(banner(), flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        forever = threading.Event()
        try:
            while not forever.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        emulator.stop()
