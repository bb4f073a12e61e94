#!/usr/bin/python3
"""Reference for EXIF orientation: where each output pixel comes from.

Applies Detectron2's mapping (detectron2/data/detection_utils.py,
_apply_exif_orientation: orientation -> PIL Image.transpose method) to small
images whose pixel values are their own raster index, and checks that PIL's
ImageOps.exif_transpose agrees. Prints one line per (size, orientation):

    W H ORIENTATION OUT_W OUT_H i0 i1 ...   (i = source index y*W+x, output raster order)

Regenerate with: /usr/bin/python3 tests/ref/exif_orientation.py > tests/ref/exif_orientation.txt
tests/test_image.c reads that file.
"""
from PIL import Image, ImageOps

D2_METHOD = {
    2: Image.FLIP_LEFT_RIGHT,
    3: Image.ROTATE_180,
    4: Image.FLIP_TOP_BOTTOM,
    5: Image.TRANSPOSE,
    6: Image.ROTATE_270,
    7: Image.TRANSVERSE,
    8: Image.ROTATE_90,
}


def index_image(w, h):
    img = Image.new("I", (w, h))
    img.putdata(list(range(w * h)))
    return img


def main():
    for w, h in [(5, 3), (19, 11)]:
        for orient in range(1, 9):
            img = index_image(w, h)
            out = img.transpose(D2_METHOD[orient]) if orient in D2_METHOD else img
            tagged = index_image(w, h)
            exif = tagged.getexif()
            exif[0x0112] = orient
            tagged.info["exif"] = exif.tobytes()
            via_pil = ImageOps.exif_transpose(tagged)
            assert list(via_pil.getdata()) == list(out.getdata()), (w, h, orient)
            idx = " ".join(str(v) for v in out.getdata())
            print(f"{w} {h} {orient} {out.width} {out.height} {idx}")


if __name__ == "__main__":
    main()
