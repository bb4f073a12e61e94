/* bench_network.c - times the network alone on the CPU backend: normalised
 * input to the /4 head outputs plus their x4 upsampling (what
 * bench_network_torch.py times for PyTorch), median of --runs after --warmup.
 * Reports ms/image, achieved GFLOP/s (pdl_model_flops), peak resident memory,
 * and a dnnl_sgemm N^3 rate measured in the same process as the machine's
 * matrix-multiply peak. One JSON line on stdout.
 *
 *   build/bench/bench_network WEIGHTS [--height 512] [--width 1024] [--threads 2]
 *       [--runs 10] [--warmup 2] [--sgemm 4096]   (--sgemm 0 skips the peak)
 */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"
#include "model.h"
#include "safetensors.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* GFLOP/s of an n^3 single-precision GEMM (median of 3 after one warm-up). */
static double sgemm_rate(int n)
{
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b);
    float *c = malloc((size_t)n * n * sizeof *c);
    if (!a || !b || !c)
        return 0;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)((i * 7 % 13) - 6) / 7.0f;
        b[i] = (float)((i * 5 % 11) - 5) / 5.0f;
    }
    double t[3];
    for (int r = -1; r < 3; r++) {
        double t0 = now();
        dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        if (r >= 0)
            t[r] = now() - t0;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * (double)n / median(t, 3) / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s WEIGHTS [--height H] [--width W] [--threads T] [--runs N] "
                        "[--warmup N] [--sgemm N]\n", argv[0]);
        return 2;
    }
    int h = 512, w = 1024, threads = 2, runs = 10, warmup = 2, gemm_n = 4096;
    for (int i = 2; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--height")) h = v;
        else if (!strcmp(argv[i], "--width")) w = v;
        else if (!strcmp(argv[i], "--threads")) threads = v;
        else if (!strcmp(argv[i], "--runs")) runs = v;
        else if (!strcmp(argv[i], "--warmup")) warmup = v;
        else if (!strcmp(argv[i], "--sgemm")) gemm_n = v;
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (runs < 1 || runs > 1000) {
        fprintf(stderr, "--runs must be 1..1000\n");
        return 2;
    }
    pdl_error err;
    pdl_weights wt;
    pdl_model m;
    void *ctx;
    pdl_device_request req = {.kind = PDL_DEVICE_CPU, .threads = threads};
    const pdl_backend_ops *ops = &pdl_cpu_backend_ops;
    if (pdl_weights_open(argv[1], &wt, &err) != PDL_OK ||
        pdl_model_load(&wt, &m, NULL, NULL, &err) != PDL_OK || ops->open(&req, &ctx, &err) != PDL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    pdl_weights_close(&wt); /* the model holds its own float32 copy */
    int hp, wp;
    pdl_model_input_size(&m.config, h, w, &hp, &wp);
    float *x = malloc((size_t)3 * hp * wp * sizeof *x);
    uint8_t *rgb = malloc((size_t)3 * h * w);
    for (size_t i = 0; i < (size_t)3 * h * w; i++)
        rgb[i] = (uint8_t)(i * 2654435761u >> 24);
    pdl_model_preprocess(&m.config, rgb, h, w, x);
    free(rgb);
    double t0 = now();
    if (ops->prepare(ctx, &m, 1, h, w, &err) != PDL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double plan_ms = (now() - t0) * 1e3;
    double *times = malloc((size_t)runs * sizeof *times);
    pdl_head_outputs out;
    for (int r = -warmup; r < runs; r++) {
        t0 = now();
        if (ops->prepare(ctx, &m, 1, h, w, &err) != PDL_OK ||
            ops->run(ctx, x, PDL_RUN_FULL, &out, &err) != PDL_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        if (r >= 0)
            times[r] = now() - t0;
    }
    double med = median(times, runs);
    double gflop = pdl_model_flops(&m.config, h, w) / 1e9;
    pdl_backend_stats st;
    ops->stats(ctx, &st);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double peak_rss_mb = ru.ru_maxrss / 1024.0;
    double gemm = gemm_n > 0 ? sgemm_rate(gemm_n) : 0;
    printf("{\"bench\": \"network_c\", \"model\": \"%s\", \"height\": %d, \"width\": %d, "
           "\"threads\": %d, \"runs\": %d, \"warmup\": %d, \"median_ms\": %.1f, "
           "\"min_ms\": %.1f, \"plan_ms\": %.1f, \"gflop\": %.2f, \"gflops\": %.1f, "
           "\"sgemm_n\": %d, \"sgemm_gflops\": %.1f, \"fraction_of_sgemm\": %.3f, "
           "\"peak_rss_mb\": %.0f, \"arena_mb\": %.1f, \"live_peak_mb\": %.1f, \"weights_mb\": %.1f, "
           "\"scratch_mb\": %.1f, \"reorders\": %d, \"own_ops\": %d, \"plans\": %d}\n",
           m.config.name, h, w, threads, runs, warmup, med * 1e3, times[0] * 1e3, plan_ms, gflop,
           gflop / med, gemm_n, gemm, gemm > 0 ? gflop / med / gemm : 0, peak_rss_mb,
           st.arena_bytes / 1048576.0, st.live_bytes / 1048576.0, st.weight_bytes / 1048576.0, st.scratch_bytes / 1048576.0,
           st.reorders, st.own_ops, st.plans_built);
    free(times);
    free(x);
    ops->close(ctx);
    pdl_model_free(&m);
    return 0;
}
