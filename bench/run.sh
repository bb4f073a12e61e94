#!/bin/bash
# run.sh - `make bench`: every benchmark script of bench/ in sequence, each
# given the build directory; a script whose prerequisites are missing says so
# and is skipped, a failing one is counted and the rest still run. Each prints
# its own results; bench/RESULTS.md records them by hand, with the machine.
#
#   bash bench/run.sh [BUILD]   (THREADS etc. pass through to the scripts)
set -u
BUILD=${1:-build}
failed=0
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in bench/*.sh; do
    [ "$s" = bench/run.sh ] && continue
    echo; echo "== $s"
    bash "$s" "$BUILD" || { echo "-- FAILED: $s"; failed=$((failed + 1)); }
done
echo
[ "$failed" -eq 0 ] && echo "bench: all done" || echo "bench: $failed script(s) failed"
exit $((failed > 0))
