#!/usr/bin/env bash
# predict.sh - `panoptic predict` as a shell user and a pipeline see it: a
# nested folder with good and bad inputs, exit codes, outputs present and
# decodable, JSON lines, shards, stdin lists, SIGKILL + --resume, bad models.
# Uses the small random-weight reference model (fast) at native size.
set -euo pipefail
BIN=${BIN:-build/panoptic}
MODEL=tests/ref/data/small.safetensors
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
predict() { "$BIN" predict "$MODEL" --size 0 --device cpu --threads 2 -q "$@"; }

# --- the input tree --------------------------------------------------------
in="$tmp/in"
"$BIN" synth -n 4 -o "$tmp/syn" --seed 1000 --size 40x56
mkdir -p "$in/a/deep" "$in/b"
cp "$tmp/syn/images/synth_1000_000000.png" "$in/top.png"
cp "$tmp/syn/images/synth_1000_000001.png" "$in/a/deep/x.png"
cp "$tmp/syn/images/synth_1000_000002.png" "$in/b/$(printf 'caf\xc3\xa9')".png
cp tests/ref/pil_decode/q85_420.jpg "$in/a/photo.jpg"
echo "just some notes" >"$in/a/readme.txt"
head -c 300 tests/ref/pil_decode/q90_422.jpg >"$in/b/truncated.jpg"
: >"$in/b/empty.png"
python3 - "$in/a/one.png" <<'PYEOF'
import struct, sys, zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"\x00\x10\x80\xf0")) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PYEOF
good=(top a/deep/x "b/$(printf 'caf\xc3\xa9')" a/photo a/one)

# --- a folder with bad files: exit 1, bad ones named, good ones written -----
rc=0
predict "$in" -o "$tmp/out" --vis --semantic --instance >"$tmp/lines" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "folder with bad files: exit $rc, expected 1"
grep -q "truncated.jpg" "$tmp/err" || fail "truncated JPEG not named: $(cat "$tmp/err")"
grep -q "empty.png" "$tmp/err" || fail "zero-byte PNG not named"
if grep -q "readme.txt" "$tmp/err"; then fail "a text file in a folder must be skipped, not failed"; fi
for g in "${good[@]}"; do
    for suffix in .png .json _vis.png _sem.png _ins.png; do
        [ -s "$tmp/out/$g$suffix" ] || fail "missing $g$suffix"
    done
done
if find "$tmp/out" -name '*.tmp' | grep -q .; then fail "temporary files left"; fi
python3 - "$tmp/lines" "$tmp/out" "${#good[@]}" <<'PYEOF' || fail "JSON lines / outputs"
import json, os, struct, sys, zlib
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
ok = [l for l in lines if l["status"] == "ok"]
bad = [l for l in lines if l["status"] == "error"]
assert len(ok) == int(sys.argv[3]) and len(bad) == 2, (len(ok), len(bad))
for l in bad:
    assert l["input"] in l["error"], l
def png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    w, h = struct.unpack(">II", data[16:24])
    return h, w
for l in ok:
    assert set(l["ms"]) == {"decode", "preprocess", "network", "postprocess", "write"}
    assert png_size(l["outputs"]["panoptic"]) == (l["height"], l["width"]), l
    seg = json.load(open(l["outputs"]["segments"], encoding="utf-8"))
    assert len(seg["segments_info"]) <= l["segments"]
    for s in seg["segments_info"]:
        assert s["area"] > 0 and s["id"] > 0 and 0.0 <= s["score"] <= 1.0 + 1e-6, s
run = json.load(open(os.path.join(sys.argv[2], "predictions.json"), encoding="utf-8"))
assert len(run["annotations"]) == len(ok), len(run["annotations"])
assert len(run["categories"]) == 5
PYEOF
one_h=$(python3 -c "import json;print(json.load(open('$tmp/out/a/one.json'))['height'])")
[ "$one_h" = 1 ] || fail "1x1 image output height $one_h"

