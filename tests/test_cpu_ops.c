/* test_cpu_ops.c - the oneDNN backend's ops on small hand-made graphs with
 * random weights and inputs, against naive double-precision loops written
 * from PyTorch's definitions (tests/support/tsup_net.c): convolutions with
 * stride, dilation, groups and padding, the fused residual add, pooling
 * (including the clamped ASPP kernel), bilinear resizing with non-integer
 * ratios, concat, the x4 output upsampling; plus liveness placement, the plan
 * cache and thread-count agreement. Tolerance: max relative error 1e-5 (FP32
 * against double, fan-in <= 300). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "rng.h"
#include "support/tsup_net.h"

#define TOL 1e-5

/* Runs m on x (h x w) and returns the head output (the tensor made output). */
static pdl_head_outputs run_graph(void *ctx, const pdl_model *m, int h, int w, const float *x)
{
    pdl_error err;
    pdl_head_outputs out;
    cr_assert_eq(pdl_cpu_backend_ops.prepare(ctx, m, 1, h, w, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_cpu_backend_ops.run(ctx, x, 0, &out, &err), PDL_OK, "%s", err.msg);
    return out;
}

static void expect_close(const float *got, const float *want, size_t n, const char *what)
{
    double e = tsup_max_rel_error(got, want, n);
    cr_expect(e <= TOL, "%s: max relative error %.3g > %g", what, e, TOL);
}

typedef struct conv_case {
    int cin, cout, k, stride, dil, groups;
    bool relu;
    int h, w;
} conv_case;

Test(cpu_ops, conv_stride_dilation_groups_padding)
{
    static const conv_case cases[] = {
        {3, 16, 3, 2, 1, 1, true, 23, 31},   /* deeplab stem conv1, odd size */
        {3, 8, 7, 2, 1, 1, true, 17, 20},    /* basic stem 7x7/2 */
        {16, 24, 1, 1, 1, 1, false, 9, 11},  /* 1x1, no ReLU */
        {8, 12, 1, 2, 1, 1, false, 10, 12},  /* 1x1/2 shortcut on an even size */
        {16, 16, 3, 1, 2, 1, true, 12, 13},  /* dilated 3x3 */
        {16, 32, 3, 1, 12, 1, true, 7, 9},   /* ASPP rate larger than the map */
        {32, 32, 5, 1, 1, 32, true, 10, 14}, /* depthwise 5x5 */
        {24, 24, 3, 1, 6, 24, true, 7, 9},   /* depthwise dilated (dsconv ASPP) */
        {12, 18, 3, 1, 1, 3, true, 8, 8},    /* grouped */
        {5, 19, 1, 1, 1, 1, false, 6, 7},    /* predictor-like, odd channels */
    };
    void *ctx = tsup_cpu_open(2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *c = &cases[i];
        pdl_model m;
        tsup_graph_init(&m, c->cin);
        int t = tsup_graph_conv(&m, 0, c->cout, c->k, c->stride, c->dil, c->groups, c->relu, -1,
                                100 + i);
        tsup_graph_outputs(&m, t);
        float *x = tsup_random((size_t)c->cin * c->h * c->w, i);
        pdl_head_outputs out = run_graph(ctx, &m, c->h, c->w, x);
        const pdl_conv *cv = &m.ops[0].conv;
        int oh = (c->h + 2 * cv->pad - c->dil * (c->k - 1) - 1) / c->stride + 1;
        int ow = (c->w + 2 * cv->pad - c->dil * (c->k - 1) - 1) / c->stride + 1;
        cr_assert_eq(out.h4, oh, "case %zu", i);
        cr_assert_eq(out.w4, ow, "case %zu", i);
        cr_assert_eq(out.num_classes, c->cout, "case %zu: %d channels", i, out.num_classes);
        float *want = malloc((size_t)c->cout * oh * ow * sizeof *want);
        tsup_ref_conv(x, c->cin, c->h, c->w, cv, NULL, want, oh, ow);
        char what[32];
        snprintf(what, sizeof what, "conv case %zu", i);
        expect_close(out.sem_logits, want, (size_t)c->cout * oh * ow, what);
        free(want);
        free(x);
        pdl_model_free(&m);
    }
    pdl_cpu_backend_ops.close(ctx);
}

/* out = relu(conv(y) + r) with r a conv output (written in place), the
 * caller's plain input (reordered into the destination), and the conv's own
 * input (must not be overwritten while read). */
Test(cpu_ops, residual_add_then_relu)
{
    void *ctx = tsup_cpu_open(2);
    int h = 11, w = 14, c = 16;
    float *x = tsup_random((size_t)c * h * w, 7);
    size_t n = (size_t)c * h * w;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *want = malloc(n * sizeof *want);
    for (int variant = 0; variant < 3; variant++) {
        pdl_model m;
        tsup_graph_init(&m, c);
        int r = variant == 1 ? 0 : tsup_graph_conv(&m, 0, c, 1, 1, 1, 1, false, -1, 1);
        int y = variant == 2 ? r : tsup_graph_conv(&m, 0, 8, 3, 1, 1, 1, true, -1, 2);
        int t = tsup_graph_conv(&m, y, c, 1 + 2 * (variant == 2), 1, 1, 1, true, r, 3);
        tsup_graph_outputs(&m, t);
        pdl_head_outputs out = run_graph(ctx, &m, h, w, x);
        /* the same chain, naively */
        const float *rv = x;
        int k = 0;
        if (variant != 1) {
            tsup_ref_conv(x, c, h, w, &m.ops[k++].conv, NULL, a, h, w);
            rv = a;
        }
        const float *yv = rv;
        int ycin = c;
        if (variant != 2) {
            tsup_ref_conv(x, c, h, w, &m.ops[k++].conv, NULL, b, h, w);
            yv = b;
            ycin = 8;
        }
        tsup_ref_conv(yv, ycin, h, w, &m.ops[k].conv, rv, want, h, w);
        char what[32];
        snprintf(what, sizeof what, "residual variant %d", variant);
        expect_close(out.sem_logits, want, n, what);
        pdl_model_free(&m);
    }
    free(a);
    free(b);
    free(want);
    free(x);
    pdl_cpu_backend_ops.close(ctx);
}

Test(cpu_ops, max_pool_3x3_stride2_pad1)
{
    static const int sizes[][2] = {{17, 23}, {16, 20}, {5, 3}, {1, 2}};
    void *ctx = tsup_cpu_open(2);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int h = sizes[i][0], w = sizes[i][1], c = 16;
        pdl_model m;
        tsup_graph_init(&m, c);
        int t = tsup_graph_conv(&m, 0, c, 1, 1, 1, 1, false, -1, 9); /* blocked input */
        t = tsup_graph_pool(&m, PDL_OP_MAXPOOL, t, 3, 3, 2, 1);
        tsup_graph_outputs(&m, t);
        float *x = tsup_random((size_t)c * h * w, 20 + i);
        pdl_head_outputs out = run_graph(ctx, &m, h, w, x);
        int oh = (h - 1) / 2 + 1, ow = (w - 1) / 2 + 1;
        float *mid = malloc((size_t)c * h * w * sizeof *mid);
        float *want = malloc((size_t)c * oh * ow * sizeof *want);
        tsup_ref_conv(x, c, h, w, &m.ops[0].conv, NULL, mid, h, w);
        tsup_ref_maxpool(mid, c, h, w, 3, 2, 1, want, oh, ow);
        cr_assert_eq(out.h4, oh);
        cr_assert_eq(out.w4, ow);
        expect_close(out.sem_logits, want, (size_t)c * oh * ow, "max pool");
        free(mid);
        free(want);
        free(x);
        pdl_model_free(&m);
    }
    pdl_cpu_backend_ops.close(ctx);
}

