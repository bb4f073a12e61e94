/* bench_stats.c - percentiles of latency samples for `panoptic bench`.
 *
 * Nearest rank rather than interpolation, so every reported value is a time
 * that was actually measured. */
#include <math.h>
#include <stdlib.h>

#include "bench_report.h"

const char *const pdl_bench_stage_names[PDL_BENCH_NSTAGES] = {
    "decode", "preprocess", "network", "postprocess", "encode", "total"};

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double nearest_rank(const double *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return sorted[rank ? rank - 1 : 0];
}

pdl_bench_percentiles pdl_bench_summarise(double *v, size_t n)
{
    pdl_bench_percentiles s = {0};
    if (n == 0)
        return s;
    qsort(v, n, sizeof *v, by_value);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    s.p50 = nearest_rank(v, n, 50);
    s.p90 = nearest_rank(v, n, 90);
    s.p99 = nearest_rank(v, n, 99);
    s.mean = sum / (double)n;
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}
