#!/usr/bin/python3
"""Writes the seed corpus for fuzz_image into tests/fuzz/seeds/image/.

Small images covering the decoder's paths: PNG colour types and depths,
palette + tRNS, 16-bit, Adam7 interlacing (encoded by hand below: PIL cannot
write it), baseline/progressive/grey/CMYK JPEG and a JPEG with an EXIF
orientation. Run: /usr/bin/python3 tests/fuzz/make_image_seeds.py
"""
import io
import os
import random
import struct
import zlib

from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "seeds", "image")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def adam7_rgba16_png(w, h, rng):
    """16-bit RGBA, Adam7-interlaced, filter 0 on every row."""
    px = [[[rng.randrange(65536) for _ in range(4)] for _ in range(w)] for _ in range(h)]
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        xs = range(x0, w, dx)
        for y in range(y0, h, dy):
            if len(xs):
                raw += b"\0" + b"".join(struct.pack(">4H", *px[y][x]) for x in xs)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def save(name, img, **kw):
    buf = io.BytesIO()
    img.save(buf, **kw)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(buf.getvalue())


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(1)
    rgb = Image.frombytes("RGB", (8, 6), bytes(rng.randrange(256) for _ in range(8 * 6 * 3)))
    save("rgb8.png", rgb, format="PNG")
    save("grey1.png", rgb.convert("1"), format="PNG")
    save("grey_alpha.png", rgb.convert("LA"), format="PNG")
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=16)
    save("palette_trns.png", pal, format="PNG", transparency=bytes(range(0, 256, 16)))
    save("grey16.png", rgb.convert("L").convert("I;16"), format="PNG")
    with open(os.path.join(OUT, "rgba16_adam7.png"), "wb") as f:
        f.write(adam7_rgba16_png(9, 7, rng))
    save("baseline.jpg", rgb, format="JPEG", quality=80)
    save("progressive.jpg", rgb, format="JPEG", quality=80, progressive=True)
    save("grey.jpg", rgb.convert("L"), format="JPEG", quality=80)
    save("cmyk.jpg", rgb.convert("CMYK"), format="JPEG", quality=80)
    exif = Image.Exif()
    exif[0x0112] = 6
    save("exif_orient6.jpg", rgb, format="JPEG", quality=80, exif=exif.tobytes())


if __name__ == "__main__":
    main()
