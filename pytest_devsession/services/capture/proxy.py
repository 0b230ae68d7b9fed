"""mitmproxy's DumpMaster in a background thread with its own asyncio loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

MITMPROXY_WARNING_FILTERS: tuple[str, ...] = (
    "ignore:Passing pyOpenSSL X509 objects is deprecated:DeprecationWarning",
    "ignore:Passing pyOpenSSL PKey objects is deprecated:DeprecationWarning",
)
"""pytest ``filterwarnings`` entries for what mitmproxy 11 with pyOpenSSL 24.3 warns on
every intercepted TLS connection, on the proxy's thread. Under ``-W error`` the warning
aborts the TLS handshake. Warning filters are process-wide and pytest resets them for
each test, with ``-W`` ahead of ini filters: only ``filterwarnings`` marks on the items
(applied last) keep these quiet."""

_slot_lock = threading.Lock()
_slot_owner: object | None = None


def claim_master_slot(owner: object) -> None:
    """mitmproxy keeps its master in the global ``mitmproxy.ctx.master``: with two
    masters in one process every flow reaches one of them. So one per process."""
    global _slot_owner
    with _slot_lock:
        if _slot_owner is not None and _slot_owner is not owner:
            raise RuntimeError(
                f"a capture server is already running in this process ({_slot_owner!r}); "
                "mitmproxy allows one master per process: stop it first, "
                "or share it with get_shared_server()"
            )
        _slot_owner = owner


def release_master_slot(owner: object) -> None:
    global _slot_owner
    with _slot_lock:
        if _slot_owner is owner:
            _slot_owner = None


def import_mitmproxy() -> tuple[Any, Any]:
    """``(Options, DumpMaster)``, without the DeprecationWarnings that mitmproxy's
    dependencies (ldap3, passlib) emit on import and that break ``-W error`` runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from mitmproxy.options import Options
        from mitmproxy.tools.dump import DumpMaster
    return Options, DumpMaster


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().splitlines()[0])  # not mitmproxy's CLI hints


class _ReadyHook:
    """Addon whose ``running`` hook fires once the proxy servers are set up."""

    def __init__(self, on_running: Callable[[], None]):
        self.running = on_running


class ProxyThread:
    """Runs one DumpMaster with ``addons`` on a daemon thread.

    ``options`` go to mitmproxy's ``Options``; options that addons define are applied
    once the addons load. ``start()`` returns the bound ``(host, port)``.
    """

    def __init__(self, options: Mapping[str, Any], addons: Sequence[Any]):
        self._options = dict(options)
        self._addons = list(addons)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._master: Any = None
        self._ready = threading.Event()
        self._address: tuple[str, int] | None = None
        self._failure: BaseException | str | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 30.0) -> tuple[str, int]:
        import_mitmproxy()  # import here, on the caller's thread, where warnings are filtered
        self._thread = threading.Thread(target=self._run, name="devsession-mitmproxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"mitmproxy did not start within {timeout:.0f} s")
        if self._address is None:
            self.stop()
            raise RuntimeError(f"mitmproxy failed to start: {self._failure}")
        return self._address

    def stop(self, timeout: float = 10.0) -> None:
        master, loop = self._master, self._loop
        if master is not None and loop is not None and not loop.is_closed():
            try:
                master.shutdown()
            except RuntimeError:  # the loop closed in between
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the proxy's loop, so that it sees flows in a state
        the proxy is not changing; runs it here once the proxy has stopped."""
        loop = self._loop
        if loop is None or not self.alive:
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:
            return fn(*args)
        while True:
            try:
                return future.result(timeout=0.05)
            except concurrent.futures.TimeoutError:
                if not self.alive and not future.done():
                    return fn(*args)

    def _run(self) -> None:
        errors = _ErrorRecords()
        logging.getLogger("mitmproxy").addHandler(errors)
        try:
            asyncio.run(self._serve(errors))
        except BaseException as exc:
            self._failure = self._failure or exc
        finally:
            logging.getLogger("mitmproxy").removeHandler(errors)
            # The master puts a handler on the root logger that posts every record to
            # its loop; run() removes it only if it got that far. Never leave it behind.
            if legacy := getattr(self._master, "_legacy_log_events", None):
                legacy.uninstall()
            self._ready.set()

    async def _serve(self, errors: _ErrorRecords) -> None:
        Options, DumpMaster = import_mitmproxy()
        opts = Options()
        # Known options (confdir among them) apply now, before the addons load;
        # the rest once the addons that define them are added.
        opts.update_defer(**self._options)
        # DumpMaster must be built inside the running loop: it takes the current loop.
        master = self._master = DumpMaster(opts, with_termlog=False, with_dumper=False)
        # ErrorCheck would sys.exit() this thread on any error logged anywhere in the
        # process during start-up; failures are detected below instead.
        if errorcheck := master.addons.get("errorcheck"):
            errorcheck.finish()
            master.addons.remove(errorcheck)
        if opts.deferred:
            raise KeyError(f"unknown mitmproxy options: {', '.join(sorted(opts.deferred))}")

        def on_running() -> None:
            addrs = master.addons.get("proxyserver").listen_addrs()
            if addrs:
                self._address = (str(addrs[0][0]), int(addrs[0][1]))
            else:
                self._failure = "; ".join(errors.messages) or "the proxy is not listening"
                master.shutdown()
            self._ready.set()

        master.addons.add(*self._addons, _ReadyHook(on_running))
        self._loop = asyncio.get_running_loop()
        try:
            await master.run()
        finally:
            # The master stops without closing its listening sockets: the port
            # would stay bound (and leak a socket) until garbage collection.
            await master.addons.get("proxyserver").servers.update([])
