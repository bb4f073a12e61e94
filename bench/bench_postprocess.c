/* bench_postprocess.c - times the post-processing on the CPU executor, or on
 * the CUDA one.
 *
 *   bench_postprocess gen FILE [SEED]          write the benchmark case: 1024x2048
 *       output, 19 classes (9 things), heads at 256x512 upsampled x4, 200 objects
 *       of radius 3..48 pixels (about a fifth of the pixels, a crowded street)
 *   bench_postprocess gen-plateau FILE         the same scene with the center
 *       heatmap 0.5 everywhere: every output pixel is an NMS peak (2,097,152
 *       equal candidates), with exactly-k top-k (the most radix passes)
 *   bench_postprocess gen-resized FILE         a 1080x1920 photo at test size
 *       1024 (Detectron2's path for resized inputs): full-size heads of the
 *       1024x1820 input resized to 1080x1920, offsets scaled to match
 *   bench_postprocess run FILE [RUNS] [D2OUT]  time RUNS runs (after one warm-up),
 *       print the median; with D2OUT (written by tests/ref/d2_postprocess.py on
 *       the same case) also check that the panoptic maps are identical.
 * Threads come from OMP_NUM_THREADS. The CPU executor is the build for this
 * CPU (AVX2 where it has it); PDL_PP_CPU=generic runs the generic x86-64 build.
 * With PDL_PP_CUDA_LIB set to the path of
 * libpanoptic_cuda.so the CUDA executor runs instead, on heads already in
 * device memory; a run then includes copying the panoptic map back (the
 * executable must export libpanoptic's symbols: link it with -rdynamic and the
 * whole archive, as bench/gpu.sh does). */
#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postprocess.h"
#include "support/tsup_pp.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum bench_case { CASE_STREET, CASE_PLATEAU, CASE_RESIZED };

static int gen(const char *path, uint64_t seed, enum bench_case which)
{
    tsup_pp_case c;
    if (which == CASE_RESIZED) {
        tsup_pp_case_random(&c, 19, 1024, 1820, 1, 200, 0.022, seed);
        c.resize_h = c.out_h = 1080;
        c.resize_w = c.out_w = 1920;
        c.offset_scale_y = 1080.0f / 1024.0f;
        c.offset_scale_x = 1920.0f / 1820.0f;
    } else {
        tsup_pp_case_random(&c, 19, 1024, 2048, 4, 200, 0.022, seed);
    }
    c.opt.stuff_area = 2048;
    if (which == CASE_PLATEAU) {
        /* 0.5 interpolates to exactly 0.5 at every output pixel */
        for (long p = 0; p < (long)c.in_h * c.in_w; p++)
            c.center[p] = 0.5f;
        c.opt.exact_top_k = 1;
    }
    int rc = tsup_pp_case_write(&c, path);
    tsup_pp_case_free(&c);
    if (rc)
        fprintf(stderr, "%s: cannot write\n", path);
    return rc ? 1 : 0;
}

/* The executor PDL_PP_CUDA_LIB names, else the CPU's; NULL (said why) when
 * the library or a device is missing. */
static const pdl_pp_kernels *executor(void)
{
    const char *lib_path = getenv("PDL_PP_CUDA_LIB"), *cpu = getenv("PDL_PP_CPU");
    if (!lib_path || !*lib_path)
        return cpu && !strcmp(cpu, "generic") ? &pdl_cpu_pp_kernels : pdl_cpu_pp_executor();
    void *lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    const pdl_pp_kernels *k = lib ? dlsym(lib, PDL_CUDA_PP_KERNELS_SYMBOL) : NULL;
    char why[300] = "";
    if (!k)
        snprintf(why, sizeof why, "%s", lib ? "no kernel table in the library" : dlerror());
    else if (!k->available(why, sizeof why))
        k = NULL;
    if (!k)
        printf("cuda executor: skipped: %s\n", why);
    return k;
}

