/* test_cuda_gemm.c - the host half of the CUDA backend's 1x1-conv GEMMs:
 * which convs of real models are GEMM candidates (the expected list derived
 * here from Detectron2's layer names and the architecture, not from the conv
 * fields the predicate reads), the cuBLAS-or-cuDNN decision on measured
 * times, PANOPTIC_CUDA_GEMM parsing, and the cuBLASLt matmul descriptor and
 * matrix layouts (created without a GPU): read back and interpreted by
 * cuBLASLt's documented semantics (column-major, D = epilogue(alpha op(A)
 * op(B) + beta C), the epilogue adding the bias per row of D, then ReLU) on
 * random data, they must compute the NHWC conv y = relu(x w^T + bias +
 * residual) of a direct loop. The heuristic and the matmul itself need a GPU
 * (cublasLtCreate fails without one): tests/gpu/test_gpu_gemm.c.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cublas_conv1x1.h"
#include "cuda_gemm_choice.h"
#include "cuda_internal.h"
#include "support/tsup_cuda.h"
#include "rng.h"
#include "safetensors.h"

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

static bool starts_with(const char *s, const char *head)
{
    return !strncmp(s, head, strlen(head));
}

/* The convs of D2's Panoptic-DeepLab that are 1x1, stride 1, by name: in a
 * bottleneck backbone conv1 and conv3 of every block (the stride is in the
 * 3x3), the shortcut of res2 (no stride) and, with a dilated res5, of res5;
 * in the heads the ASPP 1x1 (convs.0), the pooled branch's conv (convs.4.1),
 * the ASPP projection, the decoder projections, every dsconv's pointwise
 * half and the predictors. */
static bool expected_candidate(const char *name, bool bottleneck, bool dilated_res5)
{
    if (starts_with(name, "backbone.res"))
        return (bottleneck && (ends_with(name, ".conv1") || ends_with(name, ".conv3"))) ||
               !strcmp(name, "backbone.res2.0.shortcut") ||
               (dilated_res5 && !strcmp(name, "backbone.res5.0.shortcut"));
    if (starts_with(name, "backbone."))
        return false; /* the stem: 3x3 and 7x7 */
    return ends_with(name, ".convs.0") || ends_with(name, ".convs.4.1") ||
           ends_with(name, ".project") || ends_with(name, ".project_conv") ||
           ends_with(name, ".pointwise") || ends_with(name, "predictor");
}

/* Checks pdl_cuda_gemm_candidate over cfg's convs against the name rule and
 * describes every candidate's GEMM (FP16, batch 1, h x w); returns the count. */
static int check_candidates(const pdl_config *cfg, bool bottleneck, bool dilated_res5, int h,
                            int w)
{
    pdl_model m;
    pdl_shape *shapes = tsup_cuda_model_shapes(cfg, h, w, &m);
    pdl_error err;
    int count = 0;
    for (int i = 0; i < m.nops; i++) {
        const pdl_op *op = &m.ops[i];
        bool got = pdl_cuda_gemm_candidate(op);
        if (op->kind != PDL_OP_CONV) {
            cr_expect_not(got, "op %d (not a conv) is a GEMM candidate", i);
            continue;
        }
        const char *name = op->conv.name;
        cr_expect_eq(got, expected_candidate(name, bottleneck, dilated_res5),
                     "%s: %s a GEMM candidate", name, got ? "wrongly" : "not");
        if (!got)
            continue;
        count++;
        pdl_shape in = shapes[op->in[0]];
        char *base = (char *)(uintptr_t)4096; /* never dereferenced on the host */
        pdl_gemm_io io = {.pixels = (long)in.h * in.w, .cin = pdl_cuda_conv_cin(op),
                          .cout = op->conv.cout, .x = base, .w = base + 256,
                          .bias = base + 512,
                          .residual = op->conv.residual >= 0 ? base + 768 : NULL,
                          .y = base + 1024};
        pdl_gemm g;
        cr_expect_eq(pdl_gemm_describe(&g, PDL_PRECISION_FP16, &io, op->conv.relu, &err), PDL_OK,
                     "%s: %s", name, err.msg);
        cr_expect_eq(g.residual, op->conv.residual >= 0, "%s", name);
        cr_expect_not(g.planned, "%s: planned without a handle", name);
        pdl_gemm_free(&g);
    }
    free(shapes);
    pdl_model_free(&m);
    return count;
}

