/* cmd_predict.c - `panoptic predict`: runs the model over files and folders.
 *
 * A three-stage pipeline with bounded queues, so memory stays bounded on any
 * folder and the stages overlap: decode threads (read, decode, resize,
 * normalise) -> this thread (network + post-processing, which reuse their
 * per-size plans) -> write threads (PNGs, JSON, the JSON line on stdout).
 * One decode and one write thread by default when the network runs on the
 * CPU (it wants the cores); with CUDA the host work is what limits a folder,
 * so half the other cores decode and as many write (--io-threads overrides).
 * --streams N runs N network threads, each with an engine of its own (with
 * CUDA: its own stream, plans and workspace), so that one image's upload and
 * download overlap another's compute; 2 by default with CUDA, 1 on the CPU.
 * With more than one thread in a stage, images reach the network and stdout
 * out of input order.
 * With --batch N the network stage takes up to N consecutive decoded images
 * of one prepared size and runs them through the network together; an image
 * of another size ends the batch (and starts the next one), as does the end
 * of the input, so a batch never waits for images that will not come. Each
 * queue holds N + 3 images, so memory stays bounded by a few batches.
 * Every output is written to a temporary name and renamed, the segments JSON
 * last, so a killed run leaves no partial file and --resume picks up where it
 * stopped.
 */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cli.h"
#include "engine.h"
#include "input_list.h"
#include "make_dirs.h"
#include "predict_names.h"
#include "predict_resume.h"
#include "queue.h"

#define MAX_IO_THREADS 64
#define MAX_STREAMS 8

static const char usage[] =
    "usage: panoptic predict MODEL INPUT... -o OUTDIR [options]\n"
    "\n"
    "INPUT is an image file (PNG or JPEG, detected by content), a folder (walked\n"
    "recursively; other files are skipped) or '-' for a list of paths on stdin.\n"
    "Per image, OUTDIR mirrors the input tree with NAME.png (COCO panoptic: id = R +\n"
    "256 G + 256^2 B, 0 = void) and NAME.json (segments); OUTDIR/predictions.json\n"
    "gathers the run for `panoptic eval` (predictions.shard-I-of-N.json with --shard;\n"
    "a --resume run over all inputs then writes predictions.json without\n"
    "recomputing). One JSON line per image on stdout.\n"
    "\n"
    "  -o, --output DIR      output folder (created)\n"
    "      --device D        auto (default), cpu, cuda or cuda:N\n"
    "      --threads N       CPU threads for the network (default: all cores)\n"
    "      --batch N         run up to N consecutive same-sized images through the\n"
    "                        network at once (default 1, at most 64); each JSON\n"
    "                        line's network ms is then its batch's time / its size\n"
    "      --precision P     CUDA network arithmetic: fp32 (default), tf32 or fp16\n"
    "      --io-threads N    decode threads, and as many write threads (default:\n"
    "                        1 on the CPU; with CUDA, half the other cores); with\n"
    "                        N > 1 the JSON lines come in completion order\n"
    "      --streams N       network threads, each with its own engine (CUDA:\n"
    "                        stream) so transfers overlap compute (default: 2\n"
    "                        with CUDA, 1 on the CPU; at most 8)\n"
    "      --size S          test resize: shortest edge S (0 = keep the image size;\n"
    "                        default: the model's)\n"
    "      --max-size M      cap on the longest edge after resize (0 = none)\n"
    "      --semantic        also NAME_sem.png: class index per pixel (255 = void)\n"
    "      --instance        also NAME_ins.png: 16-bit instance number per pixel\n"
    "      --vis             also NAME_vis.png: an overlay for people to look at\n"
    "      --shard I/N       process only shard I of N (0 <= I < N), split by name\n"
    "      --resume          skip images whose outputs are already complete\n"
    "      --threshold T     center threshold (default: the model's)\n"
    "      --nms-kernel K    center NMS window, odd (default: the model's)\n"
    "      --top-k K         at most K centers (default: the model's)\n"
    "      --stuff-area A    smaller stuff regions become void (default: the model's)\n"
    "      --compat detectron2  after a resize, keep Detectron2's unscaled offsets\n"
    "      --dump-tensors DIR   write every network stage per image (debugging)\n"
    "  -q, --quiet           no progress bar or summary on stderr\n"
    "  -h, --help            this help\n"
    "\n"
    "Exit status: 0 all images done, 1 some failed (named on stderr), 2 usage,\n"
    "model or device error.\n";

