#!/usr/bin/python3
"""make_safetensors_seeds.py - writes the seed corpus of fuzz_safetensors.

Seeds are small valid files (so the fuzzer starts past the header checks) and a
few near-misses. Standard library only; reuses the writer of the CLI tests.
usage: /usr/bin/python3 tests/fuzz/make_safetensors_seeds.py
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import make_tiny_model as tiny  # noqa: E402


def container(header, data=b""):
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    out = os.path.join(HERE, "seeds", "safetensors")
    os.makedirs(out, exist_ok=True)
    meta = {"config": json.dumps(tiny.CONFIG)}
    seeds = {
        "model.safetensors": tiny.build()[0],
        "empty-model.safetensors": container({"__metadata__": meta}),
        "three-dtypes.safetensors": container({
            "__metadata__": meta,
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F16", "shape": [2, 1], "data_offsets": [8, 12]},
            "c": {"dtype": "BF16", "shape": [], "data_offsets": [12, 14]},
            "d": {"dtype": "F16", "shape": [0, 4], "data_offsets": [14, 14]},
        }, struct.pack("<2f", 1.5, -2.0) + bytes([0x00, 0x3c, 0x01, 0x00, 0x80, 0x3f])),
        "nan.safetensors": container({
            "__metadata__": meta,
            "n": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
        }, bytes([0x00, 0x3c, 0x00, 0x7e])),
        "overlap.safetensors": container({
            "__metadata__": meta,
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
        }, bytes(8)),
        "no-metadata.safetensors": container({
            "a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]},
        }, bytes(8)),
    }
    for name, blob in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
