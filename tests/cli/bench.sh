#!/usr/bin/env bash
# bench.sh - `panoptic bench`: exit codes, the report's structure (CSV header
# and rows, JSON keys, SVG that parses as XML) and its consistency:
#  - the stages add up to the total: the means exactly (stages and total are
#    read from one sequence of clock readings; 2% + 0.1 ms for the readings
#    themselves), the p50s only roughly, because a percentile of sums is not the
#    sum of percentiles: on a loaded machine a preemption (a few ms) lands in a
#    different stage in each run, raising the total's p50 but no stage's, so
#    that tolerance is 50% + 5 ms;
#  - bench's PQ equals what `panoptic eval` prints on the same predictions
#    (kept with --keep-predictions), to the last digit of the JSON;
#  - the ground truth is `panoptic predict`'s output of the same model at
#    size 64, so bench at size 64 must score PQ = 1 exactly (an independent
#    check that predictions are written and paired with ground truth right).
# Small random-weight model, tiny images, one thread (the machine is shared;
# spinning OpenMP threads make timings erratic when cores are oversubscribed).
set -euo pipefail
BIN=${BIN:-build/panoptic}
MODEL=tests/ref/data/small.safetensors
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
bench() { "$BIN" bench "$MODEL" --threads 1 --warmup 1 "$@"; }
expect() { # expect STATUS DESCRIPTION ARGS...
    local want=$1 what=$2 rc=0
    shift 2
    bench "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, expected $want: $(cat "$tmp/err")"
}

# --- usage errors ------------------------------------------------------------
"$BIN" bench --help | grep -q -- "--keep-predictions" || fail "--help does not list the options"
rc=0; "$BIN" bench >/dev/null 2>&1 || rc=$?; [ "$rc" -eq 2 ] || fail "no MODEL: exit $rc"
expect 2 "bad --runs" --runs 0
expect 2 "unknown option" --bogus
expect 2 "bad --sizes" --sizes 48,,x
expect 2 "unknown precision" --precision fp7
expect 2 "bad --device" --device tpu
expect 2 "--gt-json without --data" --gt-json "$tmp/none.json"
expect 2 "empty --out" --out ""
expect 2 "--out naming a folder" --out "$tmp/"
expect 2 "--out '.'" --out .
expect 2 "--out in a missing folder" --out "$tmp/nowhere/r"
rc=0; "$BIN" bench "$tmp/missing.safetensors" --synth 1 --synth-size 32x32 --out "$tmp/m" \
    >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "missing model: exit $rc"
grep -q "missing.safetensors" "$tmp/err" || fail "missing model not named: $(cat "$tmp/err")"

# --- ground truth: predict's own output at size 64, iscrowd added -------------
"$BIN" synth -n 3 -o "$tmp/syn" --seed 1000 --size 80x60 >/dev/null
"$BIN" predict "$MODEL" "$tmp/syn/images" -o "$tmp/gt" --size 64 --device cpu --threads 1 -q >/dev/null
python3 - "$tmp/gt/predictions.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for a in d["annotations"]:
    for s in a["segments_info"]:
        s["iscrowd"] = 0
json.dump(d, open(sys.argv[1], "w"))
PYEOF

# --- unusable ground truth: refused before the sweep ---------------------------
head -c 40 "$tmp/gt/predictions.json" >"$tmp/trunc.json"
expect 2 "truncated --gt-json" --data "$tmp/syn/images" --gt-json "$tmp/trunc.json" --gt-dir "$tmp/gt" --out "$tmp/t"
grep -q "trunc.json: " "$tmp/err" || fail "truncated --gt-json not named: $(cat "$tmp/err")"
echo '{"categories": [], "annotations": []}' >"$tmp/no_anns.json"
expect 2 "--gt-json without annotations" --data "$tmp/syn/images" --gt-json "$tmp/no_anns.json" --gt-dir "$tmp/gt" --out "$tmp/t"
grep -q "no_anns.json: \"annotations\" is empty" "$tmp/err" || fail "empty ground truth not named: $(cat "$tmp/err")"
expect 2 "empty --keep-predictions" --keep-predictions "" --out "$tmp/t"
expect 2 "missing --gt-dir" --data "$tmp/syn/images" --gt-json "$tmp/gt/predictions.json" --gt-dir "$tmp/nope" --out "$tmp/t"
grep -q "nope: not a directory" "$tmp/err" || fail "missing --gt-dir not named: $(cat "$tmp/err")"

