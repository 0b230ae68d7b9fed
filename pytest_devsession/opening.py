"""Opening a test's capture: take a device, lock it once, start the capture, wait until it is ready.

This is the part of a test's life that is on its critical path before its body runs. The
capture's identity (``state.Capture``) is made here, once; the test's handle, the ledger and the
journal take it from there (``join``). A test inside a capture shared by its class, module or run
(``scopes.py``) only joins the capture its scope opened.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from . import markers
from .backends.base import AuthenticationError, BackendError, CaptureOptions, Links, Parts, Proxied
from .devices import stop_run
from .handle import DevSession
from .journal import Journal
from .signals import deferred_signals
from .state import Capture, CaptureState, Part, state_key


def open_capture(run, item: pytest.Item, options: markers.MarkerOptions, handle: DevSession,
                 scope: str = "test", owner: str | None = None) -> CaptureState:
    """Open a capture on ``run``'s backend for ``item`` (and, with ``scope``, for its ``owner``'s
    tests); a failure is the test's setup error. Returns the test's state in it."""
    backend, settings = run.backend, run.settings
    owner = owner or item.nodeid
    address = run.devices.take(item, options.device)
    device = run.devices.lock(address)
    folder = run.folders.take(item.nodeid)
    try:
        with deferred_signals():  # a create half done would open a session we never hear of
            session_id = backend.start_capture(device, CaptureOptions(
                owner, options.mitm_ignore, options.network_keep_in_session_patterns))
    except AuthenticationError as exc:
        stop_run(exc)
    except BackendError as exc:
        if exc.status is None:  # no answer: the session may exist all the same
            run.devices.uncertain.add(address)
        pytest.fail(f"pytest-devsession could not start a capture on {address}: {exc}", pytrace=False)
    except BaseException:
        run.devices.uncertain.add(address)
        raise
    capture = Capture(session_id, device, backend.session_url(session_id) if isinstance(backend, Links) else None,
                      scope=scope, owner=owner)
    state = item.stash[state_key] = CaptureState(capture, folder, options)
    run.open[session_id] = item
    run.write_ledger("open_session", session_id, address, nodeid=owner, userflow=handle.userflow,
                     folder=str(folder), artifacts=list(options.artifacts if options.artifacts is not None
                                                        else settings.artifacts))
    handle.capture, handle.artifacts_dir = capture, folder
    try:
        backend.wait_ready(session_id, time.monotonic() + settings.ready_timeout)
    except AuthenticationError as exc:
        stop_run(exc)
    except BackendError as exc:
        pytest.fail(f"pytest-devsession: capture {session_id} on {address} did not become ready within "
                    f"{settings.ready_timeout:g} s (--devsession-ready-timeout): {exc}", pytrace=False)
    return state


def join(run, item: pytest.Item, handle: DevSession, state: CaptureState) -> None:
    """The test is inside ``state``'s capture, ready: its handle, its journal, our hook."""
    backend, settings, capture = run.backend, run.settings, state.capture
    session_id = capture.session_id
    item.stash[state_key] = state
    state.started = state.part.start if state.part is not None else time.time()
    run.open[session_id] = item  # the test the run's end closes first
    handle.capture, handle.artifacts_dir, handle.part = capture, state.folder, state.part
    if state.part is not None and isinstance(backend, Parts):
        backend.begin_part(session_id, state.part)
    environment = backend.session_environment(session_id) if isinstance(backend, Proxied) else {}
    handle.proxy_url, handle.ca_cert_path = environment.get("proxy_url"), environment.get("ca_cert_path")
    handle._backend = backend
    if handle.userflow or run.is_worker:  # a worker's crash must not take its measurements along
        handle._journal = Journal(settings.store_dir / "journal", {
            "session_id": handle.driver_id, "nodeid": item.nodeid, "userflow": handle.userflow,
            "backend": backend.name, "api_url": run.service_url,
            "main": run.main_process if run.is_worker else None})
    run.hook("session_started", [], item=item, session_id=session_id, device_address=capture.address)


def part_state(run, item: pytest.Item, options: markers.MarkerOptions, capture: Capture, index: int,
               started: float, folder: Path | None = None) -> CaptureState:
    """A test's state inside a shared capture that became ready at ``started`` (epoch seconds)."""
    now = time.time()
    return CaptureState(capture, folder or run.folders.take(item.nodeid), options,
                        part=Part(index, item.nodeid, start=now, offset=max(now - started, 0.0)))
