/* main.c - entry point: dispatches to the subcommands. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"predict", cmd_predict, "run the model over images and folders, write panoptic PNGs and JSON"},
    {"info", cmd_info, "show a model's configuration, classes, parameters and GFLOPs"},
    {"eval", cmd_eval, "PQ, SQ, RQ of panoptic predictions against ground truth (panopticapi rules)"},
    {"bench", cmd_bench, "per-stage latency, images/s, memory and PQ over sizes and devices"},
    {"synth", cmd_synth, "write a procedural panoptic dataset (COCO-panoptic format)"},
};

static void print_help(FILE *out)
{
    fprintf(out, "usage: panoptic <command> [options]\n"
                 "       panoptic <command> --help\n"
                 "       panoptic --version\n\n"
                 "Panoptic-DeepLab inference, evaluation and benchmarking.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "panoptic %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'panoptic %s --help')\n", cmd);
    return EXIT_USAGE;
}

int cli_parse_int(const char *text, int lo, int hi, int *out)
{
    /* strtol alone would also take " 1" and "+1" */
    if (!isdigit((unsigned char)text[0]) && !(text[0] == '-' && isdigit((unsigned char)text[1])))
        return 0;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*end || end == text || errno || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

void cli_report(const pdl_error *err)
{
    fprintf(stderr, "panoptic: %s\n", err->msg[0] ? err->msg : pdl_status_name(err->code));
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help(stdout);
        return EXIT_ALL_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("panoptic %s\n", PDL_VERSION);
        return EXIT_ALL_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "panoptic: unknown command '%s' (see 'panoptic --help')\n", argv[1]);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    cli_tune_openmp(argv);
    int status = run_command(argc, argv);
    /* Lost stdout (a full disk, a closed descriptor) must not pass for
     * success: scripts read their results from it. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* errno may belong to a later call by now: no reason is given */
        fprintf(stderr, "panoptic: standard output: write error\n");
        return EXIT_USAGE;
    }
    return status;
}