typedef struct job {
    size_t index;
    pdl_image image;
    pdl_engine_input input;
    pdl_prediction pred;
    pdl_error err;
    bool failed;
    double ms_decode, ms_preprocess, ms_network, ms_postprocess, ms_write;
} job;

typedef struct run {
    pdl_engine *engine; /* engines[0]: the one decode and write threads consult */
    pdl_engine *engines[MAX_STREAMS];
    int streams;
    const pdl_input_list *inputs;
    size_t *todo, ntodo;  /* indices of inputs to process (--resume skips some) */
    const char *outdir;
    char run_file[64]; /* predictions.json, or per shard */
    pdl_output_options outputs;
    bool progress;
    int batch;      /* --batch */
    int io_threads; /* decode threads, and as many write threads */
    pdl_queue decoded, inferred;
    atomic_size_t next_to_decode;
    atomic_int decoders_left;
    pthread_mutex_t print_lock;
    json_t **annotations; /* per input, for predictions.json */
    size_t done, failed;
    double started;
} run;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void output_base(const run *r, size_t index, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", r->outdir, r->inputs->items[index].relname);
}

static void *decode_worker(void *arg)
{
    run *r = arg;
    size_t k;
    while ((k = atomic_fetch_add(&r->next_to_decode, 1)) < r->ntodo) {
        size_t i = r->todo[k];
        job *j = calloc(1, sizeof *j);
        if (!j)
            break;
        j->index = i;
        double t0 = now_ms();
        pdl_status st = pdl_image_load(r->inputs->items[i].path, &j->image, &j->err);
        double t1 = now_ms();
        if (st == PDL_OK)
            st = pdl_engine_prepare_input(r->engine, &j->image, &j->input, &j->err);
        j->ms_decode = t1 - t0;
        j->ms_preprocess = now_ms() - t1;
        j->failed = st != PDL_OK;
        pdl_queue_push(&r->decoded, j);
    }
    if (atomic_fetch_sub(&r->decoders_left, 1) == 1)
        pdl_queue_close(&r->decoded);
    return NULL;
}