/* The ASPP pooling: a sliding box (stride 1, no padding), each kernel dimension
 * clamped to the map; {0, 0} is global. */
Test(cpu_ops, avg_pool_sliding_and_clamped)
{
    static const int cases[][4] = {
        {7, 9, 4, 8},   /* slides, divides neither dimension */
        {4, 4, 5, 5},   /* clamped to 4x4: global */
        {9, 7, 4, 8},   /* width clamped only */
        {6, 5, 0, 0},   /* global */
        {16, 32, 4, 8}, /* divides (Detectron2's own case) */
    };
    void *ctx = tsup_cpu_open(2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int h = cases[i][0], w = cases[i][1], c = 24;
        int kh = cases[i][2] > 0 && cases[i][2] < h ? cases[i][2] : h;
        int kw = cases[i][3] > 0 && cases[i][3] < w ? cases[i][3] : w;
        pdl_model m;
        tsup_graph_init(&m, c);
        int t = tsup_graph_conv(&m, 0, c, 1, 1, 1, 1, true, -1, 30);
        t = tsup_graph_pool(&m, PDL_OP_AVGPOOL, t, cases[i][2], cases[i][3], 1, 0);
        tsup_graph_outputs(&m, t);
        float *x = tsup_random((size_t)c * h * w, 40 + i);
        pdl_head_outputs out = run_graph(ctx, &m, h, w, x);
        int oh = h - kh + 1, ow = w - kw + 1;
        cr_assert_eq(out.h4, oh, "case %zu", i);
        cr_assert_eq(out.w4, ow, "case %zu", i);
        float *mid = malloc((size_t)c * h * w * sizeof *mid);
        float *want = malloc((size_t)c * oh * ow * sizeof *want);
        tsup_ref_conv(x, c, h, w, &m.ops[0].conv, NULL, mid, h, w);
        tsup_ref_avgpool(mid, c, h, w, kh, kw, want);
        expect_close(out.sem_logits, want, (size_t)c * oh * ow, "avg pool");
        free(mid);
        free(want);
        free(x);
        pdl_model_free(&m);
    }
    pdl_cpu_backend_ops.close(ctx);
}

