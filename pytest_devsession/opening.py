"""Opening a test's capture: take a device, lock it once, start the capture, wait until it is ready.

This is the part of a test's life that is on its critical path before its body runs. The
capture's identity (``state.Capture``) is made here, once; the test's handle, the ledger and the
journal take it from there.
"""
from __future__ import annotations

import time

import pytest

from . import markers
from .backends.base import AuthenticationError, BackendError, CaptureOptions, Links, Proxied
from .devices import stop_run
from .handle import DevSession
from .journal import Journal
from .signals import deferred_signals
from .state import Capture, CaptureState, state_key


def open_capture(run, item: pytest.Item, options: markers.MarkerOptions, handle: DevSession) -> None:
    """Open ``item``'s capture on ``run``'s backend; a failure is the test's setup error."""
    backend, settings = run.backend, run.settings
    address = run.devices.take(item, options.device)
    device = run.devices.lock(address)
    folder = run.folders.take(item.nodeid)
    try:
        with deferred_signals():  # a create half done would open a session we never hear of
            session_id = backend.start_capture(device, CaptureOptions(
                item.nodeid, options.mitm_ignore, options.network_keep_in_session_patterns))
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
                      scope="test", owner=item.nodeid)
    item.stash[state_key] = CaptureState(capture, folder, options)
    run.open[session_id] = item
    run.write_ledger("open_session", session_id, address, nodeid=item.nodeid, userflow=handle.userflow,
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
    environment = backend.session_environment(session_id) if isinstance(backend, Proxied) else {}
    handle.proxy_url, handle.ca_cert_path = environment.get("proxy_url"), environment.get("ca_cert_path")
    handle._backend = backend
    if handle.userflow or run.is_worker:  # a worker's crash must not take its measurements along
        handle._journal = Journal(settings.store_dir / "journal", {
            "session_id": session_id, "nodeid": item.nodeid, "userflow": handle.userflow,
            "backend": backend.name, "api_url": run.service_url,
            "main": run.main_process if run.is_worker else None})
    run.hook("session_started", [], item=item, session_id=session_id, device_address=address)
