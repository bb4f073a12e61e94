/* test_postprocess.c - the shipped post-processing kernels (CPU executor)
 * against the serial reference in tests/support, on random cases with
 * realistic structure at many sizes; every case also runs at 1 and 2 threads
 * and must give identical results (integer outputs and fixed-point scores).
 * Also: an executor out of memory gives an error naming the size, and images
 * of a size already seen allocate nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postprocess.h"
#include "support/tsup_pp.h"

static void random_case(int h, int w, int stride, int classes, int objects, uint64_t seed,
                        int min_instances)
{
    tsup_pp_case c;
    tsup_pp_case_random(&c, classes, h, w, stride, objects, 0.06, seed);
    tsup_pp_result ref;
    tsup_pp_reference(&c, &ref);
    int things = 0;
    for (int i = 0; i < ref.segment_count; i++)
        things += ref.segments[i].isthing;
    cr_assert_geq(things, min_instances, "%dx%d: only %d instances formed", h, w, things);
    char what[64];
    snprintf(what, sizeof what, "random %dx%d stride %d", h, w, stride);
    tsup_pp_check_cpu(&c, &ref, what);
    tsup_pp_result_free(&ref);
    tsup_pp_case_free(&c);
}

/* A random case whose heads are resized by a factor other than the stride
 * they were made for (Detectron2's path for resized inputs): resize_h x
 * resize_w, cropped to out_h x out_w, offsets scaled to match. */
static void resized_case(int h, int w, int stride, int resize_h, int resize_w, int out_h,
                         int out_w, uint64_t seed, int min_instances)
{
    tsup_pp_case c;
    tsup_pp_case_random(&c, 7, h, w, stride, 20, 0.06, seed);
    c.resize_h = resize_h;
    c.resize_w = resize_w;
    c.out_h = out_h;
    c.out_w = out_w;
    c.offset_scale_y = (float)resize_h / (float)c.in_h;
    c.offset_scale_x = (float)resize_w / (float)c.in_w;
    tsup_pp_result ref;
    tsup_pp_reference(&c, &ref);
    int things = 0;
    for (int i = 0; i < ref.segment_count; i++)
        things += ref.segments[i].isthing;
    cr_assert_geq(things, min_instances, "resized to %dx%d: only %d instances formed", resize_h,
                  resize_w, things);
    char what[80];
    snprintf(what, sizeof what, "heads %dx%d resized to %dx%d", c.in_h, c.in_w, resize_h, resize_w);
    tsup_pp_check_cpu(&c, &ref, what);
    tsup_pp_result_free(&ref);
    tsup_pp_case_free(&c);
}

/* Upsampling by about 3.1 x 2.9: runs of 2-4 pixels per head column, weights
 * that are no multiple of a power of two. */
Test(postprocess, resized_odd_scale)
{
    resized_case(260, 384, 4, 201, 281, 199, 280, 21, 3);
}

/* Downsampling: several head columns per output pixel, runs of one. */
Test(postprocess, resized_down)
{
    resized_case(300, 401, 1, 211, 290, 211, 290, 22, 3);
}

/* Upsampling by about 1.05 (a 1080x1920 photo at test size 1024): no class
 * lists, every class sampled at every pixel, in lanes of 8 and a tail. */
Test(postprocess, resized_up_slightly)
{
    resized_case(300, 401, 1, 316, 423, 316, 423, 23, 3);
}

Test(postprocess, random_1x1)
{
    random_case(1, 1, 4, 4, 1, 11, 0);
}

Test(postprocess, random_1x4097)
{
    random_case(1, 4097, 4, 6, 12, 12, 3);
}

Test(postprocess, random_513x1025)
{
    random_case(513, 1025, 4, 8, 30, 13, 10);
}

Test(postprocess, random_1024x2048)
{
    random_case(1024, 2048, 4, 8, 40, 14, 15);
}

/* COCO's 133 classes: more than the small build of the paint kernel holds. */
Test(postprocess, random_133_classes)
{
    random_case(257, 383, 4, 133, 25, 16, 5);
}

