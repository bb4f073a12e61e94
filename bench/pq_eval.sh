#!/bin/bash
# pq_eval.sh - times `panoptic eval` against tests/ref/pq_reference.py, the
# numpy stand-in for COCO panopticapi (same approach: PIL decode, np.unique over
# gt * 2^24 + pred, one process per core), on random 512x1024 panoptic PNGs
# generated in /tmp. Prints the best wall time of RUNS runs of each, the ratio,
# and checks that both give the same numbers.
#
#   bash bench/pq_eval.sh [BUILD]    (N, H, W, RUNS, THREADS, DIR override)
set -euo pipefail
BIN=${1:-build}/panoptic
N=${N:-50}; H=${H:-512}; W=${W:-1024}; RUNS=${RUNS:-3}; THREADS=${THREADS:-2}
DIR=${DIR:-/tmp/pq_bench_${N}x${H}x${W}}
REF=tests/ref/pq_reference.py
[ -f "$DIR/pred.json" ] || /usr/bin/python3 $REF gen --out "$DIR" --seed 7 --images "$N" --height "$H" --width "$W"
ARGS=(--gt-json "$DIR/gt.json" --gt-dir "$DIR/gt" --pred-json "$DIR/pred.json" --pred-dir "$DIR/pred")

best() { # best NAME COMMAND... : prints the best wall time, also kept in $BEST
    local name=$1 t best=""
    shift
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %U %S" -o "$DIR/time.txt" "$@" >/dev/null
        t=$(cut -d' ' -f1 "$DIR/time.txt")
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; cpu=$(cut -d' ' -f2- "$DIR/time.txt"); fi
    done
    printf "%-32s best of %d: %6.2f s wall (user sys of that run: %s)\n" "$name" "$RUNS" "$best" "$cpu"
    BEST=$best
}

echo "$N images ${W}x${H} in $DIR, $THREADS threads/processes"
best "panoptic eval" "$BIN" eval "${ARGS[@]}" --threads "$THREADS" --json "$DIR/c.json"; C=$BEST
best "pq_reference.py (panopticapi-style)" /usr/bin/python3 $REF eval "${ARGS[@]}" --workers "$THREADS" --json "$DIR/py.json"; PY=$BEST
awk "BEGIN{printf \"ratio: %.1fx\n\", $PY / $C}"
python3 - "$DIR/py.json" "$DIR/c.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
rows = [(a[g], b[g]) for g in ("All", "Things", "Stuff")] + list(zip(a["per_class"], b["per_class"]))
bad = [(k, x[k], y[k]) for x, y in rows for k in ("pq", "sq", "rq", "tp", "fp", "fn") if abs(x[k] - y[k]) > 1e-9]
print("numbers agree (1e-9): PQ %.4f" % b["All"]["pq"] if not bad else "MISMATCH %s" % bad[:3])
sys.exit(1 if bad else 0)
PYEOF
