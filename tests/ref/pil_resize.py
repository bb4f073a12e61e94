#!/usr/bin/python3
"""Reference outputs for src/resize.c, made with Pillow (Debian python3-pil).

For each case a seeded random RGB image is saved as CASE_in.png and Pillow's
Image.resize((w, h), Image.BILINEAR) of it as CASE_out.png; tests/test_resize.c
requires our resize to reproduce the output exactly. shapes.txt lists input
sizes with Detectron2's ResizeShortestEdge output shape (its get_output_shape,
transcribed below) for a few (short_edge, max_size) settings.

Run: /usr/bin/python3 tests/ref/pil_resize.py   (writes tests/ref/pil_resize/)
"""
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pil_resize")

# (name, source w, h, target w, h): down, up, mixed, extreme and identity cases.
CASES = [
    ("down2x", 64, 48, 32, 24),
    ("down_odd", 97, 131, 40, 57),
    ("down_big", 120, 90, 13, 9),
    ("up_odd", 17, 11, 53, 29),
    ("mixed", 50, 40, 81, 21),
    ("width_only", 45, 30, 29, 30),
    ("height_only", 30, 45, 30, 61),
    ("to_one", 25, 19, 1, 1),
    ("from_one", 1, 1, 7, 5),
]


def get_output_shape(oldh, oldw, short_edge_length, max_size):
    """Detectron2 ResizeShortestEdge.get_output_shape."""
    h, w = oldh, oldw
    size = short_edge_length * 1.0
    scale = size / min(h, w)
    if h < w:
        newh, neww = size, scale * w
    else:
        newh, neww = scale * h, size
    if max(newh, neww) > max_size:
        scale = max_size * 1.0 / max(newh, neww)
        newh = newh * scale
        neww = neww * scale
    neww = int(neww + 0.5)
    newh = int(newh + 0.5)
    return (newh, neww)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261124)
    for name, sw, sh, dw, dh in CASES:
        img = Image.fromarray(rng.integers(0, 256, (sh, sw, 3), dtype=np.uint8), "RGB")
        img.save(os.path.join(OUT, name + "_in.png"))
        img.resize((dw, dh), Image.BILINEAR).save(os.path.join(OUT, name + "_out.png"))
    with open(os.path.join(OUT, "shapes.txt"), "w") as f:
        for h, w in [(1024, 2048), (480, 640), (640, 480), (333, 1000), (1, 5000), (1234, 77)]:
            for short, cap in [(1024, 2048), (640, 640), (800, 1333)]:
                nh, nw = get_output_shape(h, w, short, cap)
                f.write(f"{h} {w} {short} {cap} {nh} {nw}\n")


if __name__ == "__main__":
    main()
