/* cublas_conv1x1.c - see cublas_conv1x1.h. Row-major NHWC seen column-major:
 * Y (pixels x cout, row-major) is the cout x pixels column-major matrix
 * W^T-times-X with W stored cin x cout (column-major, ld cin), so the GEMM is
 * D[cout][pixels] = op_T(W) * X with the bias per row of D, which is what the
 * BIAS epilogues add. A residual R has Y's layout and comes in as C with
 * beta = 1: cuBLASLt applies the epilogue to alpha * AB + beta * C, so D =
 * relu(AB + R + bias), the order the model wants (sum, then ReLU).
 */
#include "cublas_conv1x1.h"

#include <stdint.h>
#include <string.h>

#include "cuda_check.h"

/* Heuristic results looked at: the first usable one is taken. */
#define PDL_GEMM_HEURISTICS 8

static pdl_status make_descs(pdl_gemm *g, pdl_precision precision, const pdl_gemm_io *io,
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
    g->residual = io->residual != NULL;
    return PDL_OK;
}

pdl_status pdl_gemm_describe(pdl_gemm *g, pdl_precision precision, const pdl_gemm_io *io,
                             bool relu, pdl_error *err)
{
    memset(g, 0, sizeof *g);
    pdl_status st = make_descs(g, precision, io, relu, err);
    if (st != PDL_OK)
        pdl_gemm_free(g);
    return st;
}

/* The largest power of two up to 256 that divides p's address: what the
 * heuristic may assume of a buffer. */
static uint32_t alignment(const void *p)
{
    uintptr_t a = (uintptr_t)p | 256;
    return (uint32_t)(a & -a);
}

static pdl_status set_prefs(cublasLtMatmulPreference_t pref, const pdl_gemm_io *io,
                            size_t workspace_size, pdl_error *err)
{
    uint64_t ws = workspace_size;
    const void *c = io->residual ? io->residual : io->y;
    uint32_t align[4] = {alignment(io->w), alignment(io->x), alignment(c), alignment(io->y)};
    const cublasLtMatmulPreferenceAttributes_t attr[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    PDL_CUBLAS(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    for (int i = 0; i < 4; i++)
        PDL_CUBLAS(cublasLtMatmulPreferenceSetAttribute(pref, attr[i], &align[i],
                                                        sizeof align[i]));
    return PDL_OK;
}

/* Whether algo may write D elsewhere than C (it must, with a residual). */
static bool out_of_place(const cublasLtMatmulAlgo_t *algo)
{
    int32_t yes = 0;
    size_t n;
    return cublasLtMatmulAlgoCapGetAttribute(algo, CUBLASLT_ALGO_CAP_OUT_OF_PLACE_RESULT_SUPPORT,
                                             &yes, sizeof yes, &n) == CUBLAS_STATUS_SUCCESS &&
           yes;
}

pdl_status pdl_gemm_plan(pdl_gemm *g, cublasLtHandle_t lt, const pdl_gemm_io *io,
                         size_t workspace_size, pdl_error *err)
{
    g->planned = false;
    cublasLtMatmulPreference_t pref;
    PDL_CUBLAS(cublasLtMatmulPreferenceCreate(&pref));
    pdl_status st = set_prefs(pref, io, workspace_size, err);
    cublasLtMatmulHeuristicResult_t results[PDL_GEMM_HEURISTICS];
    int count = 0;
    cublasStatus_t s = CUBLAS_STATUS_SUCCESS;
    if (st == PDL_OK)
        s = cublasLtMatmulAlgoGetHeuristic(lt, g->op, g->a, g->b, g->d, g->d, pref,
                                           PDL_GEMM_HEURISTICS, results, &count);
    cublasLtMatmulPreferenceDestroy(pref);
    if (st != PDL_OK)
        return st;
    /* a refusal (typically "not supported": no kernel for this shape and
     * alignment) means no algorithm; the conv still has its cuDNN plan */
    for (int i = 0; s == CUBLAS_STATUS_SUCCESS && i < count && !g->planned; i++)
        if (results[i].state == CUBLAS_STATUS_SUCCESS &&
            (!g->residual || out_of_place(&results[i].algo))) {
            g->algo = results[i].algo;
            g->planned = true;
        }
    return PDL_OK;
}

pdl_status pdl_gemm_run(const pdl_gemm *g, cublasLtHandle_t lt, const pdl_gemm_io *io,
                        void *workspace, size_t workspace_size, cudaStream_t stream,
                        pdl_error *err)
{
    const float alpha = 1.0f, beta = g->residual ? 1.0f : 0.0f;
    const void *c = g->residual ? io->residual : io->y;
    PDL_CUBLAS(cublasLtMatmul(lt, g->op, &alpha, io->w, g->a, io->x, g->b, &beta, c, g->d, io->y,
                              g->d, &g->algo, workspace, workspace_size,
                              stream));
    return PDL_OK;
}

void pdl_gemm_free(pdl_gemm *g)
{
    if (g->d)
        cublasLtMatrixLayoutDestroy(g->d);
    if (g->b)
        cublasLtMatrixLayoutDestroy(g->b);
    if (g->a)
        cublasLtMatrixLayoutDestroy(g->a);
    if (g->op)
        cublasLtMatmulDescDestroy(g->op);
    memset(g, 0, sizeof *g);
}
