"""A small fake adb server: enough of the ADB host protocol for pytest_devsession.drivers.android.

Smart-socket requests are ``%04x`` length + payload; replies are ``OKAY`` or
``FAIL`` + ``%04x`` + message. Supported:

host services   host:version, host:devices, host:devices-l, host:kill,
                host:transport:SERIAL, host:tport:serial:SERIAL (OKAY + 8-byte id)
device services shell:CMD (raw output until close), shell,v2,...:CMD (v2 packets),
                reverse:forward[:norebind]:R;L, reverse:killforward:R,
                reverse:killforward-all, reverse:list-forward,
                sync: with STAT / RECV (DATA/DONE/FAIL) / QUIT
fake shell      settings get|put|delete global KEY [VALUE], logcat -c,
                logcat [-v threadtime] (streams the lines, then stays open until
                the client closes), screenrecord PATH (blocks; writes ``video_bytes``
                to PATH when interrupted), pkill -2 screenrecord, rm [-f] PATH, cat PATH

Run as a script (``python fake_adb_server.py --port N``) it serves until ``host:kill``.
"""

from __future__ import annotations

import argparse
import shlex
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field

DEFAULT_LOGCAT = [
    "01-02 03:04:05.678  1234  1250 I ActivityManager: Start proc 4321:com.example/u0a1",
    "01-02 03:04:05.900  4321  4321 D devsession: hello from the fake device",
    "01-02 03:04:06.001  4321  4333 W OkHttp: using proxy 127.0.0.1",
]
DEFAULT_VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40


@dataclass
class FakeDevice:
    serial: str
    state: str = "device"
    settings: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    reverses: dict[str, str] = field(default_factory=dict)
    logcat_lines: list[str] = field(default_factory=lambda: list(DEFAULT_LOGCAT))
    video_bytes: bytes = DEFAULT_VIDEO
    logcat_cleared: int = 0
    start_delay: float = 0.0  # seconds before a screenrecord "runs" (and can be interrupted)
    recordings: dict[str, threading.Event] = field(default_factory=dict)


class _Closed(Exception):
    pass


