/* cmd_bench.c - `panoptic bench`: per-stage latency, throughput, memory and PQ
 * over a sweep of input sizes, devices and precisions.
 *
 * Each image goes through the stages one after the other on this thread
 * (decode, preprocess, network, post-processing, encode = PNG + JSON written
 * to a scratch folder), so every stage is timed alone and the total is the
 * latency of one image; `panoptic predict` overlaps the stages for
 * throughput instead. Without --data, scenes from `panoptic synth` are
 * written as PNGs to a scratch folder first, so decoding is measured the way
 * it is for real files; a model trained on synth's classes (the demo model)
 * is then scored against their ground truth. With --gt-json, the predictions of the timed runs are
 * evaluated by pdl_pq_evaluate, the code behind `panoptic eval`, so bench's
 * PQ and eval's are the same number by construction (tests/cli/bench.sh
 * checks it).
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "bench_report.h"
#include "cli.h"
#include "engine.h"
#include "input_list.h"
#include "make_dirs.h"
#include "pq.h"
#include "synth.h"

static const char usage[] =
    "usage: panoptic bench MODEL [--data DIR [--gt-json F [--gt-dir D]]] [options]\n"
    "\n"
    "Times decode, preprocess, network, post-processing and encode (PNG + JSON\n"
    "written to a scratch folder) image by image, after warm-up, for every point\n"
    "of the sweep (sizes x devices x precisions): p50/p90/p99 per stage and of\n"
    "the total, images/s, the process's peak resident memory, and PQ when ground\n"
    "truth is given (computed as `panoptic eval` does). Writes PREFIX.csv,\n"
    "PREFIX.json (every number, the environment and the backend's counters:\n"
    "plans, buffer sizes, CUDA graph replays, 1x1 convs run as GEMMs) and\n"
    "PREFIX.svg (PQ against latency; images/s against size when there is no\n"
    "ground truth).\n"
    "\n"
    "      --data DIR          images (walked recursively); default: synthetic scenes\n"
    "      --gt-json F         COCO-panoptic ground truth for PQ (image ids = file stems)\n"
    "      --gt-dir D          its PNGs (default: panoptic/ next to F, as `synth` writes)\n"
    "      --sizes S1,S2,...   test short edges (0 = as is; default: the model's)\n"
    "      --max-size M        cap on the longest edge (default: the model's)\n"
    "      --device D1,D2,...  cpu, cuda, cuda:N (default: cpu)\n"
    "      --precision P1,...  fp32 (default), tf32, fp16 (CUDA only; the CPU is fp32\n"
    "                          and other points are skipped, saying so)\n"
    "      --threads N         CPU threads for the network (default: all cores)\n"
    "      --warmup N          untimed images first (default 2)\n"
    "      --runs N            timed images, cycling over the data (default 10;\n"
    "                          with --gt-json at least one per image)\n"
    "      --synth N           synthetic scenes when no --data (default 8)\n"
    "      --synth-size WxH    their size (default 512x256)\n"
    "      --out PREFIX        report files (default: bench)\n"
    "      --keep-predictions DIR  keep each point's predictions in DIR/DEVICE_PRECISION_SIZE\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0 ok; 1 some images or points failed (named on stderr, the rest\n"
    "reported); 2 usage, model or data error, or no point could run.\n";

typedef struct bench_args {
    const char *model, *data, *gt_json, *out, *keep;
    char gt_dir[PATH_MAX];
    char *devices, *precisions, *sizes;
    int threads, warmup, runs, synth_n, synth_w, synth_h, max_size;
} bench_args;

typedef struct sweep {
    bench_args *a;
    pdl_input_list inputs;
    char scratch[PATH_MAX]; /* our temporary folder, removed at the end */
    char synth_gt_json[PATH_MAX + 32]; /* ground truth of the synthetic scenes */
    pdl_bench_report report;
    int failures;
} sweep;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

/* Output names are flat (a/b -> a_b) so no folders need creating; the image
 * id is the file stem, as `panoptic predict` and `panoptic synth` use. */
