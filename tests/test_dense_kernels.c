/* test_dense_kernels.c - the dense kernels of the CUDA network (kernels/
 * dense_*.cu) run by the CPU executor at 1 and 2 OpenMP threads, on random
 * inputs at odd sizes, against independent references:
 *
 * - half conversions: NumPy's float32 -> float16 (tests/ref/
 *   half_round_table.h) and, over all 65536 patterns, round trips and ties;
 * - normalisation (arguments from pdl_model_normalize_args): pdl_model_preprocess
 *   (CHW), bit for bit in float;
 * - resize: pdl_upsample_crop (CHW, integer factors, crop, offset scaling)
 *   bit for bit; for any sizes a naive PyTorch-formula loop summing the four
 *   weighted taps in double, within 8 float roundings of the sum of the
 *   terms' magnitudes (the kernel does 6 float operations per value); and
 *   oneDNN's resampling, which the CPU backend uses (bound at the test);
 *   several planes in one launch as one launch each; the x4 head upsampling
 *   (pdl_dense_heads_up) as pdl_heads_upsample_full, bit for bit;
 * - pooling: pdl_cpu_box_filter_nhwc bit for bit (same sums in the same
 *   order), and a double-precision window mean within (kh + kw + 2) float
 *   roundings of the window's mean magnitude (error bound of the two
 *   sequential sums and the scaling);
 * - channel-slice copy: exact, and nothing outside the slice is touched;
 * - NHWC to planar float: exact (widening is exact for half).
 *
 * FP16 kernels load halves, compute in float and round once when storing, so
 * their output must equal the float kernel's output on the same (half
 * valued) inputs rounded to half, bit for bit; against the float kernel on
 * the original float inputs they are within half's rounding of inputs and
 * output (bounds stated at each check).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "dense_kernels.h"
#include "model.h"
#include "ref/half_round_table.h"
#include "rng.h"

#define U 0x1p-24 /* unit roundoff of float */

static const int thread_counts[2] = {1, 2};

static float *random_floats(long n, uint64_t seed, float lo, float hi)
{
    pdl_rng r;
    pdl_rng_seed(&r, seed, 0);
    float *x = malloc((size_t)n * sizeof *x);
    cr_assert_not_null(x);
    for (long i = 0; i < n; i++) {
        float v = (float)pdl_rng_range(&r, lo, hi);
        x[i] = v != 0.0f ? v : 0.5f; /* never zero */
    }
    return x;
}

static pdl_half *to_half(const float *x, long n)
{
    pdl_half *h = malloc((size_t)(n ? n : 1) * sizeof *h);
    cr_assert_not_null(h);
    for (long i = 0; i < n; i++)
        h[i] = pdl_float_to_half(x[i]);
    return h;
}

/* The values a half tensor holds, as floats. */
static float *half_values(const pdl_half *h, long n)
{
    float *x = malloc((size_t)(n ? n : 1) * sizeof *x);
    cr_assert_not_null(x);
    for (long i = 0; i < n; i++)
        x[i] = pdl_half_to_float(h[i]);
    return x;
}

static void assert_same_bits(const float *got, const float *want, long n, const char *what)
{
    for (long i = 0; i < n; i++)
        cr_assert(memcmp(&got[i], &want[i], sizeof got[i]) == 0, "%s: [%ld] %.9g, want %.9g",
                  what, i, got[i], want[i]);
}

/* ---- half conversions -------------------------------------------------------- */

Test(dense, half_rounding_matches_numpy)
{
    size_t n = sizeof half_round_table / sizeof half_round_table[0];
    for (size_t i = 0; i < n; i++) {
        float f;
        uint32_t bits = half_round_table[i][0];
        memcpy(&f, &bits, sizeof f);
        cr_assert_eq(pdl_float_to_half_bits(f), half_round_table[i][1],
                     "float 0x%08x: half 0x%04x, NumPy 0x%04x", bits, pdl_float_to_half_bits(f),
                     (unsigned)half_round_table[i][1]);
    }
}

/* Every finite half survives a round trip; the float halfway between two
 * neighbouring halves goes to the even one, a float either side of it to the
 * nearer; NaN stays NaN. */
