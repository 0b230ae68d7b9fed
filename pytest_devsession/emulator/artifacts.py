"""What a capture session's downloads contain: small but real files.

Pure functions of a session's plain facts (id, device, times); no HTTP, no state.
"""

from __future__ import annotations

import base64
import csv
import functools
import gzip
import hashlib
import io
import json
import struct
import time
from urllib.parse import urlsplit

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

# Hosts with pinned certificates that the emulated app talks to (see tlsexceptions).
PINNED_HOSTS = {"pinned.example.com": 3, "telemetry.example.net": 1}

DEVICE_IP = "10.0.0.23"
# (method, url, status, mime type, response size, server ip, timings in ms)
TRAFFIC = (
    ("GET", "https://www.example.com/", 200, "text/html; charset=utf-8", 1256, "192.0.2.10",
     {"blocked": 2, "dns": 14, "connect": 38, "ssl": 22, "send": 1, "wait": 87, "receive": 6}),
    ("GET", "https://api.example.com/v1/config?platform=mobile", 200, "application/json", 412, "198.51.100.7",
     {"blocked": 1, "dns": 9, "connect": 31, "ssl": 19, "send": 0, "wait": 64, "receive": 2}),
    ("GET", "https://cdn.example.com/img/logo.png", 200, "image/png", 5730, "203.0.113.42",
     {"blocked": 3, "dns": 11, "connect": 27, "ssl": 16, "send": 0, "wait": 41, "receive": 18}),
    ("POST", "https://api.example.com/v1/events", 204, "", 0, "198.51.100.7",
     {"blocked": 0, "dns": -1, "connect": -1, "ssl": -1, "send": 1, "wait": 52, "receive": 0}),
)


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


def partial_mp4() -> bytes:
    """What the service hands out before capture-complete: the head of the clip only."""
    return _clip()[: len(_clip()) // 2]


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def _stamp(epoch: float, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}"


def _entries(start: float):
    """Yield (started epoch, method, url, status, mime, size, ip, timings, total ms)."""
    t = start + 0.25
    for method, url, status, mime, size, ip, timings in TRAFFIC:
        total = sum(v for k, v in timings.items() if k != "ssl" and v > 0)
        yield t, method, url, status, mime, size, ip, timings, total
        t += total / 1000 + 0.1


APP_SECRETS = ("app-user-secret-7f3a9c", "app-cookie-secret-51b2e0")


def har(session_id: str, start: float, extra: dict | None = None) -> dict:
    entries = []
    for t, method, url, status, mime, size, ip, timings, total in _entries(start):
        parts = urlsplit(url)
        entry = {
            "pageref": "page_1",
            "startedDateTime": _iso(t),
            "time": total,
            "request": {
                "method": method,
                "url": url,
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                # An app sends its user's credentials: what a HAR must not hand on unredacted.
                "headers": [{"name": "Host", "value": parts.hostname},
                            {"name": "User-Agent", "value": "okhttp/4.12.0"},
                            {"name": "Authorization", "value": f"Bearer {APP_SECRETS[0]}"},
                            {"name": "Cookie", "value": f"sid={APP_SECRETS[1]}"}],
                "queryString": [{"name": k, "value": v} for k, _, v in
                                (q.partition("=") for q in parts.query.split("&") if q)],
                "headersSize": -1,
                "bodySize": 48 if method == "POST" else 0,
            },
            "response": {
                "status": status,
                "statusText": {200: "OK", 204: "No Content"}[status],
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                "headers": [{"name": "Content-Length", "value": str(size)}]
                + ([{"name": "Content-Type", "value": mime}] if mime else []),
                "content": {"size": size, "mimeType": mime or "x-unknown"},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": size,
            },
            "cache": {},
            "timings": timings,
            "serverIPAddress": ip,
            "connection": f"{ip}:443",
        }
        if method == "POST":
            entry["request"]["postData"] = {"mimeType": "application/json",
                                            "text": json.dumps({"event": "app_open", "session": session_id})[:48]}
        if extra is not None:
            entry["_headspin"] = {**extra, "host": parts.hostname}
        entries.append(entry)
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "HeadSpin emulator (pytest-devsession)", "version": "1.0"},
            "pages": [{
                "startedDateTime": _iso(start + 0.25),
                "id": "page_1",
                "title": f"HeadSpin session {session_id}",
                "pageTimings": {"onContentLoad": 412, "onLoad": 655},
            }],
            "entries": entries,
        }
    }


