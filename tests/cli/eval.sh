#!/bin/bash
# eval.sh - `panoptic eval`: exit codes, the printed table (compared with the
# one tests/ref/pq_reference.py printed for case1, formatted like panopticapi's:
# expected_table.txt), the JSON report, and per-image failures. Run by
# `make test` with BIN=build/panoptic; needs only python3's standard library.
set -u
BIN=${BIN:-build/panoptic}
CASE=tests/data/pq/case1
TMP=$(mktemp -d /tmp/eval_sh.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
run() { # run EXPECTED_STATUS ARGS... ; output in $TMP/out, $TMP/err
    local want=$1; shift
    "$BIN" eval "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    [ "$got" -eq "$want" ] || { echo "  exit $got, expected $want; stderr:"; sed 's/^/  /' "$TMP/err"; return 1; }
}
args() { echo --gt-json "$1/gt.json" --gt-dir "$1/gt" --pred-json "$1/pred.json" --pred-dir "$1/pred"; }

check "help exits 0" run 0 --help
check "help describes the options" grep -q -- "--pred-dir" "$TMP/out"
check "missing options exit 2" run 2 --gt-json "$CASE/gt.json"
check "unknown option exits 2" run 2 $(args $CASE) --bogus
check "bad --threads exits 2" run 2 $(args $CASE) --threads 0

check "good case exits 0" run 0 $(args $CASE) --json "$TMP/r.json" --threads 2
check "table is the reference's table" diff "$CASE/expected_table.txt" "$TMP/out"
check "JSON report parses and has All.pq" python3 -c \
    "import json,sys; r=json.load(open(sys.argv[1])); assert 0 < r['All']['pq'] < 1 and r['failed_images'] == 0" "$TMP/r.json"
check "no temporary file left" test ! -e "$TMP/r.json.tmp"
check "--per-class lists the classes" run 0 $(args $CASE) --per-class
check "--per-class row for 'person'" grep -q "^person " "$TMP/out"

cp -r "$CASE" "$TMP/broken"
rm "$TMP/broken/pred/0003.png"
check "a missing prediction PNG exits 1" run 1 $(args "$TMP/broken") --json "$TMP/b.json"
check "the missing file is named" grep -q "pred/0003.png" "$TMP/err"
check "the table is still printed" grep -q "^All " "$TMP/out"
check "JSON lists the failure" python3 -c \
    "import json,sys; r=json.load(open(sys.argv[1])); assert r['failed_images'] == 1 and r['images'] == 7" "$TMP/b.json"

echo '{"annotations": [' >"$TMP/bad.json"
check "unreadable JSON exits 2" run 2 --gt-json "$CASE/gt.json" --gt-dir "$CASE/gt" \
    --pred-json "$TMP/bad.json" --pred-dir "$CASE/pred"
check "the bad JSON is named" grep -q "bad.json" "$TMP/err"
cp "$CASE/pred.json" "$TMP/pred_copy.json"
check "--json naming an input exits 2" run 2 --gt-json "$CASE/gt.json" --gt-dir "$CASE/gt" \
    --pred-json "$TMP/pred_copy.json" --pred-dir "$CASE/pred" --json "$TMP/pred_copy.json"
check "the input is left as it was" cmp "$CASE/pred.json" "$TMP/pred_copy.json"
check "--json naming a PNG exits 2" run 2 $(args $CASE) --json "$TMP/report.png"
check "--json naming a folder exits 2" run 2 $(args $CASE) --json "$TMP"
check "missing directory exits 2" run 2 --gt-json "$CASE/gt.json" --gt-dir "$TMP/nope" \
    --pred-json "$CASE/pred.json" --pred-dir "$CASE/pred"

# Data written by `panoptic synth` evaluated against itself: every class perfect.
if "$BIN" synth -n 2 -o "$TMP/synth" --seed 1000 --size 64x96 >/dev/null 2>&1; then
    S="$TMP/synth"
    check "synth data against itself exits 0" run 0 --gt-json "$S/panoptic.json" --gt-dir "$S/panoptic" \
        --pred-json "$S/panoptic.json" --pred-dir "$S/panoptic"
    check "synth data against itself is PQ 100" grep -q "^All       | 100.0  100.0  100.0" "$TMP/out"
else
    echo "FAIL panoptic synth could not write a data set"; fails=$((fails + 1))
fi

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