class FakeAdbServer:
    """Threaded TCP server on 127.0.0.1 speaking the adb host protocol to a fake device."""

    version = 41

    def __init__(self, port: int = 0):
        self.devices: dict[str, FakeDevice] = {}
        self.requests: list[str] = []  # every smart-socket request, in order
        self.shell_commands: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.killed = threading.Event()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    owner._serve(self.request)
                except (_Closed, OSError):
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", port), Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def add_device(self, serial: str, state: str = "device", **kw) -> FakeDevice:
        dev = FakeDevice(serial, state, **kw)
        self.devices[serial] = dev
        return dev

    def start(self) -> "FakeAdbServer":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for dev in self.devices.values():
            for ev in dev.recordings.values():
                ev.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "FakeAdbServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ wire helpers

    @staticmethod
    def _read_exact(sock: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise _Closed()
            buf += chunk
        return buf

    def _read_request(self, sock: socket.socket) -> str:
        size = int(self._read_exact(sock, 4), 16)
        req = self._read_exact(sock, size).decode("utf-8")
        with self.lock:
            self.requests.append(req)
        return req

    @staticmethod
    def _block(text: str | bytes) -> bytes:
        data = text.encode("utf-8") if isinstance(text, str) else text
        return b"%04x" % len(data) + data

    def _fail(self, sock: socket.socket, msg: str) -> None:
        sock.sendall(b"FAIL" + self._block(msg))

    def _wait_for_close(self, sock: socket.socket, until: threading.Event | None = None) -> bool:
        """Block until the client closes (True) or ``until``/server stop is set (False)."""
        sock.settimeout(0.05)
        while not self.stopping.is_set() and not (until is not None and until.is_set()):
            try:
                if not sock.recv(4096):
                    return True
            except socket.timeout:
                continue
            except OSError:
                return True
        return False

    # ------------------------------------------------------------------ services

    def _serve(self, sock: socket.socket) -> None:
        device: FakeDevice | None = None
        while True:
            req = self._read_request(sock)
            if device is None:
                if req == "host:version":
                    sock.sendall(b"OKAY" + self._block("%04x" % self.version))
                    return
                if req in ("host:devices", "host:devices-l"):
                    lines = []
                    for dev in self.devices.values():
                        extra = " product:fake model:Fake_Phone device:fake transport_id:1" if req.endswith("-l") else ""
                        lines.append(f"{dev.serial}\t{dev.state}{extra}\n")
                    sock.sendall(b"OKAY" + self._block("".join(lines)))
                    return
                if req == "host:kill":
                    sock.sendall(b"OKAY")
                    self.killed.set()
                    threading.Thread(target=self.stop, daemon=True).start()
                    return
                serial = None
                if req.startswith("host:tport:serial:"):
                    serial = req[len("host:tport:serial:"):]
                elif req.startswith("host:transport:"):
                    serial = req[len("host:transport:"):]
                if serial is None:
                    self._fail(sock, f"unknown host service: {req}")
                    return
                dev = self.devices.get(serial)
                if dev is None:
                    self._fail(sock, f"device '{serial}' not found")
                    return
                if dev.state != "device":
                    self._fail(sock, f"device {dev.state}")
                    return
                device = dev
                sock.sendall(b"OKAY" + (struct.pack("<Q", 1) if req.startswith("host:tport") else b""))
                continue
            self._device_service(sock, device, req)
            return

    def _device_service(self, sock: socket.socket, dev: FakeDevice, req: str) -> None:
        if req.startswith("shell,"):  # shell,v2,raw:CMD
            cmd = req.split(":", 1)[1]
            sock.sendall(b"OKAY")
            out = self._shell(sock, dev, cmd, streaming_ok=False)
            if out:
                sock.sendall(b"\x01" + struct.pack("<I", len(out)) + out)
            sock.sendall(b"\x03" + struct.pack("<I", 1) + b"\x00")
            return
        if req.startswith("shell:"):
            sock.sendall(b"OKAY")
            out = self._shell(sock, dev, req[len("shell:"):], streaming_ok=True)
            if out:
                sock.sendall(out)
            return
        if req.startswith("reverse:"):
            self._reverse(sock, dev, req[len("reverse:"):])
            return
        if req == "sync:":
            sock.sendall(b"OKAY")
            self._sync(sock, dev)
            return
        self._fail(sock, f"unknown device service: {req}")

    def _reverse(self, sock: socket.socket, dev: FakeDevice, rest: str) -> None:
        sock.sendall(b"OKAY")  # the host accepted the request; the device answers next
        if rest.startswith("forward:"):
            spec = rest[len("forward:"):]
            norebind = spec.startswith("norebind:")
            if norebind:
                spec = spec[len("norebind:"):]
            remote, _, local = spec.partition(";")
            if norebind and remote in dev.reverses:
                self._fail(sock, "cannot rebind existing socket")
                return
            dev.reverses[remote] = local
            sock.sendall(b"OKAY")
        elif rest.startswith("killforward:"):
            remote = rest[len("killforward:"):]
            if dev.reverses.pop(remote, None) is None:
                self._fail(sock, f"listener '{remote}' not found")
                return
            sock.sendall(b"OKAY")
        elif rest == "killforward-all":
            dev.reverses.clear()
            sock.sendall(b"OKAY")
        elif rest == "list-forward":
            body = "".join(f"host-1 {r} {l}\n" for r, l in dev.reverses.items())
            sock.sendall(self._block(body))
        else:
            self._fail(sock, f"unknown reverse service: {rest}")

    def _sync(self, sock: socket.socket, dev: FakeDevice) -> None:
        while True:
            header = self._read_exact(sock, 8)
            cmd, size = header[:4], struct.unpack("<I", header[4:])[0]
            if cmd == b"QUIT":
                return
            path = self._read_exact(sock, size).decode("utf-8")
            with self.lock:
                self.requests.append(f"sync:{cmd.decode()} {path}")
            data = dev.files.get(path)
            if cmd == b"STAT":
                if data is None:
                    sock.sendall(b"STAT" + struct.pack("<III", 0, 0, 0))
                else:
                    sock.sendall(b"STAT" + struct.pack("<III", 0o100644, len(data), int(time.time())))
            elif cmd == b"RECV":
                if data is None:
                    msg = b"No such file or directory"
                    sock.sendall(b"FAIL" + struct.pack("<I", len(msg)) + msg)
                    continue
                for i in range(0, len(data), 64 * 1024):
                    chunk = data[i:i + 64 * 1024]
                    sock.sendall(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
                sock.sendall(b"DONE" + struct.pack("<I", 0))
            else:
                msg = f"unsupported sync request {cmd!r}".encode()
                sock.sendall(b"FAIL" + struct.pack("<I", len(msg)) + msg)
                return

    # ------------------------------------------------------------------ fake shell

    def _shell(self, sock: socket.socket, dev: FakeDevice, cmdline: str, streaming_ok: bool) -> bytes:
        with self.lock:
            self.shell_commands.append(cmdline)
        try:
            argv = shlex.split(cmdline)
        except ValueError:
            return b"/system/bin/sh: syntax error\n"
        if not argv:
            return b""
        prog, args = argv[0], argv[1:]
        if prog == "settings" and len(args) >= 3 and args[1] == "global":
            op, key = args[0], args[2]
            if op == "get":
                return (dev.settings.get(key, "null") + "\n").encode()
            if op == "put" and len(args) >= 4:
                dev.settings[key] = args[3]
                return b""
            if op == "delete":
                found = dev.settings.pop(key, None) is not None
                return b"Deleted %d rows\n" % int(found)
            return b"Invalid command\n"
        if prog == "logcat":
            if args in (["-c"], ["--clear"]):
                dev.logcat_cleared += 1
                return b""
            if not streaming_ok:
                return ("\n".join(dev.logcat_lines) + "\n").encode()
            sock.sendall(("".join(line + "\n" for line in dev.logcat_lines)).encode())
            self._wait_for_close(sock)
            return b""
        if prog == "screenrecord" and args:
            path = args[-1]
            if dev.start_delay:
                time.sleep(dev.start_delay)
            stop = threading.Event()
            dev.recordings[path] = stop
            try:
                interrupted = not self._wait_for_close(sock, until=stop)
            finally:
                dev.recordings.pop(path, None)
            if interrupted and stop.is_set():
                time.sleep(0.05)  # "finalising the mp4"
                dev.files[path] = dev.video_bytes
            return b""
        if prog == "pkill" and args and args[-1] == "screenrecord":
            for ev in list(dev.recordings.values()):
                ev.set()
            return b""
        if prog == "rm":
            for path in (a for a in args if not a.startswith("-")):
                if dev.files.pop(path, None) is None and "-f" not in args:
                    return f"rm: {path}: No such file or directory\n".encode()
            return b""
        if prog == "cat" and args:
            data = dev.files.get(args[0])
            return data if data is not None else f"cat: {args[0]}: No such file or directory\n".encode()
        return f"/system/bin/sh: {prog}: inaccessible or not found\n".encode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--device", action="append", default=[], help="SERIAL to list as attached")
    args = parser.parse_args(argv)
    server = FakeAdbServer(args.port)
    for serial in args.device:
        server.add_device(serial)
    server.start()
    print(server.port, flush=True)
    while not server.killed.wait(0.1):
        pass
    time.sleep(0.1)


if __name__ == "__main__":
    main()
