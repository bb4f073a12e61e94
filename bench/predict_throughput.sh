#!/bin/bash
# predict_throughput.sh - issue 6's folder throughput: `panoptic predict` over N
# synthetic images against the network-only time of the same run (the sum of
# the JSON lines' "network" ms). A ratio near 1 means decoding, resizing,
# post-processing and PNG writing are hidden behind the network by the
# pipeline; the sum of every stage's ms is printed too (what a sequential loop
# would take). BATCH sets predict's --batch (the JSON lines' network ms is
# then each batch's time divided among its images, so the sum is still the
# run's network time).
#
# Images are WIDTH x SIZE (WIDTH defaults to SIZE); DEVICE and PRECISION pick
# the backend (cpu, fp32 by default; bench/gpu.sh runs it on cuda).
#
#   bash bench/predict_throughput.sh [BUILD]
#       (MODEL, N, SIZE, WIDTH, THREADS, BATCH, DEVICE, PRECISION, DIR override)
set -euo pipefail
BIN=${1:-build}/panoptic
MODEL=${MODEL:-tests/ref/data/d2-dsconv.safetensors}
N=${N:-100}; SIZE=${SIZE:-256}; WIDTH=${WIDTH:-$SIZE}; THREADS=${THREADS:-2}; BATCH=${BATCH:-1}
DEVICE=${DEVICE:-cpu}; PRECISION=${PRECISION:-fp32}
DIR=${DIR:-/tmp/predict_throughput_${N}x${WIDTH}x${SIZE}}
mkdir -p "$DIR"
[ -f "$DIR/synth/panoptic.json" ] || "$BIN" synth -n "$N" -o "$DIR/synth" --seed 1000 --size "${WIDTH}x${SIZE}" >/dev/null
rm -rf "$DIR/out"
start=$(date +%s.%N)
"$BIN" predict "$MODEL" "$DIR/synth/images" -o "$DIR/out" --size "$SIZE" --device "$DEVICE" \
    --precision "$PRECISION" --threads "$THREADS" --batch "$BATCH" -q \
    >"$DIR/lines.jsonl"
end=$(date +%s.%N)
python3 - "$DIR/lines.jsonl" "$start" "$end" "$MODEL" "$THREADS" "$BATCH" "$DEVICE $PRECISION" <<'PYEOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
wall = (float(sys.argv[3]) - float(sys.argv[2])) * 1e3
ok = [l for l in lines if l["status"] == "ok"]
stages = ["decode", "preprocess", "network", "postprocess", "write"]
sums = {s: sum(l["ms"][s] for l in ok) for s in stages}
print("predict_throughput: model %s, %d images (%d ok), %s, %s threads, batch %s"
      % (sys.argv[4], len(lines), len(ok), sys.argv[7], sys.argv[5], sys.argv[6]))
print("  wall %.0f ms (%.1f images/s); network-only %.0f ms; ratio wall/network %.3f"
      % (wall, len(ok) / wall * 1e3, sums["network"], wall / sums["network"]))
print("  per-stage sums (ms): " + ", ".join("%s %.0f" % (s, sums[s]) for s in stages)
      + "; all stages %.0f (a sequential loop), wall/all-stages %.3f" % (sum(sums.values()), wall / sum(sums.values())))
PYEOF