static void flat_name(const char *relname, char *buf, size_t size)
{
    snprintf(buf, size, "%s", relname);
    for (char *p = buf; *p; p++)
        if (*p == '/')
            *p = '_';
}

static const char *stem(const char *relname)
{
    const char *slash = strrchr(relname, '/');
    return slash ? slash + 1 : relname;
}

/* One image through every stage; ms[] gets each stage and the total. */
static pdl_status run_image(pdl_engine *e, const pdl_input *in, const char *pred_dir,
                            json_t **annotation, double ms[PDL_BENCH_NSTAGES], int *in_h, int *in_w,
                            pdl_error *err)
{
    static const pdl_output_options no_extras = {0};
    pdl_image img = {0};
    pdl_engine_input input = {0};
    pdl_prediction pred = {0};
    pdl_engine_times t = {0};
    char flat[PATH_MAX], base[2 * PATH_MAX], file[PATH_MAX + 8];
    flat_name(in->relname, flat, sizeof flat);
    if (snprintf(base, sizeof base, "%s/%s", pred_dir, flat) >= (int)sizeof base)
        return pdl_fail(err, PDL_ERR_IO, "%s: output path too long", in->path);
    double t0 = now_ms();
    pdl_status st = pdl_image_load(in->path, &img, err);
    double t1 = now_ms(), t2 = t1, t3 = t1;
    if (st == PDL_OK) {
        st = pdl_engine_prepare_input(e, &img, &input, err);
        t2 = now_ms();
        *in_h = input.h;
        *in_w = input.w;
    }
    if (st == PDL_OK) {
        st = pdl_engine_infer(e, &input, in->relname, &pred, &t, err);
        t3 = now_ms();
    }
    if (st == PDL_OK)
        st = pdl_prediction_write(&pred, pdl_engine_config(e), img.rgb, base, stem(in->relname),
                                  &no_extras, err);
    double t4 = now_ms();
    if (st == PDL_OK) {
        snprintf(file, sizeof file, "%s.png", flat);
        json_decref(*annotation);
        *annotation = pdl_prediction_json(&pred, pdl_engine_config(e), file, stem(in->relname));
        ms[PDL_BENCH_DECODE] = t1 - t0;
        ms[PDL_BENCH_PREPROCESS] = t2 - t1;
        /* infer's own split; whatever it spends outside both is in neither */
        ms[PDL_BENCH_NETWORK] = t.network_ms;
        ms[PDL_BENCH_POSTPROCESS] = t.postprocess_ms;
        ms[PDL_BENCH_ENCODE] = t4 - t3;
        ms[PDL_BENCH_TOTAL] = t4 - t0;
    }
    pdl_prediction_free(&pred);
    pdl_engine_input_free(&input);
    pdl_image_free(&img);
    return st;
}

static pdl_status write_predictions_json(const char *pred_dir, json_t **annotations, size_t n,
                                         const pdl_config *cfg, char *path, size_t size,
                                         pdl_error *err)
{
    json_t *anns = json_array(), *cats = json_array();
    for (size_t i = 0; i < n; i++)
        if (annotations[i])
            json_array_append(anns, annotations[i]);
    for (int c = 0; c < cfg->num_classes; c++)
        json_array_append_new(cats, json_pack("{s:i, s:s, s:b}", "id", cfg->classes[c].id, "name",
                                              cfg->classes[c].name, "isthing", cfg->classes[c].isthing));
    json_t *root = json_pack("{s:o, s:o}", "annotations", anns, "categories", cats);
    if (snprintf(path, size, "%s/predictions.json", pred_dir) >= (int)size)
        return pdl_fail(err, PDL_ERR_IO, "%s: path too long", pred_dir);
    pdl_atomic_file af;
    pdl_status st = pdl_atomic_open(path, &af, err);
    if (st == PDL_OK) {
        if (json_dumpf(root, af.fp, JSON_COMPACT) != 0) {
            pdl_atomic_abort(&af);
            st = pdl_fail(err, PDL_ERR_IO, "%s: write failed", path);
        } else {
            st = pdl_atomic_commit(&af, err);
        }
    }
    json_decref(root);
    return st;
}