static void print_progress(run *r)
{
    size_t total = r->ntodo, done = r->done;
    double secs = (now_ms() - r->started) / 1e3;
    double rate = secs > 0 ? (double)done / secs : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    int width = 30, filled = total ? (int)((double)width * (double)done / (double)total) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu %.1f img/s ETA %d:%02d ", filled,
            "==============================", width - filled, "", done, total, rate,
            (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

/* The error of a failed image, naming it: decode and write errors start with
 * a path already, those of the network and post-processing do not. */
static void failure_text(const pdl_input *in, const pdl_error *err, char *buf, size_t size)
{
    if (strstr(err->msg, in->path))
        snprintf(buf, size, "%s", err->msg);
    else
        snprintf(buf, size, "%s: %s", in->path, err->msg);
}

static void report(run *r, job *j)
{
    const pdl_input *in = &r->inputs->items[j->index];
    json_t *line;
    char failure[PDL_ERROR_MSG_MAX + PATH_MAX];
    if (j->failed) {
        failure_text(in, &j->err, failure, sizeof failure);
        line = json_pack("{s:s, s:s, s:s}", "input", in->path, "status", "error", "error", failure);
    } else {
        char base[PATH_MAX + 8];
        output_base(r, j->index, base, sizeof base);
        json_t *outs = json_pack("{s:s+, s:s+}", "panoptic", base, ".png", "segments", base, ".json");
        if (r->outputs.semantic)
            json_object_set_new(outs, "semantic", json_pack("s+", base, "_sem.png"));
        if (r->outputs.instance)
            json_object_set_new(outs, "instance", json_pack("s+", base, "_ins.png"));
        if (r->outputs.vis)
            json_object_set_new(outs, "vis", json_pack("s+", base, "_vis.png"));
        line = json_pack("{s:s, s:s, s:o, s:i, s:i, s:i, s:{s:f, s:f, s:f, s:f, s:f}}", "input",
                         in->path, "status", "ok", "outputs", outs, "height", j->pred.height,
                         "width", j->pred.width, "segments", j->pred.nsegments, "ms", "decode",
                         j->ms_decode, "preprocess", j->ms_preprocess, "network", j->ms_network,
                         "postprocess", j->ms_postprocess, "write", j->ms_write);
    }
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    pthread_mutex_lock(&r->print_lock);
    r->done++;
    if (j->failed) {
        r->failed++;
        if (r->progress)
            fputs("\r\033[K", stderr);
        fprintf(stderr, "panoptic: %s\n", failure);
    }
    if (text)
        puts(text);
    fflush(stdout);
    if (r->progress)
        print_progress(r);
    pthread_mutex_unlock(&r->print_lock);
    free(text);
}

static void *write_worker(void *arg)
{
    run *r = arg;
    job *j;
    while ((j = pdl_queue_pop(&r->inferred)) != NULL) {
        if (!j->failed) {
            char base[PATH_MAX];
            output_base(r, j->index, base, sizeof base);
            /* the relative name is the image id: unique, where the file stem is
             * not (a/x.png and b/x.png) */
            const char *rel = r->inputs->items[j->index].relname;
            double t0 = now_ms();
            pdl_status st = pdl_make_parent_dirs(base, &j->err);
            if (st == PDL_OK)
                st = pdl_prediction_write(&j->pred, pdl_engine_config(r->engine), j->image.rgb,
                                          base, rel, &r->outputs, &j->err);
            j->ms_write = now_ms() - t0;
            if (st != PDL_OK) {
                j->failed = true;
            } else {
                char file[PATH_MAX];
                snprintf(file, sizeof file, "%s.png", rel);
                r->annotations[j->index] =
                    pdl_prediction_json(&j->pred, pdl_engine_config(r->engine), file, rel);
            }
        }
        report(r, j);
        pdl_image_free(&j->image);
        pdl_engine_input_free(&j->input);
        pdl_prediction_free(&j->pred);
        free(j);
    }
    return NULL;
}

static pdl_status write_predictions(run *r, pdl_error *err)
{
    const pdl_config *cfg = pdl_engine_config(r->engine);
    json_t *anns = json_array(), *cats = json_array();
    for (size_t i = 0; i < r->inputs->count; i++)
        if (r->annotations[i])
            json_array_append(anns, r->annotations[i]);
    for (int c = 0; c < cfg->num_classes; c++) {
        const pdl_class_info *k = &cfg->classes[c];
        json_array_append_new(cats, json_pack("{s:i, s:s, s:i, s:[i,i,i]}", "id", k->id, "name",
                                              k->name, "isthing", k->isthing ? 1 : 0, "color",
                                              k->color[0], k->color[1], k->color[2]));
    }
    json_t *root = json_pack("{s:o, s:o}", "annotations", anns, "categories", cats);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", r->outdir, r->run_file);
    pdl_status st = pdl_atomic_write_json(path, root, JSON_COMPACT, err);
    json_decref(root);
    return st;
}

static int parse_shard(const char *text, unsigned *index, unsigned *count)
{
    const char *slash = strchr(text, '/');
    char head[16];
    int i, n;
    if (!slash || (size_t)(slash - text) >= sizeof head)
        return 0;
    memcpy(head, text, (size_t)(slash - text));
    head[slash - text] = '\0';
    if (!cli_parse_int(head, 0, INT_MAX, &i) || !cli_parse_int(slash + 1, 1, INT_MAX, &n) || i >= n)
        return 0;
    *index = (unsigned)i;
    *count = (unsigned)n;
    return 1;
}

/* Fills batch[] with up to r->batch decoded images of one size (after the
 * test resize), starting with *held (the image that ended the previous batch)
 * or the queue. Failed decodes go straight on to the writers. Returns the
 * count, 0 at the end of the input; an image of another size is left in
 * *held. */
static int next_batch(run *r, job **held, job **batch)
{
    int n = 0;
    while (n < r->batch) {
        job *j = *held ? *held : pdl_queue_pop(&r->decoded);
        *held = NULL;
        if (!j)
            break;
        if (j->failed) {
            pdl_queue_push(&r->inferred, j);
            continue;
        }
        if (n > 0 && (j->input.h != batch[0]->input.h || j->input.w != batch[0]->input.w)) {
            *held = j;
            break;
        }
        batch[n++] = j;
    }
    return n;
}

/* The network once for the batch, post-processing per image; when it fails
 * every image of the batch is reported with the reason. */
static void infer_batch(run *r, pdl_engine *engine, job **batch, int n)
{
    /* zeroed only to quiet gcc's maybe-uninitialized: n >= 1 entries are set */
    pdl_engine_input in[PDL_MAX_BATCH] = {0};
    const char *names[PDL_MAX_BATCH] = {0};
    pdl_prediction pred[PDL_MAX_BATCH];
    pdl_engine_times t[PDL_MAX_BATCH];
    for (int i = 0; i < n; i++) {
        in[i] = batch[i]->input;
        names[i] = r->inputs->items[batch[i]->index].relname;
    }
    pdl_error err;
    pdl_status st = pdl_engine_infer_batch(engine, in, n, names, pred, t, &err);
    for (int i = 0; i < n; i++) {
        job *j = batch[i];
        j->failed = st != PDL_OK;
        if (st == PDL_OK) {
            j->pred = pred[i];
            j->ms_network = t[i].network_ms;
            j->ms_postprocess = t[i].postprocess_ms;
        } else {
            j->err = err;
        }
        pdl_queue_push(&r->inferred, j);
    }
}

typedef struct network_worker {
    run *r;
    pdl_engine *engine;
    pthread_t thread;
} network_worker;

static void *network_worker_main(void *arg)
{
    network_worker *w = arg;
    job *held = NULL, *batch[PDL_MAX_BATCH];
    int n;
    while ((n = next_batch(w->r, &held, batch)) > 0)
        infer_batch(w->r, w->engine, batch, n);
    return NULL;
}

static void run_pipeline(run *r)
{
    int n_io = r->io_threads;
    pthread_t dec[MAX_IO_THREADS], wr[MAX_IO_THREADS];
    network_worker net[MAX_STREAMS];
    atomic_init(&r->next_to_decode, 0);
    atomic_init(&r->decoders_left, n_io);
    for (int i = 0; i < n_io; i++) {
        pthread_create(&dec[i], NULL, decode_worker, r);
        pthread_create(&wr[i], NULL, write_worker, r);
    }
    for (int i = 0; i < r->streams; i++) {
        net[i] = (network_worker){r, r->engines[i], 0};
        if (i > 0)
            pthread_create(&net[i].thread, NULL, network_worker_main, &net[i]);
    }
    network_worker_main(&net[0]);
    for (int i = 1; i < r->streams; i++)
        pthread_join(net[i].thread, NULL);
    pdl_queue_close(&r->inferred);
    for (int i = 0; i < n_io; i++) {
        pthread_join(dec[i], NULL);
        pthread_join(wr[i], NULL);
    }
}

/* The engines of streams 1 .. r->streams - 1, like the first. */
static pdl_status open_more_engines(run *r, const char *model_path, const pdl_engine_options *eo,
                                    pdl_error *err)
{
    r->engines[0] = r->engine;
    for (int i = 1; i < r->streams; i++) {
        pdl_status st = pdl_engine_open(model_path, eo, &r->engines[i], err);
        if (st != PDL_OK)
            return st;
    }
    return PDL_OK;
}

static void close_engines(run *r)
{
    pdl_engine_close(r->engine);
    for (int i = 1; i < MAX_STREAMS; i++)
        pdl_engine_close(r->engines[i]);
}

/* --io-threads by default: see the header comment. */
static int default_io_threads(const pdl_engine *e)
{
    if (strcmp(pdl_engine_backend_name(e), "cpu") == 0)
        return 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long n = (cores - 1) / 2;
    return n < 1 ? 1 : n > MAX_IO_THREADS ? MAX_IO_THREADS : (int)n;
}

int cmd_predict(int argc, char **argv)
{
    enum { OPT_DEVICE = 256, OPT_THREADS, OPT_BATCH, OPT_SIZE, OPT_MAX_SIZE, OPT_SEMANTIC, OPT_INSTANCE, OPT_VIS,
           OPT_SHARD, OPT_RESUME, OPT_THRESHOLD, OPT_NMS, OPT_TOPK, OPT_STUFF, OPT_COMPAT, OPT_DUMP,
           OPT_PRECISION, OPT_IO_THREADS, OPT_STREAMS };
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},        {"device", required_argument, NULL, OPT_DEVICE},
        {"threads", required_argument, NULL, OPT_THREADS}, {"size", required_argument, NULL, OPT_SIZE},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"max-size", required_argument, NULL, OPT_MAX_SIZE}, {"semantic", no_argument, NULL, OPT_SEMANTIC},
        {"instance", no_argument, NULL, OPT_INSTANCE},   {"vis", no_argument, NULL, OPT_VIS},
        {"shard", required_argument, NULL, OPT_SHARD},   {"resume", no_argument, NULL, OPT_RESUME},
        {"threshold", required_argument, NULL, OPT_THRESHOLD}, {"nms-kernel", required_argument, NULL, OPT_NMS},
        {"top-k", required_argument, NULL, OPT_TOPK},    {"stuff-area", required_argument, NULL, OPT_STUFF},
        {"compat", required_argument, NULL, OPT_COMPAT}, {"dump-tensors", required_argument, NULL, OPT_DUMP},
        {"quiet", no_argument, NULL, 'q'},               {"help", no_argument, NULL, 'h'},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"io-threads", required_argument, NULL, OPT_IO_THREADS},
        {"streams", required_argument, NULL, OPT_STREAMS}, {NULL, 0, NULL, 0}};
    pdl_engine_options eo;
    pdl_engine_options_default(&eo);
    run r = {.batch = 1};
    const char *outdir = NULL;
    bool resume = false, quiet = false;
    unsigned shard_index = 0, shard_count = 1;
    pdl_error err;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'o': outdir = optarg; break;
        case OPT_DEVICE:
            if (pdl_device_parse(optarg, &eo.device, &err) != PDL_OK)
                return cli_usage_error("predict", "%s", err.msg);
            break;
        case OPT_THREADS:
            if (!cli_parse_int(optarg, 1, 1024, &eo.device.threads))
                return cli_usage_error("predict", "bad --threads '%s' (1..1024)", optarg);
            break;
        case OPT_BATCH:
            if (!cli_parse_int(optarg, 1, PDL_MAX_BATCH, &r.batch))
                return cli_usage_error("predict", "bad --batch '%s' (1..%d)", optarg, PDL_MAX_BATCH);
            break;
        case OPT_PRECISION:
            if (pdl_precision_parse(optarg, &eo.device.precision, &err) != PDL_OK)
                return cli_usage_error("predict", "%s", err.msg);
            break;
        case OPT_IO_THREADS:
            if (!cli_parse_int(optarg, 1, MAX_IO_THREADS, &r.io_threads))
                return cli_usage_error("predict", "bad --io-threads '%s' (1..%d)", optarg,
                                       MAX_IO_THREADS);
            break;
        case OPT_STREAMS:
            if (!cli_parse_int(optarg, 1, MAX_STREAMS, &r.streams))
                return cli_usage_error("predict", "bad --streams '%s' (1..%d)", optarg, MAX_STREAMS);
            break;
        case OPT_SIZE:
            if (!cli_parse_int(optarg, 0, 16384, &eo.short_edge))
                return cli_usage_error("predict", "bad --size '%s' (0..16384)", optarg);
            break;
        case OPT_MAX_SIZE:
            if (!cli_parse_int(optarg, 0, 16384, &eo.max_size))
                return cli_usage_error("predict", "bad --max-size '%s' (0..16384)", optarg);
            break;
        case OPT_SEMANTIC: r.outputs.semantic = true; break;
        case OPT_INSTANCE: r.outputs.instance = true; break;
        case OPT_VIS: r.outputs.vis = true; break;
        case OPT_SHARD:
            if (!parse_shard(optarg, &shard_index, &shard_count))
                return cli_usage_error("predict", "bad --shard '%s' (expected I/N with 0 <= I < N)", optarg);
            break;
        case OPT_RESUME: resume = true; break;
        case OPT_THRESHOLD: {
            char *end;
            eo.center_threshold = strtof(optarg, &end);
            if (*end || end == optarg || !(eo.center_threshold >= 0.f && eo.center_threshold <= 1e6f))
                return cli_usage_error("predict", "bad --threshold '%s'", optarg);
            break;
        }
        case OPT_NMS:
            if (!cli_parse_int(optarg, 1, 255, &eo.nms_kernel) || eo.nms_kernel % 2 == 0)
                return cli_usage_error("predict", "bad --nms-kernel '%s' (odd, 1..255)", optarg);
            break;
        case OPT_TOPK:
            if (!cli_parse_int(optarg, 1, 65535, &eo.top_k))
                return cli_usage_error("predict", "bad --top-k '%s' (1..65535)", optarg);
            break;
        case OPT_STUFF:
            if (!cli_parse_int(optarg, 0, INT_MAX, &eo.stuff_area))
                return cli_usage_error("predict", "bad --stuff-area '%s'", optarg);
            break;
        case OPT_COMPAT:
            if (strcmp(optarg, "detectron2") != 0)
                return cli_usage_error("predict", "bad --compat '%s' (only 'detectron2')", optarg);
            eo.compat_d2 = true;
            break;
        case OPT_DUMP:
            if (!*optarg)
                return cli_usage_error("predict", "--dump-tensors needs a folder");
            eo.dump_dir = optarg;
            break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage, stdout); return EXIT_ALL_OK;
        case ':': return cli_usage_error("predict", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("predict", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind < 2)
        return cli_usage_error("predict", "needs MODEL and at least one INPUT");
    if (!outdir || !*outdir)
        return cli_usage_error("predict", "-o OUTDIR is required");
    /* "out/" and "out" name the same folder; output paths are OUTDIR/REL. */
    char outdir_buf[PATH_MAX];
    snprintf(outdir_buf, sizeof outdir_buf, "%s", outdir);
    for (size_t n = strlen(outdir_buf); n > 1 && outdir_buf[n - 1] == '/'; n--)
        outdir_buf[n - 1] = '\0';
    outdir = outdir_buf;
    const char *model_path = argv[optind++];

    pdl_input_list inputs;
    pdl_input_list_init(&inputs);
    pdl_input_list_skip_folder(&inputs, outdir);
    int status = EXIT_ALL_OK;
    for (int i = optind; i < argc && status == EXIT_ALL_OK; i++) {
        pdl_status st = strcmp(argv[i], "-") == 0 ? pdl_input_list_add_lines(&inputs, stdin, "stdin", &err)
                                                  : pdl_input_list_add(&inputs, argv[i], &err);
        if (st != PDL_OK) {
            cli_report(&err);
            status = EXIT_USAGE;
        }
    }
    if (status == EXIT_ALL_OK && inputs.count == 0) {
        fprintf(stderr, "panoptic: no input images (the list on stdin was empty)\n");
        status = EXIT_USAGE;
    }
    predict_run_file(r.run_file, sizeof r.run_file, shard_index, shard_count);
    if (status == EXIT_ALL_OK && !predict_check_names(&inputs, &r.outputs, r.run_file, outdir))
        status = EXIT_USAGE;
    if (status == EXIT_ALL_OK)
        pdl_input_list_shard(&inputs, shard_index, shard_count);
    /* the model first, so that a bad one leaves no empty output folder */
    if (status == EXIT_ALL_OK && pdl_engine_open(model_path, &eo, &r.engine, &err) != PDL_OK) {
        cli_report(&err);
        status = EXIT_USAGE;
    }
    if (status == EXIT_ALL_OK && ((eo.dump_dir && pdl_make_dirs(eo.dump_dir, &err) != PDL_OK) ||
                                  pdl_make_dirs(outdir, &err) != PDL_OK)) {
        cli_report(&err);
        status = EXIT_USAGE;
    }
    if (status == EXIT_ALL_OK) {
        if (!r.streams)
            r.streams = strcmp(pdl_engine_backend_name(r.engine), "cpu") == 0 ? 1 : 2;
        if (open_more_engines(&r, model_path, &eo, &err) != PDL_OK) {
            cli_report(&err);
            status = EXIT_USAGE;
        }
    }
    if (status != EXIT_ALL_OK) {
        close_engines(&r);
        pdl_input_list_free(&inputs);
        return status;
    }
    if (*pdl_engine_fallback_note(r.engine))
        fprintf(stderr, "panoptic: %s\n", pdl_engine_fallback_note(r.engine));
    if (!quiet)
        fprintf(stderr, "panoptic: %zu images on %s%s\n", inputs.count, pdl_engine_device(r.engine),
                inputs.skipped ? " (non-image files skipped)" : "");

    if (!r.io_threads)
        r.io_threads = default_io_threads(r.engine);
    r.inputs = &inputs;
    r.outdir = outdir;
    r.progress = !quiet && isatty(STDERR_FILENO);
    r.annotations = calloc(inputs.count ? inputs.count : 1, sizeof *r.annotations);
    r.todo = malloc((inputs.count ? inputs.count : 1) * sizeof *r.todo);
    size_t resumed = 0;
    for (size_t i = 0; i < inputs.count; i++) {
        if (resume &&
            (r.annotations[i] = predict_resume_annotation(outdir, &inputs.items[i], &r.outputs))) {
            resumed++;
        } else {
            r.todo[r.ntodo++] = i;
        }
    }
    pthread_mutex_init(&r.print_lock, NULL);
    /* room for the next batch while one runs, and for one batch to write */
    pdl_queue_init(&r.decoded, (size_t)r.batch + 3);
    pdl_queue_init(&r.inferred, (size_t)r.batch + 3);
    r.started = now_ms();
    run_pipeline(&r);
    if (r.progress)
        fputs("\n", stderr);
    if (write_predictions(&r, &err) != PDL_OK) {
        cli_report(&err);
        r.failed++;
    }
    if (!quiet)
        fprintf(stderr, "panoptic: %zu done, %zu failed, %zu resumed, %.1f s\n", r.done - r.failed,
                r.failed, resumed, (now_ms() - r.started) / 1e3);
    status = r.failed ? EXIT_SOME_FAILED : EXIT_ALL_OK;
    for (size_t i = 0; i < inputs.count; i++)
        json_decref(r.annotations[i]);
    free(r.annotations);
    free(r.todo);
    pdl_queue_destroy(&r.decoded);
    pdl_queue_destroy(&r.inferred);
    pthread_mutex_destroy(&r.print_lock);
    close_engines(&r);
    pdl_input_list_free(&inputs);
    return status;
}
