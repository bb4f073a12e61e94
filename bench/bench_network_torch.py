#!/usr/bin/env python3
"""PyTorch's CPU time for the network, the figure our C network is compared with.

Builds the full-width Cityscapes R52-DC5 DSConv model of tests/ref/pdl_reference.py with random
weights (seeded), writes those exact weights as our safetensors file (so the C benchmark runs the
same model), then times the network alone (normalised input to the x4-upsampled heads, no
post-processing) at 512x1024 on 2 threads: median of --runs after --warmup, one JSON line.
The conv FLOPs (2 x multiply-adds, counted with hooks) give the achieved GFLOP/s.

  /usr/bin/python3 bench/bench_network_torch.py build/bench/r52_dsconv.safetensors
      [--threads 2] [--height 512] [--width 1024] [--runs 10] [--warmup 2] [--weights-only]
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
sys.path.insert(0, os.path.join(ROOT, "weights"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights_out", help="where to write the model's safetensors (e.g. build/bench/r52_dsconv.safetensors)")
    p.add_argument("--preset", default="cityscapes-r52-dsconv")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--seed", type=int, default=52)
    p.add_argument("--weights-only", action="store_true", help="write the weights, do not time")
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import numpy as np
    import torch
    import pdl_reference as R
    import convert_detectron2 as C

    torch.set_num_threads(args.threads)
    cfg = C.PRESETS[args.preset]()
    model = R.PanopticDeepLab(cfg)
    state = R.random_state(model, args.seed)
    R.load_state(model, state)
    picked, _ = C.select_tensors(state, cfg, "random " + args.preset)
    os.makedirs(os.path.dirname(os.path.abspath(args.weights_out)), exist_ok=True)
    C.write_safetensors(args.weights_out, picked, {"config": C.config_json(cfg)})
    print("wrote %s (%d tensors, seed %d)" % (args.weights_out, len(picked), args.seed), file=sys.stderr)
    if args.weights_only:
        return 0

    h, w = args.height, args.width
    x = torch.from_numpy(R.preprocess(R.random_image(h, w, 1), cfg))
    macs = []

    def count(mod, inp, out):
        macs.append(out.numel() * mod.weight[0].numel())
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, R.Conv)]
    model(x, h, w)
    for hk in hooks:
        hk.remove()
    gflop = 2.0 * sum(macs) / 1e9

    for _ in range(args.warmup):
        model(x, h, w)
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        model(x, h, w)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(json.dumps({"bench": "network_torch", "model": args.preset, "height": h, "width": w,
                      "threads": args.threads, "torch": torch.__version__, "runs": args.runs,
                      "warmup": args.warmup, "median_ms": round(med * 1e3, 1),
                      "min_ms": round(min(times) * 1e3, 1), "max_ms": round(max(times) * 1e3, 1),
                      "conv_gflop": round(gflop, 1), "gflops": round(gflop / med, 1),
                      "weights": args.weights_out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
