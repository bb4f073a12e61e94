/* test_gpu_postprocess.c - the post-processing cases on the CUDA executor.
 *
 * Loads the kernel table from libpanoptic_cuda.so ($PDL_GPU_TEST_LIB, set by
 * tests/gpu/run.sh) and runs every hand-built case and the random cases of
 * the CPU tests through it: maps, centers and segments must equal the serial
 * reference and the CPU executor exactly, scores to 1e-5 relative (the float
 * sums of the softmax run in a different order). Without a usable device the
 * tests say so and are skipped. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "support/tsup_pp.h"

static const pdl_pp_kernels *cuda_table(char *why, size_t size)
{
    const char *path = getenv("PDL_GPU_TEST_LIB");
    if (!path || !*path)
        path = "build/libpanoptic_cuda.so";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, size, "%s", dlerror());
        return NULL;
    }
    const pdl_pp_kernels *k = dlsym(lib, PDL_CUDA_PP_KERNELS_SYMBOL);
    if (!k) {
        snprintf(why, size, "%s lacks %s", path, PDL_CUDA_PP_KERNELS_SYMBOL);
        return NULL;
    }
    return k->available(why, size) ? k : NULL;
}

static const pdl_pp_kernels *require_gpu(void)
{
    char why[300] = "";
    const pdl_pp_kernels *k = cuda_table(why, sizeof why);
    if (!k) {
        printf("SKIPPED: no CUDA device (%s)\n", why);
        fflush(stdout);
        cr_skip_test("no CUDA device (%s)", why);
    }
    return k;
}

static void check_on_gpu(const pdl_pp_kernels *k, const tsup_pp_case *c, const char *what)
{
    tsup_pp_result ref, gpu, cpu;
    tsup_pp_reference(c, &ref);
    tsup_pp_run_exec(k, c, &gpu);
    tsup_pp_run_cpu(c, 2, &cpu);
    tsup_pp_assert_same(&gpu, &ref, TSUP_PP_SCORE_TOL, what);
    tsup_pp_assert_same(&gpu, &cpu, TSUP_PP_SCORE_TOL, what);
    tsup_pp_result_free(&ref);
    tsup_pp_result_free(&gpu);
    tsup_pp_result_free(&cpu);
}

Test(gpu_postprocess, hand_built_cases)
{
    const pdl_pp_kernels *k = require_gpu();
    for (int i = 0; i < tsup_pp_hand_case_count; i++) {
        tsup_pp_case c;
        tsup_pp_expect e;
        tsup_pp_hand_cases[i].build(&c, &e);
        check_on_gpu(k, &c, tsup_pp_hand_cases[i].name);
        tsup_pp_case_free(&c);
    }
}

Test(gpu_postprocess, random_cases)
{
    const pdl_pp_kernels *k = require_gpu();
    static const int sizes[][4] = {
        {1, 1, 4, 4}, {1, 4097, 4, 6}, {513, 1025, 4, 8}, {1024, 2048, 4, 19}, {300, 401, 1, 7}};
    for (int i = 0; i < 5; i++) {
        tsup_pp_case c;
        tsup_pp_case_random(&c, sizes[i][3], sizes[i][0], sizes[i][1], sizes[i][2], 40, 0.06,
                            100 + i);
        char what[64];
        snprintf(what, sizeof what, "gpu random %dx%d", sizes[i][0], sizes[i][1]);
        check_on_gpu(k, &c, what);
        tsup_pp_case_free(&c);
    }
}

Test(gpu_postprocess, d2_reference_case)
{
    const pdl_pp_kernels *k = require_gpu();
    tsup_pp_case c;
    tsup_pp_result d2, gpu;
    cr_assert_eq(tsup_pp_case_read(&c, "tests/data/pp_d2_case.bin"), 0, "cannot read case");
    cr_assert_eq(tsup_pp_result_read(&d2, "tests/data/pp_d2_result.bin"), 0, "cannot read result");
    tsup_pp_run_exec(k, &c, &gpu);
    tsup_pp_assert_same(&gpu, &d2, TSUP_PP_SCORE_TOL, "gpu vs PyTorch");
    tsup_pp_result_free(&gpu);
    tsup_pp_result_free(&d2);
    tsup_pp_case_free(&c);
}