static void skip(sweep *s, const char *device, const char *precision, int size, const char *why)
{
    char line[1200];
    snprintf(line, sizeof line, "%s %s size %d: skipped: %s", device, precision, size, why);
    fprintf(stderr, "panoptic bench: %s\n", line);
    char **grown = realloc(s->report.skipped, (s->report.nskipped + 1) * sizeof *grown);
    if (!grown)
        return;
    s->report.skipped = grown;
    s->report.skipped[s->report.nskipped++] = strdup(line);
}

static pdl_status evaluate(sweep *s, const char *pred_dir, json_t **annotations,
                           const pdl_config *cfg, pdl_bench_point *p, pdl_error *err)
{
    char pred_json[PATH_MAX + 32];
    pdl_status st = write_predictions_json(pred_dir, annotations, s->inputs.count, cfg, pred_json,
                                           sizeof pred_json, err);
    if (st != PDL_OK || !s->a->gt_json)
        return st;
    pdl_pq_options o = {.gt_json = s->a->gt_json, .gt_dir = s->a->gt_dir, .pred_json = pred_json,
                        .pred_dir = pred_dir, .threads = 0};
    pdl_pq_result r;
    if ((st = pdl_pq_evaluate(&o, &r, err)) != PDL_OK)
        return st;
    for (size_t i = 0; i < r.n_failed; i++)
        fprintf(stderr, "panoptic bench: PQ: %s\n", r.failures[i]);
    s->failures += r.n_failed > 0;
    p->has_pq = true;
    p->pq = r.all.pq;
    p->sq = r.all.sq;
    p->rq = r.all.rq;
    p->pq_images = (int)r.n_images;
    pdl_pq_result_free(&r);
    return PDL_OK;
}

