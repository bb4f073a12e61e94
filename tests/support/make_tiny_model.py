#!/usr/bin/python3
"""make_tiny_model.py - writes a small but valid panoptic safetensors model.

Standard library only (struct + json), so the CLI tests and the fuzz seeds do
not depend on the C code they test. The config mirrors Detectron2's Cityscapes
Panoptic-DeepLab (R-52 DeepLab stem, dsconv) with four classes; the tensors are
a handful of real D2 names in F32, F16 and BF16 with random values (the file is
for `panoptic info`, not for running the network).

usage: make_tiny_model.py OUT   prints the parameter count (sum of elements)
"""
import json
import random
import struct
import sys

CONFIG = {
    "format": "panoptic-deeplab/1",
    "name": "cityscapes-tiny",
    "backbone": {"depth": 50, "stem": "deeplab", "stem_out_channels": 128,
                 "res2_out_channels": 256, "width_per_group": 64, "stride_in_1x1": False,
                 "res4_dilation": 1, "res5_dilation": 2, "res5_multi_grid": [1, 2, 4]},
    "sem_seg_head": {"project_channels": [32, 64], "decoder_channels": 256, "aspp_channels": 256,
                     "aspp_dilations": [6, 12, 18], "aspp_pooling": [32, 64],
                     "head_channels": 256, "depthwise_separable": True},
    "ins_embed_head": {"project_channels": [32, 64], "decoder_channels": 128,
                       "aspp_channels": 256, "aspp_dilations": [6, 12, 18],
                       "aspp_pooling": "global", "head_channels": 32,
                       "depthwise_separable": True},
    "input": {"pixel_mean": [123.675, 116.28, 103.53], "pixel_std": [58.395, 57.12, 57.375],
              "min_size_test": 1024, "max_size_test": 2048, "size_divisibility": 32},
    "postprocess": {"center_threshold": 0.1, "nms_kernel": 7, "top_k": 200, "stuff_area": 2048,
                    "label_divisor": 1000},
    "classes": [
        {"id": 7, "name": "road", "isthing": False, "color": [128, 64, 128]},
        {"id": 8, "name": "sidewalk", "isthing": False, "color": [244, 35, 232]},
        {"id": 24, "name": "person", "isthing": True, "color": [220, 20, 60]},
        {"id": 26, "name": "car", "isthing": True, "color": [0, 0, 142]},
    ],
}

# (name, dtype, shape)
TENSORS = [
    ("backbone.stem.conv1.weight", "F32", [64, 3, 3, 3]),
    ("backbone.stem.conv1.norm.running_mean", "F32", [64]),
    ("sem_seg_head.predictor.weight", "F16", [4, 256, 1, 1]),
    ("sem_seg_head.predictor.bias", "F16", [4]),
    ("ins_embed_head.center_predictor.weight", "BF16", [1, 32, 1, 1]),
    ("ins_embed_head.offset_predictor.weight", "BF16", [2, 32, 1, 1]),
]


def encode(dtype, values):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    # BF16: the top half of the float32 bits (truncation is fine for test data)
    return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:]
                    for v in values)


def build(seed=1):
    rng = random.Random(seed)
    header = {"__metadata__": {"config": json.dumps(CONFIG)}}
    data = b""
    params = 0
    for name, dtype, shape in TENSORS:
        n = 1
        for d in shape:
            n *= d
        blob = encode(dtype, [rng.uniform(-1, 1) for _ in range(n)])
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
        params += n
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data, params


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    blob, params = build()
    with open(sys.argv[1], "wb") as f:
        f.write(blob)
    print(params)


if __name__ == "__main__":
    main()
