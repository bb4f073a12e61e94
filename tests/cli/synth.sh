#!/usr/bin/env bash
# synth.sh - `panoptic synth`: usage errors, determinism by seed, output layout.
set -euo pipefail
BIN=${BIN:-build/panoptic}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN" synth --help | grep -q "usage: panoptic synth" || fail "--help"
set +e
"$BIN" synth -o "$tmp/x" 2>"$tmp/err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "missing -n: exit $rc"
grep -q "required" "$tmp/err" || fail "missing -n: message"
set +e
"$BIN" synth -n 2 -o "$tmp/x" --size 12by12 2>"$tmp/err"; rc=$?
set -e
[ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "bad size: exit $rc"
for bad in "-o '' -n 1" "-o $tmp/y -n 1 --size 1x300" "-o $tmp/y -n 1 -s 99999999999999999999999"; do
    set +e
    eval "\"\$BIN\" synth $bad" 2>"$tmp/err"; rc=$?
    set -e
    [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "synth $bad: exit $rc, $(cat "$tmp/err")"
done
[ ! -e "$tmp/y" ] || fail "a refused synth created its folder"

"$BIN" synth -n 3 -o "$tmp/a" --seed 5 --size 40x56
"$BIN" synth -n 3 -o "$tmp/b" --seed 5 --size 40x56
"$BIN" synth -n 3 -o "$tmp/c" --seed 6 --size 40x56
diff -r "$tmp/a" "$tmp/b" >/dev/null || fail "same seed gave different datasets"
if diff -r "$tmp/a" "$tmp/c" >/dev/null; then fail "different seeds gave the same dataset"; fi
[ "$(ls "$tmp/a/images" | wc -l)" -eq 3 ] || fail "image count"
[ "$(ls "$tmp/a/panoptic" | wc -l)" -eq 3 ] || fail "panoptic count"
if ls "$tmp/a" "$tmp/a/images" | grep -q '\.tmp$'; then fail "temporary files left"; fi

touch "$tmp/file"
set +e
"$BIN" synth -n 1 -o "$tmp/file" 2>"$tmp/err"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "$tmp/file" "$tmp/err" || fail "output path is a file: exit $rc"
echo "synth.sh: ok"
