#!/bin/bash
# tests/gpu/run.sh BUILD - builds and runs the GPU test suite (make test-gpu).
# The suite loads BUILD/libpanoptic_cuda.so with dlopen; where no CUDA device
# (or no library) is usable, each test prints "SKIPPED: no CUDA device (...)"
# and is reported as skipped, so this also passes on machines without a GPU.
set -euo pipefail
BUILD=${1:-build}
mkdir -p "$BUILD/tests"
cc -std=c11 -O2 -g -Wall -Wextra -Werror -fopenmp -D_GNU_SOURCE -Isrc -Ikernels -Itests \
    -rdynamic -o "$BUILD/tests/gpu_tests" tests/gpu/*.c tests/support/*.c "$BUILD/libpanoptic.a" \
    -lcriterion -lpng16 -ljpeg -ljansson -lexif -ldnnl -ldl -lm -lstdc++
PDL_GPU_TEST_LIB="$BUILD/libpanoptic_cuda.so" "$BUILD/tests/gpu_tests" --jobs 1
