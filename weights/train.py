#!/usr/bin/env python3
"""Trains the small Panoptic-DeepLab shipped as weights/demo.safetensors on `panoptic synth` scenes.

The network is tests/ref/pdl_reference.py's PyTorch model (Detectron2 module names) built from
the config below, so the exported state dict is exactly what the C loader reads. Training
follows the Panoptic-DeepLab paper (arXiv 1911.10194) and Detectron2's implementation:
  - targets per crop: semantic labels (crowd pixels keep their class, void is ignored); a
    2-D Gaussian (sigma 8) at each non-crowd thing instance's centre of mass, max over
    instances; offsets (dy, dx) from each thing pixel to its instance's centre;
  - losses: bootstrapped cross-entropy on the hardest 20 % of the batch's pixels, pixel weight 3
    inside instances smaller than 64 x 64 (area measured in the crop, as D2); MSE on the centre
    heatmap x 200, normalised by the number of non-void, non-crowd pixels; L1 on offsets at
    non-crowd thing pixels x 0.01, normalised by their number. Predictions are compared at full
    resolution (x4 bilinear, offsets x4), as the inference graph produces them;
  - Adam, polynomial decay (power 0.9) over a planned step count: measured from the speed of
    steps 25-50 and re-planned at each checkpoint from the run's mean speed (the 2 cores are
    shared, so speed varies), so that the schedule ends inside the --minutes budget; flips, scale + crop, light colour
    jitter; BatchNorm in training mode, eval mode for export.
The run is resumable: checkpoints (model, optimizer, step, planned steps, RNG states) go to
--ckpt every --ckpt-every seconds and at the end; --resume continues from the newest.

  build/panoptic synth -n 3000 -o /tmp/pdl_train --seed 0 --size 256x256
  /usr/bin/python3 weights/train.py --data /tmp/pdl_train --minutes 65 --out weights/demo.safetensors
"""

import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "ref"))
import convert_detectron2 as conv  # noqa: E402
import pdl_reference as ref  # noqa: E402

# The synth classes (src/synth.c): ids, names, thing flags and display colours.
SYNTH_CLASSES = [
    (1, "sky", False, [70, 130, 180]), (2, "ground", False, [152, 251, 152]),
    (3, "water", False, [0, 80, 160]), (4, "wall", False, [102, 102, 156]),
    (5, "disc", True, [220, 20, 60]), (6, "box", True, [255, 160, 0]),
    (7, "triangle", True, [0, 200, 0]), (8, "ring", True, [160, 0, 200]),
    (9, "blob", True, [240, 240, 40]),
]
IGNORE = 255
SIGMA = 8.0
SMALL_AREA = 64 * 64


def demo_config():
    """Class ids are 1..9 in order, so predictor channel k is class id k + 1.

    A ResNet-18 (deeplab stem) at 3/8 width (res2 24 channels: 1.8 M parameters, 3.5 MB in
    float16) with dsconv heads. Detectron2 defines no dilated
    basic block, so res5 keeps stride 2 (output stride 32) and the ASPP dilations shrink to
    match a res5 map of 8 x 8 at 256 x 256; global pooling makes any input size work."""
    def head(project, decoder, aspp, head_ch):
        return {"project_channels": project, "decoder_channels": decoder, "aspp_channels": aspp,
                "aspp_dilations": [2, 4, 6], "aspp_pooling": "global", "head_channels": head_ch,
                "depthwise_separable": True}
    return {
        "format": conv.FORMAT, "name": "synth-r18-demo",
        "backbone": {"depth": 18, "stem": "deeplab", "stem_out_channels": 32,
                     "res2_out_channels": 24, "width_per_group": 24, "stride_in_1x1": False,
                     "res4_dilation": 1, "res5_dilation": 1, "res5_multi_grid": [1, 1, 1]},
        "sem_seg_head": head([16, 32], 64, 64, 64),
        "ins_embed_head": head([16, 32], 32, 64, 32),
        "input": {"pixel_mean": [123.675, 116.28, 103.53], "pixel_std": [58.395, 57.12, 57.375],
                  "min_size_test": 0, "max_size_test": 0, "size_divisibility": 32},
        "postprocess": {"center_threshold": 0.1, "nms_kernel": 7, "top_k": 200,
                        "stuff_area": 64, "label_divisor": 1000},
        "classes": [{"id": i, "name": n, "isthing": t, "color": c} for i, n, t, c in SYNTH_CLASSES],
    }


# ---------------------------------------------------------------- data

