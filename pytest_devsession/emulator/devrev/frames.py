"""The frames of an emulated recording: small real PNG images drawn here, standard library only.

Frame ``index`` of a recording is a portrait image whose background colour changes from frame to
frame and which shows its frame number in large white digits, so that a client (or a person
looking at what a client saved) can tell frames apart and see that they are in order.
"""

from __future__ import annotations

import struct
import zlib

WIDTH, HEIGHT = 72, 128
_SCALE = 4
# A 3x5 font: each digit is five rows of three bits.
_DIGITS = {
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
}


def colour(index: int) -> tuple[int, int, int]:
    """The background of frame ``index``: a hue walking around the colour wheel, never white."""
    hue = (index * 47) % 360
    sector, rest = divmod(hue, 60)
    rising, falling = 40 + rest * 160 // 60, 200 - rest * 160 // 60
    return [(200, rising, 40), (falling, 200, 40), (40, 200, rising),
            (40, falling, 200), (rising, 40, 200), (200, 40, falling)][sector]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(pixels: list[bytearray], width: int, height: int) -> bytes:
    """An 8-bit RGB PNG of ``height`` rows of ``width * 3`` bytes."""
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def frame_png(index: int) -> bytes:
    """Frame ``index`` (0-based) as a PNG showing ``index`` in white on its colour."""
    background = bytes(colour(index))
    rows = [bytearray(background * WIDTH) for _ in range(HEIGHT)]
    text = str(index)
    glyph_width = 4 * _SCALE  # three columns and a gap
    left = max(0, (WIDTH - len(text) * glyph_width + _SCALE) // 2)
    top = (HEIGHT - 5 * _SCALE) // 2
    for position, digit in enumerate(text):
        for y, line in enumerate(_DIGITS[digit]):
            for x, bit in enumerate(line):
                if bit != "1":
                    continue
                for dy in range(_SCALE):
                    for dx in range(_SCALE):
                        px = left + position * glyph_width + x * _SCALE + dx
                        if px < WIDTH:
                            row = rows[top + y * _SCALE + dy]
                            row[px * 3:px * 3 + 3] = b"\xff\xff\xff"
    return png(rows, WIDTH, HEIGHT)
