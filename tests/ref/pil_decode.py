#!/usr/bin/python3
"""Reference decodes with Detectron2's reader (PIL), for tests/test_image.c.

Writes small PNG/JPEG inputs to tests/ref/pil_decode/ and, next to each, NAME.rgb: the
pixels detectron2.data.detection_utils.read_image(path, format="RGB") would return
(Image.open -> _apply_exif_orientation -> convert("RGB")), as "W H\\n" then W*H*3 bytes.
PIL uses the same libjpeg-turbo as our decoder, with the same defaults, so JPEGs
(4:2:0 with fancy upsampling, progressive, EXIF-rotated) must match exactly.
16-bit grey is left out: PIL clips it to 255 (see src/png_decode.c).
Run: /usr/bin/python3 tests/ref/pil_decode.py
"""
import os
import random

from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "pil_decode")
ORIENT = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
          5: Image.TRANSPOSE, 6: Image.ROTATE_270, 7: Image.TRANSVERSE, 8: Image.ROTATE_90}


def d2_read_rgb(path):
    """detectron2.data.detection_utils.read_image(path, "RGB"), without NumPy."""
    img = Image.open(path)
    method = ORIENT.get(img.getexif().get(0x0112))
    if method is not None:
        img = img.transpose(method)
    return img.convert("RGB")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(3)
    w, h = 37, 23
    # smooth gradients plus noise: photo-like, so chroma subsampling matters
    data = bytes(min(255, max(0, (x * 7 + y * 3 * (c + 1)) % 256 + rng.randrange(-20, 21)))
                 for y in range(h) for x in range(w) for c in range(3))
    rgb = Image.frombytes("RGB", (w, h), data)
    exif = Image.Exif()
    exif[0x0112] = 8
    cases = {
        "q85_420.jpg": dict(img=rgb, format="JPEG", quality=85),
        "q75_progressive.jpg": dict(img=rgb, format="JPEG", quality=75, progressive=True),
        "q90_422.jpg": dict(img=rgb, format="JPEG", quality=90, subsampling=1),
        "grey.jpg": dict(img=rgb.convert("L"), format="JPEG", quality=80),
        "orient8.jpg": dict(img=rgb, format="JPEG", quality=85, exif=exif.tobytes()),
        "palette.png": dict(img=rgb.convert("P", palette=Image.ADAPTIVE, colors=50), format="PNG"),
        "rgba.png": dict(img=rgb.convert("RGBA"), format="PNG"),
    }
    for name, kw in cases.items():
        img = kw.pop("img")
        path = os.path.join(OUT, name)
        img.save(path, **kw)
        ref = d2_read_rgb(path)
        with open(path + ".rgb", "wb") as f:
            f.write(f"{ref.width} {ref.height}\n".encode() + ref.tobytes())


if __name__ == "__main__":
    main()
