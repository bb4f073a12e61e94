#!/bin/bash
# bench/postprocess.sh BUILD - post-processing benchmark (part of make bench).
# Writes the 1024x2048 case (19 classes, heads 256x512 upsampled x4, 200
# objects), runs the Detectron2-equivalent PyTorch post-processing on it
# (tests/ref/d2_postprocess.py, 2 threads, PY_RUNS runs) and our CPU executor
# (2 threads, RUNS runs, median; then 1 thread, and the generic build at 2
# threads) in the same run, and checks that both give
# the same panoptic map. Then, at 2 and 1 threads, the worst case for NMS and
# top-k (the same scene with every pixel an equal peak, gen-plateau) and a
# resized input (full-size heads resampled by ~1.05, gen-resized).
# Results go into bench/RESULTS.md by hand.
set -euo pipefail
BUILD=${1:-build}
RUNS=${RUNS:-20}
PY_RUNS=${PY_RUNS:-1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cc -std=c11 -O2 -Wall -Wextra -Werror -fopenmp -D_GNU_SOURCE -Isrc -Ikernels -Itests \
    -o "$BUILD/bench_postprocess" bench/bench_postprocess.c tests/support/tsup_pp_gen.c \
    "$BUILD/libpanoptic.a" -lm -lstdc++
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench_postprocess" gen "$TMP/case.bin"
/usr/bin/python3 tests/ref/d2_postprocess.py run "$TMP/case.bin" "$TMP/d2.bin" --runs "$PY_RUNS"
OMP_NUM_THREADS=2 "$BUILD/bench_postprocess" run "$TMP/case.bin" "$RUNS" "$TMP/d2.bin"
OMP_NUM_THREADS=1 "$BUILD/bench_postprocess" run "$TMP/case.bin" "$RUNS"
# the generic x86-64 build of the same kernels (the default is the AVX2 build where the CPU has it)
OMP_NUM_THREADS=2 PDL_PP_CPU=generic "$BUILD/bench_postprocess" run "$TMP/case.bin" "$RUNS"
"$BUILD/bench_postprocess" gen-plateau "$TMP/plateau.bin"
echo "plateau (every pixel an equal peak, exactly-k top-k):"
OMP_NUM_THREADS=2 "$BUILD/bench_postprocess" run "$TMP/plateau.bin" "$RUNS"
OMP_NUM_THREADS=1 "$BUILD/bench_postprocess" run "$TMP/plateau.bin" "$RUNS"
"$BUILD/bench_postprocess" gen-resized "$TMP/resized.bin"
echo "resized input (1080x1920 photo at test size 1024):"
OMP_NUM_THREADS=2 "$BUILD/bench_postprocess" run "$TMP/resized.bin" "$RUNS"
OMP_NUM_THREADS=1 "$BUILD/bench_postprocess" run "$TMP/resized.bin" "$RUNS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
