#!/bin/bash
# network.sh - the CPU network benchmark: our oneDNN backend against PyTorch
# running the same Cityscapes R52-DC5 DSConv model with the same random weights
# (bench_network_torch.py writes them), both on THREADS threads, in one go so
# they see the same machine load. Also the machine's SGEMM rate (dnnl_sgemm
# 4096^3, measured inside the C benchmark) and the peak resident memory at the
# full Cityscapes size. Prints the JSON lines of each program and a summary.
#
#   bash bench/network.sh [BUILD]   (THREADS, RUNS, WARMUP, H, W override)
set -euo pipefail
BUILD=${1:-build}
THREADS=${THREADS:-2}; RUNS=${RUNS:-10}; WARMUP=${WARMUP:-2}; H=${H:-512}; W=${W:-1024}
BENCH=$BUILD/bench/bench_network
WEIGHTS=$BUILD/bench/r52_dsconv.safetensors
[ -x "$BENCH" ] || make -s "$BENCH"
[ -f "$WEIGHTS" ] || /usr/bin/python3 bench/bench_network_torch.py "$WEIGHTS" --weights-only

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
C=$("$BENCH" "$WEIGHTS" --height "$H" --width "$W" --threads "$THREADS" --runs "$RUNS" \
    --warmup "$WARMUP" --sgemm 4096)
echo "$C"
T=$(/usr/bin/python3 bench/bench_network_torch.py "$BUILD/bench/r52_dsconv_torch.safetensors" \
    --height "$H" --width "$W" --threads "$THREADS" --runs "$RUNS" --warmup "$WARMUP" 2>/dev/null)
echo "$T"
cmp -s "$WEIGHTS" "$BUILD/bench/r52_dsconv_torch.safetensors" && echo "weights: identical files" || { echo "weights differ"; exit 1; }
FULL=$("$BENCH" "$WEIGHTS" --height 1024 --width 2048 --threads "$THREADS" --runs 3 --warmup 1 \
       --sgemm 0)
echo "$FULL"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$C" "$T" "$FULL" <<'PY'
import json, sys
c, t, full = (json.loads(a) for a in sys.argv[1:4])
print("summary: ours %.0f ms, PyTorch %.0f ms, ratio %.2f; %.1f GFLOP/s = %.0f%% of SGEMM %.1f GFLOP/s;"
      " 1024x2048: %.0f ms, peak RSS %.0f MB"
      % (c["median_ms"], t["median_ms"], c["median_ms"] / t["median_ms"], c["gflops"],
         100 * c["fraction_of_sgemm"], c["sgemm_gflops"], full["median_ms"], full["peak_rss_mb"]))
PY