static int run(const char *path, int runs, const char *d2_path)
{
    tsup_pp_case c;
    if (tsup_pp_case_read(&c, path)) {
        fprintf(stderr, "%s: cannot read case\n", path);
        return 1;
    }
    const pdl_pp_kernels *k = executor();
    if (!k)
        return 0;
    pdl_pp_context *ctx;
    pdl_error err;
    pdl_pp_options opt = c.opt;
    opt.isthing = c.isthing;
    if (pdl_pp_init(&ctx, k, NULL, &opt, &err) != PDL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    pdl_pp_heads h;
    if (tsup_pp_heads_upload(k, &c, &h)) {
        fprintf(stderr, "%s executor: cannot hold the heads\n", k->name);
        return 1;
    }
    pdl_pp_result r;
    double *t = malloc((runs + 1) * sizeof *t);
    double cpu0 = 0;
    for (int i = 0; i <= runs; i++) {
        if (i == 1)
            cpu0 = cpu_now();
        double t0 = now();
        if (pdl_pp_run(ctx, &h, &r, &err) != PDL_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t[i] = now() - t0;
    }
    double cpu = (cpu_now() - cpu0) / runs;
    qsort(t + 1, runs, sizeof *t, cmp_double);
    int things = 0;
    int64_t thing_px = 0;
    for (int i = 0; i < r.segment_count; i++) {
        things += r.segments[i].isthing;
        thing_px += r.segments[i].isthing ? r.segments[i].area : 0;
    }
    printf("ours (%s executor): %dx%d, %d classes, heads %dx%d, %d centers, %d instances, "
           "%d segments, %.0f%% of pixels in instances, %d threads: median %.3f ms over %d runs "
           "(min %.3f, max %.3f), CPU time %.1f ms per run\n",
           k->name, c.out_h, c.out_w, c.opt.classes, c.in_h, c.in_w, r.center_count, things,
           r.segment_count, 100.0 * thing_px / ((double)c.out_h * c.out_w), omp_get_max_threads(),
           t[1 + runs / 2] * 1e3, runs, t[1] * 1e3, t[runs] * 1e3, cpu * 1e3);
    int rc = 0;
    if (d2_path) {
        tsup_pp_result d2;
        if (tsup_pp_result_read(&d2, d2_path)) {
            fprintf(stderr, "%s: cannot read result\n", d2_path);
            return 1;
        }
        size_t n = (size_t)c.out_h * c.out_w, diff = 0;
        for (size_t p = 0; p < n; p++)
            diff += r.panoptic[p] != d2.panoptic[p];
        int same_centers = d2.center_count == r.center_count;
        for (int i = 0; same_centers && i < r.center_count; i++)
            same_centers = d2.centers[i].y == r.centers[i].y && d2.centers[i].x == r.centers[i].x;
        printf("agreement with PyTorch: %zu of %zu pixels differ, centers %s\n", diff, n,
               same_centers ? "identical" : "DIFFER");
        rc = diff || !same_centers;
        tsup_pp_result_free(&d2);
    }
    free(t);
    tsup_pp_heads_release(k, &h);
    pdl_pp_free(ctx);
    tsup_pp_case_free(&c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "gen"))
        return gen(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) : 2026, CASE_STREET);
    if (argc >= 3 && !strcmp(argv[1], "gen-plateau"))
        return gen(argv[2], 2026, CASE_PLATEAU);
    if (argc >= 3 && !strcmp(argv[1], "gen-resized"))
        return gen(argv[2], 2026, CASE_RESIZED);
    if (argc >= 3 && !strcmp(argv[1], "run"))
        return run(argv[2], argc > 3 ? atoi(argv[3]) : 20, argc > 4 ? argv[4] : NULL);
    fprintf(stderr,
            "usage: %s gen FILE [SEED] | gen-plateau FILE | gen-resized FILE | "
            "run FILE [RUNS] [D2OUT]\n",
            argv[0]);
    return 2;
}