/* R52: 16 bottlenecks x (conv1, conv3) = 32, + shortcuts of res2 and the
 * dilated res5 = 34 in the backbone; per head ASPP 1x1 + 3 pointwise +
 * pooled + projection = 6, two decoder projections, two fuse pointwise: 10,
 * x 2 heads = 20; semantic head pointwise + predictor, center predictor,
 * offset head pointwise + predictor = 5. 34 + 20 + 5 = 59 (of 61 1x1 convs:
 * the res3 and res4 shortcuts have stride 2). */
Test(cuda_gemm, candidates_cityscapes_r52_dsconv)
{
    pdl_config cfg;
    tsup_cuda_config_from_json("tests/cuda/data/cityscapes-r52-dsconv.json", &cfg);
    cr_expect_eq(check_candidates(&cfg, true, true, 1024, 2048), 59);
}

/* The demo model: basic blocks (3x3 convs only), res5 not dilated (its
 * shortcut has stride 2): res2's shortcut; 20 in the heads as above; 5
 * head convs: 26. */
Test(cuda_gemm, candidates_demo_model)
{
    pdl_weights wt;
    pdl_error err;
    cr_assert_eq(pdl_weights_open("weights/demo.safetensors", &wt, &err), PDL_OK, "%s", err.msg);
    cr_expect_eq(check_candidates(&wt.config, false, false, 301, 433), 26);
    pdl_weights_close(&wt);
}

Test(cuda_gemm, decision)
{
    /* clearly faster: cuBLASLt */
    cr_expect(pdl_cuda_gemm_wins(0.100f, 0.050f));
    cr_expect(pdl_cuda_gemm_wins(1.0f, 0.90f));
    /* ties, noise (under 5 %), slower: cuDNN */
    cr_expect_not(pdl_cuda_gemm_wins(0.100f, 0.100f));
    cr_expect_not(pdl_cuda_gemm_wins(0.100f, 0.097f));
    cr_expect_not(pdl_cuda_gemm_wins(0.100f, 0.120f));
    /* 15 % faster but 1.5 us: within event timing noise, cuDNN */
    cr_expect_not(pdl_cuda_gemm_wins(0.010f, 0.0085f));
    cr_expect(pdl_cuda_gemm_wins(0.010f, 0.007f));
    /* a failed or absurd measurement never moves a conv */
    cr_expect_not(pdl_cuda_gemm_wins(NAN, 0.01f));
    cr_expect_not(pdl_cuda_gemm_wins(0.1f, NAN));
    cr_expect_not(pdl_cuda_gemm_wins(0.1f, 0.0f));
    cr_expect_not(pdl_cuda_gemm_wins(0.1f, -1.0f));
    cr_expect_not(pdl_cuda_gemm_wins(-0.1f, 0.01f));
    cr_expect_not(pdl_cuda_gemm_wins(0.1f, INFINITY));
}

Test(cuda_gemm, mode_parse)
{
    pdl_cuda_gemm_mode mode;
    pdl_error err;
    const char *names[] = {NULL, "", "auto", "cudnn", "cublas"};
    const pdl_cuda_gemm_mode want[] = {PDL_CUDA_GEMM_AUTO, PDL_CUDA_GEMM_AUTO, PDL_CUDA_GEMM_AUTO,
                                       PDL_CUDA_GEMM_CUDNN, PDL_CUDA_GEMM_CUBLAS};
    for (int i = 0; i < 5; i++) {
        mode = (pdl_cuda_gemm_mode)-1;
        cr_expect_eq(pdl_cuda_gemm_mode_parse(names[i], &mode, &err), PDL_OK, "%s", err.msg);
        cr_expect_eq(mode, want[i], "'%s'", names[i] ? names[i] : "(null)");
    }
    const char *bad[] = {"CUBLAS", "gpu", "cudnn "};
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(pdl_cuda_gemm_mode_parse(bad[i], &mode, &err), PDL_ERR_ARG, "'%s'", bad[i]);
        cr_expect(strstr(err.msg, "PANOPTIC_CUDA_GEMM") && strstr(err.msg, bad[i]), "%s",
                  err.msg);
    }
}

