#!/usr/bin/env python3
"""Converts a Detectron2 Panoptic-DeepLab checkpoint into our safetensors weights file.

A D2 model-zoo .pkl is a pickled dict whose "model" entry maps state-dict names to numpy
arrays; a .pth holds {"model": state_dict} of torch tensors. Tensor names stay D2's, so the
conversion is a re-encoding: we keep exactly the tensors the inference graph needs (dropping
num_batches_tracked, the pixel_mean/std buffers and anything else), check each against the
list the config implies (Detectron2's module structure, the same rules as the C loader), and
write them with the config JSON in __metadata__["config"]. BatchNorm stays unfolded; the C loader folds it.

The .pkl path needs only the standard library and numpy (a restricted unpickler that admits
numpy arrays and plain containers, nothing else); torch is imported only for .pth files.

  convert_detectron2.py --preset cityscapes-r52-dsconv model_final.pkl out.safetensors
  convert_detectron2.py --config-json cfg.json --dtype f16 model.pkl out.safetensors
"""

import argparse
import copy
import json
import os
import pickle
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import class_lists  # noqa: E402

FORMAT = "panoptic-deeplab/1"
BLOCKS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}


class ConvertError(Exception):
    """A problem with the checkpoint or the config; the message names the tensor or key."""


# ---------------------------------------------------------------- configs

def _head(decoder, head, pool, dsconv):
    return {"project_channels": [32, 64], "decoder_channels": decoder, "aspp_channels": 256,
            "aspp_dilations": [6, 12, 18], "aspp_pooling": pool, "head_channels": head,
            "depthwise_separable": dsconv}


def _r52_preset(name, dsconv, pool, classes, inp, post):
    return {
        "format": FORMAT, "name": name,
        "backbone": {"depth": 50, "stem": "deeplab", "stem_out_channels": 128,
                     "res2_out_channels": 256, "width_per_group": 64, "stride_in_1x1": False,
                     "res4_dilation": 1, "res5_dilation": 2, "res5_multi_grid": [1, 2, 4]},
        "sem_seg_head": _head(256, 256, pool, dsconv),
        "ins_embed_head": _head(128, 32, pool, dsconv),
        "input": dict({"pixel_mean": [123.675, 116.28, 103.53],
                       "pixel_std": [58.395, 57.12, 57.375]}, **inp),
        "postprocess": dict({"center_threshold": 0.1, "top_k": 200}, **post),
        "classes": class_lists.as_config(classes),
    }


_CITY_INPUT = {"min_size_test": 1024, "max_size_test": 2048, "size_divisibility": 0}
_CITY_POST = {"nms_kernel": 7, "stuff_area": 2048, "label_divisor": 1000}
PRESETS = {
    "cityscapes-r52-dsconv": lambda: _r52_preset(
        "cityscapes-r52-dsconv", True, [32, 64], class_lists.CITYSCAPES, _CITY_INPUT, _CITY_POST),
    "cityscapes-r52": lambda: _r52_preset(
        "cityscapes-r52", False, [32, 64], class_lists.CITYSCAPES, _CITY_INPUT, _CITY_POST),
    "coco-r52-dsconv": lambda: _r52_preset(
        "coco-r52-dsconv", True, [40, 40], class_lists.COCO_PANOPTIC,
        {"min_size_test": 640, "max_size_test": 640, "size_divisibility": 640},
        {"nms_kernel": 41, "stuff_area": 4096, "label_divisor": 256}),
}


def _fail(key, what):
    raise ConvertError("config: %s %s" % (key, what))


def _int(cfg, sect, key, lo=1, choices=None):
    v = cfg[sect][key] if sect else cfg[key]
    name = "%s.%s" % (sect, key) if sect else key
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(name, "must be an integer, got %r" % (v,))
    if choices is not None and v not in choices:
        _fail(name, "must be one of %s, got %d" % (sorted(choices), v))
    if v < lo:
        _fail(name, "must be >= %d, got %d" % (lo, v))
    return v


