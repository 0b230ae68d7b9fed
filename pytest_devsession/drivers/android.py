"""One Android device, driven over adb, for one pytest process: ``AndroidCapture``.

``AndroidCapture`` routes the device's HTTP traffic through a proxy on this
machine (``adb reverse`` + ``settings put global http_proxy``), records the
screen (``screenrecord``, pulled when it stops) and collects logcat from a
background thread, and puts everything back afterwards.

The adb plumbing under it (adbutils loaded lazily, the adb server, connecting,
shell commands) is ``adb.AdbSession``; keeping two processes off one device is
``android_lease.DeviceLease``. Both, and ``AndroidError``, are importable from here.
"""

from __future__ import annotations

import os
import shlex
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .adb import AdbSession, AndroidError
from .android_lease import DeviceLease, _safe

__all__ = ["AndroidError", "DeviceLease", "AndroidCapture"]

PROXY_SETTING = "http_proxy"
_UNSET_VALUES = ("", "null", ":0")


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


class AndroidCapture(AdbSession):
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
        super().__init__(serial, adb_host, adb_port, timeout=timeout, start_server=start_server)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(
            tempfile.mkdtemp(prefix="devsession-android-")
        )
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

    # ------------------------------------------------------------------ API

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
        try:
            self.disconnect()
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
