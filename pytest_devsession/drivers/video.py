"""Record a Chromium page as MP4 from the DevTools screencast, with its console."""

from __future__ import annotations

import base64
import itertools
import json
import math
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import websocket

# Output frame rate: a frame shorter than 1/FPS may not be shown; a longer one repeats.
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

    The video has a frame for every moment of the recording: a screenshot taken at
    ``start()`` (what the page showed when it was attached), the screencast's frames
    (sent only when the page repaints, each stamped by Chromium), and a screenshot
    taken at ``finish()`` (what the page shows when the test's call ends). A page
    that never repaints still gives a video as long as the recording. Frames are
    spooled to a temporary folder (not kept in memory) until :meth:`close`.

    Use as a context manager, or call ``start()``, ``finish()`` (optional: ``stop()``
    finishes first), ``stop()``, then ``close()``.
    """

    def __init__(
        self,
        debugger_address: str,
        max_width: int = 1280,
        max_height: int = 720,
        quality: int = 70,
        target_id: str | None = None,
        connect_timeout: float = 10.0,
        call_timeout: float = 5.0,
    ) -> None:
        """``target_id`` picks the page (a Selenium window handle is one); default: the first page."""
        self.debugger_address = debugger_address
        self.max_width = max_width
        self.max_height = max_height
        self.quality = quality
        self.target_id = target_id
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.console: list[ConsoleMessage] = []
        self.problems: list[str] = []  # why a first or last frame could not be taken
        self._frames: list[tuple[Path, float]] = []
        self._frames_lock = threading.Lock()
        self._final: tuple[Path, float] | None = None  # the screenshot taken by finish()
        self._spool: Path | None = None
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._replies: dict[int, list] = {}  # id -> [event, reply]
        self._error: BaseException | None = None

    @property
    def frame_count(self) -> int:
        return len(self._frames)

    @property
    def duration(self) -> float:
        """Seconds from start to finish (0 before both happened)."""
        if self.started_at is None or self.stopped_at is None:
            return 0.0
        return max(self.stopped_at - self.started_at, 0.0)

    def __enter__(self) -> ScreencastRecorder:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        finally:
            self.close()

    def start(self) -> None:
        """Connect, take the first frame and start the screencast; a recorder records once."""
        if self.started_at is not None:
            raise ScreencastError("a recorder records once; make a new one")
        url = self._page_websocket_url()
        # Chromium refuses websocket clients that send an Origin it was not told to allow.
        self._ws = websocket.create_connection(url, timeout=self.connect_timeout, suppress_origin=True)
        try:
            self._ws.settimeout(0.2)  # so the reader notices stop() without the socket closed under it
            self._spool = Path(tempfile.mkdtemp(prefix="devsession-screencast-"))
            self._thread = threading.Thread(target=self._read, name="devsession-screencast", daemon=True)
            self._thread.start()
            self.started_at = time.time()
            self._call("Runtime.enable")
            self._call("Log.enable")
            if self.snapshot(self.started_at) is None:
                raise ScreencastError(f"the first frame could not be taken: {self.problems[-1]}")
            self._call(
                "Page.startScreencast",
                format="jpeg",
                quality=self.quality,
                maxWidth=self.max_width,
                maxHeight=self.max_height,
                everyNthFrame=1,
            )
        except BaseException:
            self._stopping.set()
            self._ws.close()
            self._ws = None
            self.close()
            raise

    def snapshot(self, stamp: float | None = None) -> tuple[Path, float] | None:
        """Add a frame of what the page shows now (``Page.captureScreenshot``); None if it failed.

        ``stamp`` (seconds since the epoch) is when the frame starts in the video; default:
        when the screenshot came back.
        """
        try:
            reply = self._call("Page.captureScreenshot", format="jpeg", quality=self.quality)
            data = base64.b64decode(reply["data"])
        except (ScreencastError, KeyError, ValueError, OSError, websocket.WebSocketException) as exc:
            self.problems.append(f"screenshot failed: {exc}")
            return None
        return self._add_frame(data, stamp if stamp is not None else time.time())

    def finish(self) -> None:
        """End the recording now, with a last frame of what the page shows; idempotent.

        Call it when the test's call ends, before anything quits the browser; the
        console is still read until ``stop()``.
        """
        if self._ws is None or self.stopped_at is not None:
            return
        self._final = self.snapshot()
        # Screencast frames painted while the screenshot was taken are newer than what the
        # test saw when its call ended; the screenshot is the last frame.
        self.stopped_at = self._final[1] if self._final else time.time()
        try:
            self._send("Page.stopScreencast")
        except (ScreencastError, OSError, websocket.WebSocketException):
            pass  # the browser is already gone: what was recorded still counts

    def stop(self) -> None:
        """Finish if not yet finished, then disconnect; idempotent. Raises what the reader thread
        failed with, if anything."""
        if self._ws is None:
            return
        if self.stopped_at is None:
            self.finish()
            if self.stopped_at is None:
                self.stopped_at = time.time()
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
        with self._frames_lock:
            if self._spool is not None:
                shutil.rmtree(self._spool, ignore_errors=True)
                self._spool = None
                self._frames.clear()

    def write_mp4(self, path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> int:
        """Encode the recording to ``path`` (H.264, yuv420p, ``FPS`` frames per second); its size in bytes.

        Every output frame shows the newest frame taken at or before its time, so the video
        lasts as long as the recording (rounded up to a whole frame) and ends on the last
        frame. ``size`` (width, height; default the recorder's maximum) is the frame size:
        frames are scaled to fit and padded. With no frames at all nothing is written and
        0 is returned.
        """
        if self.started_at is None or self.stopped_at is None:
            raise ScreencastError("write_mp4 needs a recording that was started and stopped")
        with self._frames_lock:
            frames = sorted((f for f in self._frames if f is not self._final and f[1] <= self.stopped_at),
                            key=lambda frame: frame[1])
        if self._final is not None:
            frames.append(self._final)
        if not frames:
            return 0
        if self._spool is None:
            raise ScreencastError("the recorder was closed; its frames are gone")
        width, height = size or (self.max_width, self.max_height)
        width, height = max(2, width - width % 2), max(2, height - height % 2)
        path = Path(path)
        part = path.with_name(path.name + ".part")
        # JPEG is full range: convert to limited range, or players see yuvj420p.
        vf = (
            f"scale={width}:{height}:force_original_aspect_ratio=decrease:out_range=tv,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=white,setsar=1,format=yuv420p"
        )
        cmd = [
            _ffmpeg(), "-y", "-loglevel", "error",
            "-f", "image2pipe", "-framerate", str(FPS), "-c:v", "mjpeg", "-i", "-",
            "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-r", str(FPS),
            "-movflags", "+faststart", "-f", "mp4", str(part),
        ]  # fmt: skip
        process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for frame in frame_schedule(frames, self.started_at, self.stopped_at, FPS):
                process.stdin.write(frame.read_bytes())
            process.stdin.close()
        except OSError:
            pass  # ffmpeg ended early: its exit code and error say why
        stderr = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        if process.wait() != 0:
            part.unlink(missing_ok=True)
            raise ScreencastError(f"ffmpeg failed ({process.returncode}): {stderr.strip()[-2000:]}")
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

    def _send(self, method: str, message_id: int | None = None, **params: object) -> None:
        ws = self._ws
        if ws is None:
            raise ScreencastError("the recorder is not connected")
        message = json.dumps({"id": message_id or next(self._ids), "method": method, "params": params})
        with self._send_lock:
            ws.send(message)

    def _call(self, method: str, **params: object) -> dict:
        """Send a command and wait for its reply (read by the reader thread)."""
        message_id = next(self._ids)
        slot: list = [threading.Event(), None]
        self._replies[message_id] = slot
        try:
            self._send(method, message_id, **params)
            if self._thread is None or not self._thread.is_alive():
                slot[0].wait(0.05)  # the reader may have ended before this command: no answer can come
            elif not slot[0].wait(self.call_timeout):
                raise ScreencastError(f"{method}: no answer within {self.call_timeout:g} s")
        finally:
            self._replies.pop(message_id, None)
        reply = slot[1]
        if reply is None:
            raise ScreencastError(f"{method}: the browser closed the connection")
        if "error" in reply:
            raise ScreencastError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result") or {}

    def _add_frame(self, data: bytes, stamp: float) -> tuple[Path, float] | None:
        with self._frames_lock:
            if self._spool is None:
                return None
            frame = (self._spool / f"{len(self._frames):06d}.jpg", stamp)
            frame[0].write_bytes(data)
            self._frames.append(frame)
            return frame

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
        finally:
            for slot in list(self._replies.values()):
                slot[0].set()  # nobody waits for an answer that cannot come

    def _handle(self, message: dict) -> None:
        if "id" in message:
            slot = self._replies.get(message["id"])
            if slot is not None:
                slot[1] = message
                slot[0].set()
            return
        method = message.get("method")
        params = message.get("params") or {}
        if method == "Page.screencastFrame":
            # Acknowledge first: Chromium sends the next frame only after the ack.
            try:
                self._send("Page.screencastFrameAck", sessionId=params["sessionId"])
            except ScreencastError:
                return
            stamp = params.get("metadata", {}).get("timestamp") or time.time()
            if self.stopped_at is not None and stamp > self.stopped_at:
                return  # after the last frame: the test's call had ended
            if self.started_at is not None and stamp < self.started_at:
                stamp = self.started_at
            self._add_frame(base64.b64decode(params["data"]), stamp)
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(_remote_object_text(arg) for arg in params.get("args", []))
            self.console.append(ConsoleMessage(_ms(params.get("timestamp")), params.get("type", "log"), text))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            text = f"{entry.get('source', 'other')}: {entry.get('text', '')}"
            if entry.get("url"):
                text += f" ({entry['url']})"
            self.console.append(ConsoleMessage(_ms(entry.get("timestamp")), entry.get("level", "info"), text))


def frame_schedule(frames: list[tuple[Path, float]], started_at: float, stopped_at: float, fps: int) -> list[Path]:
    """The frame to show at each output tick: the newest one taken at or before the tick.

    The first frame covers the time before it (it shows the page as it was attached);
    the last tick always shows the last frame, so the video ends on the final state. A
    recording shorter than a tick still shows both its first and its last frame.
    """
    ticks = max(1 if len(frames) == 1 else 2, math.ceil((stopped_at - started_at) * fps - 1e-6))
    schedule: list[Path] = []
    index = 0
    for tick in range(ticks):
        moment = started_at + tick / fps
        while index + 1 < len(frames) and frames[index + 1][1] <= moment:
            index += 1
        schedule.append(frames[index][0])
    schedule[-1] = frames[-1][0]
    return schedule


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
