"""What a capture session's downloads contain: small but real files.

Pure functions of a session's plain facts (id, device, times); no HTTP, no state. The video is
here; the network captures are in ``traffic``, the logs in ``logs``.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import struct

from . import logs, traffic
from .traffic import APP_SECRETS, PINNED_HOSTS

__all__ = ["APP_SECRETS", "CONTENT_TYPES", "NETWORK_KINDS", "PINNED_HOSTS", "check_video_bytes", "mp4",
           "partial_mp4", "render", "video_size"]

# 1 s of 64x64 test pattern, 15 fps, H.264 (libx264, yuv420p, +faststart), made with
# ffmpeg: -f lavfi -i testsrc=size=64x64:rate=15:duration=1 -c:v libx264 -preset
# veryslow -crf 28 -pix_fmt yuv420p -profile:v baseline -movflags +faststart
MP4_B64 = """
AAAAIGZ0eXBpc29tAAACAGlzb21pc28yYXZjMW1wNDEAAAM9bW9vdgAAAGxtdmhkAAAAAAAAAAAA
AAAAAAAD6AAAA+gAAQAAAQAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAA
AABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAox0cmFrAAAAXHRraGQAAAADAAAA
AAAAAAAAAAABAAAAAAAAA+gAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAABAAAAAAAA
AAAAAAAAAABAAAAAAEAAAABAAAAAAAAkZWR0cwAAABxlbHN0AAAAAAAAAAEAAAPoAAAAAAABAAAA
AAIEbWRpYQAAACBtZGhkAAAAAAAAAAAAAAAAAAA8AAAAPABVxAAAAAAALWhkbHIAAAAAAAAAAHZp
ZGUAAAAAAAAAAAAAAABWaWRlb0hhbmRsZXIAAAABr21pbmYAAAAUdm1oZAAAAAEAAAAAAAAAAAAA
ACRkaW5mAAAAHGRyZWYAAAAAAAAAAQAAAAx1cmwgAAAAAQAAAW9zdGJsAAAAu3N0c2QAAAAAAAAA
AQAAAKthdmMxAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAEAAQABIAAAASAAAAAAAAAABDExhdmMg
bGlieDI2NAAAAAAAAAAAAAAAAAAAAAAAAAAAGP//AAAAMWF2Y0MBQsAK/+EAGGdCwAqmERCbARAA
AAMAEAAAAwHg8SJhGAEABmjIQgksgAAAABBwYXNwAAAAAQAAAAEAAAAUYnRydAAAAAAAADVYAAAA
AAAAABhzdHRzAAAAAAAAAAEAAAAPAAAEAAAAABRzdHNzAAAAAAAAAAEAAAABAAAAHHN0c2MAAAAA
AAAAAQAAAAEAAAAPAAAAAQAAAFBzdHN6AAAAAAAAAAAAAAAPAAAE9QAAAB8AAAAVAAAAIwAAAB0A
AAAeAAAAKAAAAB8AAAAlAAAAIQAAAC0AAAAVAAAAHQAAACQAAAAUAAAAFHN0Y28AAAAAAAAAAQAA
A20AAAA9dWR0YQAAADVtZXRhAAAAAAAAACFoZGxyAAAAAAAAAABtZGlyYXBwbAAAAAAAAAAAAAAA
AAhpbHN0AAAACGZyZWUAAAazbWRhdAAAAmUGBf//YdxF6b3m2Ui3lizYINkj7u94MjY0IC0gY29y
ZSAxNjUgLSBILjI2NC9NUEVHLTQgQVZDIGNvZGVjIC0gQ29weWxlZnQgMjAwMy0yMDI1IC0gaHR0
cDovL3d3dy52aWRlb2xhbi5vcmcveDI2NC5odG1sIC0gb3B0aW9uczogY2FiYWM9MCByZWY9MTYg
ZGVibG9jaz0xOjA6MCBhbmFseXNlPTB4MToweDEzMSBtZT11bWggc3VibWU9MTAgcHN5PTEgcHN5
X3JkPTEuMDA6MC4wMCBtaXhlZF9yZWY9MSBtZV9yYW5nZT0yNCBjaHJvbWFfbWU9MSB0cmVsbGlz
PTIgOHg4ZGN0PTAgY3FtPTAgZGVhZHpvbmU9MjEsMTEgZmFzdF9wc2tpcD0xIGNocm9tYV9xcF9v
ZmZzZXQ9LTIgdGhyZWFkcz0yIGxvb2thaGVhZF90aHJlYWRzPTEgc2xpY2VkX3RocmVhZHM9MCBu
cj0wIGRlY2ltYXRlPTEgaW50ZXJsYWNlZD0wIGJsdXJheV9jb21wYXQ9MCBjb25zdHJhaW5lZF9p
bnRyYT0wIGJmcmFtZXM9MCB3ZWlnaHRwPTAga2V5aW50PTI1MCBrZXlpbnRfbWluPTE1IHNjZW5l
Y3V0PTQwIGludHJhX3JlZnJlc2g9MCByY19sb29rYWhlYWQ9NjAgcmM9Y3JmIG1idHJlZT0xIGNy
Zj0yOC4wIHFjb21wPTAuNjAgcXBtaW49MCBxcG1heD02OSBxcHN0ZXA9NCBpcF9yYXRpbz0xLjQw
IGFxPTE6MS4wMACAAAACiGWIghP/D5D4oUAAv4oAeAixmQEeuAC155FkBikH66A20CEPweIBKRAA
DYGMCY3hscfw0AI8lMPswQgSUgszBxxKH+NGhFAAuoKKczxA0B2eAOfMaLJsIIpsEg+rPCBQBQDg
gACoAAgXggeDY4V7gOmeVYdtvDmyMH90VNLVKAOtCjLD8QDAP+GoDgCFPDJb7gwEOyEvjmfhAgGF
gAXCAAJiAq5ABCESwDqKJFMA3zz9fLAMghZs4wdl/P+YfOKfIeAAWwAiYqhcp6zxQAC36qAAxCp3
G/N8BFpqMvTqDsHuXELyghqz9deEAEPIQEAAIA4AAgK0DH8lk1YNq9bb8V/i+H57O+DAZWsjmLqg
dmaHYA/KUADmcLVbdMv/XX5tv5jOn/3jRh7WViMqKcHBf4kQtb27p8coYc2p6f+n84sOPggANgVI
yTdJk/7QBTEZbu4FM3OUX+tk0ZMhoipD87QmhD8Ify/BIQDgBAHNQYAQ3FoC4l0RoBuD6nmZtfl/
9ghUBwRCWJkAblIjB72yj1exDHANlYtCwACHEj+JPTwGSgOgZSlvweQg8sBA1+GUfgYAAiCAkMAA
oAUBQLkiPyyI/pwpimDKlgDLtzFzt+R+kwnoKsve9aqSA5aozhKl0wGSBy2AWV6dd7BwMAgUGBID
GCxWKDJkgOONxGTDraCgZJikcYKCLl/hADwJL4fhgF1YP+Dw/wePiT8BZPBUEy3/GUgH7FfLUEEQ
ABA4BQsIAAyDWMBqchOxpAQjJYBkdcQACq/tCAeJB+ADI98IE/++lwDxgHpsU9+8AMjynp/IqmCl
jwDwdZgpbtwNBDBCABAK4/xQzB+2PPFBn4Gd7OcgmDKf8RIpcAAAABtBmhwnL2YIuAl/EI09ey5J
ppJ/R+jcp586N8AAAAARQZoqDcao31mnrlrN9ZupeYAAAAAfQZo7Dcas08Nwxlv/jn1/rN9ZuWE7
0J2W+s3PIMxf+AAAABlBmkkDcas08WyWS/PnWb6ydW/BEIt2xqmAAAAAGkGaWUNxqzTw3Vdfz6H9
FZuflyaTf1m+s3VmAAAAJEGaaYEcaskvWb6zcMIf8v9+Me7n8mk34L83m7M51Bc+qJwj4AAAABtB
mnnBHGrNPBRJZL8fa99ZvrN/wS73dXUaqYAAAAAhQZqIgEcanCH064cx/3X0590/rO1iuFy27cER
6jkTU+/wAAAAHUGamJBXGrNPBQwxlv7vsKzfLuSoyW6M34ItanTAAAAAKUGaqKBXGrNPP//Pp9l5
M3zrzyfIZGJcX1m2ev20EMS6xHDW3bhPxfagAAAAEUGauLBnGrJLXLWb6zfWbr/AAAAAGUGayMB3
Gl2zREJROhPWb6zf8E6VVWTPlMAAAAAgQZrY0CHGrNP1k+XyTSyo+L+TSbL+b0Gs3m51NT6vl/AA
AAAQQZro4CnG+r5ejTTzrpZvgA==
"""

# What the clip is, for the video metadata.
VIDEO_FACTS = {"width": 64, "height": 64, "frame_rate": 15.0, "duration_ms": 1000, "codec": "h264"}

CONTENT_TYPES = {
    "mp4": "video/mp4",
    "har": "application/json",
    "mar": "application/json",
    "csv": "text/csv; charset=utf-8",
    "pcap": "application/vnd.tcpdump.pcap",
    "sslkeylog.txt": "text/plain; charset=utf-8",
    **{f"{log}.log": "text/plain; charset=utf-8" for log in ("appium", "selenium", "device", "jsconsole")},
    **{f"{log}.log.gz": "application/gzip" for log in ("appium", "selenium", "device", "jsconsole")},
}
NETWORK_KINDS = ("har", "mar", "csv", "pcap", "sslkeylog.txt")

# The largest video the 32-bit size of the padding box can give.
MAX_VIDEO_BYTES = 2**32 - 1


@functools.cache
def _clip() -> bytes:
    return base64.b64decode(MP4_B64)


def check_video_bytes(size: int | None) -> None:
    """ValueError unless ``size`` is None (the clip as it is) or a size ``mp4`` can give."""
    smallest = len(_clip()) + 8
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                             or not (size == len(_clip()) or smallest <= size <= MAX_VIDEO_BYTES)):
        raise ValueError(f"video_bytes must be a whole number of bytes from {smallest} to {MAX_VIDEO_BYTES} "
                         f"(or None for the {len(_clip())}-byte clip), not {size!r}")


@functools.lru_cache(maxsize=2)
def mp4(size: int | None = None) -> bytes:
    """The clip, grown to ``size`` bytes by a trailing ``free`` box (players skip it), so that a
    download is as large as a real capture's video while the file stays playable."""
    check_video_bytes(size)
    clip = _clip()
    if size is None or size == len(clip):
        return clip
    padding = size - len(clip)
    return clip + struct.pack(">I4s", padding, b"free") + bytes(padding - 8)


