#!/usr/bin/python3
"""pq_reference.py - an independent panoptic-quality reference and a random case generator.

  pq_reference.py eval --gt-json F --gt-dir D --pred-json F --pred-dir D [--json OUT] [--workers N]
  pq_reference.py gen --out DIR [--seed S] [--images N] [--height H] [--width W]

`eval` follows the algorithm of COCO panopticapi's pq_compute.py, with the same
numpy approach (np.unique over gt_id * 2^24 + pred_id, dicts of segments, a
process pool with one chunk of images per worker), so it also stands in for
panopticapi when timing `panoptic eval`. Rules:
  - id = R + 256 G + 256^2 B, VOID = 0;
  - every non-zero id of a prediction PNG is in its JSON and vice versa, and
    prediction categories are among the ground truth's categories;
  - prediction areas are counted in the PNG, ground-truth areas come from the JSON;
  - a ground-truth and a predicted segment of the same category match when
    inter / (pred_area + gt_area - inter - |pred in VOID|) > 0.5; crowd never matches;
  - unmatched non-crowd ground truth is a FN; an unmatched prediction is a FP unless
    (|pred in VOID| + |pred in the last listed crowd segment of its category|) / pred_area > 0.5;
  - per class PQ = sum IoU / (TP + FP/2 + FN/2), SQ = sum IoU / TP, RQ = TP / (TP + FP/2 + FN/2);
    All / Things / Stuff average over the classes with TP + FP + FN > 0.
It writes the same JSON layout as `panoptic eval --json`.

`gen` writes DIR/gt.json, DIR/gt/*.png, DIR/pred.json, DIR/pred/*.png: random
ground truth (stuff bands, thing boxes, crowd, void) and predictions derived
from it (shifted, split, relabelled, dropped and extra segments, some lying in
void or crowd), with categories present only in the ground truth, only in the
predictions, or nowhere.
"""
import argparse
import json
import multiprocessing
import os
import sys

import numpy as np
from PIL import Image

OFFSET = 1 << 24
VOID = 0


def rgb2id(path):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint32)
    return a[:, :, 0] + 256 * a[:, :, 1] + 65536 * a[:, :, 2]


def id2rgb(ids):
    return np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)