def validate_config(cfg):
    """Checks the values the network depends on; raises ConvertError naming the key."""
    try:
        if cfg.get("format") != FORMAT:
            _fail("format", "must be %r" % FORMAT)
        bb = cfg["backbone"]
        _int(cfg, "backbone", "depth", choices=BLOCKS)
        if bb["stem"] not in ("basic", "deeplab"):
            _fail("backbone.stem", "must be \"basic\" or \"deeplab\", got %r" % (bb["stem"],))
        so = _int(cfg, "backbone", "stem_out_channels")
        if bb["stem"] == "deeplab" and so % 2:
            _fail("backbone.stem_out_channels", "must be even for the deeplab stem")
        for k in ("res2_out_channels", "width_per_group"):
            _int(cfg, "backbone", k)
        if bb["stride_in_1x1"] is not False:
            _fail("backbone.stride_in_1x1", "must be false (stride in the 3x3, as Panoptic-DeepLab)")
        _int(cfg, "backbone", "res4_dilation", choices={1})
        _int(cfg, "backbone", "res5_dilation", choices={1, 2})
        mg = bb["res5_multi_grid"]
        if len(mg) != 3 or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in mg):
            _fail("backbone.res5_multi_grid", "must be 3 positive integers")
        for h in ("sem_seg_head", "ins_embed_head"):
            hc = cfg[h]
            for k in ("decoder_channels", "aspp_channels", "head_channels"):
                _int(cfg, h, k)
            for k, n in (("project_channels", 2), ("aspp_dilations", 3)):
                if len(hc[k]) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                          for v in hc[k]):
                    _fail("%s.%s" % (h, k), "must be %d positive integers" % n)
            p = hc["aspp_pooling"]
            if p != "global" and not (isinstance(p, list) and len(p) == 2 and all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in p)):
                _fail(h + ".aspp_pooling", "must be \"global\" or [h, w], got %r" % (p,))
            if not isinstance(hc["depthwise_separable"], bool):
                _fail(h + ".depthwise_separable", "must be true or false")
        inp = cfg["input"]
        for k in ("pixel_mean", "pixel_std"):
            if len(inp[k]) != 3 or (k == "pixel_std" and min(inp[k]) <= 0):
                _fail("input." + k, "must be 3 numbers (std > 0)")
        for k in ("min_size_test", "max_size_test", "size_divisibility"):
            _int(cfg, "input", k, lo=0)
        post = cfg["postprocess"]
        if not 0 <= post["center_threshold"] < 1:
            _fail("postprocess.center_threshold", "must be in [0, 1)")
        if _int(cfg, "postprocess", "nms_kernel") % 2 == 0:
            _fail("postprocess.nms_kernel", "must be odd")
        for k in ("top_k", "label_divisor"):
            _int(cfg, "postprocess", k)
        _int(cfg, "postprocess", "stuff_area", lo=0)
        classes = cfg["classes"]
        if not classes:
            _fail("classes", "must not be empty")
        for i, c in enumerate(classes):
            if set(c) != {"id", "name", "isthing", "color"} or len(c["color"]) != 3:
                _fail("classes[%d]" % i, "must have id, name, isthing and a 3-element color")
    except KeyError as e:
        raise ConvertError("config: key %s missing" % e) from None
    except TypeError as e:
        raise ConvertError("config: wrong type (%s)" % e) from None


# ---------------------------------------------------------------- expected tensors