/* Bilinear resizing (oneDNN's linear resampling) against PyTorch's
 * align_corners=False formula: the small map is the input box-filtered by
 * (kh, kw); resized up to the input size, or the input resized down to it. */
Test(cpu_ops, bilinear_resize_non_integer_ratios)
{
    static const int cases[][5] = {
        /* h, w, kh, kw, up */
        {13, 17, 7, 9, 1},  /* 7x9 -> 13x17 */
        {25, 33, 13, 17, 1}, /* 13x17 -> 25x33, the decoder's /8 -> /4 */
        {5, 7, 0, 0, 1},    /* 1x1 -> 5x7 (global pooling branch) */
        {15, 22, 12, 17, 1}, /* 4x6 -> 15x22 */
        {5, 5, 3, 2, 0},    /* 5x5 -> 3x4, shrinking */
        {7, 3, 1, 3, 0},    /* 7x3 -> 7x1 */
    };
    void *ctx = tsup_cpu_open(2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int h = cases[i][0], w = cases[i][1], c = 16;
        int kh = cases[i][2] ? cases[i][2] : h, kw = cases[i][3] ? cases[i][3] : w;
        int sh = h - kh + 1, sw = w - kw + 1;
        bool up = cases[i][4];
        pdl_model m;
        tsup_graph_init(&m, c);
        int t = tsup_graph_conv(&m, 0, c, 1, 1, 1, 1, false, -1, 50);
        int small = tsup_graph_pool(&m, PDL_OP_AVGPOOL, t, cases[i][2], cases[i][3], 1, 0);
        int r = up ? tsup_graph_resize(&m, small, t) : tsup_graph_resize(&m, t, small);
        tsup_graph_outputs(&m, r);
        float *x = tsup_random((size_t)c * h * w, 60 + i);
        pdl_head_outputs out = run_graph(ctx, &m, h, w, x);
        float *mid = malloc((size_t)c * h * w * sizeof *mid);
        float *pooled = malloc((size_t)c * sh * sw * sizeof *pooled);
        float *want = malloc((size_t)c * h * w * sizeof *want);
        tsup_ref_conv(x, c, h, w, &m.ops[0].conv, NULL, mid, h, w);
        tsup_ref_avgpool(mid, c, h, w, kh, kw, pooled);
        int oh = up ? h : sh, ow = up ? w : sw;
        if (up)
            tsup_ref_bilinear(pooled, c, sh, sw, want, h, w, 0);
        else
            tsup_ref_bilinear(mid, c, h, w, want, sh, sw, 0);
        cr_assert_eq(out.h4, oh, "case %zu", i);
        cr_assert_eq(out.w4, ow, "case %zu", i);
        char what[32];
        snprintf(what, sizeof what, "resize case %zu", i);
        expect_close(out.sem_logits, want, (size_t)c * oh * ow, what);
        free(mid);
        free(pooled);
        free(want);
        free(x);
        pdl_model_free(&m);
    }
    pdl_cpu_backend_ops.close(ctx);
}