/* A matrix layout as cuBLASLt holds it. */
typedef struct layout {
    uint32_t type;
    int32_t order;
    uint64_t rows, cols;
    int64_t ld;
} layout;

static layout read_layout(cublasLtMatrixLayout_t l)
{
    layout r = {0};
    size_t n;
    cr_assert_eq(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_TYPE, &r.type,
                                                  sizeof r.type, &n), CUBLAS_STATUS_SUCCESS);
    cr_assert_eq(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &r.order,
                                                  sizeof r.order, &n), CUBLAS_STATUS_SUCCESS);
    cr_assert_eq(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &r.rows,
                                                  sizeof r.rows, &n), CUBLAS_STATUS_SUCCESS);
    cr_assert_eq(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_COLS, &r.cols,
                                                  sizeof r.cols, &n), CUBLAS_STATUS_SUCCESS);
    cr_assert_eq(cublasLtMatrixLayoutGetAttribute(l, CUBLASLT_MATRIX_LAYOUT_LD, &r.ld,
                                                  sizeof r.ld, &n), CUBLAS_STATUS_SUCCESS);
    return r;
}

static void read_desc(cublasLtMatmulDesc_t op, cublasLtMatmulDescAttributes_t attr, void *v,
                      size_t size)
{
    size_t n;
    cr_assert_eq(cublasLtMatmulDescGetAttribute(op, attr, v, size, &n), CUBLAS_STATUS_SUCCESS,
                 "attribute %d", (int)attr);
}

/* element (r, c) of a column-major matrix, op(M) when transposed */
static float at(const float *m, const layout *l, bool trans, uint64_t r, uint64_t c)
{
    return trans ? m[c + r * l->ld] : m[r + c * l->ld];
}

/* D from g's descriptors the way cuBLASLt defines the matmul; buffers are
 * float (the storage type only changes the element size). */
static void lt_reference(const pdl_gemm *g, const float *a, const float *b, const float *c,
                         const float *bias, float beta, float *d)
{
    layout la = read_layout(g->a), lb = read_layout(g->b), ld = read_layout(g->d);
    int32_t transa = 0, transb = 0;
    uint32_t epilogue = 0;
    read_desc(g->op, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof transa);
    read_desc(g->op, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof transb);
    read_desc(g->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue);
    cr_assert(la.order == CUBLASLT_ORDER_COL && lb.order == CUBLASLT_ORDER_COL &&
              ld.order == CUBLASLT_ORDER_COL);
    bool ta = transa == CUBLAS_OP_T, tb = transb == CUBLAS_OP_T;
    uint64_t m = ta ? la.cols : la.rows, k = ta ? la.rows : la.cols;
    uint64_t kb = tb ? lb.cols : lb.rows, n = tb ? lb.rows : lb.cols;
    cr_assert_eq(k, kb, "inner dimensions %lu and %lu", (unsigned long)k, (unsigned long)kb);
    cr_assert(ld.rows == m && ld.cols == n, "D is %lux%lu, op(A) op(B) %lux%lu",
              (unsigned long)ld.rows, (unsigned long)ld.cols, (unsigned long)m,
              (unsigned long)n);
    cr_assert(la.ld >= (int64_t)la.rows && lb.ld >= (int64_t)lb.rows &&
              ld.ld >= (int64_t)ld.rows);
    cr_assert(epilogue == CUBLASLT_EPILOGUE_BIAS || epilogue == CUBLASLT_EPILOGUE_RELU_BIAS);
    for (uint64_t j = 0; j < n; j++)
        for (uint64_t i = 0; i < m; i++) {
            double s = 0;
            for (uint64_t p = 0; p < k; p++)
                s += (double)at(a, &la, ta, i, p) * at(b, &lb, tb, p, j);
            float v = (float)s + beta * c[i + j * ld.ld] + bias[i];
            d[i + j * ld.ld] = epilogue == CUBLASLT_EPILOGUE_RELU_BIAS && v < 0 ? 0 : v;
        }
}

