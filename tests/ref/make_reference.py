#!/usr/bin/env python3
"""Writes the reference models and per-stage tensors that the C network tests compare with.

For each config below: random weights (pdl_reference.random_state), saved as a Detectron2-style
pickle in tests/ref/work/ (not committed), converted by weights/convert_detectron2.py (run as a
program, so the converter is exercised) to tests/ref/data/<config>.safetensors, then read back
and checked against the weights the reference runs with. For each case: a random image
(pdl_reference.random_image), normalised and padded, run through the reference in float64;
the stages listed for the case are written as float32 to tests/ref/data/<config>_<H>x<W>.safetensors,
with the error of PyTorch's own float32 run against it (metadata torch_f32_max_rel_error).

The committed files must stay small (4 MB in all), so full-resolution tensors are kept for a
few cases only, and some cases keep only a few small stages and no input: their image is
regenerated from image_seed (see README.md). Every file lists its tensors in metadata "stages".
Run through make_reference.sh; deterministic (fixed seeds, one thread).
"""

import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "weights"))
import pdl_reference as R  # noqa: E402
import convert_detectron2 as C  # noqa: E402

DATA = os.path.join(HERE, "data")
WORK = os.path.join(HERE, "work")
BUDGET = 4 << 20

ALL = R.STAGES
NO_SEM_UP = [s for s in ALL if s != "sem_logits_up"]
QUARTER = [s for s in ALL if not s.endswith("_up")]  # everything down to the /4 head outputs
# Without "input" (regenerate the image from image_seed): cheap stages only.
HEADS = ["sem_logits", "center", "offset"]
POOLING = ["sem_aspp", "ins_aspp", "center", "offset"]


def reduced(preset, name, **kw):
    """A published preset shrunk to test size. kw: backbone/head/input values."""
    cfg = C.PRESETS[preset]()
    cfg["name"] = name
    cfg["backbone"].update(kw["backbone"])
    for h in ("sem_seg_head", "ins_embed_head"):
        cfg[h].update(kw["heads"])
    cfg["sem_seg_head"].update(kw["sem"])
    cfg["ins_embed_head"].update(kw["ins"])
    cfg["input"].update(kw.get("input", {}))
    if "classes" in kw:
        cfg["classes"] = kw["classes"]
    C.validate_config(cfg)
    return cfg


CONFIGS = [
    # (a) ResNet-18 basic blocks, basic stem, output stride 32 (no dilation: D2 defines no
    # dilated basic block), global ASPP pooling, regular 3x3 convs, 5 classes, no padding.
    dict(name="small", seed=11, dtype="f16", cfg=reduced(
        "cityscapes-r52", "test-small-r18",
        backbone=dict(depth=18, stem="basic", stem_out_channels=8, res2_out_channels=8,
                      width_per_group=8, res5_dilation=1, res5_multi_grid=[1, 1, 1]),
        heads=dict(project_channels=[4, 8], aspp_channels=16, aspp_pooling="global",
                   depthwise_separable=False),
        sem=dict(decoder_channels=16, head_channels=16), ins=dict(decoder_channels=8, head_channels=8),
        classes=C.class_lists.as_config(C.class_lists.generic(5))),
        cases=[(61, 77, ALL), (130, 257, HEADS)]),
    # (b) D2-shaped R50 DSConv at reduced width, Cityscapes classes, fixed pooling kernel 4x8.
    dict(name="d2-dsconv", seed=22, dtype="f32", cfg=reduced(
        "cityscapes-r52-dsconv", "test-r50-dsconv-cityscapes",
        backbone=dict(stem_out_channels=16, res2_out_channels=16, width_per_group=4),
        heads=dict(project_channels=[4, 8], aspp_channels=16, aspp_pooling=[4, 8]),
        sem=dict(decoder_channels=16, head_channels=16), ins=dict(decoder_channels=8, head_channels=8)),
        cases=[(97, 131, NO_SEM_UP), (130, 100, QUARTER), (256, 512, POOLING)]),
    # (c) as (b) with regular 3x3 convs, COCO's 133 classes, kernel 5x5, padding to 32.
    dict(name="d2-regular", seed=33, dtype="f16", cfg=reduced(
        "coco-r52-dsconv", "test-r50-regular-coco",
        backbone=dict(stem_out_channels=16, res2_out_channels=16, width_per_group=4),
        heads=dict(project_channels=[4, 8], aspp_channels=16, aspp_pooling=[5, 5],
                   depthwise_separable=False),
        sem=dict(decoder_channels=16, head_channels=16), ins=dict(decoder_channels=8, head_channels=8),
        input=dict(size_divisibility=32)),
        cases=[(61, 61, NO_SEM_UP), (97, 131, POOLING)]),
]