Test(cpu_ops, concat_in_order)
{
    void *ctx = tsup_cpu_open(2);
    int h = 9, w = 10, cin = 8;
    const int widths[3] = {16, 5, 8};
    pdl_model m;
    tsup_graph_init(&m, cin);
    int parts[3];
    for (int i = 0; i < 3; i++)
        parts[i] = tsup_graph_conv(&m, 0, widths[i], 3, 1, 1, 1, true, -1, 70 + i);
    int t = tsup_graph_concat(&m, 3, parts);
    tsup_graph_outputs(&m, t);
    float *x = tsup_random((size_t)cin * h * w, 80);
    pdl_head_outputs out = run_graph(ctx, &m, h, w, x);
    cr_assert_eq(out.num_classes, 29);
    float *want = malloc((size_t)29 * h * w * sizeof *want);
    for (int i = 0, at = 0; i < 3; at += widths[i], i++)
        tsup_ref_conv(x, cin, h, w, &m.ops[i].conv, NULL, want + (size_t)at * h * w, h, w);
    expect_close(out.sem_logits, want, (size_t)29 * h * w, "concat");
    free(want);
    free(x);
    pdl_model_free(&m);
    pdl_cpu_backend_ops.close(ctx);
}

Test(cpu_ops, upsample_x4_crop_scale)
{
    static const int cases[][4] = {{7, 9, 25, 33}, {25, 33, 97, 131}, {1, 1, 3, 4}, {4, 4, 16, 16}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int h = cases[i][0], w = cases[i][1], oh = cases[i][2], ow = cases[i][3], c = 3;
        float *x = tsup_random((size_t)c * h * w, 90 + i);
        float *full = malloc((size_t)c * 16 * h * w * sizeof *full);
        float *want = malloc((size_t)c * oh * ow * sizeof *want);
        float *got = malloc((size_t)c * oh * ow * sizeof *got);
        tsup_ref_bilinear(x, c, h, w, full, 4 * h, 4 * w, 4);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++)
                    want[((size_t)ch * oh + y) * ow + xx] =
                        4.0f * full[((size_t)ch * 4 * h + y) * 4 * w + xx];
        pdl_error err;
        cr_assert_eq(pdl_upsample_crop(x, c, h, w, 4, oh, ow, 4.0f, got, &err), PDL_OK);
        expect_close(got, want, (size_t)c * oh * ow, "upsample x4");
        free(x);
        free(full);
        free(want);
        free(got);
    }
}

/* Full outputs and stage copies come back from a graph whose output is an
 * intermediate conv later overwritten in the arena. */