static void check_gemm_semantics(pdl_precision precision, bool relu, bool residual)
{
    enum { PIX = 37, CIN = 24, COUT = 16 };
    static float x[PIX * CIN], w[COUT * CIN], bias[COUT], r[PIX * COUT], y[PIX * COUT],
        want[PIX * COUT];
    pdl_rng rng;
    pdl_rng_seed(&rng, 11, (uint64_t)(relu + 2 * residual + 4 * precision));
    for (int i = 0; i < PIX * CIN; i++)
        x[i] = (float)pdl_rng_range(&rng, -1, 1);
    for (int i = 0; i < COUT * CIN; i++)
        w[i] = (float)pdl_rng_range(&rng, -1, 1);
    for (int i = 0; i < COUT; i++)
        bias[i] = (float)pdl_rng_range(&rng, -0.5, 0.5);
    for (int i = 0; i < PIX * COUT; i++)
        r[i] = (float)pdl_rng_range(&rng, -1, 1);
    /* the conv, NHWC: x [pixels][cin], w [cout][cin] (KRSC, 1x1) */
    for (int p = 0; p < PIX; p++)
        for (int o = 0; o < COUT; o++) {
            double s = bias[o] + (residual ? r[p * COUT + o] : 0);
            for (int c = 0; c < CIN; c++)
                s += (double)x[p * CIN + c] * w[o * CIN + c];
            want[p * COUT + o] = relu && s < 0 ? 0 : (float)s;
        }
    pdl_gemm_io io = {.pixels = PIX, .cin = CIN, .cout = COUT, .x = x, .w = w, .bias = bias,
                      .residual = residual ? r : NULL, .y = y};
    pdl_gemm g;
    pdl_error err;
    cr_assert_eq(pdl_gemm_describe(&g, precision, &io, relu, &err), PDL_OK, "%s", err.msg);
    const void *bias_ptr = NULL;
    read_desc(g.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_ptr, sizeof bias_ptr);
    cr_expect_eq(bias_ptr, (const void *)bias);
    int32_t compute = 0;
    read_desc(g.op, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, &compute, sizeof compute);
    cr_expect_eq(compute, precision == PDL_PRECISION_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                          : CUBLAS_COMPUTE_32F);
    uint32_t want_type = precision == PDL_PRECISION_FP16 ? CUDA_R_16F : CUDA_R_32F;
    cr_expect(read_layout(g.a).type == want_type && read_layout(g.b).type == want_type &&
              read_layout(g.d).type == want_type);
    cr_expect_eq(g.residual, residual);
    /* the run's convention: C = residual with beta 1, else beta 0 */
    lt_reference(&g, w, x, residual ? r : y, bias, residual ? 1.0f : 0.0f, y);
    for (int i = 0; i < PIX * COUT; i++)
        cr_assert(fabsf(y[i] - want[i]) <= 1e-5f * (1 + fabsf(want[i])),
                  "%s relu %d residual %d: element %d: %g, want %g",
                  pdl_precision_name(precision), relu, residual, i, y[i], want[i]);
    pdl_gemm_free(&g);
    cr_expect(!g.op && !g.a && !g.b && !g.d);
}

Test(cuda_gemm, descriptors_compute_the_conv)
{
    for (int p = 0; p < 3; p++)
        for (int relu = 0; relu < 2; relu++)
            for (int residual = 0; residual < 2; residual++)
                check_gemm_semantics((pdl_precision)p, relu, residual);
}
