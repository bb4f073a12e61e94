/* test_postprocess.c - the shipped post-processing kernels (CPU executor)
 * against the serial reference in tests/support, on random cases with
 * realistic structure at many sizes; every case also runs at 1 and 2 threads
 * and must give identical results (integer outputs and fixed-point scores). */
#include <criterion/criterion.h>
#include <stdio.h>

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

Test(postprocess, random_full_size_heads)
{
    random_case(300, 401, 1, 7, 15, 15, 5);
}
