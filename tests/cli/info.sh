#!/bin/bash
# info.sh - `panoptic --help/--version` and `panoptic info` on the small
# reference model, plus every bad-input path (broken files made from the model
# written by tests/support/make_tiny_model.py): exit codes, one-line errors naming the
# file, nothing on stdout when failing.
set -euo pipefail
BIN=${BIN:-build/panoptic}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# run EXPECTED_RC ARGS...: runs $BIN, keeps stdout/stderr in $tmp/out, $tmp/err.
run() {
    local want=$1 rc=0
    shift
    "$BIN" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq "$want" ] || fail "panoptic $* exited $rc, expected $want: $(cat "$tmp/err")"
}
has() { grep -qF -- "$2" "$tmp/$1" || fail "$1 of the last command lacks '$2'"; }
one_line_error() {
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "stderr is not one line: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "stdout not empty on error"
    has err "$1"
}

run 0 --help
has out "usage: panoptic"
has out "info"
run 0 --version
grep -qE '^panoptic [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "--version: $(cat "$tmp/out")"
run 0 info --help
has out "usage: panoptic info MODEL [--size HxW] [--json]"
[ ! -s "$tmp/err" ] || fail "info --help wrote to stderr"

# A complete model (the reference helper's small R-18) prints its config;
# the learnable-parameter count is recomputed here from the raw header.
model=tests/ref/data/small.safetensors
params=$("$PY" - "$model" <<'PYEOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
total = 0
for name, t in head.items():
    if name == "__metadata__" or name.endswith(("running_mean", "running_var")):
        continue
    k = 1
    for d in t["shape"]:
        k *= d
    total += k
print(total)
PYEOF
)
run 0 info "$model"
has out "test-small-r18"
has out "ResNet-18, basic stem 8 ch, res2 8 ch"
has out "global pooling"
has out "mean [123.675, 116.28, 103.53], std [58.395, 57.12, 57.375]"
has out "NMS kernel 7, top-k 200, stuff area 2048, label divisor 1000"
has out "parameters      $params "
has out "the file holds 250 tensors"
grep -qE '^GFLOPs +[0-9]+\.[0-9] at 1024x2048$' "$tmp/out" || fail "GFLOPs line"
has out "classes         5 (2 things, 3 stuff)"

run 0 info --json --size 512x1024 "$model"
"$PY" - "$tmp/out" "$params" "$model" <<'PYEOF' || fail "info --json content"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["file"] == sys.argv[3], doc["file"]
assert doc["parameters"] == int(sys.argv[2]), doc["parameters"]
assert doc["tensors"] == 250 and doc["size"] == [512, 1024] and doc["gflops"] > 0
c = doc["config"]
assert c["format"] == "panoptic-deeplab/1" and c["backbone"]["depth"] == 18
assert c["ins_embed_head"]["aspp_pooling"] == "global"
PYEOF
run 0 info "$model" -s 64x32    # options after MODEL work too
has out "at 64x32"

# A structurally valid file whose tensors do not cover its config: exit 2,
# one line naming the file and the first missing tensor.
tiny="$tmp/tiny.safetensors"
"$PY" tests/support/make_tiny_model.py "$tiny" >/dev/null
run 2 info "$tiny"
one_line_error "$tiny: tensor"
has err "missing"

# usage errors: exit 2, one line, a hint
run 2 info
one_line_error "panoptic info: missing MODEL (see 'panoptic info --help')"
run 2 info "$model" "$model"
one_line_error "unexpected argument"
run 2 info --bogus "$model"
one_line_error "unknown option '--bogus'"
run 2 info -x "$model"
one_line_error "unknown option '-x'"
run 2 info "$model" --size
one_line_error "option '--size' needs a value"
for bad in 0x10 10x 10 axb 10x20x 16385x2 -4x4; do
    run 2 info --size "$bad" "$model"
    one_line_error "invalid --size '$bad'"
done
run 2 frobnicate
has err "unknown command 'frobnicate'"

# bad models: exit 2, one line naming the file
run 2 info "$tmp/none.safetensors"
one_line_error "$tmp/none.safetensors: cannot open: No such file or directory"
run 2 info "$tmp"
one_line_error "$tmp: not a regular file (a directory)"
: >"$tmp/empty.safetensors"
run 2 info "$tmp/empty.safetensors"
one_line_error "$tmp/empty.safetensors: empty file"
head -c 100 "$tiny" >"$tmp/trunc.safetensors"
run 2 info "$tmp/trunc.safetensors"
one_line_error "$tmp/trunc.safetensors: truncated"
size=$(stat -c %s "$tiny")
head -c $((size - 3)) "$tiny" >"$tmp/short.safetensors"
run 2 info "$tmp/short.safetensors"
one_line_error "beyond the data area"
printf 'not a model at all, just text\n' >"$tmp/text.safetensors"
run 2 info "$tmp/text.safetensors"
one_line_error "$tmp/text.safetensors: header length"

# a lost stdout is an error, not a success
rc=0
"$BIN" --version >/dev/full 2>"$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || fail "--version >/dev/full exited $rc, expected 2"
has err "standard output: write error"

if [ "$fails" -ne 0 ]; then
    echo "info.sh: $fails failure(s)" >&2
    exit 1
fi
echo "info.sh: all passed"
