/* cmd_info.c - `panoptic info MODEL`: what a weights file holds.
 *
 * Opens the model with the full validation of pdl_weights_open(), then prints
 * its config, class list and parameter count, as text or (--json) as one JSON
 * document whose "config" is exactly the schema of weights/FORMAT.md.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model.h"
#include "safetensors.h"

#define SIZE_MAX_SIDE 16384

static const char usage[] =
    "usage: panoptic info MODEL [--size HxW] [--json]\n\n"
    "Validates a weights file and shows its configuration, classes, parameter\n"
    "count and GFLOPs.\n\n"
    "options:\n"
    "  -s, --size HxW  input size for the GFLOPs figure (default 1024x2048)\n"
    "      --json      print one JSON document instead of text\n"
    "  -h, --help      show this help\n";

/* Convolution GFLOPs of the network for an h x w input (padded as the
 * config says), counting a multiply-add as two operations. */
static double info_model_gflops(const pdl_config *cfg, int h, int w)
{
    return pdl_model_flops(cfg, h, w) / 1e9;
}

static bool parse_size(const char *s, int *h, int *w)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        return false;
    const char *rest = end + 1;
    long b = strtol(rest, &end, 10);
    if (end == rest || *end != '\0' || a < 1 || b < 1 || a > SIZE_MAX_SIDE || b > SIZE_MAX_SIDE)
        return false;
    *h = (int)a;
    *w = (int)b;
    return true;
}

static long long value_count(const pdl_weights *w)
{
    long long n = 0;
    for (size_t i = 0; i < w->ntensors; i++)
        n += w->tensors[i].numel;
    return n;
}

static void print_head(const char *label, const pdl_head_config *h)
{
    printf("%-15s project res2 %d / res3 %d, decoder %d, ASPP %d ch rates [%d, %d, %d] ", label,
           h->project_channels[0], h->project_channels[1], h->decoder_channels, h->aspp_channels,
           h->aspp_dilations[0], h->aspp_dilations[1], h->aspp_dilations[2]);
    if (h->aspp_pool[0] == 0)
        printf("global pooling");
    else
        printf("pooling %dx%d", h->aspp_pool[0], h->aspp_pool[1]);
    printf(", head %d, %s\n", h->head_channels,
           h->depthwise_separable ? "depthwise-separable" : "regular convs");
}

static void print_text(const pdl_weights *w, int h, int wd)
{
    const pdl_config *c = &w->config;
    const pdl_backbone_config *b = &c->backbone;
    printf("%-15s %s (%s)\n", "model", c->name, w->path);
    printf("%-15s ResNet-%d, %s stem %d ch, res2 %d ch, width/group %d, stride in %s, "
           "dilation res4 %d / res5 %d, multi-grid [%d, %d, %d]\n",
           "backbone", b->depth, b->stem == PDL_STEM_BASIC ? "basic" : "deeplab",
           b->stem_out_channels, b->res2_out_channels, b->width_per_group,
           b->stride_in_1x1 ? "1x1" : "3x3", b->res4_dilation, b->res5_dilation,
           b->res5_multi_grid[0], b->res5_multi_grid[1], b->res5_multi_grid[2]);
    print_head("sem_seg_head", &c->sem);
    print_head("ins_embed_head", &c->ins);
    const pdl_input_config *in = &c->input;
    printf("%-15s mean [%g, %g, %g], std [%g, %g, %g], min size %d, max size %d, "
           "divisibility %d\n",
           "input", in->pixel_mean[0], in->pixel_mean[1], in->pixel_mean[2], in->pixel_std[0],
           in->pixel_std[1], in->pixel_std[2], in->min_size_test, in->max_size_test,
           in->size_divisibility);
    const pdl_postprocess_config *p = &c->post;
    printf("%-15s center threshold %g, NMS kernel %d, top-k %d, stuff area %d, label divisor %d\n",
           "postprocess", p->center_threshold, p->nms_kernel, p->top_k, p->stuff_area,
           p->label_divisor);
    long long params = (long long)pdl_model_params(c);
    printf("%-15s %lld (%.2f M); the file holds %zu tensors, %lld values\n", "parameters", params,
           params / 1e6, w->ntensors, value_count(w));
    double gflops = info_model_gflops(c, h, wd);
    printf("%-15s %.1f at %dx%d\n", "GFLOPs", gflops, h, wd);

    int things = 0;
    for (int i = 0; i < c->num_classes; i++)
        things += c->classes[i].isthing;
    printf("%-15s %d (%d things, %d stuff)\n", "classes", c->num_classes, things,
           c->num_classes - things);
    printf("  %5s  %-24s %-5s  %s\n", "id", "name", "kind", "colour");
    for (int i = 0; i < c->num_classes; i++) {
        const pdl_class_info *k = &c->classes[i];
        printf("  %5d  %-24s %-5s  #%02x%02x%02x (%d, %d, %d)\n", k->id, k->name,
               k->isthing ? "thing" : "stuff", k->color[0], k->color[1], k->color[2],
               k->color[0], k->color[1], k->color[2]);
    }
}

static int print_json(const pdl_weights *w, int h, int wd)
{
    char *text = pdl_config_to_json(&w->config);
    json_t *config = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    double gflops = info_model_gflops(&w->config, h, wd);
    json_t *doc = json_pack("{s:s, s:o, s:I, s:I, s:[i, i], s:o}", "file", w->path, "config",
                            config, "tensors", (json_int_t)w->ntensors, "parameters",
                            (json_int_t)pdl_model_params(&w->config), "size", h, wd, "gflops",
                            json_real(gflops));
    char *out = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(doc);
    if (!out) {
        fprintf(stderr, "panoptic: out of memory\n");
        return EXIT_USAGE;
    }
    puts(out);
    free(out);
    return EXIT_ALL_OK;
}

int cmd_info(int argc, char **argv)
{
    static const struct option options[] = {
        {"size", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int h = 1024, wd = 2048, opt;
    bool json = false;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":s:h", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (!parse_size(optarg, &h, &wd))
                return cli_usage_error("info", "invalid --size '%s' (expected HxW, e.g. 512x1024, "
                                       "each 1..16384)", optarg);
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_ALL_OK;
        case ':':
            return cli_usage_error("info", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt)
                return cli_usage_error("info", "unknown option '-%c'", optopt);
            return cli_usage_error("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind == argc)
        return cli_usage_error("info", "missing MODEL");
    if (argc - optind > 1)
        return cli_usage_error("info", "unexpected argument '%s'", argv[optind + 1]);

    static pdl_weights w; /* holds a 74 KB config: keep it off the stack */
    static pdl_model m;
    pdl_error err;
    if (pdl_weights_open(argv[optind], &w, &err) != PDL_OK) {
        cli_report(&err);
        return EXIT_USAGE;
    }
    /* Loading the network checks every tensor the config needs. */
    size_t unused = 0;
    const char *first_unused = NULL;
    if (pdl_model_load(&w, &m, &unused, &first_unused, &err) != PDL_OK) { /* builds the graph too */
        cli_report(&err);
        pdl_model_free(&m);
        pdl_weights_close(&w);
        return EXIT_USAGE;
    }
    pdl_model_free(&m);
    if (unused)
        fprintf(stderr, "panoptic: warning: %s: %zu tensors the model does not use (e.g. %s)\n",
                argv[optind], unused, first_unused);
    int rc = EXIT_ALL_OK;
    if (json)
        rc = print_json(&w, h, wd);
    else
        print_text(&w, h, wd);
    pdl_weights_close(&w);
    return rc;
}