Test(dense, half_round_trip_and_ties)
{
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) {
            if (h & 0x3ff)
                cr_assert(isnan(pdl_half_bits_to_float((uint16_t)h)));
            continue;
        }
        float f = pdl_half_bits_to_float((uint16_t)h);
        cr_assert_eq(pdl_float_to_half_bits(f), h, "half 0x%04x does not round-trip", h);
        if ((h & 0x7fff) >= 0x7bff)
            continue;
        double next = pdl_half_bits_to_float((uint16_t)(h + 1));
        float mid = (float)(((double)f + next) / 2); /* exact: 11 + 1 bits */
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        cr_assert_eq(pdl_float_to_half_bits(mid), even, "tie above 0x%04x", h);
        cr_assert_eq(pdl_float_to_half_bits(nextafterf(mid, 0.0f)), h, "below the tie 0x%04x", h);
        cr_assert_eq(pdl_float_to_half_bits(nextafterf(mid, (h & 0x8000) ? -INFINITY : INFINITY)), h + 1,
                     "above the tie 0x%04x", h);
    }
    cr_assert_eq(pdl_float_to_half_bits(65520.0f), 0x7c00);
    cr_assert_eq(pdl_float_to_half_bits(nextafterf(65520.0f, 0.0f)), 0x7bff);
    cr_assert(isnan(pdl_half_bits_to_float(pdl_float_to_half_bits(NAN))));
}

/* ---- normalisation ------------------------------------------------------------ */

static void check_normalize(int h, int w, int divisibility, int channels, uint64_t seed)
{
    pdl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const float mean[3] = {123.675f, 116.28f, 103.53f}, sd[3] = {58.395f, 57.12f, 57.375f};
    memcpy(cfg.input.pixel_mean, mean, sizeof mean);
    memcpy(cfg.input.pixel_std, sd, sizeof sd);
    cfg.input.size_divisibility = divisibility;
    int hp, wp;
    pdl_model_input_size(&cfg, h, w, &hp, &wp);
    long np = (long)hp * wp, n = np * channels;

    pdl_rng r;
    pdl_rng_seed(&r, seed, 1);
    uint8_t *rgb = malloc((size_t)h * w * 3);
    for (long i = 0; i < (long)h * w * 3; i++)
        rgb[i] = (uint8_t)pdl_rng_int(&r, 0, 255);
    float *chw = malloc((size_t)np * 3 * sizeof *chw), *want = malloc((size_t)n * sizeof *want);
    float *got = malloc((size_t)n * sizeof *got);
    pdl_half *got_h = malloc((size_t)n * sizeof *got_h);
    pdl_model_preprocess(&cfg, rgb, h, w, chw);
    for (long p = 0; p < np; p++)
        for (int c = 0; c < channels; c++)
            want[p * channels + c] = c < 3 ? chw[c * np + p] : 0.0f;

    /* the arguments as a backend makes them from the config */
    pdl_dense_normalize_args a;
    pdl_model_normalize_args(&cfg, h, w, channels, &a);
    cr_assert(a.hp == hp && a.wp == wp && a.channels == channels);
    a.rgb = rgb;
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(thread_counts[t]);
        memset(got, 0xff, (size_t)n * sizeof *got);
        a.type = PDL_DENSE_F32;
        a.dst = got;
        cr_assert_eq(pdl_cpu_dense_normalize(&a, NULL), 0);
        assert_same_bits(got, want, n, "normalize (float)");
        a.type = PDL_DENSE_F16;
        a.dst = got_h;
        cr_assert_eq(pdl_cpu_dense_normalize(&a, NULL), 0);
        for (long i = 0; i < n; i++)
            cr_assert_eq(got_h[i].bits, pdl_float_to_half_bits(want[i]),
                         "normalize (half) %dx%d [%ld]: 0x%04x, want RNE(%.9g)", h, w, i,
                         got_h[i].bits, want[i]);
    }
    free(rgb);
    free(chw);
    free(want);
    free(got);
    free(got_h);
}

Test(dense, normalize_matches_preprocess)
{
    check_normalize(1, 1, 0, 3, 1);
    check_normalize(1, 1, 32, 3, 2);
    check_normalize(7, 13, 8, 3, 3);
    check_normalize(7, 13, 0, 4, 4);
    check_normalize(97, 131, 32, 3, 5);
    check_normalize(33, 65, 16, 8, 6);
}

/* ---- resize ------------------------------------------------------------------- */

typedef struct resize_case {
    int in_h, in_w, channels, size_h, size_w, out_h, out_w;
    float mul;
} resize_case;

static void run_resize(const resize_case *k, pdl_dense_type type, const void *src, void *dst,
                       int dst_stride, int dst_c0)
{
    pdl_dense_resize_args a = {type,     k->in_h,    k->in_w, k->channels, k->size_h, k->size_w,
                               k->out_h, k->out_w,   k->mul,  dst_stride,  dst_c0,    src,
                               dst,      1};
    cr_assert_eq(pdl_cpu_dense_resize(&a, NULL), 0);
}

/* PyTorch's source coordinate (computed in float, as PyTorch does for float
 * tensors), then the four taps weighted in double. */
static void naive_axis(int d, int in, int size, int *i0, int *i1, double *l1)
{
    float scale = (float)in / (float)size;
    float s = scale * ((float)d + 0.5f) - 0.5f;
    s = s < 0.0f ? 0.0f : s;
    *i0 = (int)s;
    *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
    *l1 = (double)(s - (float)*i0);
}