# --- a broken image is named once and left out; the others are timed ---------
mkdir -p "$tmp/mixed"
head -c 300 "$tmp/syn/images/synth_1000_000000.png" >"$tmp/mixed/a_broken.png"
cp "$tmp/syn/images/synth_1000_000001.png" "$tmp/mixed/z_ok.png"
expect 1 "folder with a broken image" --data "$tmp/mixed" --runs 1 --sizes 0 --out "$tmp/mx"
[ "$(grep -c "a_broken.png" "$tmp/err")" -eq 1 ] || fail "broken image not named exactly once: $(cat "$tmp/err")"
grep -q "no image could be processed" "$tmp/err" && fail "the good image was not timed"
python3 -c "import json,sys; p=json.load(open('$tmp/mx.json'))['points']; assert len(p)==1 and p[0]['runs']==1" ||
    fail "no timed point for the good image"
mkdir -p "$tmp/empty"
expect 2 "empty --data folder" --data "$tmp/empty" --sizes 0 --out "$tmp/e"
grep -q "empty: no PNG or JPEG images" "$tmp/err" || fail "empty --data folder not named: $(cat "$tmp/err")"

# --- a sweep with ground truth ------------------------------------------------
expect 0 "bench with ground truth" --data "$tmp/syn/images" --gt-json "$tmp/gt/predictions.json" \
    --gt-dir "$tmp/gt" --sizes 48,64 --runs 8 --precision fp32,fp16 --out "$tmp/r" \
    --keep-predictions "$tmp/keep"
grep -q "fp16 size 48: skipped: the CPU backend is fp32 only" "$tmp/err" || fail "fp16 not reported as skipped: $(cat "$tmp/err")"
for size in 48 64; do
    "$BIN" eval --gt-json "$tmp/gt/predictions.json" --gt-dir "$tmp/gt" \
        --pred-json "$tmp/keep/cpu_fp32_$size/predictions.json" --pred-dir "$tmp/keep/cpu_fp32_$size" \
        --json "$tmp/eval_$size.json" >/dev/null || fail "eval of the kept predictions ($size) failed"
done
python3 - "$tmp" <<'PYEOF' || fails=$((fails + 1))
import csv, json, sys, xml.etree.ElementTree as ET
tmp = sys.argv[1]
stages = ["decode", "preprocess", "network", "postprocess", "encode"]
bad = []
rows = list(csv.DictReader(open(tmp + "/r.csv")))
need = ["device", "precision", "size", "total_p50_ms", "total_p99_ms", "images_per_s", "peak_rss_mib",
        "pq", "cpu_model", "threads", "gpu", "onednn", "libpng", "libjpeg_turbo", "jansson", "commit", "date"]
need += [s + "_p%d_ms" % p for s in stages for p in (50, 90, 99)]
missing = [k for k in need if k not in rows[0]] if rows else need
if missing: bad.append("CSV lacks columns %s" % missing)
if [r["size"] for r in rows] != ["48", "64"]: bad.append("CSV rows: %s" % [r.get("size") for r in rows])
r = json.load(open(tmp + "/r.json"))
env = r["environment"]
for k in ("cpu_model", "cpus_online", "threads", "gpu", "commit", "date"):
    if k not in env: bad.append("JSON environment lacks " + k)
