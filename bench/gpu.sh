#!/bin/bash
# bench/gpu.sh BUILD - the GPU benchmark (part of make bench). Record what it
# prints in bench/RESULTS.md, "CUDA backend". Where no CUDA device is usable it
# says "skipped: <reason>" and exits 0.
#   1. post-processing on the CUDA executor: bench/postprocess.sh's 1024x2048
#      case, heads already in device memory, copying the map back included;
#   2. `panoptic bench` of the D2 R52-DSConv model at 1024x2048 (MODEL, made by
#      bench/bench_network_torch.py --weights-only where PyTorch is installed)
#      in fp32, tf32 and fp16: per-stage p50/p90/p99 and images/s;
#   3. `panoptic predict` over N synthetic 2048x1024 images in fp16: images/s
#      of the whole pipeline, decoding and writing overlapped.
#
#   bash bench/gpu.sh [BUILD]   (MODEL, RUNS, N override)
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/panoptic
LIB=$BUILD/libpanoptic_cuda.so
MODEL=${MODEL:-$BUILD/bench/r52_dsconv.safetensors}
RUNS=${RUNS:-50}; N=${N:-200}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ ! -f "$LIB" ]; then
    echo "gpu bench: skipped: $LIB is not built (no nvcc)"
    exit 0
fi
if ! "$BIN" predict weights/demo.safetensors examples/images/synth_1000_000000.png -o "$TMP/probe" \
    -q --device cuda >/dev/null 2>"$TMP/err"; then
    echo "gpu bench: skipped: $(head -n 1 "$TMP/err")"
    exit 0
fi
echo "machine: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo unknown GPU);" \
    "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"

# 1. post-processing; the CUDA library resolves libpanoptic's symbols
#    against this executable, hence -rdynamic and the whole archive
cc -std=c11 -O2 -Wall -Wextra -Werror -fopenmp -D_GNU_SOURCE -Isrc -Ikernels -Itests -rdynamic \
    -o "$BUILD/bench_postprocess_gpu" bench/bench_postprocess.c tests/support/tsup_pp_gen.c \
    -Wl,--whole-archive "$BUILD/libpanoptic.a" -Wl,--no-whole-archive \
    -lpng16 -ldeflate -ljpeg -ljansson -lexif -ldnnl -ldl -lm -lstdc++
"$BUILD/bench_postprocess_gpu" gen "$TMP/case.bin"
PDL_PP_CUDA_LIB=$LIB "$BUILD/bench_postprocess_gpu" run "$TMP/case.bin" 200

# 2. the network, per precision
if [ ! -f "$MODEL" ] && ! /usr/bin/python3 bench/bench_network_torch.py "$MODEL" --weights-only \
    >/dev/null 2>"$TMP/err"; then
    echo "network and folder: skipped: no $MODEL, and it cannot be made here: $(tail -n 1 "$TMP/err")"
    exit 0
fi
mkdir -p "$BUILD/bench"
"$BIN" bench "$MODEL" --device cuda --precision fp32,tf32,fp16 --sizes 1024 --synth 8 \
    --synth-size 2048x1024 --runs "$RUNS" --out "$BUILD/bench/gpu_bench"

# 3. a folder, end to end
MODEL=$MODEL N=$N SIZE=1024 WIDTH=2048 DEVICE=cuda PRECISION=fp16 bash bench/predict_throughput.sh "$BUILD"