# --- a folder without images: exit 2, named, nothing written ---------------
mkdir -p "$tmp/noimg/sub"
echo "just notes" >"$tmp/noimg/sub/readme.txt"
rc=0
predict "$tmp/noimg" -o "$tmp/noimg_out" >"$tmp/nl" 2>"$tmp/ne" || rc=$?
[ "$rc" -eq 2 ] || fail "folder without images: exit $rc, expected 2"
grep -q "noimg: no PNG or JPEG images" "$tmp/ne" || fail "folder without images not named: $(cat "$tmp/ne")"
[ "$(wc -l <"$tmp/ne")" -eq 1 ] || fail "folder without images: more than one line on stderr"
[ ! -e "$tmp/noimg_out/predictions.json" ] || fail "folder without images: predictions.json written"

# --- the output folder inside the input folder is never read as input ------
mkdir -p "$tmp/nest"
cp "$tmp/syn/images/synth_1000_000003.png" "$tmp/nest/n.png"
predict "$tmp/nest" -o "$tmp/nest/out" >/dev/null 2>&1 || fail "nested output folder: first run failed"
predict "$tmp/nest" -o "$tmp/nest/out" >"$tmp/nest_lines" 2>/dev/null || fail "nested output folder: second run failed"
[ "$(wc -l <"$tmp/nest_lines")" -eq 1 ] || fail "nested output folder read as input: $(cat "$tmp/nest_lines")"

# --- a long thin image whose test resize would need 196 M pixels: named ----
python3 - "$tmp/long.png" <<'PYEOF'
import struct, sys, zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3000, 1, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"\x00" + bytes([9, 99, 199]) * 3000)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PYEOF
rc=0
"$BIN" predict "$MODEL" --size 256 --max-size 0 --device cpu -q "$tmp/long.png" -o "$tmp/long_out" >/dev/null 2>"$tmp/le" || rc=$?
[ "$rc" -eq 1 ] || fail "3000x1 at --size 256: exit $rc, expected 1"
grep -q "long.png: 3000x1 image resized to 768000x256 for the network, over 64 M pixels" "$tmp/le" ||
    fail "oversized network input not named: $(cat "$tmp/le")"

# --- an empty list on stdin: exit 2, no output folder ----------------------
rc=0
predict - -o "$tmp/empty_list_out" </dev/null >/dev/null 2>"$tmp/ee" || rc=$?
[ "$rc" -eq 2 ] || fail "empty stdin list: exit $rc, expected 2"
[ ! -e "$tmp/empty_list_out" ] || fail "empty stdin list: output folder made"

# --- one stem in two folders: two image ids, which eval accepts -------------
mkdir -p "$tmp/stems/a" "$tmp/stems/b"
cp "$tmp/syn/images/synth_1000_000000.png" "$tmp/stems/a/x.png"
cp "$tmp/syn/images/synth_1000_000001.png" "$tmp/stems/b/x.png"
predict "$tmp/stems" -o "$tmp/stems_out" >/dev/null 2>&1 || fail "one stem in two folders: predict failed"
python3 -c "import json; ids=[a['image_id'] for a in json.load(open('$tmp/stems_out/predictions.json'))['annotations']]; assert sorted(ids)==['a/x','b/x'], ids" ||
    fail "image ids of a/x.png and b/x.png are not unique"

# --- -o at the input folder: the maps would replace the photos: refused -----
mkdir -p "$tmp/same"
cp "$tmp/syn/images/synth_1000_000000.png" "$tmp/same/p.png"
cp "$tmp/same/p.png" "$tmp/p_orig.png"
rc=0
predict "$tmp/same" -o "$tmp/same" >/dev/null 2>"$tmp/se" || rc=$?
[ "$rc" -eq 2 ] || fail "-o at the input folder: exit $rc, expected 2"
grep -q "would overwrite the input" "$tmp/se" || fail "input overwrite not named: $(cat "$tmp/se")"
cmp -s "$tmp/same/p.png" "$tmp/p_orig.png" || fail "-o at the input folder changed the input"

