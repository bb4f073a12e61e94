/* cmd_synth.c - `panoptic synth`: writes a procedural COCO-panoptic dataset. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "synth.h"

static const char usage[] =
    "usage: panoptic synth -n N -o DIR [--seed S] [--size HxW]\n"
    "\n"
    "Writes N procedural panoptic scenes in COCO-panoptic format:\n"
    "  DIR/images/*.png, DIR/panoptic/*.png (id = R + 256 G + 256^2 B), DIR/panoptic.json\n"
    "Scenes are a pure function of (seed, index, size). Seeds 0..999 are the\n"
    "training split, seeds >= 1000 the evaluation split.\n"
    "\n"
    "  -n, --count N    number of scenes (1..1000000)\n"
    "  -o, --output DIR output folder (created)\n"
    "  -s, --seed S     seed (default 0)\n"
    "      --size HxW   scene size (default 256x256)\n"
    "  -h, --help       this help\n";

int cmd_synth(int argc, char **argv)
{
    static const struct option options[] = {
        {"count", required_argument, NULL, 'n'}, {"output", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},  {"size", required_argument, NULL, 'z'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    long count = -1;
    unsigned long long seed = 0;
    int height = 256, width = 256;
    const char *outdir = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":n:o:s:h", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'n':
            count = strtol(optarg, &end, 10);
            if (*end || count < 1 || count > 1000000)
                return cli_usage_error("synth", "bad count '%s' (1..1000000)", optarg);
            break;
        case 'o': outdir = optarg; break;
        case 's':
            errno = 0;
            seed = strtoull(optarg, &end, 10);
            if (*end || !isdigit((unsigned char)optarg[0]) || errno)
                return cli_usage_error("synth", "bad seed '%s' (0..%llu)", optarg, ULLONG_MAX);
            break;
        case 'z':
            if (sscanf(optarg, "%dx%d%c", &height, &width, &(char){0}) != 2 || height < 8 ||
                width < 8 || height > 8192 || width > 8192)
                return cli_usage_error("synth", "bad --size '%s' (HxW, each 8..8192)", optarg);
            break;
        case 'h': fputs(usage, stdout); return EXIT_ALL_OK;
        case ':': return cli_usage_error("synth", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("synth", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
    if (count < 0 || !outdir || !*outdir)
        return cli_usage_error("synth", "-n and -o (a folder) are required");
    pdl_error err;
    if (pdl_synth_write_dataset(outdir, (int)count, seed, width, height, &err) != PDL_OK) {
        cli_report(&err);
        return err.code == PDL_ERR_ARG ? EXIT_USAGE : EXIT_SOME_FAILED;
    }
    return EXIT_ALL_OK;
}