def _conv(out, name, cin, cout, k, groups=1, norm=True):
    out.append((name + ".weight", (cout, cin // groups, k, k)))
    if norm:
        for p in ("weight", "bias", "running_mean", "running_var"):
            out.append(("%s.norm.%s" % (name, p), (cout,)))
    else:
        out.append((name + ".bias", (cout,)))


def _dsconv(out, name, cin, cout, k):
    _conv(out, name + ".depthwise", cin, cin, k, groups=cin)
    _conv(out, name + ".pointwise", cin, cout, 1)


def _fuse(out, name, cin, cout, dsconv):
    """A 5x5 dsconv, or two 3x3 convs `.0` (cin->cout) and `.1` (cout->cout)."""
    if dsconv:
        _dsconv(out, name, cin, cout, 5)
    else:
        _conv(out, name + ".0", cin, cout, 3)
        _conv(out, name + ".1", cout, cout, 3)


def _backbone(out, bb):
    so = bb["stem_out_channels"]
    if bb["stem"] == "deeplab":
        _conv(out, "backbone.stem.conv1", 3, so // 2, 3)
        _conv(out, "backbone.stem.conv2", so // 2, so // 2, 3)
        _conv(out, "backbone.stem.conv3", so // 2, so, 3)
    else:
        _conv(out, "backbone.stem.conv1", 3, so, 7)
    cin, cout, width = so, bb["res2_out_channels"], bb["width_per_group"]
    bottleneck = bb["depth"] >= 50
    for s, n in enumerate(BLOCKS[bb["depth"]]):
        for i in range(n):
            p = "backbone.res%d.%d" % (s + 2, i)
            if bottleneck:
                _conv(out, p + ".conv1", cin, width, 1)
                _conv(out, p + ".conv2", width, width, 3)
                _conv(out, p + ".conv3", width, cout, 1)
            else:
                _conv(out, p + ".conv1", cin, cout, 3)
                _conv(out, p + ".conv2", cout, cout, 3)
            if cin != cout:
                _conv(out, p + ".shortcut", cin, cout, 1)
            cin = cout
        cout *= 2
        width *= 2
    return [bb["res2_out_channels"] * m for m in (1, 2, 8)]  # res2, res3, res5 channels


def _decoder(out, head, hc, feat):
    c2, c3, c5 = feat
    a, d, ds = hc["aspp_channels"], hc["decoder_channels"], hc["depthwise_separable"]
    aspp = head + ".decoder.res5.project_conv"
    _conv(out, aspp + ".convs.0", c5, a, 1)
    for i in (1, 2, 3):
        if ds:
            _dsconv(out, "%s.convs.%d" % (aspp, i), c5, a, 3)
        else:
            _conv(out, "%s.convs.%d" % (aspp, i), c5, a, 3)
    _conv(out, aspp + ".convs.4.1", c5, a, 1, norm=False)
    _conv(out, aspp + ".project", 5 * a, a, 1)
    p2, p3 = hc["project_channels"]
    _conv(out, head + ".decoder.res3.project_conv", c3, p3, 1)
    _fuse(out, head + ".decoder.res3.fuse_conv", p3 + a, d, ds)
    _conv(out, head + ".decoder.res2.project_conv", c2, p2, 1)
    _fuse(out, head + ".decoder.res2.fuse_conv", p2 + d, d, ds)


def expected_tensors(cfg):
    """[(name, shape)] of every tensor the inference graph of `cfg` reads, in network order."""
    out = []
    feat = _backbone(out, cfg["backbone"])
    sem, ins = cfg["sem_seg_head"], cfg["ins_embed_head"]
    _decoder(out, "sem_seg_head", sem, feat)
    _fuse(out, "sem_seg_head.head", sem["decoder_channels"], sem["head_channels"],
          sem["depthwise_separable"])
    _conv(out, "sem_seg_head.predictor", sem["head_channels"], len(cfg["classes"]), 1, norm=False)
    _decoder(out, "ins_embed_head", ins, feat)
    d, h = ins["decoder_channels"], ins["head_channels"]
    _conv(out, "ins_embed_head.center_head.0", d, d, 3)
    _conv(out, "ins_embed_head.center_head.1", d, h, 3)
    _conv(out, "ins_embed_head.center_predictor", h, 1, 1, norm=False)
    _fuse(out, "ins_embed_head.offset_head", d, h, ins["depthwise_separable"])
    _conv(out, "ins_embed_head.offset_predictor", h, 2, 1, norm=False)
    return out


# ---------------------------------------------------------------- checkpoint reading

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits numpy arrays/scalars/dtypes and plain containers: a checkpoint cannot run code."""
    ALLOWED = {("collections", "OrderedDict"), ("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
               ("builtins", "set"), ("builtins", "frozenset"),
               ("_codecs", "encode")}  # protocol-2 pickles spell bytes as _codecs.encode(str)

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError("refusing to load %s.%s" % (module, name))
        return super().find_class(module, name)


def load_checkpoint(path):
    """{name: ndarray} of a D2 checkpoint (.pkl: pickle of numpy; .pth: torch)."""
    try:
        if path.endswith(".pth") or path.endswith(".pt"):
            try:
                import torch
            except ImportError:
                raise ConvertError("%s: reading .pth needs PyTorch (python3-torch); "
                                   "convert it to a .pkl of numpy arrays or install torch" % path)
            try:
                obj = torch.load(path, map_location="cpu", weights_only=True)
            except TypeError:  # torch < 1.13 has no weights_only
                obj = torch.load(path, map_location="cpu")
        else:
            with open(path, "rb") as f:
                obj = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    except ConvertError:
        raise
    except Exception as e:  # unpickling raises many types; all mean "not a checkpoint"
        raise ConvertError("%s: cannot read checkpoint (%s)" % (path, e)) from None
    state = obj.get("model", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ConvertError("%s: not a checkpoint (expected a dict with a \"model\" dict)" % path)
    out = {}
    for name, v in state.items():
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        if not isinstance(v, np.ndarray):
            raise ConvertError("%s: tensor %s is a %s, not an array" % (path, name, type(v).__name__))
        out[name] = v
    return out


def select_tensors(state, cfg, source, dtype=np.float32):
    """Picks and checks the expected tensors; returns ([(name, array)], [dropped names])."""
    picked = []
    for name, shape in expected_tensors(cfg):
        if name not in state:
            raise ConvertError("%s: tensor %s missing (expected shape %s for this config)"
                               % (source, name, list(shape)))
        a = state[name]
        if tuple(a.shape) != tuple(shape):
            raise ConvertError("%s: tensor %s has shape %s, expected %s"
                               % (source, name, list(a.shape), list(shape)))
        if a.dtype.kind != "f":
            raise ConvertError("%s: tensor %s has dtype %s, expected floating point"
                               % (source, name, a.dtype))
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ConvertError("%s: tensor %s contains NaN or Inf" % (source, name))
        if dtype == np.float16 and np.abs(a).max(initial=0) > 65504:
            raise ConvertError("%s: tensor %s exceeds the float16 range" % (source, name))
        picked.append((name, a.astype(dtype)))
    wanted = {n for n, _ in picked}
    dropped = sorted(n for n in state if n not in wanted)
    return picked, dropped


def _is_benign_extra(name):
    return (name.endswith("num_batches_tracked") or name in ("pixel_mean", "pixel_std")
            or ".loss" in name or name.startswith("criterion."))


# ---------------------------------------------------------------- safetensors writing

_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16"}


def write_safetensors(path, tensors, metadata):
    """Writes [(name, ndarray)] with string metadata to PATH via a temporary file and rename.

    Little-endian data, contiguous in the given order; the header is space-padded so the data
    area starts at an 8-byte boundary (allowed by the safetensors spec)."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, off = [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        if a.dtype not in _DTYPES:
            raise ConvertError("%s: tensor %s has unsupported dtype %s" % (path, name, a.dtype))
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def config_json(cfg):
    return json.dumps(cfg, separators=(",", ":"))


def convert(src, dst, cfg, dtype=np.float32, log=sys.stderr):
    """The whole conversion; returns the number of tensors written."""
    validate_config(cfg)
    state = load_checkpoint(src)
    picked, dropped = select_tensors(state, cfg, src, dtype)
    unknown = [n for n in dropped if not _is_benign_extra(n)]
    if unknown:
        print("%s: warning: %d tensors not used by this config, dropped (e.g. %s)"
              % (src, len(unknown), ", ".join(unknown[:3])), file=log)
    write_safetensors(dst, picked, {"config": config_json(cfg)})
    n = sum(a.size for _, a in picked)
    print("%s: %d tensors, %d parameters, %d dropped -> %s"
          % (src, len(picked), n, len(dropped), dst), file=log)
    return len(picked)


# ---------------------------------------------------------------- command line

def _pool(text):
    if text == "global":
        return "global"
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected \"global\" or HxW, e.g. 32x64") from None
    return [h, w]


def _ints(n):
    def parse(text):
        try:
            v = [int(x) for x in text.split(",")]
        except ValueError:
            v = []
        if len(v) != n:
            raise argparse.ArgumentTypeError("expected %d comma-separated integers" % n)
        return v
    return parse


def _floats3(text):
    try:
        v = [float(x) for x in text.split(",")]
    except ValueError:
        v = []
    if len(v) != 3:
        raise argparse.ArgumentTypeError("expected 3 comma-separated numbers")
    return v


def build_config(args):
    """The preset (or --config-json) with the command-line overrides applied."""
    if args.config_json:
        try:
            with open(args.config_json) as f:
                cfg = json.load(f)
        except (OSError, ValueError) as e:
            raise ConvertError("%s: cannot read config JSON (%s)" % (args.config_json, e)) from None
    else:
        cfg = PRESETS[args.preset or "cityscapes-r52-dsconv"]()
    cfg = copy.deepcopy(cfg)
    bb, heads = cfg["backbone"], (cfg["sem_seg_head"], cfg["ins_embed_head"])
    for attr, key in (("depth", "depth"), ("stem", "stem"), ("stem_out", "stem_out_channels"),
                      ("res2_out", "res2_out_channels"), ("width", "width_per_group"),
                      ("res5_dilation", "res5_dilation"), ("multi_grid", "res5_multi_grid")):
        if getattr(args, attr) is not None:
            bb[key] = getattr(args, attr)
    for attr, key in (("dsconv", "depthwise_separable"), ("aspp_pool", "aspp_pooling"),
                      ("aspp_channels", "aspp_channels"), ("aspp_dilations", "aspp_dilations"),
                      ("project_channels", "project_channels")):
        if getattr(args, attr) is not None:
            for h in heads:
                h[key] = getattr(args, attr)
    for attr, head, key in (("sem_decoder", 0, "decoder_channels"), ("ins_decoder", 1, "decoder_channels"),
                            ("sem_head", 0, "head_channels"), ("ins_head", 1, "head_channels")):
        if getattr(args, attr) is not None:
            heads[head][key] = getattr(args, attr)
    for attr in ("pixel_mean", "pixel_std", "min_size_test", "max_size_test", "size_divisibility"):
        if getattr(args, attr) is not None:
            cfg["input"][attr] = getattr(args, attr)
    for attr in ("center_threshold", "nms_kernel", "top_k", "stuff_area", "label_divisor"):
        if getattr(args, attr) is not None:
            cfg["postprocess"][attr] = getattr(args, attr)
    if args.classes is not None:
        cfg["classes"] = class_lists.as_config({"cityscapes": class_lists.CITYSCAPES,
                                                "coco": class_lists.COCO_PANOPTIC}[args.classes])
    if args.num_classes is not None and args.num_classes != len(cfg["classes"]):
        cfg["classes"] = class_lists.as_config(class_lists.generic(args.num_classes))
    if args.name is not None:
        cfg["name"] = args.name
    return cfg


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Convert a Detectron2 Panoptic-DeepLab checkpoint (.pkl or .pth) to safetensors.")
    p.add_argument("checkpoint", help="D2 checkpoint: .pkl ({\"model\": {name: ndarray}}) or .pth")
    p.add_argument("output", help="output .safetensors (written atomically)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=sorted(PRESETS), help="published config (default cityscapes-r52-dsconv)")
    src.add_argument("--config-json", metavar="FILE", help="a full config JSON instead of a preset")
    p.add_argument("--dtype", choices=("f32", "f16"), default="f32", help="stored precision (default f32)")
    p.add_argument("--print-config", action="store_true", help="print the final config JSON to stdout")
    g = p.add_argument_group("overrides")
    g.add_argument("--name")
    g.add_argument("--depth", type=int, choices=sorted(BLOCKS))
    g.add_argument("--stem", choices=("basic", "deeplab"))
    g.add_argument("--stem-out", type=int)
    g.add_argument("--res2-out", type=int)
    g.add_argument("--width", type=int, help="width_per_group (bottleneck width of res2)")
    g.add_argument("--res5-dilation", type=int)
    g.add_argument("--multi-grid", type=_ints(3))
    g.add_argument("--dsconv", dest="dsconv", action="store_true", default=None)
    g.add_argument("--no-dsconv", dest="dsconv", action="store_false")
    g.add_argument("--aspp-pool", type=_pool, help="\"global\" or HxW (both heads)")
    g.add_argument("--aspp-channels", type=int)
    g.add_argument("--aspp-dilations", type=_ints(3))
    g.add_argument("--project-channels", type=_ints(2), help="res2,res3 projections (both heads)")
    g.add_argument("--sem-decoder", type=int)
    g.add_argument("--ins-decoder", type=int)
    g.add_argument("--sem-head", type=int)
    g.add_argument("--ins-head", type=int)
    g.add_argument("--classes", choices=("cityscapes", "coco"))
    g.add_argument("--num-classes", type=int, help="if it differs from the class list: generic classes")
    g.add_argument("--label-divisor", type=int)
    g.add_argument("--center-threshold", type=float)
    g.add_argument("--nms-kernel", type=int)
    g.add_argument("--top-k", type=int)
    g.add_argument("--stuff-area", type=int)
    g.add_argument("--pixel-mean", type=_floats3)
    g.add_argument("--pixel-std", type=_floats3)
    g.add_argument("--min-size-test", type=int)
    g.add_argument("--max-size-test", type=int)
    g.add_argument("--size-divisibility", type=int)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = build_config(args)
        if args.print_config:
            print(json.dumps(cfg, indent=1))
        convert(args.checkpoint, args.output, cfg, np.float16 if args.dtype == "f16" else np.float32)
    except ConvertError as e:
        print("convert_detectron2: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("convert_detectron2: %s: %s" % (e.filename or args.output, e.strerror), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