def mar(session_id: str, start: float, device_address: str) -> dict:
    return har(session_id, start, extra={"session_id": session_id, "device_address": device_address, "issues": []})


def network_csv(start: float) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["start_time", "host", "method", "url", "status", "mime_type", "response_bytes", "time_ms", "server_ip"])
    for t, method, url, status, mime, size, ip, _timings, total in _entries(start):
        writer.writerow([f"{t:.3f}", urlsplit(url).hostname, method, url, status, mime, size, total, ip])
    return out.getvalue().encode()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip(addr: str) -> bytes:
    return bytes(int(part) for part in addr.split("."))


def _tcp_packet(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = _ip(src) + _ip(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, _ip(src), _ip(dst))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ether = bytes.fromhex("02000000000a" "02000000000b") + b"\x08\x00"
    return ether + ip + tcp


def pcap(start: float) -> bytes:
    """A libpcap file: a TCP handshake and a first data segment per connection."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    hosts = {}  # server ip -> time of its first request
    for t, _method, _url, _status, _mime, _size, ip, _timings, _total in _entries(start):
        hosts.setdefault(ip, t)
    SYN, ACK, PSH = 0x02, 0x10, 0x08
    for n, (ip, t) in enumerate(hosts.items()):
        sport = 40000 + n
        hello = b"\x16\x03\x01\x00\x2e" + hashlib.sha256(ip.encode()).digest()[:46]
        for dt, (src, dst, sp, dp, seq, ack, flags, payload) in enumerate((
            (DEVICE_IP, ip, sport, 443, 1000, 0, SYN, b""),
            (ip, DEVICE_IP, 443, sport, 5000, 1001, SYN | ACK, b""),
            (DEVICE_IP, ip, sport, 443, 1001, 5001, ACK, b""),
            (DEVICE_IP, ip, sport, 443, 1001, 5001, PSH | ACK, hello),
        )):
            packet = _tcp_packet(src, dst, sp, dp, seq, ack, flags, payload)
            when = t + dt * 0.01
            out.append(struct.pack("<IIII", int(when), int(when % 1 * 1e6), len(packet), len(packet)) + packet)
    return b"".join(out)


def sslkeylog(session_id: str) -> bytes:
    lines = ["# TLS key log for the capture, NSS key log format"]
    for host in sorted({urlsplit(url).hostname for _m, url, *_ in TRAFFIC}):
        seed = f"{session_id}:{host}".encode()
        client_random = hashlib.sha256(seed + b":random").hexdigest()
        secret = (hashlib.sha512(seed + b":secret").hexdigest())[:96]
        lines.append(f"CLIENT_RANDOM {client_random} {secret}")
    return ("\n".join(lines) + "\n").encode()


def appium_log(session_id: str, start: float, platform: str, serial: str) -> str:
    automation = "UiAutomator2" if platform == "android" else "XCUITest"
    short = session_id[:8]
    lines = [
        (0.0, "[Appium] Welcome to Appium v2.11.2"),
        (0.1, "[HTTP] --> POST /wd/hub/session"),
        (0.2, f"[AppiumDriver@{short[:4]}] Appium v2.11.2 creating new {automation}Driver session"),
        (0.3, f"[{automation}Driver@{short[:4]}] Using device: {serial}"),
        (1.8, f"[AppiumDriver@{short[:4]}] New {automation}Driver session created successfully, session {session_id} added to master session list"),
        (1.9, "[HTTP] <-- POST /wd/hub/session 200 1834 ms - 912"),
        (2.1, f"[HTTP] --> POST /wd/hub/session/{session_id}/element"),
        (2.1, f'[{automation}Driver@{short[:4]} ({short})] Calling AppiumDriver.findElement() with args: ["accessibility id","login",{session_id!r}]'),
        (2.4, f"[HTTP] <-- POST /wd/hub/session/{session_id}/element 200 301 ms - 137"),
        (2.6, f"[HTTP] --> POST /wd/hub/session/{session_id}/element/00000000-0000-0001/click"),
        (2.8, f"[HTTP] <-- POST /wd/hub/session/{session_id}/element/00000000-0000-0001/click 200 212 ms - 14"),
        (3.5, f"[HTTP] --> DELETE /wd/hub/session/{session_id}"),
        (3.9, f"[AppiumDriver@{short[:4]}] Removing session {session_id} from our master session list"),
        (4.0, f"[HTTP] <-- DELETE /wd/hub/session/{session_id} 200 402 ms - 14"),
    ]
    return "".join(f"{_stamp(start + dt, '%Y-%m-%d %H:%M:%S')} {text}\n" for dt, text in lines)


def selenium_log(session_id: str, start: float) -> str:
    lines = [
        (0.0, "INFO", "Starting ChromeDriver 126.0.6478.126 on port 9515"),
        (0.2, "INFO", f"[{session_id}] COMMAND InitSession"),
        (1.1, "INFO", f"[{session_id}] RESPONSE InitSession"),
        (1.4, "INFO", f"[{session_id}] COMMAND Navigate {{\"url\": \"https://www.example.com/\"}}"),
        (2.2, "INFO", f"[{session_id}] RESPONSE Navigate"),
        (2.5, "WARNING", f"[{session_id}] Timed out waiting for page load; continuing"),
        (3.9, "INFO", f"[{session_id}] COMMAND Quit"),
        (4.0, "INFO", f"[{session_id}] RESPONSE Quit"),
    ]
    return "".join(f"[{_stamp(start + dt, '%Y-%m-%d %H:%M:%S')}][{level}]: {text}\n" for dt, level, text in lines)


def device_log(session_id: str, start: float, platform: str, serial: str) -> str:
    if platform == "ios":
        lines = [
            (0.0, "SpringBoard[58] <Notice>", f"HeadSpin capture {session_id} attached to {serial}"),
            (0.4, "SpringBoard[58] <Notice>", "Application com.example.app launched"),
            (1.2, "example[1422] <Notice>", "App did finish launching in 812 ms"),
            (2.7, "nsurlsessiond[103] <Notice>", "Task <4F1C> finished with status 200"),
            (3.9, "SpringBoard[58] <Notice>", "Application com.example.app moved to background"),
        ]
        return "".join(f"{_stamp(start + dt, '%b %d %H:%M:%S')} {serial} {proc}: {text}\n" for dt, proc, text in lines)
    lines = [
        (0.0, "I", "HeadSpin", f"capture session {session_id} started on {serial}"),
        (0.4, "I", "ActivityManager", "Start proc 4211:com.example.app/u0a201 for activity"),
        (1.2, "I", "ActivityTaskManager", "Displayed com.example.app/.MainActivity: +812ms"),
        (2.7, "D", "OkHttp", "<-- 200 https://api.example.com/v1/config (64ms)"),
        (3.1, "W", "example.app", "Slow frame: 48ms"),
        (3.9, "I", "ActivityManager", "com.example.app moved to background"),
    ]
    return "".join(f"{_stamp(start + dt, '%m-%d %H:%M:%S')}  4211  4211 {lvl} {tag}: {text}\n" for dt, lvl, tag, text in lines)


def jsconsole_log(session_id: str, start: float) -> str:
    lines = [
        (1.0, "log", "app booted"),
        (1.6, "info", f"session {session_id}"),
        (2.3, "warn", "Deprecated API used: document.domain"),
        (2.9, "error", "Failed to load resource: https://cdn.example.com/img/missing.png (404)"),
    ]
    return "".join(f"[{_stamp(start + dt, '%Y-%m-%dT%H:%M:%S')}Z] [{level}] {text}\n" for dt, level, text in lines)


def render(ext: str, session_id: str, device_address: str, platform: str, start: float, complete: bool,
           video_bytes: int | None = None) -> bytes:
    """The bytes of download ``ext`` (a key of CONTENT_TYPES) for one session; the full video is
    ``video_bytes`` long (None: the clip as it is)."""
    serial = device_address.split("@", 1)[0]
    if ext == "mp4":
        return mp4(video_bytes) if complete else partial_mp4()
    if ext == "har":
        return json.dumps(har(session_id, start), indent=2).encode()
    if ext == "mar":
        return json.dumps(mar(session_id, start, device_address), indent=2).encode()
    if ext == "csv":
        return network_csv(start)
    if ext == "pcap":
        return pcap(start)
    if ext == "sslkeylog.txt":
        return sslkeylog(session_id)
    kind = ext.removesuffix(".gz").removesuffix(".log")
    text = {
        "appium": lambda: appium_log(session_id, start, platform, serial),
        "selenium": lambda: selenium_log(session_id, start),
        "device": lambda: device_log(session_id, start, platform, serial),
        "jsconsole": lambda: jsconsole_log(session_id, start),
    }[kind]().encode()
    return gzip.compress(text, mtime=0) if ext.endswith(".gz") else text