static void check_resize_naive(const resize_case *k, const float *x, const float *got)
{
    for (int y = 0; y < k->out_h; y++) {
        int y0, y1, x0, x1;
        double wy, wx;
        naive_axis(y, k->in_h, k->size_h, &y0, &y1, &wy);
        for (int xo = 0; xo < k->out_w; xo++) {
            naive_axis(xo, k->in_w, k->size_w, &x0, &x1, &wx);
            for (int c = 0; c < k->channels; c++) {
                double v[4] = {x[((long)y0 * k->in_w + x0) * k->channels + c],
                               x[((long)y0 * k->in_w + x1) * k->channels + c],
                               x[((long)y1 * k->in_w + x0) * k->channels + c],
                               x[((long)y1 * k->in_w + x1) * k->channels + c]};
                double wt[4] = {(1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx};
                double ref = 0, mag = 0;
                for (int t = 0; t < 4; t++) {
                    ref += wt[t] * v[t];
                    mag += fabs(wt[t] * v[t]);
                }
                ref *= k->mul;
                mag *= fabs(k->mul);
                double g = got[((long)y * k->out_w + xo) * k->channels + c];
                cr_assert(fabs(g - ref) <= 8 * U * mag,
                          "resize %dx%d->%dx%d (%d ch) at (%d,%d,%d): %.9g, naive %.9g", k->in_h,
                          k->in_w, k->size_h, k->size_w, k->channels, y, xo, c, g, ref);
            }
        }
    }
}

static void check_resize(const resize_case *k, uint64_t seed)
{
    long nin = (long)k->in_h * k->in_w * k->channels, nout = (long)k->out_h * k->out_w * k->channels;
    float *x = random_floats(nin, seed, -4.0f, 4.0f);
    float *got = malloc((size_t)nout * sizeof *got), *first = malloc((size_t)nout * sizeof *first);
    pdl_half *xh = to_half(x, nin), *got_h = malloc((size_t)nout * sizeof *got_h);
    float *xq = half_values(xh, nin), *from_q = malloc((size_t)nout * sizeof *from_q);
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(thread_counts[t]);
        run_resize(k, PDL_DENSE_F32, x, got, k->channels, 0);
        if (t == 0) {
            check_resize_naive(k, x, got);
            memcpy(first, got, (size_t)nout * sizeof *got);
        } else {
            assert_same_bits(got, first, nout, "resize at 2 threads");
        }
        run_resize(k, PDL_DENSE_F32, xq, from_q, k->channels, 0);
        run_resize(k, PDL_DENSE_F16, xh, got_h, k->channels, 0);
        /* Inputs rounded to half move each tap by <= 2^-11 |tap| (a convex
         * combination keeps that bound), the output rounding adds 2^-11. */
        for (long i = 0; i < nout; i++) {
            cr_assert_eq(got_h[i].bits, pdl_float_to_half_bits(from_q[i]),
                         "resize (half) [%ld]: 0x%04x, want RNE(%.9g)", i, got_h[i].bits,
                         from_q[i]);
            float g = pdl_half_to_float(got_h[i]);
            cr_assert(fabsf(g - got[i]) <= 0x1p-11f * (4.0f + fabsf(got[i])) * fabsf(k->mul) +
                                               1e-6f,
                      "resize (half) [%ld]: %.9g vs float %.9g", i, g, got[i]);
        }
    }
    free(x);
    free(got);
    free(first);
    free(xh);
    free(got_h);
    free(xq);
    free(from_q);
}

