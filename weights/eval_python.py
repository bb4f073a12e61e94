#!/usr/bin/env python3
"""A quick PQ check of a weights file in PyTorch, independent of the C tool.

Runs tests/ref/pdl_reference.py's model on a `panoptic synth` dataset, turns its outputs into
panoptic maps with Detectron2's Panoptic-DeepLab post-processing (threshold, max-pool NMS,
top-k centres, each thing pixel to the nearest centre after its offset, majority vote of the
semantic labels per instance, stuff regions below stuff_area dropped) and scores them with
panopticapi's PQ rules (IoU > 0.5 matches, void pixels left out of the union, unmatched
predictions mostly on void or a same-class crowd region not counted as false positives).
Used while training to see early whether PQ >= 70 is in reach; the numbers that count come
from `panoptic predict` + `panoptic eval`.

  build/panoptic synth -n 100 -o /tmp/pdl_eval --seed 1000 --size 256x256
  /usr/bin/python3 weights/eval_python.py weights/demo.safetensors /tmp/pdl_eval
  (--write DIR also saves the predictions, e.g. to cross-check with `panoptic eval`)
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402


def find_centers(center, threshold, nms_kernel, top_k):
    """[K, 2] (y, x) of the centre heatmap's local maxima above threshold, at most top_k."""
    c = F.threshold(center, threshold, -1.0)
    pooled = F.max_pool2d(c, nms_kernel, stride=1, padding=(nms_kernel - 1) // 2)
    c[c != pooled] = -1
    c = c.squeeze()
    if top_k is not None and c.numel() > top_k:
        kth = torch.topk(c.flatten(), top_k)[0][-1].clamp(min=0)
        return torch.nonzero(c > kth)
    return torch.nonzero(c > 0)


def panoptic_map(logits, center, offset, cfg):
    """D2's get_panoptic_segmentation for one image: [H, W] int64 ids (class * label_divisor
    + instance, stuff instance 0, void 0). Class ids are predictor channel + 1."""
    post = cfg["postprocess"]
    div = post["label_divisor"]
    thing_ids = [c["id"] for c in cfg["classes"] if c["isthing"]]
    sem = logits.argmax(0) + 1
    thing = torch.zeros_like(sem, dtype=torch.bool)
    for t in thing_ids:
        thing |= sem == t
    pts = find_centers(center[None], post["center_threshold"], post["nms_kernel"], post["top_k"])
    h, w = sem.shape
    ins = torch.zeros_like(sem)
    if len(pts):
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        loc = torch.stack([yy + offset[0], xx + offset[1]]).flatten(1).T
        d = torch.cdist(pts.float(), loc)
        ins = (d.argmin(0).reshape(h, w) + 1) * thing
    pan = torch.zeros_like(sem)
    count = {}
    for i in torch.unique(ins):
        if i == 0:
            continue
        mask = (ins == i) & thing
        if not mask.any():
            continue
        cls = int(torch.mode(sem[mask])[0])
        count[cls] = count.get(cls, 0) + 1
        pan[mask] = cls * div + count[cls]
    for cls in torch.unique(sem):
        if int(cls) in thing_ids:
            continue
        mask = (sem == cls) & (ins == 0)
        if int(mask.sum()) >= post["stuff_area"]:
            pan[mask] = int(cls) * div
    return pan.numpy()


def pq_stats(gt_seg, gt_cats, gt_crowd, pan, div, stats):
    """Adds one image's per-category [tp, fp, fn, iou sum] to stats (panopticapi's rules).
    gt_seg holds segment indices (0 = void) into gt_cats / gt_crowd."""
    gt_area = np.bincount(gt_seg.ravel(), minlength=len(gt_cats))
    pids, pinv = np.unique(pan.ravel(), return_inverse=True)
    p_area = np.bincount(pinv)
    inter = {}
    pair = gt_seg.ravel().astype(np.int64) * len(pids) + pinv
    for key, n in zip(*np.unique(pair, return_counts=True)):
        inter[(int(key // len(pids)), int(key % len(pids)))] = int(n)
    pred = {j: int(pids[j]) // div for j in range(len(pids)) if pids[j] != 0}
    gt = {k: int(gt_cats[k]) for k in range(1, len(gt_cats)) if gt_area[k] > 0}
    gt_done, p_done = set(), set()
    for (g, p), n in inter.items():
        if g == 0 or p not in pred or gt_crowd[g] or gt[g] != pred[p]:
            continue
        union = p_area[p] + gt_area[g] - n - inter.get((0, p), 0)
        iou = n / union
        if iou > 0.5:
            s = stats.setdefault(gt[g], np.zeros(4))
            s[0] += 1
            s[3] += iou
            gt_done.add(g)
            p_done.add(p)
    crowd = {}
    for g, c in gt.items():
        if g in gt_done:
            continue
        if gt_crowd[g]:
            crowd[c] = g
            continue
        stats.setdefault(c, np.zeros(4))[2] += 1
    for p, c in pred.items():
        if p in p_done:
            continue
        n = inter.get((0, p), 0)
        if c in crowd:
            n += inter.get((crowd[c], p), 0)
        if n / p_area[p] > 0.5:
            continue
        stats.setdefault(c, np.zeros(4))[1] += 1


def pq_summary(stats, cfg):
    """{"all"|"things"|"stuff": (PQ, SQ, RQ, n categories)} in percent."""
    isthing = {c["id"]: c["isthing"] for c in cfg["classes"]}
    out = {}
    for name, keep in (("all", lambda c: True), ("things", lambda c: isthing[c]),
                       ("stuff", lambda c: not isthing[c])):
        pq, sq, rq, n = 0.0, 0.0, 0.0, 0
        for c, (tp, fp, fn, iou) in stats.items():
            if not keep(c) or tp + fp + fn == 0:
                continue
            n += 1
            s = iou / tp if tp else 0.0
            r = tp / (tp + 0.5 * fp + 0.5 * fn)
            pq, sq, rq = pq + s * r, sq + s, rq + r
        out[name] = tuple(100 * v / max(n, 1) for v in (pq, sq, rq)) + (n,)
    return out


def write_prediction(out_dir, meta, i, pan, div, preds):
    """Saves image i's panoptic map as a COCO-panoptic PNG (id = R + 256 G + 256^2 B) under
    out_dir/panoptic/ and appends its annotation to preds, so `panoptic eval` can score it."""
    from PIL import Image
    image_id = meta["images"][i]["id"]  # load_dataset's order
    ann = next(a for a in meta["annotations"] if a["image_id"] == image_id)
    os.makedirs(os.path.join(out_dir, "panoptic"), exist_ok=True)
    rgb = np.stack([pan & 255, (pan >> 8) & 255, (pan >> 16) & 255], -1).astype(np.uint8)
    Image.fromarray(rgb).save(os.path.join(out_dir, "panoptic", ann["file_name"]))
    segs = [{"id": int(v), "category_id": int(v) // div} for v in np.unique(pan) if v != 0]
    preds.append({"image_id": ann["image_id"], "file_name": ann["file_name"],
                  "segments_info": segs})


def evaluate(model, cfg, data, limit=None, batch=10, write=None, meta=None):
    """Per-image panoptic maps scored with pq_stats; with write, also saved (see
    write_prediction) together with a predictions JSON."""
    images, seg, cats, crowd = data
    preds = []
    n = len(images) if limit is None else min(limit, len(images))
    div = cfg["postprocess"]["label_divisor"]
    stats = {}
    torch.set_grad_enabled(False)
    for b in range(0, n, batch):
        idx = range(b, min(n, b + batch))
        h, w = images.shape[1:3]
        x = torch.from_numpy(np.concatenate([train.ref.preprocess(images[i], cfg) for i in idx]))
        out = model(x, h, w)
        for j, i in enumerate(idx):
            pan = panoptic_map(out["sem_logits_up"][j], out["center_up"][j, 0],
                               out["offset_up"][j], cfg)
            pq_stats(seg[i], cats[i], crowd[i], pan, div, stats)
            if write:
                write_prediction(write, meta, i, pan, div, preds)
    if write:
        with open(os.path.join(write, "panoptic.json"), "w") as f:
            json.dump({"annotations": preds, "categories": meta["categories"]}, f)
    return pq_summary(stats, cfg), stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights")
    ap.add_argument("data", help="a `panoptic synth` dataset (evaluation seeds)")
    ap.add_argument("-n", type=int, default=None, help="first N images only")
    ap.add_argument("--stuff-area", type=int, default=None, help="override the config's")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write", metavar="DIR", help="also save the predictions (PNGs + JSON)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg, model = train.load_model(args.weights)
    if args.stuff_area is not None:
        cfg["postprocess"]["stuff_area"] = args.stuff_area
    with open(os.path.join(args.data, "panoptic.json")) as f:
        meta = json.load(f)
    summary, stats = evaluate(model, cfg, train.load_dataset(args.data), args.n,
                              write=args.write, meta=meta)
    names = {c["id"]: c["name"] for c in cfg["classes"]}
    for c in sorted(stats):
        tp, fp, fn, iou = stats[c]
        print("%-9s tp %4d fp %4d fn %4d  SQ %5.1f" % (names[c], tp, fp, fn,
                                                       100 * iou / tp if tp else 0))
    for k, (pq, sq, rq, n) in summary.items():
        print("PQ %-6s %5.1f  SQ %5.1f  RQ %5.1f  (%d categories)" % (k, pq, sq, rq, n))


if __name__ == "__main__":
    main()