/* Times one sweep point; adds it to the report or records why not. */
static void run_point(sweep *s, const char *device, const char *precision, int size)
{
    bench_args *a = s->a;
    pdl_error err;
    pdl_error_clear(&err);
    pdl_engine_options eo;
    pdl_engine_options_default(&eo);
    eo.short_edge = size;
    eo.max_size = a->max_size;
    eo.device.threads = a->threads;
    if (pdl_precision_parse(precision, &eo.device.precision, &err) != PDL_OK) {
        skip(s, device, precision, size, "not implemented (fp32, tf32 and fp16 are, on CUDA)");
        return;
    }
    pdl_engine *e = NULL;
    if (pdl_device_parse(device, &eo.device, &err) == PDL_OK &&
        eo.device.kind == PDL_DEVICE_CPU && eo.device.precision != PDL_PRECISION_FP32) {
        skip(s, device, precision, size, "the CPU backend is fp32 only");
        return;
    }
    if (pdl_device_parse(device, &eo.device, &err) != PDL_OK ||
        pdl_engine_open(a->model, &eo, &e, &err) != PDL_OK) {
        skip(s, device, precision, size, err.msg);
        s->failures++;
        return;
    }
    const pdl_config *cfg = pdl_engine_config(e);
    int shown_size = size >= 0 ? size : cfg->input.min_size_test;
    char pred_dir[PATH_MAX + 64];
    if (a->keep)
        snprintf(pred_dir, sizeof pred_dir, "%s/%s_%s_%d", a->keep, device, precision, shown_size);
    else
        snprintf(pred_dir, sizeof pred_dir, "%s/pred_%zu", s->scratch, s->report.npoints);
    if (pdl_make_dirs(pred_dir, &err) != PDL_OK) {
        cli_report(&err);
        s->failures++;
        pdl_engine_close(e);
        return;
    }
    size_t n = s->inputs.count;
    int runs = a->runs;
    if (a->gt_json && (size_t)runs < n)
        runs = (int)n; /* PQ needs a prediction for every image */
    double *samples = calloc((size_t)runs * PDL_BENCH_NSTAGES, sizeof *samples);
    json_t **annotations = calloc(n, sizeof *annotations);
    pdl_bench_point p = {0};
    snprintf(p.device, sizeof p.device, "%s", device);
    snprintf(p.device_desc, sizeof p.device_desc, "%s", pdl_engine_device(e));
    snprintf(p.precision, sizeof p.precision, "%s", precision);
    p.size = shown_size;
    p.images = (int)n;
    p.warmup = a->warmup;
    p.runs = runs;
    int timed = 0;
    size_t bad = 0, next = 0;
    double started = 0;
    /* An image that fails is named once and left out of the rotation; the
     * runs go on with the others. */
    bool *broken = calloc(n, sizeof *broken);
    for (int k = 0; samples && annotations && broken && bad < n && k < a->warmup + runs;) {
        bool warm = k < a->warmup;
        if (k == a->warmup) {
            next = 0; /* timed runs start at the first image */
            started = now_ms();
        }
        while (broken[next % n])
            next++;
        size_t image = next % n;
        const pdl_input *in = &s->inputs.items[image];
        double ms[PDL_BENCH_NSTAGES];
        int in_h = 0, in_w = 0;
        if (run_image(e, in, pred_dir, &annotations[image], ms, &in_h, &in_w, &err) != PDL_OK) {
            fprintf(stderr, "panoptic bench: %s\n", err.msg);
            broken[image] = true;
            bad++;
            continue;
        }
        next++;
        k++;
        if (!warm && timed == 0)
            p.gflop = pdl_model_flops(cfg, in_h, in_w) / 1e9;
        if (!warm) {
            for (int st = 0; st < PDL_BENCH_NSTAGES; st++)
                samples[(size_t)st * runs + timed] = ms[st];
            timed++;
        }
    }
    double elapsed = now_ms() - started;
    free(broken);
    if (timed == 0) {
        skip(s, device, precision, shown_size, "no image could be processed");
        s->failures++;
    } else {
        for (int st = 0; st < PDL_BENCH_NSTAGES; st++)
            p.stage[st] = pdl_bench_summarise(samples + (size_t)st * runs, (size_t)timed);
        p.runs = timed;
        p.images_per_s = elapsed > 0 ? 1e3 * timed / elapsed : 0;
        p.peak_rss_mib = peak_rss_mib();
        pdl_engine_stats(e, &p.backend);
        if (evaluate(s, pred_dir, annotations, cfg, &p, &err) != PDL_OK) {
            fprintf(stderr, "panoptic bench: %s\n", err.msg);
            s->failures++;
        }
        pdl_bench_point *grown = realloc(s->report.points, (s->report.npoints + 1) * sizeof *grown);
        if (grown) {
            s->report.points = grown;
            s->report.points[s->report.npoints++] = p;
        }
    }
    s->failures += bad > 0;
    for (size_t i = 0; annotations && i < n; i++)
        json_decref(annotations[i]);
    free(annotations);
    free(samples);
    pdl_engine_close(e);
}

/* Splits a comma list in place into at most `max` items; 0 on an empty item. */
static int split_list(char *text, char **items, int max, int *count)
{
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*count == max)
            return 0;
        items[(*count)++] = tok;
    }
    return *count > 0;
}

static void print_point(const pdl_bench_point *p)
{
    printf("%-8s %-5s %5d", p->device, p->precision, p->size);
    for (int st = 0; st < PDL_BENCH_NSTAGES; st++)
        printf(" %9.2f", p->stage[st].p50);
    printf(" %8.2f %8.1f", p->images_per_s, p->peak_rss_mib);
    if (p->has_pq)
        printf(" %6.2f", 100 * p->pq);
    putchar('\n');
}

/* The repository the executable was built in (its parent's parent), for git. */
static void exe_repo(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(buf, '/');
        if (slash)
            *slash = '\0';
    }
    if (!buf[0])
        snprintf(buf, size, ".");
}

/* True when MODEL predicts synth's classes (the demo model), so the
 * synthetic scenes' ground truth can score it. */
static bool model_knows_synth_classes(const char *model)
{
    pdl_weights w;
    pdl_error err;
    if (pdl_weights_open(model, &w, &err) != PDL_OK)
        return false; /* the engine will report it */
    const pdl_config *cfg = &w.config;
    bool same = cfg->num_classes == PDL_SYNTH_NUM_CLASSES;
    for (int i = 0; same && i < PDL_SYNTH_NUM_CLASSES; i++)
        same = cfg->classes[i].id == pdl_synth_classes[i].id &&
               cfg->classes[i].isthing == pdl_synth_classes[i].isthing &&
               strcmp(cfg->classes[i].name, pdl_synth_classes[i].name) == 0;
    pdl_weights_close(&w);
    return same;
}