Test(dense, resize_any_size_matches_naive)
{
    const resize_case cases[] = {
        {1, 1, 3, 7, 13, 7, 13, 1.0f},       /* broadcast */
        {7, 13, 19, 33, 65, 33, 65, 1.0f},   /* non-integer factors */
        {33, 65, 1, 129, 257, 129, 257, 1.0f},
        {7, 13, 256, 14, 26, 14, 26, 1.0f},  /* decoder x2 at full width */
        {97, 131, 3, 33, 65, 33, 65, 1.0f},  /* downsampling */
        {33, 65, 2, 132, 260, 129, 257, 4.0f}, /* offsets: x4, crop, times 4 */
        {7, 13, 19, 28, 52, 25, 49, -2.5f},
        {1, 1, 1, 1, 1, 1, 1, 1.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_resize(&cases[i], 10 + i);
}

/* The x4 head upsampling is pdl_upsample_crop's job on the CPU: same taps,
 * same arithmetic, so the NHWC kernel must reproduce its CHW output exactly. */
Test(dense, resize_matches_upsample_crop)
{
    const struct {
        int c, h, w, factor, oh, ow;
        float mul;
    } cases[] = {{1, 1, 1, 4, 4, 4, 1.0f},     {3, 7, 13, 4, 25, 50, 1.0f},
                 {19, 33, 65, 4, 129, 257, 1.0f}, {2, 33, 65, 4, 129, 257, 4.0f},
                 {1, 24, 32, 4, 96, 128, 4.0f},  {256, 7, 13, 2, 14, 26, 1.0f},
                 {5, 9, 11, 3, 27, 31, 1.0f}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int c = cases[i].c, h = cases[i].h, w = cases[i].w, oh = cases[i].oh, ow = cases[i].ow;
        long nin = (long)c * h * w, nout = (long)c * oh * ow;
        float *chw = random_floats(nin, 100 + i, -3.0f, 3.0f);
        float *hwc = malloc((size_t)nin * sizeof *hwc), *want = malloc((size_t)nout * sizeof *want);
        float *got = malloc((size_t)nout * sizeof *got), *want_hwc = malloc((size_t)nout * sizeof *want);
        for (int ch = 0; ch < c; ch++)
            for (long p = 0; p < (long)h * w; p++)
                hwc[p * c + ch] = chw[ch * (long)h * w + p];
        pdl_error err;
        cr_assert_eq(pdl_upsample_crop(chw, c, h, w, cases[i].factor, oh, ow, cases[i].mul, want,
                                       &err),
                     PDL_OK);
        for (int ch = 0; ch < c; ch++)
            for (long p = 0; p < (long)oh * ow; p++)
                want_hwc[p * c + ch] = want[ch * (long)oh * ow + p];
        resize_case k = {h, w, c, h * cases[i].factor, w * cases[i].factor, oh, ow, cases[i].mul};
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(thread_counts[t]);
            memset(got, 0xff, (size_t)nout * sizeof *got);
            run_resize(&k, PDL_DENSE_F32, hwc, got, c, 0);
            assert_same_bits(got, want_hwc, nout, "resize vs pdl_upsample_crop");
        }
        free(chw);
        free(hwc);
        free(want);
        free(got);
        free(want_hwc);
    }
}

/* The CPU backend resizes with oneDNN's linear resampling (decoder, pooled
 * ASPP branch). oneDNN computes the source coordinate as
 * (dst + 0.5) * in / out - 0.5 rather than PyTorch's (in / out) * (dst + 0.5)
 * - 0.5, so the two may differ by a few ulps of the coordinate: the bound is
 * 8 roundings of the terms' magnitudes plus a weight error of 4 ulps of the
 * input extent times the largest tap difference, per axis. */
static void onednn_resize(const float *x, int in_h, int in_w, int c, int out_h, int out_w,
                          float *y)
{
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    cr_assert_eq(dnnl_engine_create(&eng, dnnl_cpu, 0), dnnl_success);
    cr_assert_eq(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags), dnnl_success);
    dnnl_memory_desc_t src_md, nhwc_out;
    dnnl_dims_t in_dims = {1, c, in_h, in_w}, out_dims = {1, c, out_h, out_w};
    cr_assert_eq(dnnl_memory_desc_init_by_tag(&src_md, 4, in_dims, dnnl_f32, dnnl_nhwc),
                 dnnl_success);
    cr_assert_eq(dnnl_memory_desc_init_by_tag(&nhwc_out, 4, out_dims, dnnl_f32, dnnl_nhwc),
                 dnnl_success);
    dnnl_primitive_desc_t pd;
    pdl_error err;
    cr_assert_eq(pdl_cpu_resize_pd(eng, &src_md, (pdl_shape){c, out_h, out_w}, &pd, &err), PDL_OK);
    cr_assert(dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
                                     &nhwc_out),
              "oneDNN picked a non-NHWC output");
    size_t scratch_bytes = pdl_cpu_scratch_size(pd);
    void *scratch = malloc(scratch_bytes ? scratch_bytes : 1);
    dnnl_primitive_t prim;
    dnnl_memory_t m_src, m_dst, m_scratch;
    cr_assert_eq(dnnl_primitive_create(&prim, pd), dnnl_success);
    cr_assert_eq(dnnl_memory_create(&m_src, &src_md, eng, (void *)x), dnnl_success);
    cr_assert_eq(dnnl_memory_create(&m_dst, &nhwc_out, eng, y), dnnl_success);
    cr_assert_eq(dnnl_memory_create(&m_scratch,
                                    dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0),
                                    eng, scratch),
                 dnnl_success);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, m_src}, {DNNL_ARG_DST, m_dst},
                               {DNNL_ARG_SCRATCHPAD, m_scratch}};
    cr_assert_eq(dnnl_primitive_execute(prim, stream, 3, args), dnnl_success);
    cr_assert_eq(dnnl_stream_wait(stream), dnnl_success);
    dnnl_memory_destroy(m_src);
    dnnl_memory_destroy(m_dst);
    dnnl_memory_destroy(m_scratch);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    free(scratch);
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(eng);
}