def video_size(video_bytes: int | None = None) -> int:
    """How long ``mp4(video_bytes)`` is, without making it."""
    return len(_clip()) if video_bytes is None else video_bytes


def partial_mp4() -> bytes:
    """What the service hands out before capture-complete: the head of the clip only."""
    return _clip()[: len(_clip()) // 2]


def render(ext: str, session_id: str, device_address: str, platform: str, start: float, complete: bool,
           video_bytes: int | None = None, end: float | None = None,
           window: tuple[float, float] | None = None) -> bytes:
    """The bytes of download ``ext`` (a key of CONTENT_TYPES) for one session captured from ``start``
    to ``end`` (None: just started); the full video is ``video_bytes`` long (None: the clip as it
    is); ``window`` (epoch seconds) keeps only the HAR entries that start within it."""
    serial = device_address.split("@", 1)[0]
    if ext == "mp4":
        return mp4(video_bytes) if complete else partial_mp4()
    if ext == "har":
        return json.dumps(traffic.har(session_id, start, end, window=window), indent=2).encode()
    if ext == "mar":
        return json.dumps(traffic.mar(session_id, start, device_address, end), indent=2).encode()
    if ext == "csv":
        return traffic.network_csv(start, end)
    if ext == "pcap":
        return traffic.pcap(start, end)
    if ext == "sslkeylog.txt":
        return traffic.sslkeylog(session_id)
    kind = ext.removesuffix(".gz").removesuffix(".log")
    text = {
        "appium": lambda: logs.appium_log(session_id, start, platform, serial),
        "selenium": lambda: logs.selenium_log(session_id, start),
        "device": lambda: logs.device_log(session_id, start, platform, serial),
        "jsconsole": lambda: logs.jsconsole_log(session_id, start),
    }[kind]().encode()
    return gzip.compress(text, mtime=0) if ext.endswith(".gz") else text
