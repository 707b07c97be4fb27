#!/usr/bin/env python3
"""Draws Lanyard's icons as PNGs with the standard library only (no ImageMagick, no Pillow).

The app icon is a lanyard: a strap in a V from the top edge down to a badge card. Tray icons
use the same glyph with a status dot: signed-in (green), refreshing (blue), needs-sign-in
(amber), unreachable (grey glyph, red dot). Run `python3 icons/generate.py` to redraw; the PNGs
are committed so builds don't need to run this.
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SS = 4  # supersampling per axis


def png(path, w, h, rgba):
    raw = b"".join(b"\x00" + bytes(rgba[y * w * 4:(y + 1) * w * 4]) for y in range(h))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def sd_round_rect(px, py, x0, y0, x1, y1, r):
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r
    dx, dy = abs(px - cx) - hx, abs(py - cy) - hy
    outside = math.hypot(max(dx, 0), max(dy, 0))
    return outside + min(max(dx, dy), 0) - r


def sd_circle(px, py, cx, cy, r):
    return math.hypot(px - cx, py - cy) - r


def sd_segment(px, py, ax, ay, bx, by, r):
    pax, pay, bax, bay = px - ax, py - ay, bx - ax, by - ay
    h = max(0.0, min(1.0, (pax * bax + pay * bay) / (bax * bax + bay * bay)))
    return math.hypot(pax - bax * h, pay - bay * h) - r


def render(size, layers):
    """layers: list of (sdf(x, y) in unit coords -> distance, (r, g, b, a)); painted in order."""
    out = bytearray(size * size * 4)
    for y in range(size):
        for x in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(SS):
                for sx in range(SS):
                    u = (x + (sx + 0.5) / SS) / size
                    v = (y + (sy + 0.5) / SS) / size
                    col = [0.0, 0.0, 0.0, 0.0]
                    for sdf, rgba in layers:
                        if sdf(u, v) <= 0:
                            a = rgba[3] / 255
                            for i in range(3):
                                col[i] = rgba[i] / 255 * a + col[i] * (1 - a)
                            col[3] = a + col[3] * (1 - a)
                    for i in range(4):
                        acc[i] += col[i]
            n = SS * SS
            a = acc[3] / n
            i = (y * size + x) * 4
            if a > 0:
                out[i:i + 3] = bytes(min(255, round(acc[c] / n / a * 255)) for c in range(3))
            out[i + 3] = round(a * 255)
    return out


TEAL = (31, 111, 139, 255)
WHITE = (255, 255, 255, 255)
INK = (40, 44, 52, 255)
GREY = (140, 146, 156, 255)
STATES = {
    "signed-in": (46, 160, 67, 255),
    "refreshing": (47, 129, 247, 255),
    "needs-sign-in": (230, 150, 20, 255),
    "unreachable": (214, 51, 51, 255),
}


def glyph(color, hole):
    """The lanyard: two strap lines meeting at a clip, and the badge card below."""
    return [
        (lambda u, v: sd_segment(u, v, 0.26, 0.10, 0.46, 0.50, 0.045), color),
        (lambda u, v: sd_segment(u, v, 0.74, 0.10, 0.54, 0.50, 0.045), color),
        (lambda u, v: sd_round_rect(u, v, 0.30, 0.50, 0.70, 0.90, 0.07), color),
        (lambda u, v: sd_round_rect(u, v, 0.43, 0.56, 0.57, 0.61, 0.02), hole),
    ]


def app_icon(size):
    layers = [(lambda u, v: sd_round_rect(u, v, 0.04, 0.04, 0.96, 0.96, 0.2), TEAL)]
    layers += glyph(WHITE, TEAL)
    return render(size, layers)


def tray_icon(size, state):
    base = GREY if state == "unreachable" else INK
    layers = glyph(base, (0, 0, 0, 0))
    # A transparent "hole" is drawn by clearing: emulate with background-less ring around the dot.
    dot = STATES[state]
    layers.append((lambda u, v: sd_circle(u, v, 0.76, 0.76, 0.22), (255, 255, 255, 255)))
    layers.append((lambda u, v: sd_circle(u, v, 0.76, 0.76, 0.17), dot))
    return render(size, layers)


def main():
    for size, name in [(32, "32x32.png"), (128, "128x128.png"), (256, "128x128@2x.png"), (512, "icon.png")]:
        png(os.path.join(HERE, name), size, size, app_icon(size))
    os.makedirs(os.path.join(HERE, "tray"), exist_ok=True)
    for state in STATES:
        png(os.path.join(HERE, "tray", f"{state}.png"), 64, 64, tray_icon(64, state))


if __name__ == "__main__":
    main()