Test(dense, resize_matches_onednn)
{
    const resize_case cases[] = {
        {1, 1, 19, 7, 13, 7, 13, 1.0f},      /* global ASPP pooling broadcast */
        {4, 6, 256, 7, 9, 7, 9, 1.0f},       /* sliding pooled map (d2-dsconv: 4x8 on 7x9) */
        {33, 65, 3, 64, 128, 64, 128, 1.0f}, /* D2 Cityscapes pooled map back to res5 */
        {7, 13, 19, 14, 26, 14, 26, 1.0f},   /* decoder x2 */
        {97, 131, 1, 129, 257, 129, 257, 1.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const resize_case *k = &cases[i];
        long nin = (long)k->in_h * k->in_w * k->channels;
        long nout = (long)k->out_h * k->out_w * k->channels;
        float *x = random_floats(nin, 400 + i, -4.0f, 4.0f);
        float *got = malloc((size_t)nout * sizeof *got), *want = malloc((size_t)nout * sizeof *want);
        onednn_resize(x, k->in_h, k->in_w, k->channels, k->out_h, k->out_w, want);
        omp_set_num_threads(2);
        run_resize(k, PDL_DENSE_F32, x, got, k->channels, 0);
        double worst = 0;
        for (int y = 0; y < k->out_h; y++) {
            int y0, y1, x0, x1;
            double wy, wx;
            naive_axis(y, k->in_h, k->size_h, &y0, &y1, &wy);
            for (int xo = 0; xo < k->out_w; xo++) {
                naive_axis(xo, k->in_w, k->size_w, &x0, &x1, &wx);
                for (int c = 0; c < k->channels; c++) {
                    double v[4] = {x[((long)y0 * k->in_w + x0) * k->channels + c],
                                   x[((long)y0 * k->in_w + x1) * k->channels + c],
                                   x[((long)y1 * k->in_w + x0) * k->channels + c],
                                   x[((long)y1 * k->in_w + x1) * k->channels + c]};
                    double mag = fabs(v[0]) + fabs(v[1]) + fabs(v[2]) + fabs(v[3]);
                    double spread = 0;
                    for (int t = 1; t < 4; t++)
                        spread = fmax(spread, fabs(v[t] - v[0]));
                    double tol = 8 * U * mag + 4 * U * (k->in_h + k->in_w) * 2 * spread;
                    long j = ((long)y * k->out_w + xo) * k->channels + c;
                    double d = fabs((double)got[j] - want[j]);
                    worst = fmax(worst, d);
                    cr_assert(d <= tol, "resize %dx%d->%dx%d at (%d,%d,%d): %.9g, oneDNN %.9g",
                              k->in_h, k->in_w, k->out_h, k->out_w, y, xo, c, got[j], want[j]);
                }
            }
        }
        cr_log_info("resize %dx%d->%dx%d x%d: largest difference from oneDNN %.3g", k->in_h,
                    k->in_w, k->out_h, k->out_w, k->channels, worst);
        free(x);
        free(got);
        free(want);
    }
}

/* Into channels [c0, c0 + C) of a wider tensor: the slice gets what a plain
 * resize gives, every other channel keeps its value. Includes the pooled
 * ASPP branch (1 x 1 x C broadcast to H x W). */
Test(dense, resize_into_channel_slice)
{
    const struct {
        resize_case k;
        int stride, c0;
    } cases[] = {{{1, 1, 19, 7, 13, 7, 13, 1.0f}, 40, 21},
                 {{1, 1, 256, 9, 17, 9, 17, 1.0f}, 1280, 1024},
                 {{3, 5, 3, 9, 17, 9, 17, 1.0f}, 5, 1},
                 {{7, 13, 19, 14, 26, 14, 26, 1.0f}, 83, 64}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const resize_case *k = &cases[i].k;
        int stride = cases[i].stride, c0 = cases[i].c0;
        long np = (long)k->out_h * k->out_w, nin = (long)k->in_h * k->in_w * k->channels;
        float *x = random_floats(nin, 200 + i, -2.0f, 2.0f);
        float *plain = malloc((size_t)np * k->channels * sizeof *plain);
        float *wide = random_floats(np * stride, 300 + i, 5.0f, 6.0f);
        float *before = malloc((size_t)np * stride * sizeof *before);
        memcpy(before, wide, (size_t)np * stride * sizeof *wide);
        pdl_half *xh = to_half(x, nin), *wide_h = to_half(wide, np * stride);
        pdl_half *plain_h = malloc((size_t)np * k->channels * sizeof *plain_h);
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(thread_counts[t]);
            run_resize(k, PDL_DENSE_F32, x, plain, k->channels, 0);
            run_resize(k, PDL_DENSE_F32, x, wide, stride, c0);
            run_resize(k, PDL_DENSE_F16, xh, plain_h, k->channels, 0);
            run_resize(k, PDL_DENSE_F16, xh, wide_h, stride, c0);
            for (long p = 0; p < np; p++)
                for (int c = 0; c < stride; c++) {
                    long j = p * stride + c;
                    int in_slice = c >= c0 && c < c0 + k->channels;
                    float want = in_slice ? plain[p * k->channels + c - c0] : before[j];
                    uint16_t want_h = in_slice ? plain_h[p * k->channels + c - c0].bits
                                               : pdl_float_to_half_bits(before[j]);
                    cr_assert(memcmp(&wide[j], &want, sizeof want) == 0,
                              "slice case %zu pixel %ld channel %d: %.9g, want %.9g", i, p, c,
                              wide[j], want);
                    cr_assert_eq(wide_h[j].bits, want_h, "half slice case %zu pixel %ld ch %d", i,
                                 p, c);
                }
        }
        free(x);
        free(plain);
        free(wide);
        free(before);
        free(xh);
        free(wide_h);
        free(plain_h);
    }
}