def save_d2_pickle(path, state, cfg):
    """A checkpoint as D2 writes it: {"model": {name: ndarray}} with D2's extra buffers."""
    model = dict(state)
    model["pixel_mean"] = np.asarray(cfg["input"]["pixel_mean"], np.float32).reshape(3, 1, 1)
    model["pixel_std"] = np.asarray(cfg["input"]["pixel_std"], np.float32).reshape(3, 1, 1)
    with open(path, "wb") as f:
        pickle.dump({"model": model, "__author__": "tests/ref/pdl_reference.py"}, f, protocol=2)


def read_tensors(path):
    """{name: float32 array} of a safetensors file (F32/F16), for the read-back check."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name != "__metadata__":
            b, e = t["data_offsets"]
            dt = {"F32": "<f4", "F16": "<f2"}[t["dtype"]]
            out[name] = np.frombuffer(data[b:e], dt).reshape(t["shape"]).astype(np.float32)
    return out, header["__metadata__"]


def make_model(entry):
    cfg, name = entry["cfg"], entry["name"]
    model = R.PanopticDeepLab(cfg)
    state = R.random_state(model, entry["seed"], f16_exact=entry["dtype"] == "f16")
    pkl = os.path.join(WORK, name + ".pkl")
    cfg_path = os.path.join(WORK, name + ".json")
    out = os.path.join(DATA, name + ".safetensors")
    save_d2_pickle(pkl, state, cfg)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=1)
    subprocess.run([sys.executable, os.path.join(ROOT, "weights", "convert_detectron2.py"),
                    "--config-json", cfg_path, "--dtype", entry["dtype"], pkl, out], check=True)
    tensors, meta = read_tensors(out)
    if json.loads(meta["config"]) != cfg:
        raise SystemExit("%s: config changed in conversion" % out)
    for k, v in state.items():
        if not k.endswith("num_batches_tracked") and not np.array_equal(tensors.pop(k), v):
            raise SystemExit("%s: tensor %s differs from the reference weights" % (out, k))
    if tensors:
        raise SystemExit("%s: unexpected tensors %s" % (out, sorted(tensors)))
    model = R.load_state(model, state)
    return model.double(), R.load_state(R.PanopticDeepLab(cfg), state)


def pool_note(cfg, x, res5):
    """How the ASPP pooling treats this size: the case's point, said in the file."""
    hp, wp = x.shape[2:]
    h5, w5 = res5.shape[2:]
    pool = cfg["sem_seg_head"]["aspp_pooling"]
    text = "padded %dx%d, res5 %dx%d: " % (hp, wp, h5, w5)
    if pool == "global":
        return text + "global pooling"
    kh, kw = pool
    dims = []
    for what, k, n in (("height", kh, h5), ("width", kw, w5)):
        if k >= n:
            dims.append("%s %d clamped to %d (global)" % (what, k, n))
        else:
            dims.append("%s %d slides (%d outputs, %s)" % (
                what, k, n - k + 1, "divides" if n % k == 0 else "does not divide, D2 would fail"))
    return text + "kernel " + "; ".join(dims)


def max_rel_error(a, b):
    """The test metric: max|a - b| / max(max|b|, 1e-6), b the reference."""
    return float((a.double() - b).abs().max() / max(float(b.abs().max()), 1e-6))


def make_case(entry, models, h, w, stages, seed):
    cfg = entry["cfg"]
    x = R.preprocess(R.random_image(h, w, seed), cfg)
    out = models[0](torch.from_numpy(x).double(), h, w)
    out32 = models[1](torch.from_numpy(x), h, w)
    f32_err = max(max_rel_error(out32[s], out[s]) for s in R.STAGES)
    note = pool_note(cfg, x, out["res5"])
    path = os.path.join(DATA, "%s_%dx%d.safetensors" % (entry["name"], h, w))
    meta = {"config": C.config_json(cfg), "input_height": h, "input_width": w,
            "stages": json.dumps(stages), "image_seed": seed, "model": entry["name"] + ".safetensors",
            "note": note, "torch_f32_max_rel_error": "%.2g" % f32_err}
    tensors = [(s, out[s].float().contiguous().numpy()) for s in stages]
    C.write_safetensors(path, tensors, meta)
    print("%s: %s, %d bytes; %s; PyTorch float32 error %.2g" % (
        os.path.relpath(path, ROOT), ",".join(stages), os.path.getsize(path), note, f32_err))


def main():
    torch.set_num_threads(1)
    os.makedirs(DATA, exist_ok=True)
    os.makedirs(WORK, exist_ok=True)
    for ci, entry in enumerate(CONFIGS):
        models = make_model(entry)
        for ki, (h, w, stages) in enumerate(entry["cases"]):
            make_case(entry, models, h, w, stages, seed=1000 * (ci + 1) + ki)
    total = sum(os.path.getsize(os.path.join(DATA, f)) for f in os.listdir(DATA))
    print("tests/ref/data: %d bytes in all (budget %d)" % (total, BUDGET))
    if total > BUDGET:
        raise SystemExit("tests/ref/data exceeds the %d-byte budget" % BUDGET)


if __name__ == "__main__":
    main()
