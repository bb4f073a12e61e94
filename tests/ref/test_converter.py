#!/usr/bin/env python3
"""End-to-end checks of weights/convert_detectron2.py; exits non-zero on the first failure.

A random model from pdl_reference.py (whose names come from its nn.Modules, not from the
converter) is saved as a D2 pickle with D2's extra entries, converted by running the converter
as a program, and read back with the minimal reader below, written from the safetensors spec.
Then the failure paths: a missing tensor, a wrong shape, NaN, a bad config value, a pickle that
tries to run code, a truncated file: each must exit 2 with one line naming the culprit and
leave no output behind.

  /usr/bin/python3 tests/ref/test_converter.py
"""

import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONVERTER = os.path.join(ROOT, "weights", "convert_detectron2.py")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "weights"))
import pdl_reference as R  # noqa: E402
import convert_detectron2 as C  # noqa: E402

FAILURES = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        FAILURES.append(what)


def read_safetensors(path):
    """(header dict without metadata, metadata, {name: array}); asserts the container rules."""
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    assert 8 + n <= len(blob), "header length beyond the file"
    assert (8 + n) % 8 == 0, "data area not 8-byte aligned"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__")
    assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
    data = blob[8 + n:]
    arrays, spans = {}, []
    for name, t in header.items():
        b, e = t["data_offsets"]
        dt = {"F32": "<f4", "F16": "<f2"}[t["dtype"]]
        assert e - b == int(np.prod(t["shape"], dtype=np.int64)) * np.dtype(dt).itemsize, name
        arrays[name] = np.frombuffer(data[b:e], dt).reshape(t["shape"])
        spans.append((b, e))
    spans.sort()
    assert spans[0][0] == 0 and spans[-1][1] == len(data), "data area not fully covered"
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "gaps or overlaps"
    return header, meta, arrays


def tiny_config():
    cfg = C.PRESETS["cityscapes-r52"]()
    cfg["backbone"].update(depth=18, stem="basic", stem_out_channels=4, res2_out_channels=4,
                           width_per_group=4, res5_dilation=1, res5_multi_grid=[1, 1, 1])
    for h in ("sem_seg_head", "ins_embed_head"):
        cfg[h].update(project_channels=[2, 4], aspp_channels=4, decoder_channels=4,
                      head_channels=4, aspp_pooling="global")
    return cfg


def run(*args):
    p = subprocess.run([sys.executable, CONVERTER] + list(args), capture_output=True, text=True)
    return p.returncode, p.stderr.strip()


def save_pickle(path, model, protocol=2):
    with open(path, "wb") as f:
        pickle.dump({"model": model, "__author__": "test"}, f, protocol=protocol)


