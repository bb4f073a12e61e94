/* test_d2_reference.c - ties our semantics to the PyTorch algorithm: a small
 * case and its result written by tests/ref/d2_postprocess.py (Detectron2's
 * post-processing on the model's bilinear head upsampling, top-k 4 so its k-1
 * rule shows) must be reproduced exactly by the kernels and by the serial
 * reference. Regenerate with
 *   /usr/bin/python3 tests/ref/d2_postprocess.py make-test \
 *       tests/data/pp_d2_case.bin tests/data/pp_d2_result.bin */
#include <criterion/criterion.h>

#include "support/tsup_pp.h"

Test(pp_d2, kernels_match_pytorch)
{
    tsup_pp_case c;
    tsup_pp_result d2, ref;
    cr_assert_eq(tsup_pp_case_read(&c, "tests/data/pp_d2_case.bin"), 0,
                 "tests/data/pp_d2_case.bin: cannot read");
    cr_assert_eq(tsup_pp_result_read(&d2, "tests/data/pp_d2_result.bin"), 0,
                 "tests/data/pp_d2_result.bin: cannot read");
    cr_assert_eq(d2.center_count, 3, "the case is built to hit the k - 1 rule (4 peaks, top-k 4)");
    int things = 0;
    for (int i = 0; i < d2.segment_count; i++)
        things += d2.segments[i].isthing;
    cr_assert_geq(things, 2, "the case should form instances");
    tsup_pp_reference(&c, &ref);
    tsup_pp_assert_same(&ref, &d2, TSUP_PP_SCORE_TOL, "serial reference vs PyTorch");
    tsup_pp_check_cpu(&c, &d2, "kernels vs PyTorch");
    tsup_pp_result_free(&ref);
    tsup_pp_result_free(&d2);
    tsup_pp_case_free(&c);
}
