#!/bin/bash
# panoptic_bench.sh - `panoptic bench` on the two committed test models (a small
# random ResNet-18 and the reduced-width D2 R52-DSConv) over synthetic scenes at
# three sizes: per-stage p50/p90/p99, images/s, peak RSS, PQ; CSV, JSON and SVG
# in BUILD/bench/.
#
#   bash bench/panoptic_bench.sh [BUILD]   (THREADS, RUNS override)
#
# One network thread by default: on a shared 2-CPU machine OpenMP's spinning
# workers make 2 threads far slower whenever other jobs hold a core.
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/panoptic
THREADS=${THREADS:-1}; RUNS=${RUNS:-20}
[ -x "$BIN" ] || { echo "-- skipped: $BIN not built"; exit 0; }
mkdir -p "$BUILD/bench"
for model in small d2-dsconv; do
    "$BIN" bench "tests/ref/data/$model.safetensors" --sizes 128,256,512 --threads "$THREADS" \
        --runs "$RUNS" --out "$BUILD/bench/panoptic_bench_$model"
done
