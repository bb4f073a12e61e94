/* test_gpu_gemm.c - the CUDA backend's 1x1 convs give the same outputs
 * whether they run as cuBLASLt GEMMs or as cuDNN graphs. Each net is run with
 * PANOPTIC_CUDA_GEMM=cudnn (no GEMMs), =cublas (every candidate the
 * heuristic can do) and =auto (the timed choice); the head outputs must agree
 * with the cuDNN run within the precision's tolerance (FP32: the same sums in
 * another order; FP16: half storage between layers), and the backend stats
 * must show the convs went where they were sent. Nets: the demo model on an
 * example image, and a small graph whose 1x1 convs have ReLU, none, and a
 * residual (the demo model has no residual 1x1: cuBLASLt's C input with beta
 * = 1). Without a usable device the tests say so and are skipped.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "model.h"
#include "safetensors.h"
#include "support/tsup_net.h"

typedef struct heads_run {
    float *heads; /* sem logits, center, offset as run() returns them */
    size_t n;
    int gemm_convs;
} heads_run;

/* Runs m on the h x w RGB image on the CUDA backend with PANOPTIC_CUDA_GEMM
 * = mode; skips the test where there is no usable device. */
static heads_run run_mode(const pdl_model *m, pdl_precision precision, const char *mode,
                          const uint8_t *rgb, int h, int w)
{
    const char *lib = getenv("PDL_GPU_TEST_LIB");
    setenv("PANOPTIC_CUDA_LIB", lib && *lib ? lib : "build/libpanoptic_cuda.so", 1);
    setenv("PANOPTIC_CUDA_GEMM", mode, 1);
    pdl_device_request req = {.kind = PDL_DEVICE_CUDA, .precision = precision};
    pdl_backend b;
    char note[256];
    pdl_error err;
    pdl_status st = pdl_backend_open(&req, &b, note, sizeof note, &err);
    unsetenv("PANOPTIC_CUDA_GEMM");
    if (st == PDL_ERR_DEVICE) {
        printf("SKIPPED: %s\n", err.msg);
        fflush(stdout);
        cr_skip_test("%s", err.msg);
    }
    cr_assert_eq(st, PDL_OK, "%s", err.msg);
    cr_assert_eq(b.ops->prepare(b.ctx, m, 1, h, w, &err), PDL_OK, "%s", err.msg);
    pdl_head_outputs out;
    cr_assert_eq(b.ops->run(b.ctx, rgb, 0, &out, &err), PDL_OK, "%s", err.msg);
    heads_run r = {.n = (size_t)(out.num_classes + 3) * out.h4 * out.w4};
    r.heads = malloc(r.n * sizeof *r.heads);
    cr_assert(r.heads);
    memcpy(r.heads, out.sem_logits, r.n * sizeof *r.heads); /* the three are contiguous */
    pdl_backend_stats stats;
    b.ops->stats(b.ctx, &stats);
    r.gemm_convs = stats.gemm_convs;
    pdl_backend_close(&b);
    return r;
}

/* cublas and auto against cudnn; the GEMM counts: none, all that could be
 * (at most `candidates`), and something in between. */
static void compare_modes(const pdl_model *m, pdl_precision precision, const uint8_t *rgb, int h,
                          int w, int candidates, double tol, const char *what)
{
    heads_run ref = run_mode(m, precision, "cudnn", rgb, h, w);
    cr_expect_eq(ref.gemm_convs, 0, "%s: %d GEMMs under cudnn", what, ref.gemm_convs);
    const char *modes[2] = {"cublas", "auto"};
    for (int k = 0; k < 2; k++) {
        heads_run r = run_mode(m, precision, modes[k], rgb, h, w);
        cr_assert_eq(r.n, ref.n);
        double e = tsup_max_rel_error(r.heads, ref.heads, r.n);
        printf("%s %s, %s: %d of %d candidate convs on cuBLASLt, max rel. difference to "
               "cudnn %.2e\n", what, pdl_precision_name(precision), modes[k], r.gemm_convs,
               candidates, e);
        cr_expect(e <= tol, "%s %s %s: max rel. difference %.3g > %.3g", what,
                  pdl_precision_name(precision), modes[k], e, tol);
        cr_expect(r.gemm_convs >= 0 && r.gemm_convs <= candidates, "%s: %d GEMMs", what,
                  r.gemm_convs);
        if (k == 0)
            cr_expect_gt(r.gemm_convs, 0, "%s: cublas mode ran no GEMM", what);
        free(r.heads);
    }
    free(ref.heads);
}

static void demo_model(pdl_precision precision, double tol)
{
    pdl_weights wt;
    pdl_model m = {0};
    pdl_image img;
    pdl_error err;
    cr_assert_eq(pdl_weights_open("weights/demo.safetensors", &wt, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_model_load(&wt, &m, NULL, NULL, &err), PDL_OK, "%s", err.msg);
    pdl_weights_close(&wt);
    cr_assert_eq(pdl_image_load("examples/images/synth_1000_000000.png", &img, &err), PDL_OK,
                 "%s", err.msg);
    /* 26 candidates: tests/cuda/test_cuda_gemm.c */
    compare_modes(&m, precision, img.rgb, img.height, img.width, 26, tol, "demo model");
    pdl_image_free(&img);
    pdl_model_free(&m);
}

Test(gpu_gemm, demo_model_fp32)
{
    demo_model(PDL_PRECISION_FP32, 1e-4);
}

Test(gpu_gemm, demo_model_fp16)
{
    demo_model(PDL_PRECISION_FP16, 3e-2);
}

/* 3x3 conv 3 -> 32 (t1), then 1x1s: 32 -> 32 ReLU (t2), 32 -> 32 + t1 then
 * ReLU (t3), 32 -> 24 plain (t4, the outputs). */
static void residual_graph(pdl_precision precision, double tol)
{
    pdl_model m;
    tsup_graph_init(&m, 3);
    for (int c = 0; c < 3; c++) {
        m.config.input.pixel_mean[c] = 120.0f;
        m.config.input.pixel_std[c] = 60.0f;
    }
    int t1 = tsup_graph_conv(&m, 0, 32, 3, 1, 1, 1, true, -1, 1);
    int t2 = tsup_graph_conv(&m, t1, 32, 1, 1, 1, 1, true, -1, 2);
    int t3 = tsup_graph_conv(&m, t2, 32, 1, 1, 1, 1, true, t1, 3);
    int t4 = tsup_graph_conv(&m, t3, 24, 1, 1, 1, 1, false, -1, 4);
    tsup_graph_outputs(&m, t4);
    enum { H = 48, W = 64 };
    static uint8_t rgb[H * W * 3];
    float *noise = tsup_random(sizeof rgb, 5);
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(127.5f + 127.5f * noise[i]);
    free(noise);
    compare_modes(&m, precision, rgb, H, W, 3, tol, "residual graph");
    pdl_model_free(&m);
}

Test(gpu_gemm, residual_graph_fp32)
{
    residual_graph(PDL_PRECISION_FP32, 1e-5);
}

Test(gpu_gemm, residual_graph_fp16)
{
    residual_graph(PDL_PRECISION_FP16, 1e-2);
}
