/* predict_names.c - output names of a predict run (see predict_names.h). */
#include "predict_names.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

void predict_run_file(char *buf, size_t size, unsigned shard_index, unsigned shard_count)
{
    if (shard_count > 1)
        snprintf(buf, size, "predictions.shard-%u-of-%u.json", shard_index, shard_count);
    else
        snprintf(buf, size, "predictions.json");
}

typedef struct output_name {
    char *name;             /* relative to the output folder */
    const pdl_input *input; /* NULL: the run file */
} output_name;

static int compare_output_names(const void *a, const void *b)
{
    return strcmp(((const output_name *)a)->name, ((const output_name *)b)->name);
}

/* Whether an output name is some shard's run file, predictions.json
 * included: shards sharing a folder must not write each other's. */
static int is_run_file(const char *name)
{
    unsigned index, count;
    char canonical[64];
    if (sscanf(name, "predictions.shard-%u-of-%u.json", &index, &count) != 2)
        return strcmp(name, "predictions.json") == 0;
    predict_run_file(canonical, sizeof canonical, index, count);
    return strcmp(name, canonical) == 0;
}

typedef struct file_id {
    dev_t dev;
    ino_t ino;
    const pdl_input *input;
} file_id;

static int compare_file_ids(const void *a, const void *b)
{
    const file_id *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* No output may be an input file: with -o pointing at the input folder,
 * x.png's panoptic map would replace the photo x.png itself. */
static int check_inputs_survive(const pdl_input_list *list, const output_name *names, size_t n,
                                const char *outdir)
{
    file_id *ids = malloc((list->count ? list->count : 1) * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "panoptic: out of memory checking %zu inputs\n", list->count);
        return 0;
    }
    size_t m = 0;
    struct stat sb;
    for (size_t i = 0; i < list->count; i++)
        if (stat(list->items[i].path, &sb) == 0)
            ids[m++] = (file_id){sb.st_dev, sb.st_ino, &list->items[i]};
    qsort(ids, m, sizeof *ids, compare_file_ids);
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", outdir, names[i].name) >= (int)sizeof path ||
            stat(path, &sb) != 0)
            continue;
        file_id key = {sb.st_dev, sb.st_ino, NULL};
        const file_id *hit = bsearch(&key, ids, m, sizeof *ids, compare_file_ids);
        if (hit) {
            cli_usage_error("predict", "'%s' would overwrite the input '%s'", path,
                            hit->input->path);
            ok = 0;
        }
    }
    free(ids);
    return ok;
}

/* "x.png" with --semantic writes x_sem.png, which an input named x_sem.png
 * would also write as its map; an input named predictions.png would write
 * predictions.json. Listing every file catches all such pairs. */
int predict_check_names(const pdl_input_list *list, const pdl_output_options *outputs,
                        const char *run_file, const char *outdir)
{
    const char *suffix[PDL_PREDICTION_FILES];
    int per_input = pdl_prediction_files(outputs, suffix);
    size_t n = 0, total = list->count * (size_t)per_input + 1;
    output_name *names = calloc(total, sizeof *names);
    int oom = names == NULL, ok = !oom;
    for (size_t i = 0; ok && i < list->count; i++)
        for (int k = 0; ok && k < per_input; k++) {
            size_t len = strlen(list->items[i].relname) + strlen(suffix[k]) + 1;
            if ((names[n].name = malloc(len)) == NULL) {
                oom = 1;
                ok = 0;
                break;
            }
            names[n].input = &list->items[i];
            snprintf(names[n].name, len, "%s%s", list->items[i].relname, suffix[k]);
            if (is_run_file(names[n].name) && strcmp(names[n].name, run_file) != 0) {
                cli_usage_error("predict", "'%s' would write '%s', the run file of another shard",
                                list->items[i].path, names[n].name);
                ok = 0;
            }
            n++;
        }
    if (ok && (names[n].name = strdup(run_file)) == NULL) {
        oom = 1;
        ok = 0;
    } else if (ok) {
        n++;
    }
    if (oom)
        fprintf(stderr, "panoptic: out of memory checking %zu output names\n", total);
    if (ok)
        qsort(names, n, sizeof *names, compare_output_names);
    for (size_t i = 1; ok && i < n; i++) {
        if (strcmp(names[i - 1].name, names[i].name) != 0)
            continue;
        const pdl_input *a = names[i - 1].input, *b = names[i].input;
        if (a && b)
            cli_usage_error("predict", "'%s' and '%s' would both write '%s'", a->path, b->path,
                            names[i].name);
        else
            cli_usage_error("predict", "'%s' would overwrite the run's '%s'", (a ? a : b)->path,
                            names[i].name);
        ok = 0;
    }
    if (ok)
        ok = check_inputs_survive(list, names, n, outdir);
    for (size_t i = 0; names && i < n; i++)
        free(names[i].name);
    free(names);
    return ok;
}
