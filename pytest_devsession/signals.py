"""Signals and timers around the steps whose effect on a service must be known.

Ctrl-C and SIGTERM are held during a lock or a create (``deferred_signals``), SIGTERM is handled
like Ctrl-C so that pytest unwinds and every lease is released (``sigterm``), and pytest-timeout's
timer stops while the plugin waits for a device or a capture (``timeout_paused``).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

import pytest


def sigterm(signum, frame):
    # Handled like Ctrl-C, so pytest unwinds and every lease is released.
    raise KeyboardInterrupt("SIGTERM")




@contextmanager
def timeout_paused(item: pytest.Item):
    """pytest-timeout's timer stopped while the block runs and started afresh after it, so that the
    test's timeout covers the test alone (waiting for a device or a capture can take longer)."""
    hook = item.config.hook
    settings = None
    if getattr(item, "cancel_timeout", None) is not None and hasattr(hook, "pytest_timeout_set_timer"):
        try:
            from pytest_timeout import _get_item_settings

            settings = _get_item_settings(item)
        except Exception:  # noqa: BLE001 - another version: the timer keeps running, as without us
            settings = None
    if settings is None or not settings.timeout or settings.func_only:
        yield
        return
    hook.pytest_timeout_cancel_timer(item=item)
    try:
        yield
    finally:
        hook.pytest_timeout_set_timer(item=item, settings=settings)


@contextmanager
def deferred_signals():
    """Hold Ctrl-C and SIGTERM until the block is done, then act on them.

    Around requests whose effect on the server we must know (a lock, a create):
    interrupted halfway, the server may carry them out after we stopped listening.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    handlers = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt("SIGTERM" if received[0] == signal.SIGTERM else "")