/* Several planes in one launch (a batch into a concat slice, half and float)
 * give each plane what a launch of its own gives, and touch nothing else. */
Test(dense, resize_planes_match_single_launches)
{
    const resize_case k = {5, 7, 6, 9, 13, 9, 13, 1.0f};
    const int planes = 3, stride = 10, c0 = 3;
    long nin = (long)k.in_h * k.in_w * k.channels, nout = (long)k.out_h * k.out_w * stride;
    for (int type = 0; type < 2; type++) {
        size_t elem = type ? sizeof(pdl_half) : sizeof(float);
        float *x = random_floats(planes * nin, 400 + type, -2.0f, 2.0f);
        float *fill = random_floats(planes * nout, 410 + type, 5.0f, 6.0f);
        void *src = type ? (void *)to_half(x, planes * nin) : x;
        void *one = type ? (void *)to_half(fill, planes * nout) : malloc(planes * nout * elem);
        void *all = malloc(planes * nout * elem);
        cr_assert(one && all);
        if (!type)
            memcpy(one, fill, planes * nout * elem);
        memcpy(all, one, planes * nout * elem);
        for (int p = 0; p < planes; p++)
            run_resize(&k, (pdl_dense_type)type, (char *)src + p * nin * elem,
                       (char *)one + p * nout * elem, stride, c0);
        pdl_dense_resize_args a = {(pdl_dense_type)type, k.in_h, k.in_w, k.channels, k.size_h,
                                   k.size_w, k.out_h, k.out_w, k.mul, stride, c0, src, all,
                                   planes};
        cr_assert_eq(pdl_cpu_dense_resize(&a, NULL), 0);
        cr_assert(memcmp(one, all, planes * nout * elem) == 0, "planes differ (type %d)", type);
        if (type)
            free(x);
        free(src);
        free(fill);
        free(one);
        free(all);
    }
}

/* PDL_RUN_FULL on a device: the heads' x4 upsampling through the resize
 * kernel equals the host's pdl_heads_upsample_full bit for bit, cropped to
 * odd sizes (offsets x4 included). */
Test(dense, heads_up_matches_heads_upsample_full)
{
    const struct {
        int classes, h4, w4, height, width;
    } cases[] = {{19, 9, 17, 33, 65}, {3, 5, 7, 17, 25}, {1, 1, 1, 3, 2}, {7, 12, 20, 48, 80}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int c = cases[i].classes + 3, h4 = cases[i].h4, w4 = cases[i].w4;
        long nin = (long)c * h4 * w4, nout = (long)c * cases[i].height * cases[i].width;
        float *heads = random_floats(nin, 500 + i, -4.0f, 4.0f);
        float *want = malloc((size_t)nout * sizeof *want), *got = malloc((size_t)nout * sizeof *got);
        cr_assert(want && got);
        pdl_head_outputs o = {.height = cases[i].height, .width = cases[i].width, .h4 = h4,
                              .w4 = w4, .num_classes = cases[i].classes, .sem_logits = heads,
                              .center = heads + (long)cases[i].classes * h4 * w4,
                              .offset = heads + (long)(cases[i].classes + 1) * h4 * w4};
        pdl_error err;
        cr_assert_eq(pdl_heads_upsample_full(&o, want, &err), PDL_OK, "%s", err.msg);
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(thread_counts[t]);
            memset(got, 0xff, (size_t)nout * sizeof *got);
            cr_assert_eq(pdl_dense_heads_up(pdl_cpu_dense_resize, cases[i].classes, h4, w4,
                                            cases[i].height, cases[i].width, heads, got, NULL),
                         0);
            assert_same_bits(got, want, nout, "heads_up vs pdl_heads_upsample_full");
        }
        free(heads);
        free(want);
        free(got);
    }
}

