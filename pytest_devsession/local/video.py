"""Record a Chromium page as MP4 from the DevTools screencast, with its console."""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import websocket

# Output frame rate. Frames shorter than 1/FPS are dropped by the fps filter; longer ones repeat.
FPS = 10
# Loopback only: never route these requests through a proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class ConsoleMessage:
    timestamp: float  # seconds since the epoch
    level: str
    text: str


class ScreencastError(RuntimeError):
    """The screencast could not be started, or its video not be encoded."""


class ScreencastRecorder:
    """Records one page target of a Chromium over its DevTools websocket.

    Frames arrive only when the page repaints, each stamped by Chromium; they are
    spooled to a temporary folder (not kept in memory) until :meth:`close`.
    ``write_mp4`` gives every frame the time until the next one, shows the first
    frame from ``start()`` on and the last one until ``stop()``, so the video lasts
    as long as the recording did.

    Use as a context manager, or call ``start()``, ``stop()``, then ``close()``.
    """

    def __init__(
        self,
        debugger_address: str,
        max_width: int = 1280,
        max_height: int = 720,
        quality: int = 70,
        target_id: str | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        """``target_id`` picks the page (a Selenium window handle is one); default: the first page."""
        self.debugger_address = debugger_address
        self.max_width = max_width
        self.max_height = max_height
        self.quality = quality
        self.target_id = target_id
        self.connect_timeout = connect_timeout
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.console: list[ConsoleMessage] = []
        self._frames: list[tuple[Path, float]] = []
        self._spool: Path | None = None
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._error: BaseException | None = None

    @property
    def frame_count(self) -> int:
        return len(self._frames)

    def __enter__(self) -> ScreencastRecorder:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        finally:
            self.close()

    def start(self) -> None:
        """Connect and start the screencast; a recorder records once."""
        if self.started_at is not None:
            raise ScreencastError("a recorder records once; make a new one")
        url = self._page_websocket_url()
        # Chromium refuses websocket clients that send an Origin it was not told to allow.
        self._ws = websocket.create_connection(url, timeout=self.connect_timeout, suppress_origin=True)
        try:
            self._ws.settimeout(0.2)  # so the reader notices stop() without the socket closed under it
            self._spool = Path(tempfile.mkdtemp(prefix="devsession-screencast-"))
            self.started_at = time.time()
            self._send("Runtime.enable")
            self._send("Log.enable")
            self._send(
                "Page.startScreencast",
                format="jpeg",
                quality=self.quality,
                maxWidth=self.max_width,
                maxHeight=self.max_height,
                everyNthFrame=1,
            )
            self._thread = threading.Thread(target=self._read, name="devsession-screencast", daemon=True)
            self._thread.start()
        except BaseException:
            self._ws.close()
            self._ws = None
            self.close()
            raise

    def stop(self) -> None:
        """Stop recording; idempotent. Raises what the reader thread failed with, if anything."""
        if self._ws is None:
            return
        if self.stopped_at is None:
            self.stopped_at = time.time()
        try:
            self._send("Page.stopScreencast")
        except (OSError, websocket.WebSocketException):
            pass  # the browser is already gone: what was recorded still counts
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self._ws.close(timeout=1)
        except (OSError, websocket.WebSocketException):
            pass
        self._ws = None
        if self._error is not None:
            raise ScreencastError(f"screencast reader failed: {self._error!r}") from self._error

    def close(self) -> None:
        """Remove the spooled frames; write_mp4 is no longer possible afterwards."""
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None
            self._frames.clear()

    def write_mp4(self, path: str | os.PathLike[str]) -> int:
        """Encode the frames to ``path`` (H.264, yuv420p, even size); returns its size in bytes.

        With no frames at all nothing is written and 0 is returned.
        """
        if self.started_at is None or self.stopped_at is None:
            raise ScreencastError("write_mp4 needs a recording that was started and stopped")
        if not self._frames:
            return 0
        if self._spool is None:
            raise ScreencastError("the recorder was closed; its frames are gone")
        width, height = _jpeg_size(self._frames[0][0].read_bytes())
        width, height = max(2, width - width % 2), max(2, height - height % 2)
        path = Path(path)
        part = path.with_name(path.name + ".part")
        playlist = self._spool / "frames.ffconcat"
        playlist.write_text(_concat_playlist(self._frames, self.started_at, self.stopped_at))
        total = self.stopped_at - self.started_at
        # Crop odd sizes to even ones; frames of another size (window resized) are fitted into
        # the first frame's. JPEG is full range: convert to limited range, or players see yuvj420p.
        vf = (
            "crop=trunc(iw/2)*2:trunc(ih/2)*2,"
            f"scale={width}:{height}:force_original_aspect_ratio=decrease:out_range=tv,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={FPS},format=yuv420p"
        )
        cmd = [
            _ffmpeg(), "-y", "-loglevel", "error",
            "-f", "concat", "-safe", "0", "-i", str(playlist),
            "-vf", vf, "-c:v", "libx264", "-preset", "veryfast",
            "-t", f"{total:.3f}", "-movflags", "+faststart", "-f", "mp4", str(part),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            part.unlink(missing_ok=True)
            raise ScreencastError(f"ffmpeg failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        os.replace(part, path)
        return path.stat().st_size

    def write_console_log(self, path: str | os.PathLike[str]) -> int:
        """Write one line per console message (ISO time, level, text); returns its size in bytes.

        The file is written even when the page logged nothing (then it is empty).
        """
        lines = []
        for msg in sorted(self.console, key=lambda m: m.timestamp):
            when = datetime.fromtimestamp(msg.timestamp, timezone.utc).isoformat(timespec="milliseconds")
            text = msg.text.replace("\r\n", "\n").replace("\n", "\n    ")
            lines.append(f"{when} {msg.level.upper()} {text}\n")
        data = "".join(lines).encode("utf-8")
        path = Path(path)
        part = path.with_name(path.name + ".part")
        part.write_bytes(data)
        os.replace(part, path)
        return len(data)

    def _page_websocket_url(self) -> str:
        with _NO_PROXY.open(f"http://{self.debugger_address}/json", timeout=self.connect_timeout) as r:
            targets = json.load(r)
        pages = [t for t in targets if t.get("type") == "page" and "webSocketDebuggerUrl" in t]
        if self.target_id is not None:
            pages = [t for t in pages if t.get("id") == self.target_id]
        if not pages:
            wanted = f"page {self.target_id}" if self.target_id else "a page"
            raise ScreencastError(f"no {wanted} target at http://{self.debugger_address}/json")
        return pages[0]["webSocketDebuggerUrl"]

    def _send(self, method: str, **params: object) -> None:
        ws = self._ws
        if ws is None:
            return
        message = json.dumps({"id": next(self._ids), "method": method, "params": params})
        with self._send_lock:
            ws.send(message)

    def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            while not self._stopping.is_set():
                try:
                    raw = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                except (websocket.WebSocketConnectionClosedException, OSError):
                    return  # the browser went away; stop() keeps what we have
                if raw:
                    self._handle(json.loads(raw))
        except BaseException as exc:  # surfaced by stop(), never lost in the thread
            self._error = exc

    def _handle(self, message: dict) -> None:
        method = message.get("method")
        params = message.get("params") or {}
        if method == "Page.screencastFrame":
            # Acknowledge first: Chromium sends the next frame only after the ack.
            self._send("Page.screencastFrameAck", sessionId=params["sessionId"])
            stamp = params.get("metadata", {}).get("timestamp") or time.time()
            if self._stopping.is_set() or (self.stopped_at is not None and stamp > self.stopped_at):
                return
            assert self._spool is not None
            frame = self._spool / f"{len(self._frames):06d}.jpg"
            frame.write_bytes(base64.b64decode(params["data"]))
            self._frames.append((frame, stamp))
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(_remote_object_text(arg) for arg in params.get("args", []))
            self.console.append(ConsoleMessage(_ms(params.get("timestamp")), params.get("type", "log"), text))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            text = f"{entry.get('source', 'other')}: {entry.get('text', '')}"
            if entry.get("url"):
                text += f" ({entry['url']})"
            self.console.append(ConsoleMessage(_ms(entry.get("timestamp")), entry.get("level", "info"), text))


def _concat_playlist(frames: list[tuple[Path, float]], started_at: float, stopped_at: float) -> str:
    # Each frame lasts until the next one; the first is shown from start() (the page looked
    # like that before it first repainted), the last until stop().
    lines = ["ffconcat version 1.0"]
    for i, (frame, stamp) in enumerate(frames):
        begin = started_at if i == 0 else max(stamp, started_at)
        end = frames[i + 1][1] if i + 1 < len(frames) else stopped_at
        duration = max(end - begin, 0.0)
        lines += [f"file '{frame.name}'", f"duration {duration:.6f}"]
    # The concat demuxer ignores the last entry's duration unless the file is listed once more.
    lines.append(f"file '{frames[-1][0].name}'")
    return "\n".join(lines) + "\n"


def _remote_object_text(obj: dict) -> str:
    if "value" in obj:
        value = obj["value"]
        return value if isinstance(value, str) else json.dumps(value)
    preview = obj.get("preview")
    if preview and "properties" in preview:
        # Objects come as references; their preview holds the first few properties.
        items = [
            p.get("value", "") if preview.get("subtype") == "array" else f"{p.get('name')}: {p.get('value', '')}"
            for p in preview["properties"]
        ]
        more = ", …" if preview.get("overflow") else ""
        opening, closing = ("[", "]") if preview.get("subtype") == "array" else ("{", "}")
        return f"{opening}{', '.join(items)}{more}{closing}"
    return str(obj.get("unserializableValue") or obj.get("description") or obj.get("type", ""))


def _ms(timestamp: float | None) -> float:
    # Runtime and Log stamp in milliseconds since the epoch.
    return timestamp / 1000.0 if timestamp else time.time()


def _ffmpeg() -> str:
    import imageio_ffmpeg  # only when encoding

    return imageio_ffmpeg.get_ffmpeg_exe()


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise ScreencastError("screencast frame is not a JPEG")
        marker = data[i + 1]
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise ScreencastError("screencast frame has no JPEG size")
