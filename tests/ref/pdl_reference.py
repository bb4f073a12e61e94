#!/usr/bin/env python3
"""An independent PyTorch Panoptic-DeepLab, the reference the C network is compared with.

Written from the paper (arXiv 1911.10194), design.md section 4 and notes on Detectron2's
Panoptic-DeepLab code, not from our C code: plain nn.Modules in eval mode, BatchNorm as real nn.BatchNorm2d with (random) running
statistics, module names chosen so that state_dict() names are Detectron2's. The model is
built from our config JSON, so the same dict drives this file, the converter and the C loader.

The only behaviour that is ours and not Detectron2's: with a fixed ASPP pooling kernel D2
raises when the kernel does not divide the res5 size; we slide the kernel (stride 1, no
padding) whatever the size, and clamp each kernel dimension to the feature size when it is
larger (so a kernel exceeding the map in both dimensions is global pooling).

random_state() gives well-scaled random weights (He init, BN with random affine parameters and
running statistics), drawn with numpy's PCG64.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}


class Conv(nn.Conv2d):
    """D2's Conv2d: a convolution, then optionally `norm` (BatchNorm, eps 1e-5) and ReLU.
    With a norm the convolution has no bias, as in D2."""

    def __init__(self, cin, cout, k, stride=1, padding=0, dilation=1, groups=1, norm=True, relu=True):
        super().__init__(cin, cout, k, stride, padding, dilation, groups, bias=not norm)
        self.norm = nn.BatchNorm2d(cout, eps=1e-5) if norm else None
        self.relu = relu

    def forward(self, x):
        x = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if self.norm is not None:
            x = self.norm(x)
        return F.relu(x) if self.relu else x


class DSConv(nn.Module):
    """Depthwise k x k (BN, ReLU) then pointwise 1x1 (BN, ReLU)."""

    def __init__(self, cin, cout, k, padding, dilation=1):
        super().__init__()
        self.depthwise = Conv(cin, cin, k, padding=padding, dilation=dilation, groups=cin)
        self.pointwise = Conv(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def fuse(cin, cout, dsconv):
    """A 5x5 dsconv or two 3x3 convs: the decoder fuse convs and the sem/offset heads."""
    if dsconv:
        return DSConv(cin, cout, 5, padding=2)
    return nn.Sequential(Conv(cin, cout, 3, padding=1), Conv(cout, cout, 3, padding=1))


class DeepLabStem(nn.Module):
    def __init__(self, cout):
        super().__init__()
        self.conv1 = Conv(3, cout // 2, 3, stride=2, padding=1)
        self.conv2 = Conv(cout // 2, cout // 2, 3, padding=1)
        self.conv3 = Conv(cout // 2, cout, 3, padding=1)

    def forward(self, x):
        x = self.conv3(self.conv2(self.conv1(x)))
        return F.max_pool2d(x, 3, stride=2, padding=1)


class BasicStem(nn.Module):
    def __init__(self, cout):
        super().__init__()
        self.conv1 = Conv(3, cout, 7, stride=2, padding=3)

    def forward(self, x):
        return F.max_pool2d(self.conv1(x), 3, stride=2, padding=1)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride, dilation) -> 1x1 (no ReLU) + shortcut, ReLU."""

    def __init__(self, cin, width, cout, stride, dilation):
        super().__init__()
        self.conv1 = Conv(cin, width, 1)
        self.conv2 = Conv(width, width, 3, stride=stride, padding=dilation, dilation=dilation)
        self.conv3 = Conv(width, cout, 1, relu=False)
        self.shortcut = Conv(cin, cout, 1, stride=stride, relu=False) if cin != cout else None

    def forward(self, x):
        y = self.conv3(self.conv2(self.conv1(x)))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class BasicBlock(nn.Module):
    """3x3 (stride) -> 3x3 (no ReLU) + shortcut, ReLU. D2 defines no dilated basic block."""

    def __init__(self, cin, width, cout, stride, dilation):
        super().__init__()
        if dilation != 1:
            raise ValueError("basic blocks with dilation %d: not defined by Detectron2" % dilation)
        self.conv1 = Conv(cin, cout, 3, stride=stride, padding=1)
        self.conv2 = Conv(cout, cout, 3, padding=1, relu=False)
        self.shortcut = Conv(cin, cout, 1, stride=stride, relu=False) if cin != cout else None

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet(nn.Module):
    """Stages res2..res5; res5 may be dilated (stride 1) with a multi-grid."""

    def __init__(self, bb):
        super().__init__()
        so = bb["stem_out_channels"]
        self.stem = DeepLabStem(so) if bb["stem"] == "deeplab" else BasicStem(so)
        block = Bottleneck if bb["depth"] >= 50 else BasicBlock
        cin, cout, width = so, bb["res2_out_channels"], bb["width_per_group"]
        for s, n in enumerate(BLOCKS[bb["depth"]]):
            stage = s + 2
            dil = {4: bb["res4_dilation"], 5: bb["res5_dilation"]}.get(stage, 1)
            first_stride = 1 if stage == 2 or dil > 1 else 2
            blocks = []
            for i in range(n):
                d = dil * bb["res5_multi_grid"][i] if stage == 5 else dil
                blocks.append(block(cin, width, cout, first_stride if i == 0 else 1, d))
                cin = cout
            self.add_module("res%d" % stage, nn.Sequential(*blocks))
            cout, width = cout * 2, width * 2

    def forward(self, x):
        x = self.stem(x)
        out = {}
        for s in (2, 3, 4, 5):
            x = getattr(self, "res%d" % s)(x)
            out["res%d" % s] = x
        return out


