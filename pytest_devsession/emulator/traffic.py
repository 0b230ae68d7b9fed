"""The emulated app's network traffic during a capture, and the downloads made of it: HAR, MAR,
CSV, PCAP and the TLS key log.

Pure functions of a session's plain facts (id, device, capture start and end); no HTTP, no state.
The requests are spread over the capture (see ``entries_of``), so that cutting a HAR by a label's
time window keeps some and leaves others.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import struct
import time
from urllib.parse import urlsplit

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


APP_SECRETS = ("app-user-secret-7f3a9c", "app-cookie-secret-51b2e0")


# The app repeats its requests (a round) every ROUND_PERIOD seconds while it is captured; a long
# capture spreads at most MAX_ROUNDS rounds over its length. The first round is always there, even
# in a capture stopped before it ends.
ROUND_PERIOD = 1.0
MAX_ROUNDS = 250


def _ms(epoch: float) -> float:
    """``epoch`` at the millisecond precision of a HAR's startedDateTime."""
    return int(epoch * 1000) / 1000


def entries_of(start: float, end: float | None = None):
    """Yield (started epoch, method, url, status, mime, size, ip, timings, total ms) for every
    request of a capture from ``start`` to ``end`` (None: the first round only)."""
    span = 0.0 if end is None else max(0.0, end - start)
    period = max(ROUND_PERIOD, span / MAX_ROUNDS)
    for round_ in range(int(span // period) + 1):
        t = start + 0.25 + round_ * period
        for method, url, status, mime, size, ip, timings in TRAFFIC:
            if round_ and t > end:
                return
            total = sum(v for k, v in timings.items() if k != "ssl" and v > 0)
            yield t, method, url, status, mime, size, ip, timings, total
            t += total / 1000 + 0.1


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def har(session_id: str, start: float, end: float | None = None, extra: dict | None = None,
        window: tuple[float, float] | None = None) -> dict:
    """The capture's traffic as HAR 1.2; with ``window`` (epoch seconds, both ends included) only the
    entries whose ``startedDateTime`` falls within it, as a label cuts them."""
    entries = []
    for t, method, url, status, mime, size, ip, timings, total in entries_of(start, end):
        if window is not None and not window[0] <= _ms(t) <= window[1]:
            continue
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


def mar(session_id: str, start: float, device_address: str, end: float | None = None) -> dict:
    return har(session_id, start, end, extra={"session_id": session_id, "device_address": device_address, "issues": []})


def network_csv(start: float, end: float | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["start_time", "host", "method", "url", "status", "mime_type", "response_bytes", "time_ms", "server_ip"])
    for t, method, url, status, mime, size, ip, _timings, total in entries_of(start, end):
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


def pcap(start: float, end: float | None = None) -> bytes:
    """A libpcap file: a TCP handshake and a first data segment per connection."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    hosts = {}  # server ip -> time of its first request
    for t, _method, _url, _status, _mime, _size, ip, _timings, _total in entries_of(start, end):
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