Test(cpu_ops, stages_and_full_outputs)
{
    void *ctx = tsup_cpu_open(2);
    int h = 13, w = 18, c = 8;
    pdl_model m;
    tsup_graph_init(&m, c);
    int a = tsup_graph_conv(&m, 0, c, 3, 1, 1, 1, true, -1, 1);
    int b = tsup_graph_conv(&m, a, c, 3, 1, 1, 1, true, -1, 2);
    int d = tsup_graph_conv(&m, b, 4, 3, 1, 1, 1, false, -1, 3);
    tsup_graph_outputs(&m, d);
    m.stage_tensor[PDL_STAGE_RES2] = a;
    float *x = tsup_random((size_t)c * h * w, 5);
    pdl_error err;
    pdl_head_outputs out;
    cr_assert_eq(pdl_cpu_backend_ops.prepare(ctx, &m, 1, h, w, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_cpu_backend_ops.run(ctx, x, PDL_RUN_STAGES, &out, &err), PDL_OK, "%s",
                 err.msg);
    size_t n = (size_t)c * h * w;
    float *ra = malloc(n * sizeof *ra), *rb = malloc(n * sizeof *rb);
    float *rd = malloc((size_t)4 * h * w * sizeof *rd);
    tsup_ref_conv(x, c, h, w, &m.ops[0].conv, NULL, ra, h, w);
    tsup_ref_conv(ra, c, h, w, &m.ops[1].conv, NULL, rb, h, w);
    tsup_ref_conv(rb, c, h, w, &m.ops[2].conv, NULL, rd, h, w);
    for (int s = 0; s < PDL_STAGE_COUNT; s++)
        cr_assert(out.stages[s].present, "stage %s missing", pdl_stage_name(s));
    const pdl_stage_tensor *in = &out.stages[PDL_STAGE_INPUT], *r2 = &out.stages[PDL_STAGE_RES2];
    cr_assert(in->c == c && in->h == h && in->w == w);
    cr_assert_eq(memcmp(in->data, x, n * sizeof *x), 0);
    cr_assert(r2->c == c && r2->h == h && r2->w == w);
    expect_close(r2->data, ra, n, "res2 stage");
    expect_close(out.stages[PDL_STAGE_OFFSET].data, rd, (size_t)4 * h * w, "offset stage");
    cr_assert(out.sem_logits_up && out.center_up && out.offset_up);
    float *want = malloc((size_t)4 * 16 * h * w * sizeof *want);
    tsup_ref_bilinear(rd, 4, h, w, want, 4 * h, 4 * w, 4);
    /* the output size is the image size: here the x4 map is cropped to h x w */
    for (int ch = 0; ch < 4; ch++)
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                float v = want[((size_t)ch * 4 * h + y) * 4 * w + xx];
                float got = out.sem_logits_up[((size_t)ch * h + y) * w + xx];
                cr_assert_float_eq(got, v, 1e-5 * 10, "sem_up %d,%d,%d", ch, y, xx);
                cr_assert_float_eq(out.offset_up[((size_t)ch % 2 * h + y) * w + xx],
                                   4 * want[((size_t)ch % 2 * 4 * h + y) * 4 * w + xx], 1e-4,
                                   "offset_up");
            }
    free(want);
    free(ra);
    free(rb);
    free(rd);
    free(x);
    pdl_model_free(&m);
    pdl_cpu_backend_ops.close(ctx);
}

/* ---- liveness placement ---------------------------------------------------------- */

static void check_no_overlap(const pdl_cpu_block *b, int n, size_t arena)
{
    for (int i = 0; i < n; i++) {
        cr_assert(b[i].offset % PDL_CPU_ALIGN == 0);
        cr_assert(b[i].offset + b[i].size <= arena);
        for (int j = i + 1; j < n; j++) {
            bool alive_together = b[i].first <= b[j].last && b[j].first <= b[i].last;
            bool apart = b[i].offset + b[i].size <= b[j].offset ||
                         b[j].offset + b[j].size <= b[i].offset;
            cr_assert(!alive_together || apart, "blocks %d and %d overlap", i, j);
        }
    }
}

Test(cpu_arena, random_blocks_never_overlap_while_alive)
{
    pdl_rng r;
    pdl_rng_seed(&r, 77, 0);
    for (int round = 0; round < 50; round++) {
        int n = pdl_rng_int(&r, 1, 60);
        pdl_cpu_block b[60];
        for (int i = 0; i < n; i++) {
            int first = pdl_rng_int(&r, 0, 40);
            b[i] = (pdl_cpu_block){.size = (size_t)pdl_rng_int(&r, 1, 5000),
                                   .first = first, .last = first + pdl_rng_int(&r, 0, 10)};
        }
        size_t arena = pdl_cpu_place_blocks(b, n);
        check_no_overlap(b, n, arena);
    }
}

