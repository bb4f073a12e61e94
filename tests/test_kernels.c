/* test_kernels.c - hand-built post-processing cases (tests/support/
 * tsup_pp_hand.c): the reference must produce what each case was built to
 * produce, and the shipped kernels on the CPU executor, at 1 and 2 threads,
 * must match the reference exactly. */
#include <criterion/criterion.h>
#include <string.h>

#include "support/tsup_pp.h"

static void check_expectations(const tsup_pp_expect *e, const tsup_pp_result *r, const char *what)
{
    if (e->centers >= 0)
        cr_assert_eq(r->center_count, e->centers, "%s: %d centers, built for %d", what,
                     r->center_count, e->centers);
    int instances = 0;
    for (int i = 0; i < r->segment_count; i++) {
        instances += r->segments[i].isthing;
        if (e->absent_class_a > 0)
            cr_assert(r->segments[i].category != e->absent_class_a &&
                          r->segments[i].category != e->absent_class_b,
                      "%s: segment of an empty class", what);
    }
    if (e->instances >= 0)
        cr_assert_eq(instances, e->instances, "%s: %d instances, built for %d", what, instances,
                     e->instances);
    if (e->first_area > 0) {
        cr_assert(r->segment_count > 0 && r->segments[0].isthing, "%s: no instance", what);
        cr_assert_eq(r->segments[0].area, e->first_area, "%s: instance 1 area %lld, built for %ld",
                     what, (long long)r->segments[0].area, e->first_area);
    }
    if (e->all_void) {
        for (long p = 0; p < (long)r->height * r->width; p++)
            cr_assert_eq(r->panoptic[p], -1, "%s: pixel %ld not void", what, p);
        cr_assert_eq(r->segment_count, 0, "%s: segments in a void map", what);
    }
}

static void run_hand_case(const char *name)
{
    for (int i = 0; i < tsup_pp_hand_case_count; i++) {
        if (strcmp(tsup_pp_hand_cases[i].name, name))
            continue;
        tsup_pp_case c;
        tsup_pp_expect e = {-1, -1, 0, 0, 0, 0};
        tsup_pp_hand_cases[i].build(&c, &e);
        tsup_pp_result ref;
        tsup_pp_reference(&c, &ref);
        check_expectations(&e, &ref, name);
        tsup_pp_check_cpu(&c, &ref, name);
        tsup_pp_result_free(&ref);
        tsup_pp_case_free(&c);
        return;
    }
    cr_assert_fail("no hand case %s", name);
}