class ImagePool(nn.Module):
    """ASPP's pooling: global, or a kh x kw box filter (stride 1, no padding) with each kernel
    dimension clamped to the feature size."""

    def __init__(self, kernel):
        super().__init__()
        self.kernel = kernel

    def forward(self, x):
        if self.kernel == "global":
            return F.adaptive_avg_pool2d(x, 1)
        kh, kw = min(self.kernel[0], x.shape[2]), min(self.kernel[1], x.shape[3])
        return F.avg_pool2d(x, (kh, kw), stride=1, padding=0)


class ASPP(nn.Module):
    def __init__(self, cin, hc):
        super().__init__()
        a, ds = hc["aspp_channels"], hc["depthwise_separable"]
        convs = [Conv(cin, a, 1)]
        for d in hc["aspp_dilations"]:
            convs.append(DSConv(cin, a, 3, padding=d, dilation=d) if ds
                         else Conv(cin, a, 3, padding=d, dilation=d))
        convs.append(nn.Sequential(ImagePool(hc["aspp_pooling"]), Conv(cin, a, 1, norm=False)))
        self.convs = nn.ModuleList(convs)
        self.project = Conv(5 * a, a, 1)

    def forward(self, x):
        res = [c(x) for c in self.convs]
        res[-1] = F.interpolate(res[-1], size=x.shape[2:], mode="bilinear", align_corners=False)
        return self.project(torch.cat(res, dim=1))


class Decoder(nn.Module):
    """ASPP on res5, then for res3 and res2: project, upsample y to its size, concat
    [projection, y], fuse. Returns (aspp output, decoder output at /4)."""

    def __init__(self, hc, feat):
        super().__init__()
        c2, c3, c5 = feat
        a, d, ds = hc["aspp_channels"], hc["decoder_channels"], hc["depthwise_separable"]
        p2, p3 = hc["project_channels"]
        self.decoder = nn.ModuleDict({
            "res5": nn.ModuleDict({"project_conv": ASPP(c5, hc)}),
            "res3": nn.ModuleDict({"project_conv": Conv(c3, p3, 1), "fuse_conv": fuse(p3 + a, d, ds)}),
            "res2": nn.ModuleDict({"project_conv": Conv(c2, p2, 1), "fuse_conv": fuse(p2 + d, d, ds)}),
        })

    def decode(self, f):
        aspp = self.decoder["res5"]["project_conv"](f["res5"])
        y = aspp
        for name in ("res3", "res2"):
            stage = self.decoder[name]
            p = stage["project_conv"](f[name])
            y = F.interpolate(y, size=p.shape[2:], mode="bilinear", align_corners=False)
            y = stage["fuse_conv"](torch.cat([p, y], dim=1))
        return aspp, y


class SemSegHead(Decoder):
    def __init__(self, hc, feat, num_classes):
        super().__init__(hc, feat)
        self.head = fuse(hc["decoder_channels"], hc["head_channels"], hc["depthwise_separable"])
        self.predictor = Conv(hc["head_channels"], num_classes, 1, norm=False, relu=False)


class InsEmbedHead(Decoder):
    def __init__(self, hc, feat):
        super().__init__(hc, feat)
        d, h = hc["decoder_channels"], hc["head_channels"]
        self.center_head = nn.Sequential(Conv(d, d, 3, padding=1), Conv(d, h, 3, padding=1))
        self.center_predictor = Conv(h, 1, 1, norm=False, relu=False)
        self.offset_head = fuse(d, h, hc["depthwise_separable"])
        self.offset_predictor = Conv(h, 2, 1, norm=False, relu=False)


def upsample4(x, h, w):
    """x4 bilinear (align_corners=False), cropped to the unpadded h x w."""
    return F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)[:, :, :h, :w]


