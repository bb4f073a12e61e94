#!/bin/sh
# make_reference.sh - regenerates tests/ref/data/ (reference models and per-stage tensors) with
# Debian's PyTorch. Deterministic: running it again must leave `git status tests/ref/data` clean.
set -eu
cd "$(dirname "$0")/../.."
rm -rf tests/ref/data
exec /usr/bin/python3 tests/ref/make_reference.py
