/* cublas_conv1x1.h - a 1x1 conv over NHWC pixels as one cuBLASLt GEMM with the
 * bias (and ReLU) in the GEMM's epilogue. Used for the pooled ASPP branch,
 * whose input is a handful of pixels (one with global pooling): a GEMM with
 * N = pixels, not a convolution worth a cuDNN plan.
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
    const void *x;    /* [pixels][cin] */
    const void *w;    /* [cout][cin] (the conv's KRSC weights with R = S = 1) */
    const void *bias; /* [cout] */
    void *y;          /* [pixels][cout] */
} pdl_gemm_io;

/* y = (relu)(x w^T + bias), in the precision's storage type, float accumulation
 * (TF32 tensor cores allowed for PDL_PRECISION_TF32). */
pdl_status pdl_cublas_conv1x1(cublasLtHandle_t lt, pdl_precision precision, const pdl_gemm_io *io,
                              bool relu, void *workspace, size_t workspace_size,
                              cudaStream_t stream, pdl_error *err);

#endif