# --- output names that would collide: refused before anything is written ---
mkdir -p "$tmp/clash"
cp "$tmp/syn/images/synth_1000_000000.png" "$tmp/clash/x.png"
cp "$tmp/syn/images/synth_1000_000001.png" "$tmp/clash/x_sem.png"
rc=0
predict "$tmp/clash" -o "$tmp/clash_out" --semantic >/dev/null 2>"$tmp/ce" || rc=$?
[ "$rc" -eq 2 ] || fail "x.png + x_sem.png with --semantic: exit $rc, expected 2"
grep -q "x_sem.png' would both write 'x_sem.png'" "$tmp/ce" || fail "collision not named: $(cat "$tmp/ce")"
[ ! -e "$tmp/clash_out/x.png" ] || fail "collision: outputs written anyway"
predict "$tmp/clash" -o "$tmp/clash_out" >/dev/null 2>&1 || fail "x.png + x_sem.png without --semantic must run"
mkdir -p "$tmp/clash2"
cp "$tmp/syn/images/synth_1000_000000.png" "$tmp/clash2/predictions.png"
rc=0
predict "$tmp/clash2" -o "$tmp/clash2_out" >/dev/null 2>"$tmp/ce2" || rc=$?
[ "$rc" -eq 2 ] || fail "predictions.png: exit $rc, expected 2"
grep -q "would overwrite the run's 'predictions.json'" "$tmp/ce2" || fail "run file clash not named: $(cat "$tmp/ce2")"

# --- shards 0/2 and 1/2 into one folder cover every image exactly once, each
# with its own run file; a --resume run then gathers predictions.json -------
predict "$in" -o "$tmp/sh" --shard 0/2 >"$tmp/l0" 2>/dev/null || true
predict "$in" -o "$tmp/sh" --shard 1/2 >"$tmp/l1" 2>/dev/null || true
cat "$tmp/l0" "$tmp/l1" | python3 -c '
import json, sys
inputs = sorted(json.loads(l)["input"] for l in sys.stdin)
assert len(inputs) == len(set(inputs)) == 7, inputs' || fail "shards do not partition the inputs"
[ -s "$tmp/l0" ] && [ -s "$tmp/l1" ] || fail "a shard is empty"
[ ! -e "$tmp/sh/predictions.json" ] || fail "a shard wrote predictions.json"
predict "$in" -o "$tmp/sh" --resume >"$tmp/lm" 2>/dev/null || true
python3 - "$tmp/sh" "$tmp/lm" "${#good[@]}" <<'PYEOF' || fail "shard run files / merged predictions.json"
import json, os, sys
out, lines, good = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = [json.load(open(os.path.join(out, f"predictions.shard-{i}-of-2.json"))) for i in (0, 1)]
names = [a["file_name"] for r in runs for a in r["annotations"]]
assert len(names) == len(set(names)) == good, names
merged = json.load(open(os.path.join(out, "predictions.json")))
assert sorted(a["file_name"] for a in merged["annotations"]) == sorted(names)
assert all(json.loads(l)["status"] == "error" for l in open(lines)), "resume recomputed good images"
PYEOF

# --- a list on stdin --------------------------------------------------------
printf '%s\n%s\n' "$in/top.png" "$in/a/photo.jpg" | predict - -o "$tmp/stdin" >"$tmp/ls"
[ "$(wc -l <"$tmp/ls")" -eq 2 ] && [ -s "$tmp/stdin/top.png" ] && [ -s "$tmp/stdin/photo.json" ] \
    || fail "stdin list mode"

# --- SIGKILL mid-run, then --resume finishes the job -------------------------
"$BIN" synth -n 40 -o "$tmp/many" --seed 1001 --size 48x48
# Not through the predict() function: `func &` forks a subshell, so $! would be
# the subshell and kill -9 would leave panoptic running on beside --resume.
"$BIN" predict "$MODEL" --size 0 --device cpu --threads 2 -q "$tmp/many/images" -o "$tmp/k" \
    >"$tmp/lk" 2>/dev/null &