if env["threads"] != 1: bad.append("threads %r, expected 1" % env["threads"])
if not env["libraries"]["onednn"].startswith("2."): bad.append("oneDNN version %r" % env["libraries"]["onednn"])
if len(r["skipped"]) != 2: bad.append("skipped: %r" % r["skipped"])
for p in r["points"]:
    ms = p["ms"]
    for s in stages + ["total"]:
        q = ms[s]
        if not (0 <= q["min"] <= q["p50"] <= q["p90"] <= q["p99"] <= q["max"]):
            bad.append("size %d %s percentiles out of order: %r" % (p["size"], s, q))
    total, parts = ms["total"]["mean"], sum(ms[s]["mean"] for s in stages)
    if abs(parts - total) > 0.02 * total + 0.1:
        bad.append("size %d: stages' means sum to %.3f ms, total mean %.3f ms" % (p["size"], parts, total))
    total, parts = ms["total"]["p50"], sum(ms[s]["p50"] for s in stages)
    if abs(parts - total) > 0.5 * total + 5:
        bad.append("size %d: stages' p50s sum to %.2f ms, total p50 %.2f ms" % (p["size"], parts, total))
    if not (p["images_per_s"] > 0 and p["peak_rss_mib"] > 0 and p["runs"] == 8 and p["images"] == 3):
        bad.append("size %d: images/s, RSS or counts wrong: %r" % (p["size"], p))
    b = p["backend"]
    if not (b["plans_built"] >= 1 and b["activations_mib"] > 0 and b["weights_mib"] > 0
            and b["graph_launches"] == 0 and b["gemm_convs"] == 0 and b["note"] == ""):
        bad.append("size %d: CPU backend counters wrong: %r" % (p["size"], b))
    ev = json.load(open("%s/eval_%d.json" % (tmp, p["size"])))
    for k in ("pq", "sq", "rq"):
        if p["pq"][k] != ev["All"][k]:
            bad.append("size %d: bench %s %r != eval %r" % (p["size"], k, p["pq"][k], ev["All"][k]))
    if p["size"] == 64 and p["pq"]["pq"] != 1.0:
        bad.append("size 64 against its own predictions: PQ %r, expected 1" % p["pq"]["pq"])
svg = ET.parse(tmp + "/r.svg").getroot()
ns = "{http://www.w3.org/2000/svg}"
if svg.tag != ns + "svg": bad.append("SVG root is %s" % svg.tag)
texts = [t.text or "" for t in svg.iter(ns + "text")]
if not any("PQ against latency" in t for t in texts): bad.append("SVG title: %r" % texts[:2])
if len(list(svg.iter(ns + "polyline"))) != 1 or len(list(svg.iter(ns + "circle"))) != 2:
    bad.append("SVG should have 1 line with 2 points")
if "48" not in texts or "64" not in texts: bad.append("SVG points not labelled with sizes")
for b in bad: print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF

# --- synthetic scenes, no ground truth: images/s against size -----------------
expect 0 "bench on synthetic scenes" --synth 2 --synth-size 64x48 --sizes 32,48 --runs 3 --out "$tmp/s"
python3 - "$tmp/s.svg" "$tmp/s.json" <<'PYEOF' || fails=$((fails + 1))
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
texts = [t.text or "" for t in ET.parse(sys.argv[1]).getroot().iter(ns + "text")]
r = json.load(open(sys.argv[2]))
ok = any("no ground truth" in t for t in texts) and r["data"] is None and all(p["pq"] is None for p in r["points"])
if not ok: print("FAIL: synthetic run: SVG title or JSON wrong", file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF

# --- synthetic scenes and a model of synth's classes: scored against their truth
"$BIN" bench weights/demo.safetensors --threads 1 --warmup 0 --synth 2 --synth-size 96x64 --sizes 0 \
    --runs 2 --out "$tmp/d" >/dev/null 2>"$tmp/err" || fail "demo model on synthetic scenes: $(cat "$tmp/err")"
python3 - "$tmp/d.json" <<'PYEOF' || fails=$((fails + 1))
import json, sys
r = json.load(open(sys.argv[1]))
pq = r["points"][0]["pq"]
ok = pq is not None and 0 < pq["pq"] <= 1 and r["gt_json"] and r["gt_json"].endswith("/synth/panoptic.json")
if not ok: print("FAIL: demo model on synthetic scenes has no PQ: %r %r" % (pq, r.get("gt_json")), file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF

if [ "$fails" -ne 0 ]; then echo "bench.sh: $fails failure(s)" >&2; exit 1; fi
echo "bench.sh: ok"
