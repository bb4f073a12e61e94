/* tsup_refdata.c - see tsup_refdata.h. */
#include "tsup_refdata.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *meta_string(json_t *meta, const char *key, const char *path)
{
    const char *v = json_string_value(json_object_get(meta, key));
    cr_assert(v, "%s: metadata %s missing", path, key);
    return v;
}

void tsup_refmeta_read(const char *path, tsup_refmeta *meta)
{
    memset(meta, 0, sizeof *meta);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: cannot open", path);
    uint8_t len8[8];
    cr_assert_eq(fread(len8, 1, 8, f), 8u, "%s: truncated", path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | len8[i];
    cr_assert(n > 0 && n < (1u << 24), "%s: header length %llu", path, (unsigned long long)n);
    char *text = malloc(n);
    cr_assert(text && fread(text, 1, n, f) == n, "%s: truncated header", path);
    fclose(f);
    json_error_t jerr;
    json_t *root = json_loadb(text, n, 0, &jerr);
    free(text);
    cr_assert(root, "%s: %s", path, jerr.text);
    json_t *m = json_object_get(root, "__metadata__");
    meta->height = atoi(meta_string(m, "input_height", path));
    meta->width = atoi(meta_string(m, "input_width", path));
    meta->image_seed = strtoull(meta_string(m, "image_seed", path), NULL, 10);
    snprintf(meta->model, sizeof meta->model, "%s", meta_string(m, "model", path));
    const char *stages = meta_string(m, "stages", path);
    json_t *list = json_loads(stages, 0, &jerr);
    cr_assert(json_is_array(list), "%s: stages is not a JSON list", path);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        cr_assert(i < TSUP_MAX_STAGES && json_is_string(v), "%s: bad stages", path);
        snprintf(meta->stages[i], sizeof meta->stages[i], "%s", json_string_value(v));
        meta->nstages = (int)i + 1;
    }
    json_decref(list);
    json_decref(root);
}

uint8_t *tsup_ref_image(int h, int w, uint64_t seed)
{
    size_t n = (size_t)h * w * 3;
    uint8_t *p = malloc(n);
    cr_assert(p);
    for (size_t i = 0; i < n; i++) {
        uint64_t z = seed + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        p[i] = (uint8_t)(z >> 56);
    }
    return p;
}
