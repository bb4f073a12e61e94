/* cublas_conv1x1.c - see cublas_conv1x1.h. Row-major NHWC seen column-major:
 * Y (pixels x cout, row-major) is the cout x pixels column-major matrix
 * W^T-times-X with W stored cin x cout (column-major, ld cin), so the GEMM is
 * D[cout][pixels] = op_T(W) * X with the bias per row of D, which is what the
 * BIAS epilogues add.
 */
#include "cublas_conv1x1.h"

#include "cuda_check.h"

typedef struct gemm_descs {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, d;
} gemm_descs;

static pdl_status make_descs(gemm_descs *g, pdl_precision precision, const pdl_gemm_io *io,
                             bool relu, pdl_error *err)
{
    cudaDataType_t type = precision == PDL_PRECISION_FP16 ? CUDA_R_16F : CUDA_R_32F;
    cublasComputeType_t compute =
        precision == PDL_PRECISION_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    cublasOperation_t transa = CUBLAS_OP_T;
    cublasLtEpilogue_t epilogue = relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    PDL_CUBLAS(cublasLtMatmulDescCreate(&g->op, compute, CUDA_R_32F));
    PDL_CUBLAS(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSA, &transa,
                                              sizeof transa));
    PDL_CUBLAS(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                              sizeof epilogue));
    PDL_CUBLAS(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &io->bias,
                                              sizeof io->bias));
    PDL_CUBLAS(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &type,
                                              sizeof type));
    PDL_CUBLAS(cublasLtMatrixLayoutCreate(&g->a, type, io->cin, io->cout, io->cin));
    PDL_CUBLAS(cublasLtMatrixLayoutCreate(&g->b, type, io->cin, io->pixels, io->cin));
    PDL_CUBLAS(cublasLtMatrixLayoutCreate(&g->d, type, io->cout, io->pixels, io->cout));
    return PDL_OK;
}

static void free_descs(gemm_descs *g)
{
    if (g->d)
        cublasLtMatrixLayoutDestroy(g->d);
    if (g->b)
        cublasLtMatrixLayoutDestroy(g->b);
    if (g->a)
        cublasLtMatrixLayoutDestroy(g->a);
    if (g->op)
        cublasLtMatmulDescDestroy(g->op);
}

static pdl_status matmul(cublasLtHandle_t lt, const gemm_descs *g, const pdl_gemm_io *io,
                         void *workspace, size_t workspace_size, cudaStream_t stream,
                         pdl_error *err)
{
    const float alpha = 1.0f, beta = 0.0f;
    PDL_CUBLAS(cublasLtMatmul(lt, g->op, &alpha, io->w, g->a, io->x, g->b, &beta, io->y, g->d,
                              io->y, g->d, NULL, workspace, workspace_size, stream));
    return PDL_OK;
}

pdl_status pdl_cublas_conv1x1(cublasLtHandle_t lt, pdl_precision precision, const pdl_gemm_io *io,
                              bool relu, void *workspace, size_t workspace_size,
                              cudaStream_t stream, pdl_error *err)
{
    gemm_descs g = {0};
    pdl_status st = make_descs(&g, precision, io, relu, err);
    if (st == PDL_OK)
        st = matmul(lt, &g, io, workspace, workspace_size, stream, err);
    free_descs(&g);
    return st;
}
