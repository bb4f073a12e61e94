#!/bin/bash
# run.sh - `make bench`: runs every benchmark script in bench/ with the build
# directory as argument; each prints its own results.
set -euo pipefail
BUILD=${1:-build}
for s in bench/*.sh; do
    [ "$s" = bench/run.sh ] && continue
    echo "== $s"
    bash "$s" "$BUILD"
done
