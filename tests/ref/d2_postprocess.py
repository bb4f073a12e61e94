#!/usr/bin/python3
"""Detectron2-equivalent Panoptic-DeepLab post-processing in PyTorch.

Written from Detectron2's projects/Panoptic-DeepLab post_processing.py
(find_instance_center, group_pixels, get_instance_segmentation,
merge_semantic_and_instance), on the heads resized as the model does
(bilinear, align_corners=False, offsets scaled, cropped), plus the paper's
instance score (center value at the peak x mean class probability over the
mask). Differences from Detectron2, both only where it would fail or be
ill-defined: a map with fewer pixels than top_k keeps all its peaks (D2's
topk raises), and 2-D maps are never squeezed (D2 squeezes 1xW maps).

  d2_postprocess.py run CASE OUT [--runs N]   post-process a case file written
      by tests/support/tsup_pp_gen.c and write the result file; prints the
      median time of N runs (torch.set_num_threads(2)).
  d2_postprocess.py make-test CASE OUT        write a small random case and its
      result: the committed Detectron2 reference of tests/test_d2_reference.c.

File formats: see tests/support/tsup_pp_gen.c.
"""
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

CASE_MAGIC = b"PDLPPIN1"
RESULT_MAGIC = b"PDLPPOU1"


def read_case(path):
    data = open(path, "rb").read()
    assert data[:8] == CASE_MAGIC, f"{path}: not a case file"
    h = struct.unpack_from("<12i", data, 8)
    threshold, osy, osx = struct.unpack_from("<3f", data, 56)
    (classes, in_h, in_w, resize_h, resize_w, out_h, out_w, nms, top_k, stuff_area,
     divisor, exact) = h
    pos = 68
    isthing = np.frombuffer(data, np.uint8, classes, pos).astype(bool)
    pos += classes
    plane = in_h * in_w
    arr = np.frombuffer(data, np.float32, (classes + 3) * plane, pos)
    return dict(classes=classes, in_h=in_h, in_w=in_w, resize=(resize_h, resize_w),
                out=(out_h, out_w), nms=nms, top_k=top_k, stuff_area=stuff_area,
                divisor=divisor, exact=exact, threshold=threshold, offset_scale=(osy, osx),
                isthing=isthing,
                logits=torch.from_numpy(arr[:classes * plane].reshape(classes, in_h, in_w).copy()),
                center=torch.from_numpy(arr[classes * plane:(classes + 1) * plane]
                                        .reshape(1, in_h, in_w).copy()),
                offset=torch.from_numpy(arr[(classes + 1) * plane:].reshape(2, in_h, in_w).copy()))


def write_case(path, c):
    with open(path, "wb") as f:
        f.write(CASE_MAGIC)
        f.write(struct.pack("<12i", c["classes"], c["in_h"], c["in_w"], *c["resize"], *c["out"],
                            c["nms"], c["top_k"], c["stuff_area"], c["divisor"], c["exact"]))
        f.write(struct.pack("<3f", c["threshold"], *c["offset_scale"]))
        f.write(c["isthing"].astype(np.uint8).tobytes())
        for t in (c["logits"], c["center"], c["offset"]):
            f.write(t.numpy().astype("<f4").tobytes())


def resize(t, size, out):
    """The model's head upsampling: bilinear, align_corners=False, then crop."""
    r = F.interpolate(t[None], size=size, mode="bilinear", align_corners=False)[0]
    return r[:, :out[0], :out[1]]