/* A chain (each tensor read only by the next step) needs the two largest
 * neighbours, not the sum. */
Test(cpu_arena, chain_needs_two_buffers)
{
    pdl_cpu_block b[20];
    size_t sum = 0;
    for (int i = 0; i < 20; i++) {
        b[i] = (pdl_cpu_block){.size = 64 * (size_t)(100 + (i * 37) % 50), .first = i,
                               .last = i + 1};
        sum += b[i].size;
    }
    size_t arena = pdl_cpu_place_blocks(b, 20);
    check_no_overlap(b, 20, arena);
    size_t pair = 0;
    for (int i = 0; i + 1 < 20; i++)
        pair = b[i].size + b[i + 1].size > pair ? b[i].size + b[i + 1].size : pair;
    cr_assert(arena <= pair + 2 * 64 * 150, "arena %zu, largest pair %zu, sum %zu", arena, pair,
              sum);
}

/* ---- our own NHWC kernels ------------------------------------------------------- */

static float *to_nhwc(const float *chw, int c, int h, int w)
{
    float *p = malloc((size_t)c * h * w * sizeof *p);
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < h * w; i++)
            p[(size_t)i * c + ch] = chw[(size_t)ch * h * w + i];
    return p;
}

Test(cpu_custom, depthwise_nhwc_matches_naive)
{
    static const int cases[][5] = {/* c, h, w, k, dil */
                                   {40, 7, 9, 3, 12}, {16, 13, 11, 3, 2}, {24, 6, 10, 5, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int c = cases[i][0], h = cases[i][1], w = cases[i][2], k = cases[i][3], dil = cases[i][4];
        pdl_model m;
        tsup_graph_init(&m, c);
        tsup_graph_conv(&m, 0, c, k, 1, dil, c, true, -1, 300 + i);
        const pdl_conv *cv = &m.ops[0].conv;
        float *x = tsup_random((size_t)c * h * w, 310 + i);
        float *want = malloc((size_t)c * h * w * sizeof *want);
        tsup_ref_conv(x, c, h, w, cv, NULL, want, h, w);
        float *wt = malloc((size_t)k * k * c * sizeof *wt);
        for (int ch = 0; ch < c; ch++)
            for (int t = 0; t < k * k; t++)
                wt[(size_t)t * c + ch] = cv->weight[(size_t)ch * k * k + t];
        float *xn = to_nhwc(x, c, h, w), *wn = to_nhwc(want, c, h, w);
        float *y = malloc((size_t)c * h * w * sizeof *y);
        pdl_cpu_depthwise_nhwc(xn, h, w, c, wt, cv->bias, k, dil, cv->pad, true, y);
        expect_close(y, wn, (size_t)c * h * w, "depthwise nhwc");
        free(x);
        free(want);
        free(wt);
        free(xn);
        free(wn);
        free(y);
        pdl_model_free(&m);
    }
}

Test(cpu_custom, box_filter_nhwc_matches_naive)
{
    static const int cases[][5] = {/* c, h, w, kh, kw */
                                   {32, 7, 9, 4, 8}, {20, 64, 128, 32, 64}, {8, 9, 7, 4, 7}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int c = cases[i][0], h = cases[i][1], w = cases[i][2], kh = cases[i][3], kw = cases[i][4];
        int oh = h - kh + 1, ow = w - kw + 1;
        float *x = tsup_random((size_t)c * h * w, 320 + i);
        float *want = malloc((size_t)c * oh * ow * sizeof *want);
        tsup_ref_avgpool(x, c, h, w, kh, kw, want);
        float *xn = to_nhwc(x, c, h, w), *wn = to_nhwc(want, c, oh, ow);
        float *rows = malloc((size_t)c * h * ow * sizeof *rows);
        float *y = malloc((size_t)c * oh * ow * sizeof *y);
        pdl_cpu_box_filter_nhwc(xn, h, w, c, kh, kw, rows, y);
        expect_close(y, wn, (size_t)c * oh * ow, "box filter nhwc");
        free(x);
        free(want);
        free(xn);
        free(wn);
        free(rows);
        free(y);
    }
}
