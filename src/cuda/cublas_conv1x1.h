/* cublas_conv1x1.h - a 1x1 conv (stride 1, no padding, one group) over NHWC
 * pixels as one cuBLASLt GEMM, with the bias and ReLU in the GEMM's epilogue
 * and a residual as its C matrix (beta = 1). Used for the pooled ASPP
 * branch's conv and for every other such conv where the per-net autotune
 * (cuda_tune.c) measured it faster than the conv's cuDNN plan.
 *
 * Split like the cuDNN layers by what needs a GPU: pdl_gemm_describe builds
 * the matmul descriptor and matrix layouts on the host (the CUDA-less tests
 * check them); pdl_gemm_plan asks the handle's heuristic for an algorithm,
 * which needs the device; pdl_gemm_run queues the matmul.
 */
#ifndef PDL_CUBLAS_CONV1X1_H
#define PDL_CUBLAS_CONV1X1_H

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <stdbool.h>

#include "backend.h"
#include "status.h"

typedef struct pdl_gemm_io {
    long pixels;
    int cin, cout;
    const void *x;        /* [pixels][cin] */
    const void *w;        /* [cout][cin] (the conv's KRSC weights with R = S = 1) */
    const void *bias;     /* [cout] */
    const void *residual; /* [pixels][cout], added before the ReLU; NULL for none */
    void *y;              /* [pixels][cout] */
} pdl_gemm_io;

/* One conv's GEMM: y = (relu)(x w^T + residual + bias) in the precision's
 * storage type, float accumulation (TF32 tensor cores allowed for
 * PDL_PRECISION_TF32). Column-major, as cuBLASLt sees it: A = w (cin x cout,
 * transposed), B = x (cin x pixels), C = residual and D = y (cout x pixels). */
typedef struct pdl_gemm {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, d;
    bool residual;
    bool planned;               /* algo is set */
    cublasLtMatmulAlgo_t algo;
} pdl_gemm;

/* The descriptors for io's shapes (and its bias pointer, which the
 * descriptor holds); no GPU needed. On failure *g is left empty. */
pdl_status pdl_gemm_describe(pdl_gemm *g, pdl_precision precision, const pdl_gemm_io *io,
                             bool relu, pdl_error *err);

/* Picks the heuristic's first algorithm for io's pointers' alignment and at
 * most workspace_size bytes of workspace (with a residual, the first that can
 * write D apart from C), and sets g->planned. When it has
 * none for this shape or refuses it, g stays unplanned and this still
 * returns PDL_OK: the caller keeps the conv on cuDNN. */
pdl_status pdl_gemm_plan(pdl_gemm *g, cublasLtHandle_t lt, const pdl_gemm_io *io,
                         size_t workspace_size, pdl_error *err);

/* Queues the matmul with the planned algorithm (g must be planned) on io's
 * pointers (those it was planned with, or as aligned). */
pdl_status pdl_gemm_run(const pdl_gemm *g, cublasLtHandle_t lt, const pdl_gemm_io *io,
                        void *workspace, size_t workspace_size, cudaStream_t stream,
                        pdl_error *err);

void pdl_gemm_free(pdl_gemm *g);

#endif
