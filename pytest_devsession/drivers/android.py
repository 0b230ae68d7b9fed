"""One Android device, driven over adb, for one pytest process.

``DeviceLease`` keeps two processes (xdist workers) from using the same device.
``AndroidCapture`` routes the device's HTTP traffic through a proxy on this
machine (``adb reverse`` + ``settings put global http_proxy``), records the
screen and collects logcat, and puts everything back afterwards.

adbutils is imported lazily: nothing here touches adb until ``connect()``.
adbutils' own connection starts an adb server (on the default port) whenever
it cannot connect; this module uses a client that never does that, and starts
a server itself only in ``connect()``, on the configured port, remembering to
stop it again in ``close()``.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import shlex
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["AndroidError", "DeviceLease", "AndroidCapture"]

PROXY_SETTING = "http_proxy"
_UNSET_VALUES = ("", "null", ":0")


class AndroidError(RuntimeError):
    """Anything that went wrong with the Android device or adb."""


def _safe(text: str) -> str:
    """A string usable in a file name (serials look like ``emulator-5554`` or ``10.0.0.2:5555``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return cleaned or "device"


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


# --------------------------------------------------------------------------- lease


class DeviceLease:
    """Exclusive use of one Android device across processes (xdist workers never share one)."""

    def __init__(self, serial: str, lock_dir: Path):
        self.serial = serial
        self.lock_dir = Path(lock_dir)
        self.path = self.lock_dir / f"adb-{_safe(serial)}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the device, or raise ``AndroidError`` naming the process that holds it."""
        if self._fd is not None:
            return
        import fcntl

        self.lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            try:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            except OSError:
                pass
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise AndroidError(
                    f"adb:{self.serial} is in use by process {holder or 'unknown'}"
                ) from None
            raise AndroidError(f"adb:{self.serial}: cannot lock {self.path}: {exc}") from exc
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # the lock is what matters; the pid is only for the message
        self._fd = fd

    def release(self) -> None:
        """Give the device back; idempotent. (The OS also frees it when the process exits.)"""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        import fcntl

        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> "DeviceLease":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"DeviceLease({self.serial!r}, held={self.held})"


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


class _LogcatCollector:
    """Copies a streaming ``logcat`` shell connection into a file from a background thread."""

    def __init__(self, conn: Any, part: Path):
        self.conn = conn
        self.part = part
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._file = part.open("wb")
        self._thread = threading.Thread(target=self._run, name="devsession-logcat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sock = self.conn.conn
        try:
            sock.settimeout(0.2)
            while not self._stop.is_set():
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                self._file.write(chunk)
                self._file.flush()
        except OSError as exc:
            if not self._stop.is_set():
                self.error = exc
        finally:
            self._file.close()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._thread.join(timeout)
        try:
            self.conn.close()
        except Exception:
            pass
        self._thread.join(timeout)


# --------------------------------------------------------------------------- capture


class AndroidCapture:
    """Everything the plugin does with one Android device for one process."""

    def __init__(
        self,
        serial: str,
        adb_host: str = "127.0.0.1",
        adb_port: int = 5037,
        workdir: Path | None = None,
        *,
        timeout: float = 10.0,
        start_server: bool = True,
    ):
        self.serial = serial
        self.adb_host = adb_host
        self.adb_port = int(adb_port)
        self.timeout = float(timeout)
        self.start_server = start_server
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(
            tempfile.mkdtemp(prefix="devsession-android-")
        )
        self.started_server = False
        self._client: Any = None
        self._device: Any = None
        # route_through state
        self._saved_proxy: str | None = None
        self._proxy_set = False
        self._reverse: str | None = None
        self.proxy: tuple[str, int] | None = None
        # recording state
        self._record_name: str | None = None
        self._remote_video: str | None = None
        self._screenrecord: Any = None
        self._logcat: _LogcatCollector | None = None

    # ------------------------------------------------------------------ plumbing

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

    # ------------------------------------------------------------------ API

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

    def route_through(self, proxy_host: str, proxy_port: int, previous: str | None = None) -> None:
        """Send the device's HTTP traffic to ``proxy_port`` on this machine (via ``adb reverse``).

        ``previous``: the value to put back afterwards when it is known better than the
        device's current one (a run that died left its own proxy setting behind).
        """
        proxy_port = int(proxy_port)
        if not self._proxy_set and self._reverse is None:
            self._saved_proxy = (previous if previous is not None
                                 else self._shell(f"settings get global {PROXY_SETTING}").strip())
        remote = f"tcp:{proxy_port}"
        try:
            self.device.reverse(remote, remote)
        except Exception as exc:
            raise AndroidError(
                f"adb:{self.serial}: `adb reverse {remote} {remote}` failed: {exc}"
            ) from exc
        self._reverse = remote
        self._proxy_set = True  # set before the put: a half-done put still needs restoring
        self._shell(f"settings put global {PROXY_SETTING} 127.0.0.1:{proxy_port}")
        self.proxy = (proxy_host, proxy_port)

    @property
    def saved_proxy(self) -> str | None:
        """The proxy setting ``restore()`` puts back (None before ``route_through``)."""
        return self._saved_proxy

    def restore(self) -> None:
        """Put the saved proxy setting back and remove the reverse; idempotent."""
        errors: list[str] = []
        if self._proxy_set:
            saved = self._saved_proxy or ""
            try:
                if saved in _UNSET_VALUES:
                    # ":0" makes Android drop the proxy now; deleting brings back "no setting"
                    self._shell(f"settings put global {PROXY_SETTING} :0")
                    self._shell(f"settings delete global {PROXY_SETTING}")
                else:
                    self._shell(f"settings put global {PROXY_SETTING} {shlex.quote(saved)}")
            except Exception as exc:
                errors.append(f"could not restore {PROXY_SETTING}={saved or 'null'}: {exc}")
            self._proxy_set = False
            self._saved_proxy = None
        if self._reverse is not None:
            remote, self._reverse = self._reverse, None
            try:
                self.device.reverse_remove(remote)
            except Exception as exc:
                errors.append(f"could not remove `adb reverse {remote}`: {exc}")
        self.proxy = None
        if errors:
            raise AndroidError(f"adb:{self.serial}: " + "; ".join(errors))

    def start_recording(self, name: str) -> None:
        """Start ``screenrecord`` on the device and collect ``logcat -v threadtime`` locally."""
        if self._record_name is not None:
            raise AndroidError(f"adb:{self.serial}: already recording {self._record_name!r}")
        safe = _safe(name)
        remote = f"/sdcard/devsession-{safe}.mp4"
        self._shell("logcat -c")
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            logcat_conn = self.device.shell("logcat -v threadtime", stream=True)
        except Exception as exc:
            raise AndroidError(f"adb:{self.serial}: could not start logcat: {exc}") from exc
        self._logcat = _LogcatCollector(logcat_conn, self.workdir / f"logcat-{safe}.txt.part")
        try:
            self._screenrecord = self.device.shell(["screenrecord", remote], stream=True)
        except Exception as exc:
            self._logcat.stop(self.timeout)
            self._logcat = None
            raise AndroidError(f"adb:{self.serial}: could not start screenrecord: {exc}") from exc
        self._record_name = safe
        self._remote_video = remote

    def _finish_screenrecord(self) -> None:
        """Interrupt screenrecord (SIGINT, so it finalises the mp4) and wait for it to exit."""
        conn, self._screenrecord = self._screenrecord, None
        if conn is None:
            return
        try:
            sock = conn.conn
            deadline = time.monotonic() + self.timeout
            sock.settimeout(0.25)
            next_signal = 0.0
            while time.monotonic() < deadline:
                if time.monotonic() >= next_signal:
                    # again every second: a screenrecord started moments ago may not be running yet
                    self._shell("pkill -2 screenrecord")
                    next_signal = time.monotonic() + 1.0
                try:
                    if not sock.recv(4096):
                        return  # the shell closed: screenrecord has exited
                except socket.timeout:
                    continue
                except OSError:
                    return
            raise AndroidError(
                f"adb:{self.serial}: screenrecord did not stop within {self.timeout:.0f} s"
            )
        finally:
            try:
                conn.close()
            except Exception:
                pass

    def stop_recording(self, video_dest: Path, logcat_dest: Path) -> tuple[int | None, int]:
        """Stop both recordings and write them; returns (video bytes or None, logcat bytes)."""
        if self._record_name is None:
            raise AndroidError(f"adb:{self.serial}: not recording")
        video_dest, logcat_dest = Path(video_dest), Path(logcat_dest)
        remote = self._remote_video or ""
        self._record_name = self._remote_video = None
        video_size: int | None = None
        try:
            try:
                self._finish_screenrecord()
                video_size = self._pull(remote, video_dest)
            except AndroidError:
                video_size = None
            finally:
                try:
                    self._shell(f"rm -f {shlex.quote(remote)}")
                except AndroidError:
                    pass
        finally:
            logcat_size = self._finish_logcat(logcat_dest)
        return video_size, logcat_size

    def _pull(self, remote: str, dest: Path) -> int | None:
        part = dest.with_name(dest.name + ".part")
        try:
            info = self.device.sync.stat(remote)
            if not info.mode or not info.size:
                return None
            dest.parent.mkdir(parents=True, exist_ok=True)
            size = self.device.sync.pull_file(remote, part)
        except Exception:
            part.unlink(missing_ok=True)
            return None
        os.replace(part, dest)
        return size

    def _finish_logcat(self, dest: Path) -> int:
        collector, self._logcat = self._logcat, None
        if collector is None:
            return 0
        collector.stop(self.timeout)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        if collector.part != part:
            os.replace(collector.part, part)
        os.replace(part, dest)
        return dest.stat().st_size

    def _abort_recording(self) -> None:
        if self._record_name is None:
            return
        remote = self._remote_video
        self._record_name = self._remote_video = None
        try:
            self._finish_screenrecord()
        except AndroidError:
            pass
        if remote:
            try:
                self._shell(f"rm -f {shlex.quote(remote)}")
            except AndroidError:
                pass
        collector, self._logcat = self._logcat, None
        if collector is not None:
            collector.stop(self.timeout)
            collector.part.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop a recording left running, restore the device, stop the adb server if we started it."""
        errors: list[str] = []
        try:
            if self._device is not None:
                self._abort_recording()
                self.restore()
        except Exception as exc:
            errors.append(str(exc))
        self._device = None
        self._client = None
        try:
            self._kill_adb_server()
        except AndroidError as exc:
            errors.append(str(exc))
        if self._own_workdir:
            import shutil

            shutil.rmtree(self.workdir, ignore_errors=True)
        if errors:
            raise AndroidError("; ".join(errors))

    def __enter__(self) -> "AndroidCapture":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AndroidCapture({self.serial!r}, {self.adb_host}:{self.adb_port})"