pid=$!
for _ in $(seq 200); do
    [ "$(wc -l <"$tmp/lk")" -ge 3 ] && break
    sleep 0.02
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
before=$(find "$tmp/k" -name '*.json' ! -name predictions.json | wc -l)
[ "$before" -lt 40 ] || fail "the run finished before it was killed; cannot test --resume"
predict "$tmp/many/images" -o "$tmp/k" --resume >"$tmp/lr"
resumed=$(wc -l <"$tmp/lr")
[ "$resumed" -eq $((40 - before)) ] || fail "--resume processed $resumed images, expected $((40 - before))"
[ "$(find "$tmp/k" -name 'synth_*.json' | wc -l)" -eq 40 ] || fail "--resume left images undone"
if find "$tmp/k" -name '*.tmp' | grep -q .; then fail "partial files left after --resume"; fi
python3 -c "import json; assert len(json.load(open('$tmp/k/predictions.json'))['annotations']) == 40" \
    || fail "predictions.json after --resume"
# damaged outputs are not complete: a truncated map and two broken JSONs are redone
head -c 100 "$tmp/k/synth_1001_000000.png" >"$tmp/k/t" && mv "$tmp/k/t" "$tmp/k/synth_1001_000000.png"
echo '{"bad' >"$tmp/k/synth_1001_000001.json"
echo '{}' >"$tmp/k/synth_1001_000002.json"
predict "$tmp/many/images" -o "$tmp/k" --resume >"$tmp/lr2"
[ "$(wc -l <"$tmp/lr2")" -eq 3 ] || fail "--resume redid $(wc -l <"$tmp/lr2") damaged images, expected 3"
python3 -c "import json; assert len(json.load(open('$tmp/k/predictions.json'))['annotations']) == 40" \
    || fail "predictions.json after redoing damaged outputs"

# --- --batch 4 gives the outputs of --batch 1 -------------------------------
# Sizes in name order A A B A A A A A C C B (A 40x56, B 48x64, C 80x112) and a
# zero-byte PNG in the middle: batches end at a size change, run full (4) and
# short, and a failed decode inside a batch is reported alone. At native size
# (--size 0) the three sizes stay apart; with --size 40, A (not resized) and C
# (resized to 40x56) share batches, so one batch mixes the fused and the
# full-size output paths. "4t3" is --batch 4 with three decode and three
# write threads (images then reach the network out of order), "4s2" --batch 4
# with two network threads, each with its own engine.
"$BIN" synth -n 6 -o "$tmp/bA" --seed 1002 --size 40x56
"$BIN" synth -n 2 -o "$tmp/bB" --seed 1003 --size 48x64
"$BIN" synth -n 2 -o "$tmp/bC" --seed 1004 --size 80x112
mkdir -p "$tmp/mixed"
declare -A seed=([A]=1002 [B]=1003 [C]=1004)
k=0
for src in A0 A1 B0 A2 A3 A4 A5 C0 C1 B1; do
    set=${src:0:1}
    cp "$tmp/b$set/images/synth_${seed[$set]}_00000${src:1}.png" "$tmp/mixed/img0$k.png"
    k=$((k + 1))
done
: >"$tmp/mixed/img04z.png"
for size in 0 40; do
    for b in 1 4 4t3 4s2; do
        case $b in
        4t3) extra=(--batch 4 --io-threads 3) ;;
        4s2) extra=(--batch 4 --streams 2 --threads 1) ;;
        *) extra=(--batch "$b") ;;
        esac
        rc=0
        predict "$tmp/mixed" -o "$tmp/batch${b}_$size" --size "$size" "${extra[@]}" \
            >"$tmp/lb$b" 2>"$tmp/eb$b" || rc=$?
        [ "$rc" -eq 1 ] || fail "--batch $b --size $size: exit $rc, expected 1 (one empty PNG)"
        grep -q "img04z.png" "$tmp/eb$b" || fail "--batch $b: the empty PNG is not named"
        [ "$(wc -l <"$tmp/lb$b")" -eq 11 ] || fail "--batch $b: $(wc -l <"$tmp/lb$b") JSON lines, expected 11"
    done
    for b in 4 4t3 4s2; do
    /usr/bin/python3 - "$tmp/batch1_$size" "$tmp/batch${b}_$size" <<'PYEOF' || fail "--batch $b differs from --batch 1 (--size $size)"