#define HAND(name)                                                                                 \
    Test(pp_hand, name)                                                                            \
    {                                                                                              \
        run_hand_case(#name);                                                                      \
    }

HAND(no_centers)
HAND(one_center)
HAND(all_stuff)
HAND(all_void)
HAND(heatmap_ties)
HAND(plateau_d2)
HAND(plateau_exact)
HAND(exactly_k)
HAND(k_plus_1)
HAND(exactly_k_exact)
HAND(k_plus_1_exact)
HAND(offsets_outside)
HAND(empty_classes)
HAND(one_center_claims_all)
HAND(tiny_image)
HAND(one_pixel)
HAND(nms_41)
HAND(nms_101)
HAND(sparse_peaks)
HAND(threshold_edge)
HAND(semantic_ties_full)
HAND(semantic_ties_x4)

/* Ties: the equidistant pixel (10,15) joins instance 1 (center (10,5)) with
 * (10,13); instance 1 has two class-1 and two class-0 pixels and takes class 0. */
Test(pp_hand, tie_rules)
{
    tsup_pp_case c;
    tsup_pp_expect e = {-1, -1, 0, 0, 0, 0};
    for (int i = 0; i < tsup_pp_hand_case_count; i++)
        if (!strcmp(tsup_pp_hand_cases[i].name, "tie_rules"))
            tsup_pp_hand_cases[i].build(&c, &e);
    tsup_pp_result ref;
    tsup_pp_reference(&c, &ref);
    check_expectations(&e, &ref, "tie_rules");
    int32_t tie = ref.panoptic[10 * 31 + 15];
    cr_assert_eq(tie, ref.panoptic[10 * 31 + 13], "equidistant pixel not in instance 1");
    cr_assert_eq(tie, 0 * 1000 + 1, "instance 1 is %d, expected class 0, id 1", tie);
    cr_assert_eq(ref.panoptic[0], tie, "pixel (0,0) should join instance 1");
    tsup_pp_check_cpu(&c, &ref, "tie_rules");
    tsup_pp_result_free(&ref);
    tsup_pp_case_free(&c);
}

Test(pp_hand, buffers_are_reused_across_sizes)
{
    /* One context over several sizes, results equal to fresh contexts. */
    tsup_pp_case small, big;
    tsup_pp_case_random(&small, 5, 40, 70, 4, 4, 0.1, 31);
    tsup_pp_case_random(&big, 5, 130, 90, 4, 6, 0.1, 32);
    tsup_pp_result r_small, r_big;
    tsup_pp_reference(&small, &r_small);
    tsup_pp_reference(&big, &r_big);
    pdl_pp_options opt = small.opt;
    opt.isthing = small.isthing;
    pdl_pp_context *ctx;
    pdl_error err;
    cr_assert_eq(pdl_pp_init(&ctx, &pdl_cpu_pp_kernels, NULL, &opt, &err), PDL_OK, "%s", err.msg);
    const tsup_pp_case *order[3] = {&small, &big, &small};
    const tsup_pp_result *want[3] = {&r_small, &r_big, &r_small};
    for (int i = 0; i < 3; i++) {
        const tsup_pp_case *c = order[i];
        pdl_pp_heads h = {c->logits,  c->center,   c->offset,  c->in_h,
                          c->in_w,    c->resize_h, c->resize_w, c->out_h,
                          c->out_w,   c->offset_scale_y, c->offset_scale_x};
        pdl_pp_result r;
        cr_assert_eq(pdl_pp_run(ctx, &h, &r, &err), PDL_OK, "%s", err.msg);
        tsup_pp_result got = {r.height, r.width, (int32_t *)r.panoptic,
                              (pdl_pp_segment *)r.segments, r.segment_count,
                              (pdl_pp_center *)r.centers, r.center_count};
        tsup_pp_assert_same(&got, want[i], TSUP_PP_SCORE_TOL, "reuse");
    }
    pdl_pp_free(ctx);
    tsup_pp_result_free(&r_small);
    tsup_pp_result_free(&r_big);
    tsup_pp_case_free(&small);
    tsup_pp_case_free(&big);
}

Test(pp_hand, bad_options_and_sizes_fail_cleanly)
{
    unsigned char isthing[3] = {1, 0, 0};
    pdl_pp_options opt;
    pdl_pp_options_default(&opt);
    opt.classes = 3;
    opt.isthing = isthing;
    pdl_pp_context *ctx;
    pdl_error err;
    opt.nms_kernel = 8;
    cr_assert_eq(pdl_pp_init(&ctx, &pdl_cpu_pp_kernels, NULL, &opt, &err), PDL_ERR_ARG);
    cr_assert(strstr(err.msg, "NMS kernel 8"), "%s", err.msg);
    cr_assert_null(ctx);
    opt.nms_kernel = 7;
    opt.top_k = 0;
    cr_assert_eq(pdl_pp_init(&ctx, &pdl_cpu_pp_kernels, NULL, &opt, &err), PDL_ERR_ARG);
    opt.top_k = 200;
    opt.classes = 0;
    cr_assert_eq(pdl_pp_init(&ctx, &pdl_cpu_pp_kernels, NULL, &opt, &err), PDL_ERR_ARG);
    opt.classes = 3;
    cr_assert_eq(pdl_pp_init(&ctx, &pdl_cpu_pp_kernels, NULL, &opt, &err), PDL_OK, "%s", err.msg);
    float data[3 * 4] = {0};
    pdl_pp_heads h;
    pdl_pp_heads_strided(&h, data, data, data, 2, 2, 4, 9, 8); /* 9 rows > 2 * 4 */
    pdl_pp_result r;
    cr_assert_eq(pdl_pp_run(ctx, &h, &r, &err), PDL_ERR_ARG);
    cr_assert(strstr(err.msg, "bad sizes"), "%s", err.msg);
    pdl_pp_free(ctx);
}