static int prepare_data(sweep *s)
{
    bench_args *a = s->a;
    pdl_error err;
    pdl_error_clear(&err);
    snprintf(s->scratch, sizeof s->scratch, "%s/panoptic-bench.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(s->scratch)) {
        fprintf(stderr, "panoptic bench: %s: cannot create scratch folder (%s)\n", s->scratch, strerror(errno));
        s->scratch[0] = '\0';
        return 0;
    }
    char dir[PATH_MAX + 16];
    const char *data = a->data;
    if (!data) {
        snprintf(dir, sizeof dir, "%s/synth", s->scratch);
        if (pdl_synth_write_dataset(dir, a->synth_n, PDL_SYNTH_FIRST_EVAL_SEED, a->synth_w, a->synth_h,
                                    &err) != PDL_OK) {
            cli_report(&err);
            return 0;
        }
        if (model_knows_synth_classes(a->model) &&
            snprintf(a->gt_dir, sizeof a->gt_dir, "%s/panoptic", dir) < (int)sizeof a->gt_dir) {
            snprintf(s->synth_gt_json, sizeof s->synth_gt_json, "%s/panoptic.json", dir);
            a->gt_json = s->synth_gt_json;
        }
        strcat(dir, "/images");
        data = dir;
    }
    if (pdl_input_list_add(&s->inputs, data, &err) != PDL_OK) {
        cli_report(&err);
        return 0;
    }
    return 1;
}

/* --out names files PREFIX.csv/.json/.svg: the prefix needs a name of its
 * own ("", "dir/", "." and ".." would make hidden or odd files) and its
 * folder must exist, or the sweep would be lost at the end. */
static int out_prefix_ok(const char *prefix)
{
    const char *slash = strrchr(prefix, '/'), *name = slash ? slash + 1 : prefix;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    if (!slash)
        return 1;
    char dir[PATH_MAX];
    struct stat sb;
    int len = slash == prefix ? 1 : (int)(slash - prefix);
    return snprintf(dir, sizeof dir, "%.*s", len, prefix) < (int)sizeof dir && stat(dir, &sb) == 0 &&
           S_ISDIR(sb.st_mode);
}