Test(postprocess, random_full_size_heads)
{
    random_case(300, 401, 1, 7, 15, 15, 5);
}

/* An executor out of memory for large buffers: the error names the output
 * size and how much was needed, and nothing leaks. */
static int alloc_small_only(void **p, size_t bytes)
{
    return bytes > (1u << 20) ? 1 : pdl_cpu_pp_kernels.alloc(p, bytes);
}

Test(postprocess, out_of_memory_names_size)
{
    pdl_pp_kernels k = pdl_cpu_pp_kernels;
    k.alloc = alloc_small_only;
    unsigned char isthing[3] = {0, 1, 1};
    pdl_pp_options o;
    pdl_pp_options_default(&o);
    o.classes = 3;
    o.isthing = isthing;
    pdl_pp_context *pp;
    pdl_error err;
    cr_assert_eq(pdl_pp_init(&pp, &k, NULL, &o, &err), PDL_OK, "%s", err.msg);
    int h4 = 256, w4 = 512;
    float *heads = calloc((size_t)6 * h4 * w4, sizeof *heads);
    cr_assert_not_null(heads);
    for (size_t i = 0; i < (size_t)6 * h4 * w4; i++)
        heads[i] = (float)(i % 7) * 0.25f - 0.5f;
    pdl_pp_heads ph;
    pdl_pp_heads_strided(&ph, heads, heads + 3 * h4 * w4, heads + 4 * h4 * w4, h4, w4, 4, 1024,
                         2048);
    pdl_pp_result res;
    cr_assert_eq(pdl_pp_run(pp, &ph, &res, &err), PDL_ERR_NOMEM);
    cr_assert(strstr(err.msg, "a 2048x1024 output from 512x256 heads") && strstr(err.msg, " MB"),
              "%s", err.msg);
    free(heads);
    pdl_pp_free(pp);
}

/* The executor's allocations, counted (each Criterion test runs in a process of its own). */
static int allocations;

static int alloc_counted(void **p, size_t bytes)
{
    allocations++;
    return pdl_cpu_pp_kernels.alloc(p, bytes);
}

/* After the first image of a size, images of that size allocate nothing,
 * whatever their number of centers (up to the grid's reserve). */
Test(postprocess, steady_state_allocates_nothing)
{
    pdl_pp_kernels k = pdl_cpu_pp_kernels;
    k.alloc = alloc_counted;
    tsup_pp_case few, many;
    tsup_pp_case_random(&few, 7, 200, 300, 4, 3, 0.05, 41);
    tsup_pp_case_random(&many, 7, 200, 300, 4, 60, 0.02, 42);
    pdl_pp_options o = few.opt;
    o.isthing = few.isthing;
    pdl_pp_context *pp;
    pdl_error err;
    cr_assert_eq(pdl_pp_init(&pp, &k, NULL, &o, &err), PDL_OK, "%s", err.msg);
    const tsup_pp_case *order[3] = {&few, &many, &few};
    int centers[3];
    for (int i = 0; i < 3; i++) {
        const tsup_pp_case *c = order[i];
        pdl_pp_heads h = {c->logits, c->center,   c->offset,  c->in_h,          c->in_w,
                          c->resize_h, c->resize_w, c->out_h, c->out_w, c->offset_scale_y,
                          c->offset_scale_x};
        int before = allocations;
        pdl_pp_result r;
        cr_assert_eq(pdl_pp_run(pp, &h, &r, &err), PDL_OK, "%s", err.msg);
        centers[i] = r.center_count;
        if (i > 0)
            cr_assert_eq(allocations, before, "image %d (%d centers) allocated %d buffers", i,
                         r.center_count, allocations - before);
    }
    cr_assert(centers[1] > centers[0] + 20, "centers %d and %d: the case does not vary them",
              centers[0], centers[1]);
    pdl_pp_free(pp);
    tsup_pp_case_free(&few);
    tsup_pp_case_free(&many);
}