def find_instance_center(ctr, threshold, nms_kernel, top_k):
    ctr = F.threshold(ctr, threshold, -1)
    pooled = F.max_pool2d(ctr, kernel_size=nms_kernel, stride=1, padding=(nms_kernel - 1) // 2)
    ctr[ctr != pooled] = -1
    ctr = ctr[0]
    if ctr.numel() < top_k:  # Detectron2's topk would raise here
        return torch.nonzero(ctr > 0)
    top = torch.topk(torch.flatten(ctr), top_k).values
    return torch.nonzero(ctr > torch.clamp(top[-1], min=0))


def group_pixels(centers, offsets):
    height, width = offsets.shape[1:]
    y, x = torch.meshgrid(torch.arange(height, dtype=offsets.dtype),
                          torch.arange(width, dtype=offsets.dtype), indexing="ij")
    coord = torch.cat((y.unsqueeze(0), x.unsqueeze(0)), dim=0)
    loc = (coord + offsets).flatten(1).T.unsqueeze(0)  # [1, H*W, 2]
    distance = torch.norm(centers.unsqueeze(1) - loc, dim=-1)  # [K, H*W]
    return torch.argmin(distance, dim=0).reshape(1, height, width) + 1


def postprocess(c):
    """Returns (panoptic [H,W] int32, centers [K,2], objectness [K], segments)."""
    out = c["out"]
    logits = resize(c["logits"], c["resize"], out)
    center = resize(c["center"], c["resize"], out)
    offset = resize(c["offset"], c["resize"], out)
    offset = offset * torch.tensor(c["offset_scale"]).view(2, 1, 1)
    sem = logits.argmax(dim=0, keepdim=True)
    thing_ids = [k for k in range(c["classes"]) if c["isthing"][k]]
    thing_seg = torch.zeros_like(sem)
    for k in thing_ids:
        thing_seg[sem == k] = 1

    centers = find_instance_center(center.clone(), c["threshold"], c["nms"], c["top_k"])
    if centers.size(0) == 0:
        ins = torch.zeros_like(sem)
    else:
        ins = thing_seg * group_pixels(centers.float(), offset)

    # merge_semantic_and_instance
    pan = torch.full_like(sem, -1)
    is_thing = (ins > 0) & (thing_seg > 0)
    prob = torch.softmax(logits.double(), dim=0)
    tracker = {}
    segments = []
    for ins_id in torch.unique(ins).tolist():
        if ins_id == 0:
            continue
        mask = (ins == ins_id) & is_thing
        if mask.sum() == 0:
            continue
        cls = int(torch.bincount(sem[mask], minlength=c["classes"]).argmax())  # ties: smaller
        tracker[cls] = tracker.get(cls, 0) + 1
        pan[mask] = cls * c["divisor"] + tracker[cls]
        y, x = centers[ins_id - 1].tolist()
        score = float(center[0, y, x]) * float(prob[cls][mask[0]].mean())
        segments.append((cls * c["divisor"] + tracker[cls], cls, 1, mask[0], score))
    for cls in torch.unique(sem).tolist():
        if c["isthing"][cls]:
            continue
        mask = (sem == cls) & (ins == 0)
        if mask.sum() >= c["stuff_area"]:
            pan[mask] = cls * c["divisor"]
            segments.append((cls * c["divisor"], cls, 0, mask[0], 1.0))
    return pan[0], centers, center[0], segments


def write_result(path, pan, centers, center, segments):
    with open(path, "wb") as f:
        f.write(RESULT_MAGIC)
        f.write(struct.pack("<4i", pan.shape[0], pan.shape[1], centers.shape[0], len(segments)))
        for y, x in centers.tolist():
            f.write(struct.pack("<2if", y, x, float(center[y, x])))
        f.write(pan.numpy().astype("<i4").tobytes())
        for pid, cls, thing, mask, score in segments:
            ys, xs = torch.nonzero(mask, as_tuple=True)
            x0, y0 = int(xs.min()), int(ys.min())
            f.write(struct.pack("<8if", pid, cls, thing, int(mask.sum()), x0, y0,
                                int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1, score))


def make_test_case(seed=7):
    """A small case with structure: two stuff bands, five thing blobs (two
    classes) with center peaks and offsets pointing at them, noise."""
    g = np.random.default_rng(seed)
    classes, in_h, in_w, stride, out = 5, 10, 12, 4, (37, 46)
    oy = (np.arange(in_h) + 0.5) * stride - 0.5
    ox = (np.arange(in_w) + 0.5) * stride - 0.5
    yy, xx = np.meshgrid(oy, ox, indexing="ij")
    logits = g.uniform(-1, 1, (classes, in_h, in_w))
    logits[2] += 4 * (yy < 18)
    logits[3] += 4 * (yy >= 18)
    center = g.uniform(0, 0.03, (1, in_h, in_w))
    offset = g.uniform(-0.2, 0.2, (2, in_h, in_w))
    for cy, cx, r, cls, peak in [(8, 8, 7, 0, 0.9), (10, 30, 8, 1, 0.7), (25, 12, 9, 0, 0.8),
                                 (28, 38, 6, 1, 0.5), (30, 24, 5, 0, 0.4)]:
        d = np.hypot(yy - cy, xx - cx)
        inside = d < r
        logits[cls] += 6 * inside
        center[0] += peak * np.exp(-d ** 2 / (2 * (r / 2) ** 2))
        offset[0][inside] = ((cy - yy) / stride)[inside]
        offset[1][inside] = ((cx - xx) / stride)[inside]
    t = lambda a: torch.from_numpy(a.astype(np.float32))
    return dict(classes=classes, in_h=in_h, in_w=in_w, resize=(in_h * stride, in_w * stride),
                out=out, nms=3, top_k=4, stuff_area=20, divisor=1000, exact=0, threshold=0.1,
                offset_scale=(float(stride), float(stride)),
                isthing=np.array([1, 1, 0, 0, 0], bool), logits=t(logits), center=t(center),
                offset=t(offset))


def main(argv):
    torch.set_num_threads(2)
    if len(argv) >= 3 and argv[0] == "make-test":
        c = make_test_case()
        write_case(argv[1], c)
        write_result(argv[2], *postprocess(c))
        return 0
    if len(argv) >= 3 and argv[0] == "run":
        runs = int(argv[4]) if len(argv) >= 5 and argv[3] == "--runs" else 1
        c = read_case(argv[1])
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            result = postprocess(c)
            times.append(time.perf_counter() - t0)
        write_result(argv[2], *result)
        print(f"pytorch {torch.__version__} (2 threads): median {np.median(times) * 1e3:.1f} ms "
              f"over {runs} run(s), {result[1].shape[0]} centers")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