static int parse_args(int argc, char **argv, bench_args *a)
{
    enum { OPT_DATA = 256, OPT_GT_JSON, OPT_GT_DIR, OPT_SIZES, OPT_MAX_SIZE, OPT_DEVICE, OPT_PRECISION,
           OPT_THREADS, OPT_WARMUP, OPT_RUNS, OPT_SYNTH, OPT_SYNTH_SIZE, OPT_OUT, OPT_KEEP };
    static const struct option options[] = {
        {"data", required_argument, NULL, OPT_DATA},       {"gt-json", required_argument, NULL, OPT_GT_JSON},
        {"gt-dir", required_argument, NULL, OPT_GT_DIR},   {"sizes", required_argument, NULL, OPT_SIZES},
        {"max-size", required_argument, NULL, OPT_MAX_SIZE}, {"device", required_argument, NULL, OPT_DEVICE},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"threads", required_argument, NULL, OPT_THREADS}, {"warmup", required_argument, NULL, OPT_WARMUP},
        {"runs", required_argument, NULL, OPT_RUNS},       {"synth", required_argument, NULL, OPT_SYNTH},
        {"synth-size", required_argument, NULL, OPT_SYNTH_SIZE}, {"out", required_argument, NULL, OPT_OUT},
        {"keep-predictions", required_argument, NULL, OPT_KEEP}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *gt_dir = NULL;
    int opt;
    char tail;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_DATA: a->data = optarg; break;
        case OPT_GT_JSON: a->gt_json = optarg; break;
        case OPT_GT_DIR: gt_dir = optarg; break;
        case OPT_SIZES: a->sizes = optarg; break;
        case OPT_DEVICE: a->devices = optarg; break;
        case OPT_PRECISION: a->precisions = optarg; break;
        case OPT_OUT:
            if (!out_prefix_ok(optarg))
                return cli_usage_error("bench",
                                       "bad --out '%s' (a file prefix such as bench-demo, in a "
                                       "folder that exists)",
                                       optarg);
            a->out = optarg;
            break;
        case OPT_KEEP:
            if (!*optarg)
                return cli_usage_error("bench", "--keep-predictions needs a folder");
            a->keep = optarg;
            break;
        case OPT_MAX_SIZE:
            if (!cli_parse_int(optarg, 0, 16384, &a->max_size))
                return cli_usage_error("bench", "bad --max-size '%s' (0..16384)", optarg);
            break;
        case OPT_THREADS:
            if (!cli_parse_int(optarg, 1, 1024, &a->threads))
                return cli_usage_error("bench", "bad --threads '%s' (1..1024)", optarg);
            break;
        case OPT_WARMUP:
            if (!cli_parse_int(optarg, 0, 100000, &a->warmup))
                return cli_usage_error("bench", "bad --warmup '%s' (0..100000)", optarg);
            break;
        case OPT_RUNS:
            if (!cli_parse_int(optarg, 1, 1000000, &a->runs))
                return cli_usage_error("bench", "bad --runs '%s' (1..1000000)", optarg);
            break;
        case OPT_SYNTH:
            if (!cli_parse_int(optarg, 1, 100000, &a->synth_n))
                return cli_usage_error("bench", "bad --synth '%s' (1..100000)", optarg);
            break;
        case OPT_SYNTH_SIZE:
            if (sscanf(optarg, "%dx%d%c", &a->synth_w, &a->synth_h, &tail) != 2 || a->synth_w < 16 ||
                a->synth_h < 16 || a->synth_w > 8192 || a->synth_h > 8192)
                return cli_usage_error("bench", "bad --synth-size '%s' (WxH, 16..8192 each)", optarg);
            break;
        case 'h': fputs(usage, stdout); return -1;
        case ':': return cli_usage_error("bench", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("bench", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("bench", "a MODEL is required");
    if (optind + 1 < argc)
        return cli_usage_error("bench", "unexpected argument '%s'", argv[optind + 1]);
    a->model = argv[optind];
    if (a->gt_json && !a->data)
        return cli_usage_error("bench", "--gt-json needs --data (the images it describes)");
    if (gt_dir && !a->gt_json)
        return cli_usage_error("bench", "--gt-dir needs --gt-json");
    if (a->gt_json) {
        if (gt_dir) {
            snprintf(a->gt_dir, sizeof a->gt_dir, "%s", gt_dir);
        } else {
            const char *slash = strrchr(a->gt_json, '/');
            int len = slash ? (int)(slash - a->gt_json) : 1;
            snprintf(a->gt_dir, sizeof a->gt_dir, "%.*s/panoptic", len, slash ? a->gt_json : ".");
        }
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    static char default_devices[] = "cpu", default_precisions[] = "fp32", default_sizes[] = "-1";
    bench_args a = {.out = "bench", .devices = default_devices, .precisions = default_precisions,
                    .sizes = default_sizes, .warmup = 2, .runs = 10, .synth_n = 8, .synth_w = 512,
                    .synth_h = 256, .max_size = -1};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? EXIT_ALL_OK : rc;
    enum { MAX_ITEMS = 32 };
    char *devices[MAX_ITEMS], *precisions[MAX_ITEMS], *size_text[MAX_ITEMS];
    int ndev, nprec, nsize, sizes[MAX_ITEMS];
    if (!split_list(a.devices, devices, MAX_ITEMS, &ndev))
        return cli_usage_error("bench", "bad --device list");
    if (!split_list(a.precisions, precisions, MAX_ITEMS, &nprec))
        return cli_usage_error("bench", "bad --precision list");
    if (!split_list(a.sizes, size_text, MAX_ITEMS, &nsize))
        return cli_usage_error("bench", "bad --sizes list");
    for (int i = 0; i < nsize; i++)
        if (!cli_parse_int(size_text[i], a.sizes == default_sizes ? -1 : 0, 16384, &sizes[i]))
            return cli_usage_error("bench", "bad size '%s' in --sizes (0..16384)", size_text[i]);
    for (int i = 0; i < nprec; i++)
        if (strcmp(precisions[i], "fp32") && strcmp(precisions[i], "tf32") &&
            strcmp(precisions[i], "fp16") && strcmp(precisions[i], "bf16") &&
            strcmp(precisions[i], "int8"))
            return cli_usage_error("bench", "unknown precision '%s' (fp32, tf32, fp16, bf16, int8)",
                                   precisions[i]);
    for (int i = 0; i < ndev; i++) {
        pdl_device_request req;
        pdl_error err;
        if (pdl_device_parse(devices[i], &req, &err) != PDL_OK)
            return cli_usage_error("bench", "%s", err.msg);
    }
    pdl_error err;
    if (a.keep && pdl_make_dirs(a.keep, &err) != PDL_OK) {
        cli_report(&err);
        return EXIT_USAGE;
    }

    /* unusable ground truth is refused before a sweep is spent on it */
    if (a.gt_json && pdl_pq_check_ground_truth(a.gt_json, a.gt_dir, &err) != PDL_OK) {
        cli_report(&err);
        return EXIT_USAGE;
    }
    sweep s = {.a = &a};
    pdl_input_list_init(&s.inputs);
    int status = EXIT_USAGE;
    if (!prepare_data(&s))
        goto done;
    char repo[PATH_MAX];
    exe_repo(repo, sizeof repo);
    pdl_bench_env_collect(&s.report.env, repo);
    s.report.env.threads = a.threads ? a.threads : s.report.env.cpus_online;
    s.report.model = a.model;
    s.report.data = a.data;
    s.report.gt_json = a.gt_json;
    printf("# %zu images from %s; %d warm-up, %d timed per point; p50 ms per stage\n", s.inputs.count,
           a.data ? a.data : "synthetic scenes", a.warmup, a.runs);
    printf("# CPU: %s, %d threads; GPU: %s; commit %s\n", s.report.env.cpu_model, s.report.env.threads,
           s.report.env.gpu, s.report.env.commit);
    printf("%-8s %-5s %5s", "device", "prec", "size");
    for (int st = 0; st < PDL_BENCH_NSTAGES; st++)
        printf(" %9.9s", pdl_bench_stage_names[st]);
    printf(" %8s %8s%s\n", "img/s", "peakMiB", a.gt_json ? "     PQ" : "");
    for (int d = 0; d < ndev; d++)
        for (int pr = 0; pr < nprec; pr++)
            for (int z = 0; z < nsize; z++) {
                size_t before = s.report.npoints;
                run_point(&s, devices[d], precisions[pr], sizes[z]);
                if (s.report.npoints > before)
                    print_point(&s.report.points[before]);
                fflush(stdout);
            }
    if (s.report.npoints == 0) {
        fprintf(stderr, "panoptic bench: no point of the sweep could run\n");
        goto done;
    }
    char path[PATH_MAX];
    pdl_error_clear(&err);
    pdl_status (*const writers[])(const pdl_bench_report *, const char *, pdl_error *) = {
        pdl_bench_write_csv, pdl_bench_write_json, pdl_bench_write_svg};
    const char *const ext[] = {"csv", "json", "svg"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s.%s", a.out, ext[i]);
        if (writers[i](&s.report, path, &err) != PDL_OK) {
            cli_report(&err);
            goto done;
        }
    }
    printf("# wrote %s.csv, %s.json, %s.svg (peak RSS is the process's peak so far)\n", a.out, a.out, a.out);
    status = s.failures ? EXIT_SOME_FAILED : EXIT_ALL_OK;
done:
    if (s.scratch[0])
        remove_tree(s.scratch);
    for (size_t i = 0; i < s.report.nskipped; i++)
        free(s.report.skipped[i]);
    free(s.report.skipped);
    free(s.report.points);
    pdl_input_list_free(&s.inputs);
    return status;
}