def expect_failure(tmp, label, model_or_bytes, words, extra_args=()):
    src = os.path.join(tmp, label + ".pkl")
    dst = os.path.join(tmp, label + ".safetensors")
    if isinstance(model_or_bytes, bytes):
        with open(src, "wb") as f:
            f.write(model_or_bytes)
    else:
        save_pickle(src, model_or_bytes)
    rc, err = run("--config-json", os.path.join(tmp, "cfg.json"), *extra_args, src, dst)
    lines = err.splitlines()
    check(rc == 2 and len(lines) == 1 and all(w in err for w in words),
          "%s: exit 2 with one line naming %s (got %d: %s)" % (label, words, rc, err))
    check(not [f for f in os.listdir(tmp) if f.startswith(label + ".safetensors")],
          "%s: no output or temporary file left" % label)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def main():
    cfg = tiny_config()
    model = R.PanopticDeepLab(cfg)
    state = R.random_state(model, 5)
    weights = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    d2 = dict(state)  # D2 checkpoints also carry these, which the converter must drop:
    d2["pixel_mean"] = np.zeros((3, 1, 1), np.float32)
    d2["pixel_std"] = np.ones((3, 1, 1), np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "cfg.json"), "w") as f:
            json.dump(cfg, f)
        cfgarg = ("--config-json", os.path.join(tmp, "cfg.json"))

        # Round trip, pickle protocols 2 (D2's files, bytes via _codecs) and 4.
        for proto in (2, 4):
            src, dst = os.path.join(tmp, "m%d.pkl" % proto), os.path.join(tmp, "m%d.safetensors" % proto)
            save_pickle(src, d2, proto)
            rc, err = run(*cfgarg, src, dst)
            check(rc == 0, "protocol %d: converts (%s)" % (proto, err))
            header, meta, arrays = read_safetensors(dst)
            check(set(arrays) == set(weights), "protocol %d: exactly the model's tensors, extras dropped"
                  % proto)
            check(all(h["dtype"] == "F32" for h in header.values()), "protocol %d: all F32" % proto)
            check(all(np.array_equal(arrays[k], v) for k, v in weights.items()),
                  "protocol %d: arrays identical" % proto)
            check(json.loads(meta["config"]) == cfg, "protocol %d: config in __metadata__" % proto)
        check(list(arrays) == [n for n, _ in C.expected_tensors(cfg)], "tensors in network order")

        # float16.
        dst = os.path.join(tmp, "h.safetensors")
        rc, err = run(*cfgarg, "--dtype", "f16", os.path.join(tmp, "m2.pkl"), dst)
        header, _, arrays = read_safetensors(dst)
        check(rc == 0 and all(h["dtype"] == "F16" for h in header.values())
              and all(np.array_equal(arrays[k], v.astype(np.float16)) for k, v in weights.items()),
              "--dtype f16: F16 tensors equal to the rounded weights")

        # .pth (torch tensors) gives the same file as the .pkl.
        import torch
        pth = os.path.join(tmp, "m.pth")
        torch.save({"model": {k: torch.from_numpy(np.asarray(v)) for k, v in d2.items()}}, pth)
        rc, err = run(*cfgarg, pth, os.path.join(tmp, "p.safetensors"))
        with open(os.path.join(tmp, "p.safetensors"), "rb") as a, open(os.path.join(tmp, "m2.safetensors"), "rb") as b:
            check(rc == 0 and a.read() == b.read(), ".pth converts to the same bytes as .pkl (%s)" % err)

        # An unknown extra tensor is dropped with a warning, not an error.
        src = os.path.join(tmp, "x.pkl")
        save_pickle(src, dict(d2, **{"sem_seg_head.aux.weight": np.ones((2, 2), np.float32)}))
        rc, err = run(*cfgarg, src, os.path.join(tmp, "x.safetensors"))
        check(rc == 0 and "warning" in err and "sem_seg_head.aux.weight" in err,
              "unknown extra tensor: dropped with a warning")

        victim = "backbone.res4.0.shortcut.norm.running_var"
        expect_failure(tmp, "missing", {k: v for k, v in d2.items() if k != victim},
                       [victim, "missing"])
        expect_failure(tmp, "shape", dict(d2, **{victim: np.ones(3, np.float32)}),
                       [victim, "shape [3]", "expected [16]"])
        bad = dict(d2)
        bad["sem_seg_head.predictor.weight"] = bad["sem_seg_head.predictor.weight"].copy()
        bad["sem_seg_head.predictor.weight"].flat[3] = np.nan
        expect_failure(tmp, "nan", bad, ["sem_seg_head.predictor.weight", "NaN"])
        expect_failure(tmp, "dsconv", d2, ["depthwise", "missing"], ["--dsconv"])
        expect_failure(tmp, "classes", d2, ["sem_seg_head.predictor.weight", "expected [133, 4, 1, 1]"],
                       ["--classes", "coco"])
        evil = io.BytesIO()
        pickle.dump({"model": _Evil()}, evil)
        expect_failure(tmp, "evil", evil.getvalue(), ["refusing", "system"])
        with open(os.path.join(tmp, "m2.pkl"), "rb") as f:
            expect_failure(tmp, "truncated", f.read()[:5000], ["cannot read checkpoint"])
        expect_failure(tmp, "notdict", pickle.dumps([1, 2]), ["not a checkpoint"])

        bad_cfg = json.loads(json.dumps(cfg))
        bad_cfg["ins_embed_head"]["aspp_pooling"] = [0, 5]
        with open(os.path.join(tmp, "bad.json"), "w") as f:
            json.dump(bad_cfg, f)
        rc, err = run("--config-json", os.path.join(tmp, "bad.json"), os.path.join(tmp, "m2.pkl"),
                      os.path.join(tmp, "bad.safetensors"))
        check(rc == 2 and "ins_embed_head.aspp_pooling" in err, "bad config value named (%s)" % err)
        rc, err = run("--preset", "coco-r52-dsconv", os.path.join(tmp, "m2.pkl"), os.path.join(tmp, "z.safetensors"))
        check(rc == 2 and "backbone.stem.conv1.weight" in err and "expected [64, 3, 3, 3]" in err,
              "checkpoint of another architecture: first mismatch named (%s)" % err)

    # The published presets against Detectron2's shapes for R52-DC5 (read off D2's modules).
    exp = dict(C.expected_tensors(C.PRESETS["cityscapes-r52-dsconv"]()))
    known = {
        "backbone.stem.conv1.weight": (64, 3, 3, 3), "backbone.stem.conv3.weight": (128, 64, 3, 3),
        "backbone.res2.0.shortcut.weight": (256, 128, 1, 1), "backbone.res2.0.conv1.weight": (64, 128, 1, 1),
        "backbone.res3.0.conv2.weight": (128, 128, 3, 3), "backbone.res4.5.conv3.weight": (1024, 256, 1, 1),
        "backbone.res5.2.conv2.weight": (512, 512, 3, 3), "backbone.res5.0.shortcut.norm.running_var": (2048,),
        "sem_seg_head.decoder.res5.project_conv.convs.0.weight": (256, 2048, 1, 1),
        "sem_seg_head.decoder.res5.project_conv.convs.2.depthwise.weight": (2048, 1, 3, 3),
        "sem_seg_head.decoder.res5.project_conv.convs.2.pointwise.weight": (256, 2048, 1, 1),
        "sem_seg_head.decoder.res5.project_conv.convs.4.1.bias": (256,),
        "sem_seg_head.decoder.res5.project_conv.project.weight": (256, 1280, 1, 1),
        "sem_seg_head.decoder.res3.project_conv.weight": (64, 512, 1, 1),
        "sem_seg_head.decoder.res3.fuse_conv.depthwise.weight": (320, 1, 5, 5),
        "sem_seg_head.decoder.res2.fuse_conv.pointwise.weight": (256, 288, 1, 1),
        "sem_seg_head.head.pointwise.weight": (256, 256, 1, 1),
        "sem_seg_head.predictor.weight": (19, 256, 1, 1),
        "ins_embed_head.decoder.res3.fuse_conv.pointwise.weight": (128, 320, 1, 1),
        "ins_embed_head.decoder.res2.fuse_conv.depthwise.weight": (160, 1, 5, 5),
        "ins_embed_head.center_head.1.weight": (32, 128, 3, 3),
        "ins_embed_head.offset_head.pointwise.weight": (32, 128, 1, 1),
        "ins_embed_head.offset_predictor.weight": (2, 32, 1, 1),
    }
    check(all(exp.get(k) == v for k, v in known.items()),
          "cityscapes-r52-dsconv: D2 shapes (%s)" % [k for k, v in known.items() if exp.get(k) != v])
    check(len(exp) == 455 and "backbone.res2.1.shortcut.weight" not in exp, "cityscapes-r52-dsconv: 455 tensors")
    reg = dict(C.expected_tensors(C.PRESETS["cityscapes-r52"]()))
    check(reg.get("sem_seg_head.decoder.res5.project_conv.convs.3.weight") == (256, 2048, 3, 3)
          and reg.get("sem_seg_head.head.1.weight") == (256, 256, 3, 3)
          and reg.get("ins_embed_head.decoder.res2.fuse_conv.0.weight") == (128, 160, 3, 3),
          "cityscapes-r52: regular convs")
    coco = C.PRESETS["coco-r52-dsconv"]()
    things = sum(c["isthing"] for c in coco["classes"])
    check(len(coco["classes"]) == 133 and things == 80 and coco["postprocess"]["label_divisor"] == 256,
          "coco-r52-dsconv: 133 classes, 80 things")

    print("%d failures" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