/* ---- pooling ------------------------------------------------------------------ */

static void check_pool(int h, int w, int c, int kh_req, int kw_req, uint64_t seed)
{
    int kh = pdl_dense_pool_kernel(kh_req, h), kw = pdl_dense_pool_kernel(kw_req, w);
    int oh = h - kh + 1, ow = w - kw + 1;
    long nin = (long)h * w * c, nout = (long)oh * ow * c, nrows = (long)h * ow * c;
    float *x = random_floats(nin, seed, -1.0f, 3.0f);
    float *rows = malloc((size_t)nrows * sizeof *rows), *want = malloc((size_t)nout * sizeof *want);
    float *got = malloc((size_t)nout * sizeof *got), *from_q = malloc((size_t)nout * sizeof *got);
    pdl_half *xh = to_half(x, nin), *got_h = malloc((size_t)nout * sizeof *got_h);
    float *xq = half_values(xh, nin);

    pdl_cpu_box_filter_nhwc(x, h, w, c, kh, kw, rows, want);
    /* a window mean in double: the bound covers kw - 1 and kh - 1 sequential
     * float additions and the final scaling, relative to the mean magnitude */
    for (int oy = 0; oy < oh; oy += oh > 4 ? oh / 4 : 1)
        for (int ox = 0; ox < ow; ox++)
            for (int ch = 0; ch < c; ch++) {
                double s = 0, mag = 0;
                for (int y = oy; y < oy + kh; y++)
                    for (int xx = ox; xx < ox + kw; xx++) {
                        double v = x[((long)y * w + xx) * c + ch];
                        s += v;
                        mag += fabs(v);
                    }
                long j = ((long)oy * ow + ox) * c + ch;
                cr_assert(fabs(want[j] - s / (kh * kw)) <= (kh + kw + 2) * U * mag / (kh * kw),
                          "pool %dx%d k %dx%d at (%d,%d,%d): %.9g, mean %.9g", h, w, kh, kw, oy,
                          ox, ch, want[j], s / (kh * kw));
            }
    pdl_dense_pool_args a = {PDL_DENSE_F32, h, w, c, kh_req, kw_req, x, rows, got};
    cr_assert_eq(pdl_dense_pool_rows(&a), nrows);
    pdl_dense_pool_args ah = {PDL_DENSE_F16, h, w, c, kh_req, kw_req, xh, rows, got_h};
    pdl_dense_pool_args aq = {PDL_DENSE_F32, h, w, c, kh_req, kw_req, xq, rows, from_q};
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(thread_counts[t]);
        memset(got, 0xff, (size_t)nout * sizeof *got);
        cr_assert_eq(pdl_cpu_dense_pool(&a, NULL), 0);
        assert_same_bits(got, want, nout, "pool vs pdl_cpu_box_filter_nhwc");
        cr_assert_eq(pdl_cpu_dense_pool(&aq, NULL), 0);
        cr_assert_eq(pdl_cpu_dense_pool(&ah, NULL), 0);
        /* inputs in [-1, 3): rounding them moves the mean by <= 2^-11 * 3,
         * the output rounding adds 2^-11 |mean| */
        for (long i = 0; i < nout; i++) {
            cr_assert_eq(got_h[i].bits, pdl_float_to_half_bits(from_q[i]),
                         "pool (half) [%ld]: 0x%04x, want RNE(%.9g)", i, got_h[i].bits, from_q[i]);
            float g = pdl_half_to_float(got_h[i]);
            cr_assert(fabsf(g - got[i]) <= 0x1p-11f * (3.0f + fabsf(got[i])) + 1e-6f,
                      "pool (half) [%ld]: %.9g vs float %.9g", i, g, got[i]);
        }
    }
    free(x);
    free(rows);
    free(want);
    free(got);
    free(from_q);
    free(xh);
    free(got_h);
    free(xq);
}

Test(dense, pool_matches_box_filter)
{
    check_pool(7, 9, 19, 4, 8, 1);     /* d2-dsconv reference: slides, divides neither */
    check_pool(64, 128, 3, 32, 64, 2); /* D2 Cityscapes at 1024x2048: 33x65 outputs */
    check_pool(7, 13, 256, 5, 5, 3);
    check_pool(1, 1, 19, 5, 5, 4);     /* kernel clamped to the map */
    check_pool(5, 9, 1, 9, 3, 5);      /* clamped in one dimension only */
    check_pool(33, 65, 3, 1, 1, 6);    /* 1x1 window: the map itself */
}

