#!/bin/bash
# tests/cli/cuda_kernels_exact.sh - the CUDA build of the kernels keeps the
# float arithmetic the panoptic map depends on bit-identical to the CPU
# executor's (kernels/pdl_kernel.h): no GPU needed, the PTX nvcc emits is
# read. Plain `a * b + c` in a kernel compiles to mul.f32 / add.f32 (or
# straight to fma.rn.f32), which ptxas may contract into one FMA with a single
# rounding, while the host rounds twice; pdl_fadd / pdl_fmul / ... compile to
# the .rn forms, which are never contracted. So every kernel entry must be
# free of fma.rn.f32 and of mul/add/sub.f32 without a rounding modifier (and
# of double FMAs), except where only a safety margin or a score depends on
# the result: the class-list pruning of pp_semantic's cells_kernel and the
# center-list pruning of pp_group's cells_kernel (margins far above rounding),
# and pp_paint (the map comes from integers there; only scores use floats).
# Skipped where nvcc is not found. Run by `make test`.
set -euo pipefail
NVCC=${NVCC:-$(command -v nvcc || true)}
[ -n "$NVCC" ] || NVCC=/usr/local/cuda/bin/nvcc
if [ ! -x "$NVCC" ]; then
    echo "cuda_kernels_exact.sh: skipped: no nvcc"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
for src in kernels/dense_normalize.cu kernels/dense_resize.cu kernels/dense_pool.cu \
    kernels/dense_copy.cu kernels/dense_planar.cu kernels/pp_semantic.cu kernels/pp_nms.cu \
    kernels/pp_topk.cu kernels/pp_group.cu; do
    ptx="$tmp/$(basename "$src" .cu).ptx"
    "$NVCC" -Isrc -Ikernels -D_GNU_SOURCE -std=c++17 -O3 -arch=compute_90 -ptx "$src" -o "$ptx"
    # one line per offending instruction: "<entry or func> <instruction>"
    found=$(awk '
        /^[.a-z ]*\.(entry|func)[ \t]/ { fn = $0 }
        /^[ \t]+(fma\.rn\.f32|fma\.rn\.f64|(mul|add|sub)\.f(32|64))[ \t]/ {
            if (fn !~ /cells_kernel/) print fn " :: " $1
        }' "$ptx")
    if [ -n "$found" ]; then
        echo "FAIL $src: contractible or fused float arithmetic in a kernel the map depends on:"
        echo "$found" | sort | uniq -c | head -20
        bad=1
    fi
done
[ "$bad" = 0 ] && echo "cuda_kernels_exact.sh: ok"
exit "$bad"
