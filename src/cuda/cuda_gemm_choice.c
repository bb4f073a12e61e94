/* cuda_gemm_choice.c - see cuda_gemm_choice.h. */
#include "cuda_gemm_choice.h"

#include <string.h>

pdl_status pdl_cuda_gemm_mode_parse(const char *s, pdl_cuda_gemm_mode *mode, pdl_error *err)
{
    if (!s || !*s || !strcmp(s, "auto"))
        *mode = PDL_CUDA_GEMM_AUTO;
    else if (!strcmp(s, "cudnn"))
        *mode = PDL_CUDA_GEMM_CUDNN;
    else if (!strcmp(s, "cublas"))
        *mode = PDL_CUDA_GEMM_CUBLAS;
    else
        return pdl_fail(err, PDL_ERR_ARG,
                        "PANOPTIC_CUDA_GEMM: '%.64s' is not auto, cudnn or cublas", s);
    return PDL_OK;
}

bool pdl_cuda_gemm_candidate(const pdl_op *op)
{
    const pdl_conv *c = &op->conv;
    return op->kind == PDL_OP_CONV && c->kernel == 1 && c->stride == 1 && c->pad == 0 &&
           c->dilation == 1 && c->groups == 1;
}

bool pdl_cuda_gemm_wins(float cudnn_ms, float cublas_ms)
{
    /* written so that NaN compares false */
    if (!(cudnn_ms > 0.0f) || !(cublas_ms > 0.0f))
        return false;
    return cublas_ms < cudnn_ms * (1.0f - PDL_CUDA_GEMM_MARGIN) &&
           cudnn_ms - cublas_ms > PDL_CUDA_GEMM_MIN_GAIN_MS;
}