Test(dense, pool_global)
{
    check_pool(1, 1, 3, 0, 0, 7);
    check_pool(7, 13, 256, 0, 0, 8);
    check_pool(97, 131, 19, 0, 0, 9);
    check_pool(64, 128, 1, 0, 0, 10);
}

/* ---- channel-slice copy ----------------------------------------------------- */

static void check_copy(long pixels, int channels, int src_stride, int dst_stride, int c0,
                       uint64_t seed)
{
    float *src = random_floats(pixels * src_stride, seed, -8.0f, 8.0f);
    float *dst = random_floats(pixels * dst_stride, seed + 1000, 10.0f, 20.0f);
    float *before = malloc((size_t)pixels * dst_stride * sizeof *before);
    memcpy(before, dst, (size_t)pixels * dst_stride * sizeof *dst);
    pdl_half *src_h = to_half(src, pixels * src_stride), *dst_h = to_half(dst, pixels * dst_stride);
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(thread_counts[t]);
        pdl_dense_copy_args a = {PDL_DENSE_F32, pixels, channels, src_stride, dst_stride, c0,
                                 src,           dst};
        cr_assert_eq(pdl_cpu_dense_copy(&a, NULL), 0);
        a.type = PDL_DENSE_F16;
        a.src = src_h;
        a.dst = dst_h;
        cr_assert_eq(pdl_cpu_dense_copy(&a, NULL), 0);
        for (long p = 0; p < pixels; p++)
            for (int c = 0; c < dst_stride; c++) {
                long j = p * dst_stride + c;
                int in_slice = c >= c0 && c < c0 + channels;
                float want = in_slice ? src[p * src_stride + c - c0] : before[j];
                cr_assert(memcmp(&dst[j], &want, sizeof want) == 0,
                          "copy pixel %ld channel %d: %.9g, want %.9g", p, c, dst[j], want);
                cr_assert_eq(dst_h[j].bits, pdl_float_to_half_bits(want),
                             "copy (half) pixel %ld channel %d", p, c);
            }
    }
    free(src);
    free(dst);
    free(before);
    free(src_h);
    free(dst_h);
}

Test(dense, copy_into_channel_slice)
{
    check_copy(1, 1, 1, 1, 0, 1);
    check_copy(7 * 13, 3, 3, 19, 16, 2);
    check_copy(97 * 131, 19, 19, 64, 0, 3);
    check_copy(33 * 65, 256, 256, 320, 64, 4); /* decoder concat: [64 projected, 256 upsampled] */
    check_copy(7 * 13, 19, 32, 40, 21, 5);     /* from a slice of a wider source */
}

/* ---- head outputs to planar float -------------------------------------------- */

static void check_planar(int h, int w, int channels, int src_stride, int src_c0, uint64_t seed)
{
    long np = (long)h * w, n = np * channels;
    float *src = random_floats(np * src_stride, seed, -30.0f, 30.0f);
    pdl_half *src_h = to_half(src, np * src_stride);
    float *got = malloc((size_t)n * sizeof *got), *got_h = malloc((size_t)n * sizeof *got_h);
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(thread_counts[t]);
        pdl_dense_planar_args a = {PDL_DENSE_F32, h, w, channels, src_stride, src_c0, src, got};
        cr_assert_eq(pdl_cpu_dense_planar(&a, NULL), 0);
        a.type = PDL_DENSE_F16;
        a.src = src_h;
        a.dst = got_h;
        cr_assert_eq(pdl_cpu_dense_planar(&a, NULL), 0);
        for (int c = 0; c < channels; c++)
            for (long p = 0; p < np; p++) {
                long s = p * src_stride + src_c0 + c, d = c * np + p;
                cr_assert(memcmp(&got[d], &src[s], sizeof got[d]) == 0,
                          "planar %dx%d channel %d pixel %ld: %.9g, want %.9g", h, w, c, p, got[d],
                          src[s]);
                float want_h = pdl_half_to_float(src_h[s]);
                cr_assert(memcmp(&got_h[d], &want_h, sizeof want_h) == 0,
                          "planar (half) channel %d pixel %ld: %.9g, want %.9g", c, p, got_h[d],
                          want_h);
            }
    }
    free(src);
    free(src_h);
    free(got);
    free(got_h);
}

Test(dense, planar_head_outputs)
{
    check_planar(1, 1, 1, 1, 0, 1);
    check_planar(33, 65, 19, 19, 0, 2);  /* semantic logits */
    check_planar(97, 131, 1, 1, 0, 3);   /* center */
    check_planar(7, 13, 2, 2, 0, 4);     /* offsets */
    check_planar(7, 13, 256, 256, 0, 5);
    check_planar(7, 13, 2, 3, 1, 6);     /* a slice of a wider tensor */
}