def eval_image(gt_ann, pred_ann, gt_dir, pred_dir, categories):
    """Returns {category_id: [iou_sum, tp, fp, fn]} for one image."""
    stats = {}

    def stat(cat):
        return stats.setdefault(cat, [0.0, 0, 0, 0])

    image = gt_ann["image_id"]
    gt = rgb2id(os.path.join(gt_dir, gt_ann["file_name"]))
    pred = rgb2id(os.path.join(pred_dir, pred_ann["file_name"]))
    if gt.shape != pred.shape:
        raise ValueError(f"image {image}: prediction and ground truth sizes differ")
    gt_segs = {s["id"]: dict(s) for s in gt_ann["segments_info"]}
    pred_segs = {s["id"]: dict(s) for s in pred_ann["segments_info"]}

    unseen = set(pred_segs)
    labels, counts = np.unique(pred, return_counts=True)
    for label, count in zip(labels.tolist(), counts.tolist()):
        if label == VOID and label not in pred_segs:
            continue
        if label not in pred_segs:
            raise KeyError(f"image {image}: segment {label} is in the PNG and not in the JSON")
        pred_segs[label]["area"] = count
        unseen.discard(label)
        if pred_segs[label]["category_id"] not in categories:
            raise KeyError(f"image {image}: segment {label} has an unknown category")
    if unseen:
        raise KeyError(f"image {image}: segments {sorted(unseen)} are in the JSON and not in the PNG")

    joint = gt.astype(np.uint64) * OFFSET + pred.astype(np.uint64)
    labels, counts = np.unique(joint, return_counts=True)
    pairs = {(int(l) // OFFSET, int(l) % OFFSET): int(c) for l, c in zip(labels, counts)}

    gt_matched, pred_matched = set(), set()
    for (g, p), inter in pairs.items():
        if g not in gt_segs or p not in pred_segs:
            continue
        gs, ps = gt_segs[g], pred_segs[p]
        if gs["iscrowd"] == 1 or gs["category_id"] != ps["category_id"]:
            continue
        union = ps["area"] + gs["area"] - inter - pairs.get((VOID, p), 0)
        iou = inter / union
        if iou > 0.5:
            s = stat(gs["category_id"])
            s[0] += iou
            s[1] += 1
            gt_matched.add(g)
            pred_matched.add(p)

    crowd_of = {}
    for g, gs in gt_segs.items():
        if g in gt_matched:
            continue
        if gs["iscrowd"] == 1:
            crowd_of[gs["category_id"]] = g
            continue
        stat(gs["category_id"])[3] += 1

    for p, ps in pred_segs.items():
        if p in pred_matched:
            continue
        ignored = pairs.get((VOID, p), 0)
        if ps["category_id"] in crowd_of:
            ignored += pairs.get((crowd_of[ps["category_id"]], p), 0)
        if ignored / ps["area"] > 0.5:
            continue
        stat(ps["category_id"])[2] += 1
    return stats


def eval_chunk(args):
    pairs, gt_dir, pred_dir, categories = args
    total = {}
    for gt_ann, pred_ann in pairs:
        for cat, s in eval_image(gt_ann, pred_ann, gt_dir, pred_dir, categories).items():
            t = total.setdefault(cat, [0.0, 0, 0, 0])
            for i in range(4):
                t[i] += s[i]
    return total


def evaluate(gt_json, gt_dir, pred_json, pred_dir, workers=1):
    with open(gt_json) as f:
        gt = json.load(f)
    with open(pred_json) as f:
        pred = json.load(f)
    categories = {c["id"]: c for c in gt["categories"]}
    pred_by_image = {}
    for ann in pred["annotations"]:
        if ann["image_id"] in pred_by_image:
            raise ValueError(f"image_id {ann['image_id']} is listed twice in {pred_json}")
        pred_by_image[ann["image_id"]] = ann
    pairs = []
    for ann in gt["annotations"]:
        if ann["image_id"] not in pred_by_image:
            raise KeyError(f"no prediction for image {ann['image_id']}")
        pairs.append((ann, pred_by_image[ann["image_id"]]))

    chunks = [c for c in np.array_split(np.arange(len(pairs)), max(1, workers)) if len(c)]
    jobs = [([pairs[i] for i in c], gt_dir, pred_dir, categories) for c in chunks]
    if workers > 1:
        with multiprocessing.Pool(workers) as pool:
            parts = pool.map(eval_chunk, jobs)
    else:
        parts = [eval_chunk(j) for j in jobs]
    total = {}
    for part in parts:
        for cat, s in part.items():
            t = total.setdefault(cat, [0.0, 0, 0, 0])
            for i in range(4):
                t[i] += s[i]
    return summarize(gt["categories"], total, len(pairs))


def summarize(categories, total, n_images):
    per_class = []
    for c in categories:
        iou, tp, fp, fn = total.get(c["id"], [0.0, 0, 0, 0])
        row = {"category_id": c["id"], "name": c.get("name", ""), "isthing": int(c["isthing"] == 1),
               "iou": iou, "tp": tp, "fp": fp, "fn": fn, "pq": 0.0, "sq": 0.0, "rq": 0.0,
               "n": int(tp + fp + fn > 0)}
        if row["n"]:
            denom = tp + 0.5 * fp + 0.5 * fn
            row.update(pq=iou / denom, sq=iou / tp if tp else 0.0, rq=tp / denom)
        per_class.append(row)
    out = {"images": n_images, "failed_images": 0, "failures": [], "per_class": per_class}
    for name, isthing in (("All", None), ("Things", 1), ("Stuff", 0)):
        rows = [r for r in per_class if r["n"] and (isthing is None or r["isthing"] == isthing)]
        n = len(rows)
        g = {k: (sum(r[k] for r in rows) / n if n else 0.0) for k in ("pq", "sq", "rq")}
        g.update(n=n, tp=sum(r["tp"] for r in rows), fp=sum(r["fp"] for r in rows),
                 fn=sum(r["fn"] for r in rows))
        out[name] = g
    return out


def print_table(result):
    print("{:10s}| {:>5s}  {:>5s}  {:>5s} {:>5s}".format("", "PQ", "SQ", "RQ", "N"))
    print("-" * (10 + 7 * 4))
    for name in ("All", "Things", "Stuff"):
        r = result[name]
        print("{:10s}| {:5.1f}  {:5.1f}  {:5.1f} {:5d}".format(
            name, 100 * r["pq"], 100 * r["sq"], 100 * r["rq"], r["n"]))


# ---- random cases -------------------------------------------------------------

CATEGORIES = [
    {"id": 1, "name": "person", "isthing": 1},
    {"id": 2, "name": "car", "isthing": 1},
    {"id": 5, "name": "bicycle", "isthing": 1},
    {"id": 13, "name": "never-seen", "isthing": 1},  # in neither GT nor predictions
    {"id": 7, "name": "road", "isthing": 0},
    {"id": 8, "name": "sky", "isthing": 0},
    {"id": 9, "name": "wall", "isthing": 0},        # ground truth only
    {"id": 11, "name": "tree", "isthing": 0},
    {"id": 20, "name": "fence", "isthing": 0},      # predictions only
]
THINGS = [1, 2, 5]
STUFF_GT = [7, 8, 9, 11]
STUFF_PRED = [7, 8, 11, 20]


class Ids:
    """Unique random non-zero 24-bit segment ids."""

    def __init__(self, rng):
        self.rng, self.used = rng, {0}

    def new(self):
        while True:
            i = int(self.rng.integers(1, OFFSET))
            if i not in self.used:
                self.used.add(i)
                return i


def random_box(rng, h, w, min_frac=0.05, max_frac=0.5):
    bh = int(rng.integers(max(1, int(h * min_frac)), max(2, int(h * max_frac)) + 1))
    bw = int(rng.integers(max(1, int(w * min_frac)), max(2, int(w * max_frac)) + 1))
    y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    return slice(y, y + bh), slice(x, x + bw)


def shifted(mask, dy, dx):
    out = np.zeros_like(mask)
    h, w = mask.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        mask[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def gen_gt(rng, ids, h, w):
    gt = np.zeros((h, w), np.uint32)
    info = {}
    cuts = np.sort(rng.integers(0, h, size=3))
    bands = np.split(np.arange(h), cuts)
    stuff_ids = {}
    for rows in bands:
        if len(rows) == 0:
            continue
        cat = int(rng.choice(STUFF_GT))
        if cat not in stuff_ids:
            stuff_ids[cat] = ids.new()
            info[stuff_ids[cat]] = {"category_id": cat, "iscrowd": 0}
        gt[rows, :] = stuff_ids[cat]
    for _ in range(int(rng.integers(1, 4))):
        gt[random_box(rng, h, w, 0.05, 0.3)] = VOID
    for _ in range(int(rng.integers(3, 10))):
        sid = ids.new()
        info[sid] = {"category_id": int(rng.choice(THINGS)), "iscrowd": int(rng.random() < 0.2)}
        gt[random_box(rng, h, w, 0.1, 0.45)] = sid
    return gt, info


def gen_pred(rng, ids, gt, gt_info):
    h, w = gt.shape
    pred = np.zeros_like(gt)
    info = {}

    def paint(mask, cat):
        if mask.any():
            sid = ids.new()
            pred[mask] = sid
            info[sid] = {"category_id": cat}

    for g in rng.permutation(sorted(gt_info)):
        g = int(g)
        mask, cat = gt == g, gt_info[g]["category_id"]
        if cat == 9:
            cat = int(rng.choice(STUFF_PRED))
        group = THINGS if cat in THINGS else STUFF_PRED
        r = rng.random()
        if r < 0.1:
            continue
        if r < 0.2:
            cat = int(rng.choice(group))
        if r < 0.3:
            cols = np.nonzero(mask.any(axis=0))[0]
            if len(cols):
                cut = int(rng.integers(cols[0], cols[-1] + 1))
                left = mask.copy()
                left[:, cut:] = False
                paint(left, cat)
                paint(mask & ~left, cat)
            continue
        dy, dx = (int(v) for v in rng.integers(-h // 10, h // 10 + 1, size=2))
        paint(shifted(mask, dy, dx), cat)
    for _ in range(int(rng.integers(1, 5))):
        box = np.zeros_like(gt, bool)
        box[random_box(rng, h, w, 0.05, 0.3)] = True
        if rng.random() < 0.5:  # lies over ground-truth void or crowd
            box &= (gt == VOID) | np.isin(gt, [s for s, i in gt_info.items() if i["iscrowd"]])
        paint(box, int(rng.choice(THINGS + STUFF_PRED)))
    return pred, info


def write_png(path, ids):
    Image.fromarray(id2rgb(ids)).save(path, optimize=True)


def segments(ids_map, info, with_area):
    labels, counts = np.unique(ids_map, return_counts=True)
    out = []
    for label, count in zip(labels.tolist(), counts.tolist()):
        if label == VOID:
            continue
        seg = {"id": label, **info[label]}
        if with_area:
            seg["area"] = count
        out.append(seg)
    return out


def generate(out, seed, n_images, h, w):
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(out, "gt"), exist_ok=True)
    os.makedirs(os.path.join(out, "pred"), exist_ok=True)
    gt_json = {"categories": CATEGORIES, "images": [], "annotations": []}
    pred_json = {"annotations": []}
    for i in range(n_images):
        ids = Ids(rng)
        gt, gt_info = gen_gt(rng, ids, h, w)
        pred, pred_info = gen_pred(rng, ids, gt, gt_info)
        image_id = i + 1 if i % 2 == 0 else f"img_{i:04d}"  # both JSON types of image_id
        name = f"{i:04d}.png"
        write_png(os.path.join(out, "gt", name), gt)
        write_png(os.path.join(out, "pred", name), pred)
        gt_json["images"].append({"id": image_id, "file_name": name, "height": h, "width": w})
        gt_json["annotations"].append({"image_id": image_id, "file_name": name,
                                       "segments_info": segments(gt, gt_info, True)})
        pred_json["annotations"].append({"image_id": image_id, "file_name": name,
                                         "segments_info": segments(pred, pred_info, False)})
    pred_json["annotations"].reverse()  # pairing goes by image_id, not by position
    with open(os.path.join(out, "gt.json"), "w") as f:
        json.dump(gt_json, f)
    with open(os.path.join(out, "pred.json"), "w") as f:
        json.dump(pred_json, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ev = sub.add_parser("eval")
    for opt in ("--gt-json", "--gt-dir", "--pred-json", "--pred-dir"):
        ev.add_argument(opt, required=True)
    ev.add_argument("--json")
    ev.add_argument("--workers", type=int, default=1)
    gen = sub.add_parser("gen")
    gen.add_argument("--out", required=True)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--images", type=int, default=6)
    gen.add_argument("--height", type=int, default=48)
    gen.add_argument("--width", type=int, default=64)
    a = ap.parse_args()
    if a.cmd == "gen":
        generate(a.out, a.seed, a.images, a.height, a.width)
        return 0
    result = evaluate(a.gt_json, a.gt_dir, a.pred_json, a.pred_dir, a.workers)
    print_table(result)
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            json.dump(result, f, indent=2)
        os.replace(a.json + ".tmp", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