def load_dataset(root):
    """All scenes of a synth dataset in memory: images [N,H,W,3] uint8, seg [N,H,W] uint8 (0 =
    void, k = the image's k-th segment), and per image a table of (category id, iscrowd) with
    row 0 for void. Cached as an .npz next to the dataset."""
    cache = os.path.join(root, "cache.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["images"], z["seg"], z["cats"], z["crowd"]
    with open(os.path.join(root, "panoptic.json")) as f:
        meta = json.load(f)
    anns = {a["image_id"]: a for a in meta["annotations"]}
    images, segs, cats, crowd = [], [], [], []
    for im in meta["images"]:
        ann = anns[im["id"]]
        rgb = np.asarray(Image.open(os.path.join(root, "images", im["file_name"])).convert("RGB"))
        p = np.asarray(Image.open(os.path.join(root, "panoptic", ann["file_name"])).convert("RGB"))
        ids = p[..., 0].astype(np.int64) + 256 * p[..., 1] + 65536 * p[..., 2].astype(np.int64)
        infos = ann["segments_info"]
        lut = {s["id"]: k + 1 for k, s in enumerate(infos)}
        seg = np.zeros(ids.shape, np.uint8)
        for sid, k in lut.items():
            seg[ids == sid] = k
        c = np.zeros(65, np.int16)
        w = np.zeros(65, bool)
        for k, s in enumerate(infos):
            c[k + 1], w[k + 1] = s["category_id"], bool(s["iscrowd"])
        images.append(rgb)
        segs.append(seg)
        cats.append(c)
        crowd.append(w)
    out = np.stack(images), np.stack(segs), np.stack(cats), np.stack(crowd)
    np.savez(cache, images=out[0], seg=out[1], cats=out[2], crowd=out[3])
    return out


def targets(seg, cats, crowd, thing_ids):
    """Training targets for one crop: semantic [H,W] int64, semantic weights [H,W], centre
    heatmap [H,W], centre weights [H,W], offsets [2,H,W], offset weights [H,W]."""
    h, w = seg.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    flat = seg.ravel()
    n = len(cats)
    area = np.bincount(flat, minlength=n).astype(np.float32)
    cy = np.bincount(flat, weights=yy.ravel(), minlength=n) / np.maximum(area, 1)
    cx = np.bincount(flat, weights=xx.ravel(), minlength=n) / np.maximum(area, 1)
    is_thing = np.isin(cats, thing_ids)
    is_thing[0] = False
    sem_lut = np.asarray(cats, np.int64) - 1  # predictor channel k is the class with id k + 1
    sem_lut[0] = IGNORE
    semantic = sem_lut[seg]
    semw = np.where(is_thing & (area < SMALL_AREA), 3.0, 1.0).astype(np.float32)[seg]
    valid = np.ones(n, bool)
    valid[0] = False
    center_w = (valid & ~crowd).astype(np.float32)[seg]
    inst = is_thing & ~crowd & (area > 0)
    offset_w = inst.astype(np.float32)[seg]
    offset = np.stack([(cy[seg] - yy), (cx[seg] - xx)]).astype(np.float32) * offset_w
    heat = np.zeros((h, w), np.float32)
    r = int(3 * SIGMA + 1)
    for k in np.nonzero(inst)[0]:
        y0, y1 = max(0, int(cy[k]) - r), min(h, int(cy[k]) + r + 1)
        x0, x1 = max(0, int(cx[k]) - r), min(w, int(cx[k]) + r + 1)
        g = np.exp(-((yy[y0:y1, x0:x1] - cy[k]) ** 2 + (xx[y0:y1, x0:x1] - cx[k]) ** 2)
                   / (2 * SIGMA ** 2))
        np.maximum(heat[y0:y1, x0:x1], g, out=heat[y0:y1, x0:x1])
    return semantic, semw, heat, center_w, offset, offset_w


def augment(rng, image, seg, crop, scale_range):
    """Random scale (bilinear image, nearest labels), random crop (padding with void and the
    mean colour when the scaled image is smaller), horizontal flip, brightness/contrast jitter."""
    h, w = seg.shape
    s = rng.uniform(*scale_range)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    img = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
    lab = np.asarray(Image.fromarray(seg).resize((nw, nh), Image.NEAREST))
    ph, pw = max(crop, nh), max(crop, nw)
    if (ph, pw) != (nh, nw):
        big = np.empty((ph, pw, 3), np.uint8)
        big[:] = (124, 116, 104)
        big[:nh, :nw] = img
        bl = np.zeros((ph, pw), np.uint8)
        bl[:nh, :nw] = lab
        img, lab = big, bl
    y, x = rng.integers(0, ph - crop + 1), rng.integers(0, pw - crop + 1)
    img, lab = img[y:y + crop, x:x + crop], lab[y:y + crop, x:x + crop]
    if rng.random() < 0.5:
        img, lab = img[:, ::-1], lab[:, ::-1]
    img = img.astype(np.float32)
    mean = img.mean()
    img = (img - mean) * rng.uniform(0.8, 1.2) + mean * rng.uniform(0.8, 1.2)
    img += rng.uniform(-10, 10, size=3).astype(np.float32)
    return np.clip(img, 0, 255), np.ascontiguousarray(lab)


def make_batch(rng, data, batch, crop, scale_range, cfg, thing_ids):
    images, seg, cats, crowd = data
    mean = np.asarray(cfg["input"]["pixel_mean"], np.float32)
    std = np.asarray(cfg["input"]["pixel_std"], np.float32)
    xs, ts = [], []
    for i in rng.integers(0, len(images), size=batch):
        img, lab = augment(rng, images[i], seg[i], crop, scale_range)
        xs.append(((img - mean) / std).transpose(2, 0, 1))
        ts.append(targets(lab, cats[i], crowd[i], thing_ids))
    x = torch.from_numpy(np.stack(xs))
    t = [torch.from_numpy(np.stack([tt[j] for tt in ts])) for j in range(6)]
    return x, t


# ---------------------------------------------------------------- model and losses

def forward_train(model, x):
    """Semantic logits, centre heatmap and offsets at full resolution, as the inference graph
    produces them (x4 bilinear, offsets x4)."""
    f = model.backbone(x)
    sem, ins = model.sem_seg_head, model.ins_embed_head
    _, sd = sem.decode(f)
    _, idd = ins.decode(f)
    up = lambda t: F.interpolate(t, scale_factor=4, mode="bilinear", align_corners=False)
    logits = up(sem.predictor(sem.head(sd)))
    center = up(ins.center_predictor(ins.center_head(idd)))
    offset = up(ins.offset_predictor(ins.offset_head(idd))) * 4
    return logits, center, offset


def losses(logits, center, offset, t, top_k=0.2):
    semantic, semw, heat, center_w, off, off_w = t
    pix = F.cross_entropy(logits, semantic, ignore_index=IGNORE, reduction="none") * semw
    pix = pix.flatten()
    l_sem = torch.topk(pix, max(1, int(top_k * pix.numel())))[0].mean()
    c = F.mse_loss(center[:, 0], heat, reduction="none") * center_w
    l_center = c.sum() / center_w.sum().clamp(min=1)
    o = F.l1_loss(offset, off, reduction="none") * off_w[:, None]
    l_offset = o.sum() / off_w.sum().clamp(min=1)
    return l_sem, 200.0 * l_center, 0.01 * l_offset


# ---------------------------------------------------------------- checkpoints and export

def newest_checkpoint(folder):
    paths = sorted(glob.glob(os.path.join(folder, "step_*.pt")))
    return paths[-1] if paths else None


def save_checkpoint(folder, model, opt, step, total, rng):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "step_%08d.pt" % step)
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                "total": total, "rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state()}, tmp)
    os.replace(tmp, path)
    for old in sorted(glob.glob(os.path.join(folder, "step_*.pt")))[:-2]:
        os.unlink(old)
    return path


