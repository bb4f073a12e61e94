/* bench_report.h - the numbers of `panoptic bench` and the files they go to.
 *
 * A sweep point is one (device, precision, input size) combination; its
 * per-stage latencies are summarised as percentiles. The environment is kept
 * with the points so every written result says where it was measured. The
 * writers produce PREFIX.csv (one row per point, environment repeated on each
 * row), PREFIX.json (everything) and PREFIX.svg (PQ against latency, or
 * images/s against size when there is no ground truth), each through a
 * temporary file renamed when complete.
 */
#ifndef PDL_BENCH_REPORT_H
#define PDL_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "status.h"

enum { PDL_BENCH_DECODE, PDL_BENCH_PREPROCESS, PDL_BENCH_NETWORK, PDL_BENCH_POSTPROCESS,
       PDL_BENCH_ENCODE, PDL_BENCH_TOTAL, PDL_BENCH_NSTAGES };

/* "decode", "preprocess", "network", "postprocess", "encode", "total". */
extern const char *const pdl_bench_stage_names[PDL_BENCH_NSTAGES];

typedef struct pdl_bench_percentiles {
    double p50, p90, p99, mean, min, max;
} pdl_bench_percentiles;

/* Nearest-rank percentiles (the smallest sample with at least p% of the
 * samples at or below it) of n > 0 values; `v` is sorted in place. */
pdl_bench_percentiles pdl_bench_summarise(double *v, size_t n);

typedef struct pdl_bench_env {
    char cpu_model[128];
    int cpus_online, threads; /* threads: what the network was given */
    char gpu[256];            /* the CUDA backend's describe(), or "none" */
    char gpu_note[512];      /* why there is none, or "" */
    char onednn[32], libpng[32], libjpeg_turbo[32], jansson[32], libdeflate[32];
    char commit[64];          /* "unknown" when not found */
    char date[40];            /* UTC, ISO 8601 */
} pdl_bench_env;

/* Fills everything but `threads`. `repo_dir` is where to ask git for the
 * commit (NULL: the current directory). Never fails: what cannot be found is
 * "unknown" (or "none" for the GPU). */
void pdl_bench_env_collect(pdl_bench_env *env, const char *repo_dir);

typedef struct pdl_bench_point {
    char device[32];       /* as asked: "cpu", "cuda:0" */
    char device_desc[128]; /* the backend's describe() */
    char precision[8];
    int size;              /* test short edge; 0 = images as they are */
    int images, warmup, runs;
    pdl_bench_percentiles stage[PDL_BENCH_NSTAGES];
    double images_per_s;
    double peak_rss_mib;   /* the process's peak so far (getrusage), not this point's alone */
    double gflop;          /* network GFLOP per image (pdl_model_flops), first timed image */
    bool has_pq;
    double pq, sq, rq;
    int pq_images;
    pdl_backend_stats backend; /* after the point's last image */
} pdl_bench_point;

typedef struct pdl_bench_report {
    pdl_bench_env env;
    const char *model, *data; /* data: folder, or NULL for synthetic scenes */
    const char *gt_json;      /* or NULL */
    pdl_bench_point *points;
    size_t npoints;
    char **skipped;           /* one line per sweep point not run, with the reason */
    size_t nskipped;
} pdl_bench_report;

pdl_status pdl_bench_write_csv(const pdl_bench_report *r, const char *path, pdl_error *err);
pdl_status pdl_bench_write_json(const pdl_bench_report *r, const char *path, pdl_error *err);
pdl_status pdl_bench_write_svg(const pdl_bench_report *r, const char *path, pdl_error *err);

#endif
