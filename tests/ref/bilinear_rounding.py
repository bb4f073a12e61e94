#!/usr/bin/python3
"""bilinear_rounding.py - how PyTorch's CPU bilinear resize rounds, against
the float formula of kernels/pp_common.h (bench/RESULTS.md, resized input).

Resizes one random row of IN values to OUT (align_corners=False) with
F.interpolate and compares it with the formula
    src = scale * (dst + 0.5) - 0.5,  i0 = trunc(src),  l1 = src - i0,
    value = v[i0] * (1 - l1) + v[i0 + 1] * l1
evaluated two ways: in float32 step by step (our kernels) and with src and
the blend in float64, rounded to float32 once at the end. Prints how many of
the OUT values each way gets bit for bit. Needs only PyTorch and NumPy:

    /usr/bin/python3 tests/ref/bilinear_rounding.py [IN OUT]   (1820 1920)
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

f32 = np.float32


def taps(src, n):
    src = max(src, 0.0)
    i0 = min(int(src), n - 1)
    return i0, i0 + (1 if i0 < n - 1 else 0)


def ours(v, x, scale):
    """The kernels: every operation rounded to float32."""
    src = f32(f32(scale * f32(f32(x) + f32(0.5))) - f32(0.5))
    src = max(src, f32(0))
    i0, i1 = taps(float(src), len(v))
    l1 = f32(src - f32(i0))
    l0 = f32(f32(1) - l1)
    return f32(f32(v[i0] * l0) + f32(v[i1] * l1))


def double_index(v, x, scale):
    """Source index and blend in float64, one rounding at the end."""
    src = max(float(scale) * (x + 0.5) - 0.5, 0.0)
    i0, i1 = taps(src, len(v))
    l1 = f32(src - i0)
    l0 = f32(f32(1) - l1)
    return f32(float(v[i0]) * float(l0) + float(v[i1]) * float(l1))


def main():
    n_in, n_out = (int(a) for a in sys.argv[1:3]) if len(sys.argv) == 3 else (1820, 1920)
    v = (np.random.default_rng(0).standard_normal(n_in) * 3).astype(np.float32)
    row = torch.from_numpy(v)[None, None, None, :]
    torch_out = F.interpolate(row, size=(1, n_out), mode="bilinear",
                              align_corners=False)[0, 0, 0].numpy()
    scale = f32(f32(n_in) / f32(n_out))
    print(f"torch {torch.__version__}, {n_in} -> {n_out}")
    for name, fn in (("float32 steps (kernels)", ours), ("float64 index and blend", double_index)):
        got = np.array([fn(v, x, scale) for x in range(n_out)])
        same = int((got == torch_out).sum())
        err = float(np.abs(got - torch_out).max())
        print(f"{name}: {same} of {n_out} values identical to F.interpolate, max difference {err:.3g}")


if __name__ == "__main__":
    main()