def export(model, cfg, path, dtype=np.float16):
    """Writes our safetensors file: exactly the tensors expected_tensors(cfg) lists, in its
    order, BatchNorm unfolded with D2 names, the config JSON in the metadata."""
    conv.validate_config(cfg)
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    tensors = []
    for name, shape in conv.expected_tensors(cfg):
        a = state[name]
        if tuple(a.shape) != tuple(shape):
            raise conv.ConvertError("%s: shape %s, expected %s" % (name, a.shape, shape))
        tensors.append((name, a.astype(dtype)))
    conv.write_safetensors(path, tensors, {"config": conv.config_json(cfg)})
    return sum(a.size for _, a in tensors)


def read_safetensors(path):
    """(config dict, {name: float32 array}) of one of our weights files."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__")
    base = 8 + n
    types = {"F32": np.float32, "F16": np.float16}
    tensors = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        tensors[name] = np.frombuffer(blob[base + a:base + b], types[h["dtype"]]).reshape(
            h["shape"]).astype(np.float32)
    return json.loads(meta["config"]), tensors


def load_model(path):
    """(config, eval-mode model) from a weights file, or from a training checkpoint (.pt)."""
    if path.endswith(".pt"):
        cfg = demo_config()
        model = ref.PanopticDeepLab(cfg)
        model.load_state_dict(torch.load(path)["model"])
        return cfg, model.eval()
    cfg, tensors = read_safetensors(path)
    model = ref.PanopticDeepLab(cfg)
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v) for k, v in tensors.items()}, strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise conv.ConvertError("%s: tensors do not match the config" % path)
    return cfg, model.eval()


# ---------------------------------------------------------------- training loop

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/tmp/pdl_train")
    ap.add_argument("--ckpt", default="/tmp/pdl_ckpt")
    ap.add_argument("--out", default=os.path.join(HERE, "demo.safetensors"))
    ap.add_argument("--log", default="/tmp/pdl_ckpt/train_log.txt")
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-time budget of this run")
    ap.add_argument("--steps", type=int, default=0,
                    help="planned steps (0: plan from this run's speed, re-planned every checkpoint)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--scale", type=float, nargs=2, default=[0.75, 1.5])
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--ckpt-every", type=float, default=180.0, help="seconds")
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    t_start = time.time()
    cfg = demo_config()
    conv.validate_config(cfg)
    thing_ids = np.array([c["id"] for c in cfg["classes"] if c["isthing"]])
    data = load_dataset(args.data)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = ref.PanopticDeepLab(cfg)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, total = 0, args.steps
    os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    log = open(args.log, "a")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    if args.resume and newest_checkpoint(args.ckpt):
        path = newest_checkpoint(args.ckpt)
        ck = torch.load(path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, total = ck["step"], ck["total"]
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        say("resumed from %s: step %d of %d" % (path, step, total))
    else:
        nparam = sum(p.numel() for p in model.parameters())
        say("config %s" % conv.config_json(cfg))
        say("args %s" % vars(args))
        say("%d training images, %d parameters" % (len(data[0]), nparam))

    deadline = t_start + args.minutes * 60.0 - 60.0  # a minute for the export
    fixed, first = args.steps > 0, step
    t_warm = s_warm = None
    planned = fixed
    last_ckpt = time.time()
    t_log, n_log = time.time(), 0
    sums = np.zeros(3)

    def plan():
        """Plans (and re-plans at every checkpoint, as the shared machine's speed varies) the
        step count that fits the time left at the mean speed of this run so far."""
        nonlocal total, planned
        per = (time.time() - t_warm) / (step - s_warm)
        new = step + max(1, int(0.97 * (deadline - time.time()) / per))
        if new != total:
            say("plan: %.3f s/step -> %d steps in all" % (per, new))
        total, planned = new, True

    while not planned or step < total:
        if not fixed and t_warm is None and step - first >= 25:
            t_warm, s_warm = time.time(), step
        if not fixed and not planned and t_warm is not None and step - s_warm >= 25:
            plan()
        lr = args.lr * (1 - min(step / total, 1.0)) ** 0.9 if total else args.lr
        for g in opt.param_groups:
            g["lr"] = lr
        x, t = make_batch(rng, data, args.batch, args.crop, args.scale, cfg, thing_ids)
        logits, center, offset = forward_train(model, x)
        ls = losses(logits, center, offset, t)
        opt.zero_grad()
        sum(ls).backward()
        opt.step()
        step += 1
        sums += [float(v) for v in ls]
        n_log += 1
        if step % args.log_every == 0:
            now = time.time()
            m = sums / n_log
            say("step %d/%d lr %.2e sem %.4f center %.4f offset %.4f total %.4f %.1f img/s"
                % (step, total, lr, m[0], m[1], m[2], m.sum(), n_log * args.batch / (now - t_log)))
            sums[:] = 0
            t_log, n_log = now, 0
        if time.time() - last_ckpt > args.ckpt_every:
            if planned and not fixed:
                plan()
            save_checkpoint(args.ckpt, model, opt, step, total, rng)
            last_ckpt = time.time()
        if time.time() > deadline + 30.0:
            say("time budget of %.1f min spent at step %d of %d" % (args.minutes, step, total))
            break
    save_checkpoint(args.ckpt, model, opt, step, total, rng)
    model.eval()
    n = export(model, cfg, args.out)
    say("step %d: exported %d parameters to %s (%.1f min this run)"
        % (step, n, args.out, (time.time() - t_start) / 60))


if __name__ == "__main__":
    main()
