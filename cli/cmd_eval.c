/* cmd_eval.c - `panoptic eval`: PQ of predictions against ground truth.
 *
 * Prints the table panopticapi's pq_compute prints (same layout and rounding:
 * Python's "{:5.1f}" and C's "%5.1f" both round the exact binary value half to
 * even), optionally a per-class table, and writes every number as JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "pq.h"

static const char usage[] =
    "usage: panoptic eval --gt-json F --gt-dir D --pred-json F --pred-dir D\n"
    "                     [--json OUT] [--threads N] [--per-class]\n\n"
    "Panoptic quality (PQ, SQ, RQ) with COCO panopticapi's rules, for All, Things,\n"
    "Stuff and (with --per-class) every class. Data sets are in COCO panoptic format\n"
    "(Cityscapes panoptic ground truth works as is).\n\n"
    "  --gt-json F     ground-truth JSON (annotations and categories)\n"
    "  --gt-dir D      ground-truth panoptic PNGs\n"
    "  --pred-json F   predictions JSON (annotations, matched by image_id)\n"
    "  --pred-dir D    prediction panoptic PNGs\n"
    "  --json OUT      write every number as JSON to OUT\n"
    "  --threads N     images evaluated in parallel (default: all cores)\n"
    "  --per-class     also print one row per class\n\n"
    "Exit status: 0 ok; 1 some images could not be evaluated (each named on stderr,\n"
    "the others still counted); 2 usage error or unreadable input.\n";

static void print_table(const pdl_pq_result *r, int per_class)
{
    const struct {
        const char *name;
        const pdl_pq_group *g;
    } rows[] = {{"All", &r->all}, {"Things", &r->things}, {"Stuff", &r->stuff}};
    printf("%-10s| %5s  %5s  %5s %5s\n", "", "PQ", "SQ", "RQ", "N");
    printf("--------------------------------------\n");
    for (size_t i = 0; i < 3; i++)
        printf("%-10s| %5.1f  %5.1f  %5.1f %5d\n", rows[i].name, 100 * rows[i].g->pq,
               100 * rows[i].g->sq, 100 * rows[i].g->rq, rows[i].g->n);
    if (!per_class)
        return;
    printf("\n%-24s| %5s  %5s  %5s %6s %6s %6s\n", "class", "PQ", "SQ", "RQ", "TP", "FP", "FN");
    printf("---------------------------------------------------------------------\n");
    for (size_t i = 0; i < r->n_classes; i++) {
        const pdl_pq_class *k = &r->classes[i];
        char label[64];
        if (k->name[0])
            snprintf(label, sizeof label, "%s", k->name);
        else
            snprintf(label, sizeof label, "%lld", (long long)k->category_id);
        for (char *ch = label; *ch; ch++) /* names come from the ground truth file */
            if ((unsigned char)*ch < 0x20 || *ch == 0x7f)
                *ch = '?';
        printf("%-24.24s| %5.1f  %5.1f  %5.1f %6lld %6lld %6lld\n", label, 100 * k->pq, 100 * k->sq,
               100 * k->rq, (long long)k->tp, (long long)k->fp, (long long)k->fn);
    }
}

static int ends_with_png(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".png") == 0;
}

/* The report is written beside and renamed over its path: only a plain file
 * (or nothing yet) may be there. */
static int regular_or_absent(const char *path)
{
    struct stat sb;
    return stat(path, &sb) != 0 || S_ISREG(sb.st_mode);
}

/* Whether a and b name one existing file. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cmd_eval(int argc, char **argv)
{
    enum { OPT_GT_JSON = 256, OPT_GT_DIR, OPT_PRED_JSON, OPT_PRED_DIR, OPT_JSON, OPT_THREADS,
           OPT_PER_CLASS, OPT_HELP };
    static const struct option longopts[] = {
        {"gt-json", required_argument, NULL, OPT_GT_JSON},
        {"gt-dir", required_argument, NULL, OPT_GT_DIR},
        {"pred-json", required_argument, NULL, OPT_PRED_JSON},
        {"pred-dir", required_argument, NULL, OPT_PRED_DIR},
        {"json", required_argument, NULL, OPT_JSON},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"per-class", no_argument, NULL, OPT_PER_CLASS},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    pdl_pq_options opt = {0};
    const char *json_out = NULL;
    int per_class = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_GT_JSON: opt.gt_json = optarg; break;
        case OPT_GT_DIR: opt.gt_dir = optarg; break;
        case OPT_PRED_JSON: opt.pred_json = optarg; break;
        case OPT_PRED_DIR: opt.pred_dir = optarg; break;
        case OPT_JSON: json_out = optarg; break;
        case OPT_PER_CLASS: per_class = 1; break;
        case OPT_THREADS: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || n < 1 || n > 1024)
                return cli_usage_error("eval", "--threads wants a number from 1 to 1024, not '%s'", optarg);
            opt.threads = (int)n;
            break;
        }
        case OPT_HELP: fputs(usage, stdout); return EXIT_ALL_OK;
        default: return cli_usage_error("eval", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!opt.gt_json || !opt.gt_dir || !opt.pred_json || !opt.pred_dir)
        return cli_usage_error("eval", "--gt-json, --gt-dir, --pred-json and --pred-dir are required");
    if (json_out && !*json_out)
        return cli_usage_error("eval", "--json needs a file name");
    if (json_out && (same_file(json_out, opt.gt_json) || same_file(json_out, opt.pred_json)))
        return cli_usage_error("eval", "--json '%s' is one of the input files", json_out);
    if (json_out && (ends_with_png(json_out) || !regular_or_absent(json_out)))
        return cli_usage_error("eval", "--json '%s' must be a JSON file (not a PNG, device or folder)",
                               json_out);

    pdl_pq_result r;
    pdl_error err;
    pdl_error_clear(&err);
    if (pdl_pq_evaluate(&opt, &r, &err) != PDL_OK) {
        cli_report(&err);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < r.n_failed; i++)
        fprintf(stderr, "panoptic: %s\n", r.failures[i]);
    if (r.n_failed)
        fprintf(stderr, "panoptic: %zu of %zu images could not be evaluated and are left out\n",
                r.n_failed, r.n_failed + r.n_images);
    print_table(&r, per_class);
    int status = r.n_failed ? EXIT_SOME_FAILED : EXIT_ALL_OK;
    if (json_out && pdl_pq_write_json(&r, json_out, &err) != PDL_OK) {
        cli_report(&err);
        status = EXIT_USAGE;
    }
    pdl_pq_result_free(&r);
    return status;
}