class PanopticDeepLab(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        bb = cfg["backbone"]
        feat = [bb["res2_out_channels"] * m for m in (1, 2, 8)]
        self.backbone = ResNet(bb)
        self.sem_seg_head = SemSegHead(cfg["sem_seg_head"], feat, len(cfg["classes"]))
        self.ins_embed_head = InsEmbedHead(cfg["ins_embed_head"], feat)
        self.eval()

    @torch.no_grad()
    def forward(self, x, h, w):
        """Every stage of the reference format (tests/ref/README.md) for the normalised, padded input x whose
        unpadded size is h x w."""
        f = self.backbone(x)
        sem, ins = self.sem_seg_head, self.ins_embed_head
        out = {"input": x, "res2": f["res2"], "res3": f["res3"], "res5": f["res5"]}
        out["sem_aspp"], out["sem_decoder"] = sem.decode(f)
        out["ins_aspp"], out["ins_decoder"] = ins.decode(f)
        out["sem_logits"] = sem.predictor(sem.head(out["sem_decoder"]))
        out["center"] = ins.center_predictor(ins.center_head(out["ins_decoder"]))
        out["offset"] = ins.offset_predictor(ins.offset_head(out["ins_decoder"]))
        out["sem_logits_up"] = upsample4(out["sem_logits"], h, w)
        out["center_up"] = upsample4(out["center"], h, w)
        out["offset_up"] = upsample4(out["offset"], h, w) * 4
        return out


STAGES = ["input", "res2", "res3", "res5", "sem_aspp", "ins_aspp", "sem_decoder", "ins_decoder",
          "sem_logits", "center", "offset", "sem_logits_up", "center_up", "offset_up"]


def random_state(model, seed, f16_exact=False):
    """Well-scaled random weights for every parameter and BN buffer, as {name: array}, drawn
    with numpy's PCG64 in state-dict order (the same on any machine and torch version).

    Convolutions He normal (std sqrt(2 / fan_in)), conv biases N(0, 0.1); BN gamma U(0.5, 1.5),
    beta N(0, 0.1), running_mean N(0, 0.1), running_var U(0.5, 2). Zero-mean weights keep conv
    outputs centred, so about half of the ReLU inputs are negative (measured per layer: 5-80 %,
    about 50 % on average) and a misplaced ReLU shows. Residual additions let magnitudes grow to
    ~10^3 by res5 of the R50 configs (the heads come back to 10-200); harmless for an error
    relative to each tensor's max, and float32 stays well conditioned (PyTorch float32 vs this
    reference in float64: <= 4e-6 on every stage).

    f16_exact rounds every value to the nearest float16, so a float16 file holds exactly the
    weights the reference runs with."""
    rng = np.random.default_rng(seed)
    convs = {name for name, m in model.named_modules() if isinstance(m, Conv)}
    state = {}
    for name, t in model.state_dict().items():
        owner, _, leaf = name.rpartition(".")
        shape = tuple(t.shape)
        if leaf == "num_batches_tracked":
            state[name] = np.zeros((), np.int64)
            continue
        if owner in convs and leaf == "weight":
            v = rng.normal(0.0, np.sqrt(2.0 / (shape[1] * shape[2] * shape[3])), shape)
        elif owner in convs and leaf == "bias":
            v = rng.normal(0.0, 0.1, shape)
        elif leaf == "weight":
            v = rng.uniform(0.5, 1.5, shape)
        elif leaf in ("bias", "running_mean"):
            v = rng.normal(0.0, 0.1, shape)
        elif leaf == "running_var":
            v = rng.uniform(0.5, 2.0, shape)
        else:
            raise ValueError("no initialiser for " + name)
        v = v.astype(np.float32)
        state[name] = v.astype(np.float16).astype(np.float32) if f16_exact else v
    return state


def load_state(model, state):
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return model


def random_image(h, w, seed):
    """An RGB uint8 image, H x W x 3 row-major: byte i is the top byte of the (i+1)-th output of
    SplitMix64 started from state `seed`, i.e. of mix(seed + (i + 1) * 0x9E3779B97F4A7C15) with
    mix(z) = z ^= z >> 30, z *= 0xBF58476D1CE4E5B9, z ^= z >> 27, z *= 0x94D049BB133111EB,
    z ^= z >> 31 (all mod 2^64). Simple enough to regenerate in C, so a reference file need not
    carry a large input."""
    i = np.arange(1, h * w * 3 + 1, dtype=np.uint64)
    z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(56)).astype(np.uint8).reshape(h, w, 3)


def preprocess(image, cfg):
    """(x - mean) / std in float32 per channel, NCHW, zero-padded bottom/right to the size
    divisibility (after normalisation, as D2's ImageList)."""
    inp = cfg["input"]
    mean = np.asarray(inp["pixel_mean"], np.float32)
    std = np.asarray(inp["pixel_std"], np.float32)
    x = ((image.astype(np.float32) - mean) / std).transpose(2, 0, 1)
    h, w = image.shape[:2]
    div = inp["size_divisibility"]
    hp, wp = (-(-h // div) * div, -(-w // div) * div) if div > 0 else (h, w)
    out = np.zeros((1, 3, hp, wp), np.float32)
    out[0, :, :h, :w] = x
    return out
