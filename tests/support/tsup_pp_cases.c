/* tsup_pp_cases.c - runs a post-processing case on an executor and compares
 * results with Criterion assertions. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsup_pp.h"

static void copy_result(const pdl_pp_result *r, tsup_pp_result *out)
{
    size_t n = (size_t)r->height * r->width;
    out->height = r->height;
    out->width = r->width;
    out->panoptic = malloc(n * sizeof *out->panoptic);
    memcpy(out->panoptic, r->panoptic, n * sizeof *out->panoptic);
    out->segment_count = r->segment_count;
    out->segments = malloc((r->segment_count + 1) * sizeof *out->segments);
    memcpy(out->segments, r->segments, r->segment_count * sizeof *out->segments);
    out->center_count = r->center_count;
    out->centers = malloc((r->center_count + 1) * sizeof *out->centers);
    memcpy(out->centers, r->centers, r->center_count * sizeof *out->centers);
}

void tsup_pp_run_exec(const pdl_pp_kernels *k, const tsup_pp_case *c, tsup_pp_result *out)
{
    pdl_pp_heads h;
    cr_assert_eq(tsup_pp_heads_upload(k, c, &h), 0, "%s: allocation or upload failed", k->name);
    pdl_pp_options opt = c->opt;
    opt.isthing = c->isthing;
    pdl_pp_context *ctx;
    pdl_error err;
    pdl_status st = pdl_pp_init(&ctx, k, NULL, &opt, &err);
    cr_assert_eq(st, PDL_OK, "%s", err.msg);
    pdl_pp_result r;
    st = pdl_pp_run(ctx, &h, &r, &err);
    cr_assert_eq(st, PDL_OK, "%s", err.msg);
    copy_result(&r, out);
    pdl_pp_free(ctx);
    tsup_pp_heads_release(k, &h);
}

static void run_threads(const pdl_pp_kernels *k, const tsup_pp_case *c, int threads,
                        tsup_pp_result *out)
{
    int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    tsup_pp_run_exec(k, c, out);
    omp_set_num_threads(before);
}

void tsup_pp_run_cpu(const tsup_pp_case *c, int threads, tsup_pp_result *out)
{
    run_threads(&pdl_cpu_pp_kernels, c, threads, out);
}

const pdl_pp_kernels *tsup_pp_cpu_avx2(void)
{
#ifdef PDL_CPU_AVX2_BUILT
    if (__builtin_cpu_supports("avx2"))
        return &pdl_cpu_avx2_pp_kernels;
    static int said;
    if (!said++)
        cr_log_warn("AVX2 build of the CPU executor: skipped, this CPU has no AVX2");
#else
    static int said;
    if (!said++)
        cr_log_warn("AVX2 build of the CPU executor: skipped, not built on this architecture");
#endif
    return NULL;
}

void tsup_pp_assert_same(const tsup_pp_result *got, const tsup_pp_result *want, double rel_tol,
                         const char *what)
{
    cr_assert_eq(got->height, want->height, "%s: height", what);
    cr_assert_eq(got->width, want->width, "%s: width", what);
    cr_assert_eq(got->center_count, want->center_count, "%s: %d centers, expected %d", what,
                 got->center_count, want->center_count);
    for (int i = 0; i < want->center_count; i++) {
        const pdl_pp_center *g = &got->centers[i], *w = &want->centers[i];
        cr_assert(g->y == w->y && g->x == w->x && g->objectness == w->objectness,
                  "%s: center %d is (%d,%d,%g), expected (%d,%d,%g)", what, i, g->y, g->x,
                  g->objectness, w->y, w->x, w->objectness);
    }
    size_t n = (size_t)want->height * want->width;
    for (size_t p = 0; p < n; p++)
        cr_assert_eq(got->panoptic[p], want->panoptic[p], "%s: pixel (%zu,%zu) is %d, expected %d",
                     what, p / want->width, p % want->width, got->panoptic[p], want->panoptic[p]);
    cr_assert_eq(got->segment_count, want->segment_count, "%s: %d segments, expected %d", what,
                 got->segment_count, want->segment_count);
    for (int i = 0; i < want->segment_count; i++) {
        const pdl_pp_segment *g = &got->segments[i], *w = &want->segments[i];
        cr_assert(g->id == w->id && g->category == w->category && g->isthing == w->isthing &&
                      g->area == w->area && !memcmp(g->bbox, w->bbox, sizeof g->bbox),
                  "%s: segment %d is id %d cat %d thing %d area %lld box %d,%d,%d,%d; expected "
                  "id %d cat %d thing %d area %lld box %d,%d,%d,%d",
                  what, i, g->id, g->category, g->isthing, (long long)g->area, g->bbox[0],
                  g->bbox[1], g->bbox[2], g->bbox[3], w->id, w->category, w->isthing,
                  (long long)w->area, w->bbox[0], w->bbox[1], w->bbox[2], w->bbox[3]);
        double tol = rel_tol * fabs((double)w->score);
        cr_assert(fabs((double)g->score - (double)w->score) <= tol,
                  "%s: segment %d score %.9g, expected %.9g (rel tol %g)", what, i, g->score,
                  w->score, rel_tol);
    }
}

void tsup_pp_check_cpu(const tsup_pp_case *c, const tsup_pp_result *ref, const char *what)
{
    tsup_pp_result one, two;
    tsup_pp_run_cpu(c, 1, &one);
    tsup_pp_run_cpu(c, 2, &two);
    tsup_pp_assert_same(&one, ref, TSUP_PP_SCORE_TOL, what);
    tsup_pp_assert_same(&two, &one, 0.0, what);
    const pdl_pp_kernels *avx2 = tsup_pp_cpu_avx2();
    if (avx2) {
        tsup_pp_result wide;
        char label[160];
        snprintf(label, sizeof label, "%s (AVX2 build)", what);
        run_threads(avx2, c, 2, &wide);
        tsup_pp_assert_same(&wide, &one, 0.0, label);
        tsup_pp_result_free(&wide);
    }
    tsup_pp_result_free(&one);
    tsup_pp_result_free(&two);
}
