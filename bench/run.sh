#!/bin/bash
# run.sh - `make bench`: every benchmark of bench/ in sequence, each skipped
# with the reason when what it needs is missing. Results go to BUILD/bench/
# and stdout; bench/RESULTS.md records the numbers by hand, with the machine.
#
#   bash bench/run.sh [BUILD]     (default build; THREADS=1 network threads)
#
# One network thread by default: on a shared 2-CPU machine OpenMP's spinning
# workers make 2 threads far slower whenever other jobs hold a core (see
# RESULTS.md). pq_eval.sh keeps its own 2 threads.
set -u
BUILD=${1:-build}
BIN=$BUILD/panoptic
OUT=$BUILD/bench
THREADS=${THREADS:-1}
mkdir -p "$OUT"
failed=0
step() { echo; echo "== $*"; }
skip() { echo "-- skipped: $*"; }
run() { "$@" || { echo "-- FAILED: $*"; failed=$((failed + 1)); }; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load: $(uptime | sed 's/.*load average/load average/')"

step "panoptic bench: small random model and d2-dsconv, synthetic 512x256 scenes"
if [ ! -x "$BIN" ]; then
    skip "$BIN not built"
else
    run "$BIN" bench tests/ref/data/small.safetensors --sizes 128,256,512 --threads "$THREADS" --runs 20 \
        --out "$OUT/panoptic_bench_small"
    run "$BIN" bench tests/ref/data/d2-dsconv.safetensors --sizes 128,256,512 --threads "$THREADS" \
        --runs 20 --out "$OUT/panoptic_bench_d2"
fi

step "predict throughput over a folder (issue 6): 100 synthetic 256x256 images"
if [ ! -x "$BIN" ]; then skip "$BIN not built"; else run env BIN="$BIN" THREADS="$THREADS" bash bench/predict_throughput.sh; fi

step "network alone (bench_network, full-width R52-DSConv at 512x1024)"
W=$OUT/r52_dsconv.safetensors
if [ ! -x "$OUT/bench_network" ]; then
    skip "$OUT/bench_network not built (make $OUT/bench_network)"
elif [ ! -f "$W" ]; then
    skip "$W missing: /usr/bin/python3 bench/bench_network_torch.py $W --weights-only writes it (needs PyTorch)"
else
    run "$OUT/bench_network" "$W" --threads "$THREADS"
fi

step "post-processing alone (bench_postprocess, 1024x2048, 200 objects)"
if [ ! -x "$OUT/bench_postprocess" ]; then
    SUP="$BUILD/obj/tests/support"
    if [ -f "$SUP/tsup_pp_gen.o" ] && [ -f "$SUP/tsup_pp_reference.o" ] && [ -f "$BUILD/libpanoptic.a" ]; then
        cc -Isrc -Ikernels -Itests -D_GNU_SOURCE -std=c11 -O2 -fopenmp -o "$OUT/bench_postprocess" \
            bench/bench_postprocess.c "$SUP/tsup_pp_gen.o" "$SUP/tsup_pp_reference.o" "$BUILD/libpanoptic.a" \
            -lpthread -lpng16 -ldeflate -ljpeg -ljansson -lexif -ldnnl -ldl -lm -lstdc++ ||
            echo "-- could not build bench_postprocess"
    fi
fi
if [ -x "$OUT/bench_postprocess" ]; then
    [ -f "$OUT/pp_case.bin" ] || run "$OUT/bench_postprocess" gen "$OUT/pp_case.bin"
    run env OMP_NUM_THREADS="$THREADS" "$OUT/bench_postprocess" run "$OUT/pp_case.bin" 10
else
    skip "bench_postprocess not built (needs the test support objects: make $BUILD/tests/run_tests)"
fi

step "panoptic eval against the Python panopticapi stand-in"
if [ ! -x "$BIN" ]; then skip "$BIN not built"
elif ! /usr/bin/python3 -c "import numpy, PIL" 2>/dev/null; then skip "python3 numpy/PIL missing"
else run env -u THREADS BIN="$BIN" bash bench/pq_eval.sh; fi

echo
[ "$failed" -eq 0 ] && echo "bench: all done" || echo "bench: $failed step(s) failed"
exit $((failed > 0))
