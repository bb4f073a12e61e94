#!/bin/bash
# tests/gpu/run.sh BUILD - the GPU test suite (make test-gpu).
# 1. The Criterion suite loads BUILD/libpanoptic_cuda.so with dlopen; where no
#    CUDA device (or no library) is usable, each test prints "SKIPPED: no CUDA
#    device (...)" and is reported as skipped.
# 2. predict with the demo model over the synth images in examples/images on
#    the CPU and on CUDA in fp32, tf32 and fp16: the panoptic maps must agree
#    with the CPU's on >= 99.9 % of pixels in fp32 and tf32; fp16's agreement
#    is reported. Likewise fp32 with --batch 3 (batched plans) and with
#    --size 200 (a resize: the x4 outputs made and post-processed on the
#    device), against the CPU with the same options, and fp32 with every 1x1
#    conv forced to cuDNN and to cuBLASLt (PANOPTIC_CUDA_GEMM).
#    Without a usable device it prints "skipped: <reason>".
# So this passes on machines without a GPU.
set -euo pipefail
BUILD=${1:-build}
mkdir -p "$BUILD/tests"
# whole archive: the CUDA library resolves pdl_* symbols against this binary
cc -std=c11 -O2 -g -Wall -Wextra -Werror -fopenmp -D_GNU_SOURCE -Isrc -Ikernels -Itests \
    -rdynamic -o "$BUILD/tests/gpu_tests" tests/gpu/*.c tests/support/*.c \
    -Wl,--whole-archive "$BUILD/libpanoptic.a" -Wl,--no-whole-archive \
    -lcriterion -lpng16 -ldeflate -ljpeg -ljansson -lexif -ldnnl -ldl -lm -lstdc++
PDL_GPU_TEST_LIB="$BUILD/libpanoptic_cuda.so" "$BUILD/tests/gpu_tests" --jobs 1

BIN=$BUILD/panoptic
MODEL=weights/demo.safetensors
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$BIN" predict "$MODEL" examples/images/synth_1000_000000.png -o "$tmp/probe" -q \
    --device cuda >/dev/null 2>"$tmp/err"; then
    echo "cpu/cuda predict comparison: skipped: $(head -n 1 "$tmp/err")"
    exit 0
fi
"$BIN" predict "$MODEL" examples/images -o "$tmp/cpu" -q --device cpu >/dev/null
"$BIN" predict "$MODEL" examples/images -o "$tmp/cpu_s200" -q --device cpu --size 200 >/dev/null
for p in fp32 tf32 fp16; do
    "$BIN" predict "$MODEL" examples/images -o "$tmp/$p" -q --device cuda --precision "$p" >/dev/null
done
"$BIN" predict "$MODEL" examples/images -o "$tmp/fp32_b3" -q --device cuda --batch 3 >/dev/null
"$BIN" predict "$MODEL" examples/images -o "$tmp/fp32_s200" -q --device cuda --size 200 >/dev/null
for g in cudnn cublas; do
    PANOPTIC_CUDA_GEMM=$g "$BIN" predict "$MODEL" examples/images -o "$tmp/fp32_$g" -q \
        --device cuda >/dev/null
done
/usr/bin/python3 - "$tmp" <<'PY'
import glob, os, sys
import numpy as np
from PIL import Image
tmp = sys.argv[1]
names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(tmp, "cpu", "*.png")))
assert names, "no CPU predictions"
bad = False
for prec, ref, need in (("fp32", "cpu", 0.999), ("tf32", "cpu", 0.999), ("fp16", "cpu", None),
                        ("fp32_b3", "cpu", 0.999), ("fp32_s200", "cpu_s200", 0.999),
                        ("fp32_cudnn", "cpu", 0.999), ("fp32_cublas", "cpu", 0.999)):
    same = total = 0
    for n in names:
        a = np.asarray(Image.open(os.path.join(tmp, ref, n)).convert("RGB"))
        b = np.asarray(Image.open(os.path.join(tmp, prec, n)).convert("RGB"))
        same += int((a == b).all(axis=2).sum())
        total += a.shape[0] * a.shape[1]
    frac = same / total
    verdict = "" if need is None else (" ok" if frac >= need else " FAIL (need >= %.1f %%)" % (100 * need))
    print("cuda %s vs %s: %.4f %% identical panoptic pixels over %d images%s" % (prec, ref, 100 * frac, len(names), verdict))
    bad |= need is not None and frac < need
sys.exit(1 if bad else 0)
PY
