#!/bin/bash
# cuda_symbols.sh - libpanoptic_cuda.so runs its convolutions on cuDNN's graph
# (backend) API: its dynamic symbol table imports cudnnBackend* functions and
# none of the deprecated legacy convolution entry points, and every pdl_*
# symbol it needs is exported by build/panoptic. Skipped, saying
# why, where the library is not built (no nvcc, or a sanitizer build).
set -euo pipefail
BIN=${BIN:-build/panoptic}
LIB=$(dirname "$BIN")/libpanoptic_cuda.so
if [ ! -f "$LIB" ]; then
    echo "skipped: $LIB is not built (no nvcc, or a sanitizer build)"
    exit 0
fi
syms=$(nm -D --undefined-only "$LIB" | awk '{sub(/@.*/, "", $NF); print $NF}')
fails=0
for want in cudnnBackendCreateDescriptor cudnnBackendSetAttribute cudnnBackendFinalize \
    cudnnBackendExecute; do
    grep -qx "$want" <<<"$syms" || { echo "FAIL: $LIB does not import $want" >&2; fails=1; }
done
legacy=$(grep -E '^cudnn(ConvolutionForward|ConvolutionBiasActivationForward|FindConvolutionForwardAlgorithm.*|GetConvolutionForwardAlgorithm.*|GetConvolutionForwardWorkspaceSize|SetConvolution.*Descriptor|CreateConvolutionDescriptor|SetFilter.*Descriptor|SetTensor4dDescriptor.*)$' \
    <<<"$syms" || true)
if [ -n "$legacy" ]; then
    echo "FAIL: $LIB imports legacy cuDNN convolution API: $(echo $legacy)" >&2
    fails=1
fi
# The library's own pdl_* references resolve against the executable that
# loads it (linked with -rdynamic): each must be exported there, or dlopen
# fails on the machine with the GPU.
exported=$(nm -D --defined-only "$BIN" | awk '{print $NF}')
for sym in $(grep '^pdl_' <<<"$syms"); do
    grep -qx "$sym" <<<"$exported" || { echo "FAIL: $LIB needs $sym, which $BIN does not export" >&2; fails=1; }
done
[ "$fails" -eq 0 ] && echo "ok: $(grep -c '^cudnnBackend' <<<"$syms") cudnnBackend* imports, no legacy conv API"
exit "$fails"
