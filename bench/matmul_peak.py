#!/usr/bin/env python3
"""Measures the machine's single-precision matrix-multiply rate: the "peak" that bench/RESULTS.md
divides the network's GFLOP/s by. An N^3 SGEMM (default 4096, 2 threads), median of several runs
after a warm-up, printed as one JSON line.

The default backend is oneDNN's dnnl_sgemm (libdnnl.so.2 through ctypes): the library our CPU
backend runs on, and a tuned GEMM. On Debian, numpy and PyTorch's torch.mm go through the generic
BLAS alternative, which is netlib's reference BLAS unless OpenBLAS is installed (a few GFLOP/s):
--backend torch|numpy measures them anyway.

  /usr/bin/python3 bench/matmul_peak.py [--threads 2] [--n 4096] [--runs 5] [--backend dnnl]
"""

import argparse
import json
import os
import statistics
import sys
import time


def dnnl_sgemm(a, b):
    """A closure computing c = a @ b (row-major float32) with oneDNN's dnnl_sgemm."""
    import ctypes
    import numpy as np
    lib = ctypes.CDLL("libdnnl.so.2")
    i64, f32, ptr = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
    lib.dnnl_sgemm.argtypes = [ctypes.c_char, ctypes.c_char, i64, i64, i64, f32, ptr, i64, ptr, i64,
                               f32, ptr, i64]
    lib.dnnl_sgemm.restype = ctypes.c_int
    m, k = a.shape
    n = b.shape[1]
    c = np.empty((m, n), np.float32)

    def run():
        st = lib.dnnl_sgemm(b"N", b"N", m, n, k, 1.0, a.ctypes.data, k, b.ctypes.data, n, 0.0,
                            c.ctypes.data, n)
        if st != 0:
            raise RuntimeError("dnnl_sgemm failed with status %d" % st)
        return c
    run()
    if not np.allclose(c[:64, :64], a[:64] @ b[:, :64], rtol=1e-3, atol=1e-2):
        raise RuntimeError("dnnl_sgemm gives a wrong product")
    return run


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--backend", choices=("dnnl", "torch", "numpy"), default="dnnl")
    args = p.parse_args()
    # BLAS libraries read their thread count when loaded: set it before importing them.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal((args.n, args.n), dtype=np.float32)
    b = rng.standard_normal((args.n, args.n), dtype=np.float32)
    if args.backend == "dnnl":
        mm, backend = dnnl_sgemm(a, b), "oneDNN dnnl_sgemm"
    elif args.backend == "numpy":
        mm, backend = (lambda: a @ b), "numpy " + np.__version__
    else:
        import torch
        torch.set_num_threads(args.threads)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        mm, backend = (lambda: torch.mm(ta, tb)), "torch " + torch.__version__
    mm()
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        mm()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    flop = 2.0 * args.n ** 3
    print(json.dumps({"bench": "sgemm", "n": args.n, "threads": args.threads, "backend": backend,
                      "runs": args.runs, "median_ms": round(med * 1e3, 2),
                      "gflops": round(flop / med / 1e9, 1),
                      "best_gflops": round(flop / min(times) / 1e9, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