import json, sys
import numpy as np
from PIL import Image
one, four = sys.argv[1], sys.argv[2]
for k in range(10):
    name = "img0%d" % k
    a = np.asarray(Image.open("%s/%s.png" % (one, name)).convert("RGB"))
    b = np.asarray(Image.open("%s/%s.png" % (four, name)).convert("RGB"))
    assert a.shape == b.shape, (name, a.shape, b.shape)
    same = (a == b).all(axis=2).mean()
    assert same >= 0.999, (name, same)
    sa = json.load(open("%s/%s.json" % (one, name)))["segments_info"]
    sb = json.load(open("%s/%s.json" % (four, name)))["segments_info"]
    assert len(sa) == len(sb) and len(sa) > 0, (name, len(sa), len(sb))
assert len(json.load(open(four + "/predictions.json"))["annotations"]) == 10
PYEOF
    done
done

# --- usage and model errors: exit 2 -----------------------------------------
expect2() {
    local rc=0
    "$@" >/dev/null 2>"$tmp/e2" || rc=$?
    [ "$rc" -eq 2 ] || fail "$* exited $rc, expected 2"
    [ "$(wc -l <"$tmp/e2")" -ge 1 ] || fail "$*: no message"
}
expect2 "$BIN" predict "$MODEL" "$in"
expect2 "$BIN" predict "$MODEL" -o "$tmp/x"
expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --shard 2/2
expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --nms-kernel 4
for bad in 0 x 65 -1 2x; do
    expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --batch "$bad"
    grep -q -- "--batch" "$tmp/e2" || fail "--batch $bad: $(cat "$tmp/e2")"
done
for bad in 0 65 x; do
    expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --io-threads "$bad"
    grep -q -- "--io-threads" "$tmp/e2" || fail "--io-threads $bad: $(cat "$tmp/e2")"
done
for bad in 0 9 x; do
    expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --streams "$bad"
    grep -q -- "--streams" "$tmp/e2" || fail "--streams $bad: $(cat "$tmp/e2")"
done
expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --device gpu
expect2 "$BIN" predict "$tmp/none.safetensors" "$in" -o "$tmp/no_model_out"
grep -q "none.safetensors" "$tmp/e2" || fail "missing model not named"
[ ! -e "$tmp/no_model_out" ] || fail "a missing model left an output folder"
expect2 "$BIN" predict "$in/top.png" "$in" -o "$tmp/x"
cp "$in/top.png" "$tmp/top.png"
expect2 "$BIN" predict "$MODEL" "$in/top.png" "$tmp/top.png" -o "$tmp/x"
grep -q "would both write" "$tmp/e2" || fail "clashing output names not refused"
expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --device cuda
grep -q "no usable CUDA device" "$tmp/e2" || fail "--device cuda without a GPU: $(cat "$tmp/e2")"
expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --precision fp8
grep -q "bad precision 'fp8'" "$tmp/e2" || fail "--precision fp8: $(cat "$tmp/e2")"
expect2 "$BIN" predict "$MODEL" "$in" -o "$tmp/x" --device cpu --precision fp16
grep -q "fp16 needs a CUDA device" "$tmp/e2" || fail "--device cpu --precision fp16: $(cat "$tmp/e2")"

if [ "$fails" -ne 0 ]; then
    echo "predict.sh: $fails failure(s)" >&2
    exit 1
fi
echo "predict.sh: all passed"
