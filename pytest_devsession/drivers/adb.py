"""One Android device reached through an adb server: ``AdbSession`` and ``AndroidError``.

This module owns the adb plumbing under ``android.AndroidCapture``: loading adbutils, the
adb server (started on the configured port when none answers there, and stopped again
only when this process started it), connecting to the device and checking that it is
ready, and running short shell commands on it.

adbutils is imported lazily: nothing here touches adb until ``connect()``.
adbutils' own connection starts an adb server (on the default port) whenever
it cannot connect; this module uses a client that never does that, and starts
a server itself only in ``connect()``, on the configured port, remembering to
stop it again in ``disconnect()``.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import tempfile
import threading
import time
from typing import Any

__all__ = ["AndroidError", "AdbSession"]


class AndroidError(RuntimeError):
    """Anything that went wrong with the Android device or adb."""


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- adb client


def _client_class() -> Any:
    """An ``adbutils.AdbClient`` whose connections never start an adb server on their own."""
    import adbutils
    from adbutils._adb import AdbConnection
    from adbutils.errors import AdbConnectionError, AdbTimeout

    class _NoSpawnConnection(AdbConnection):
        def _safe_connect(self):
            # adbutils runs `adb start-server` (default port) when this fails, and leaks
            # the socket; here a failure is only an error.
            host = self._AdbConnection__host
            port = self._AdbConnection__port
            try:
                sock = socket.create_connection((host, port), timeout=3)
            except socket.timeout as exc:
                raise AdbTimeout("connect to adb server timeout") from exc
            except OSError as exc:
                raise AdbConnectionError(f"connect to adb server failed: {exc}") from exc
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.settimeout(None)
            return sock

    class _NoSpawnClient(adbutils.AdbClient):
        def __init__(self, host: str, port: int, socket_timeout: float | None = None):
            super().__init__(host, port, socket_timeout=socket_timeout)
            self._timeout = socket_timeout
            self._made = threading.local()

        def make_connection(self, timeout: float | None = None):
            timeout = timeout or self._timeout
            try:
                conn = _NoSpawnConnection(self.host, self.port)
            except TimeoutError as exc:
                raise AdbTimeout("connect to adb server timeout") from exc
            made = getattr(self._made, "conns", None)
            if made is not None:
                made.append(conn)
            if timeout:
                conn.conn.settimeout(timeout)
            return conn

        def device(self, serial: str | None = None, transport_id: int | None = None):
            return _Device(self, serial=serial, transport_id=transport_id)

    class _Device(adbutils.AdbDevice):
        def open_transport(self, command: str | None = None, timeout: float | None = 600):
            # adbutils leaves the socket open when the server refuses the transport
            # (a device that went away): close it here, or it leaks as a ResourceWarning.
            if timeout is None or timeout >= 600:  # adbutils' 10-minute default
                timeout = self._client._timeout
            made = self._client._made
            made.conns = []
            try:
                return super().open_transport(command, timeout)
            except BaseException:
                for conn in made.conns:
                    conn.close()
                raise
            finally:
                made.conns = None

    return _NoSpawnClient


# --------------------------------------------------------------------------- session


class AdbSession:
    """One device through one adb server: connect, run shell commands, stop a server we started."""

    def __init__(
        self,
        serial: str,
        adb_host: str = "127.0.0.1",
        adb_port: int = 5037,
        *,
        timeout: float = 10.0,
        start_server: bool = True,
    ):
        self.serial = serial
        self.adb_host = adb_host
        self.adb_port = int(adb_port)
        self.timeout = float(timeout)
        self.start_server = start_server
        self.started_server = False
        self._client: Any = None
        self._device: Any = None

    @property
    def device(self) -> Any:
        if self._device is None:
            raise AndroidError(f"adb:{self.serial}: not connected (call connect() first)")
        return self._device

    def _shell(self, cmd: str, timeout: float | None = None) -> str:
        """Run a short shell command on the device; any adb failure becomes ``AndroidError``."""
        try:
            return self.device.shell(cmd, timeout=timeout or self.timeout)
        except AndroidError:
            raise
        except Exception as exc:
            raise AndroidError(f"adb:{self.serial}: `{cmd}` failed: {exc}") from exc

    def _adb(self, *args: str) -> subprocess.CompletedProcess:
        import adbutils

        # Output goes to a file, not a pipe: the daemon `start-server` leaves behind may keep
        # inherited descriptors open, and reading a pipe to its end would then never finish.
        with tempfile.TemporaryFile() as out:
            result = subprocess.run(
                [adbutils.adb_path(), "-P", str(self.adb_port), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=30,
                check=False,
            )
            out.seek(0)
            result.stdout = out.read(4096)
        return result

    def _start_adb_server(self) -> None:
        if not self.start_server:
            raise AndroidError(
                f"adb:{self.serial}: no adb server answers on {self.adb_host}:{self.adb_port}"
            )
        if not _is_loopback(self.adb_host):
            raise AndroidError(
                f"adb:{self.serial}: no adb server answers on {self.adb_host}:{self.adb_port} "
                "(a server is only started for a loopback address)"
            )
        self.started_server = True  # set first: even a half-started server is ours to kill
        try:
            result = self._adb("start-server")
        except Exception as exc:
            raise AndroidError(f"adb:{self.serial}: could not start an adb server: {exc}") from exc
        deadline = time.monotonic() + self.timeout
        while not _server_answers(self.adb_host, self.adb_port, 0.5):
            if time.monotonic() > deadline:
                output = result.stdout.decode("utf-8", "replace").strip()
                raise AndroidError(
                    f"adb:{self.serial}: `adb -P {self.adb_port} start-server` exited "
                    f"{result.returncode} but nothing answers on port {self.adb_port}: {output}"
                )
            time.sleep(0.1)

    def _kill_adb_server(self) -> None:
        if not self.started_server:
            return
        self.started_server = False
        try:
            self._adb("kill-server")
        except Exception as exc:
            raise AndroidError(
                f"could not stop the adb server this run started on port {self.adb_port}: {exc}"
            ) from exc

    def connect(self) -> None:
        """Connect to the adb server (starting one when none answers) and check the device."""
        if self._device is not None:
            return
        if not _server_answers(self.adb_host, self.adb_port):
            self._start_adb_server()
        try:
            client = _client_class()(self.adb_host, self.adb_port, socket_timeout=self.timeout)
            try:
                infos = client.list()
            except Exception as exc:
                raise AndroidError(
                    f"adb:{self.serial}: adb server at {self.adb_host}:{self.adb_port} "
                    f"did not answer: {exc}"
                ) from exc
            states = {info.serial: info.state for info in infos}
            if states.get(self.serial) != "device":
                seen = ", ".join(f"{s} ({st})" for s, st in states.items()) or "no devices"
                what = (
                    f"is {states[self.serial]}, not ready"
                    if self.serial in states
                    else "is not attached"
                )
                raise AndroidError(
                    f"adb:{self.serial} {what}; the adb server at "
                    f"{self.adb_host}:{self.adb_port} sees: {seen}"
                )
            self._client = client
            self._device = client.device(self.serial)
        except BaseException:
            # nothing else will use a server we started for a device that is not there
            try:
                self._kill_adb_server()
            except AndroidError:
                pass
            raise

    def disconnect(self) -> None:
        """Forget the device and stop the adb server if this process started it; idempotent."""
        self._device = None
        self._client = None
        self._kill_adb_server()
