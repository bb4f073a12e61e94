/* config.c - the model configuration as JSON: parse with full validation, and
 * serialise (jansson for both directions, never a hand-written parser).
 *
 * Schema ("panoptic-deeplab/1"; also in weights/FORMAT.md). Every key is
 * required and unknown keys are refused, so a typo cannot silently fall back
 * to a default:
 *   {"format": "panoptic-deeplab/1", "name": str (1..63 bytes),
 *    "backbone": {"depth": 18|34|50|101, "stem": "basic"|"deeplab",
 *                 "stem_out_channels", "res2_out_channels", "width_per_group": 1..4096,
 *                 "stride_in_1x1": bool, "res4_dilation", "res5_dilation": 1..64,
 *                 "res5_multi_grid": [3 x 1..64]},
 *    "sem_seg_head", "ins_embed_head": {
 *                 "project_channels": [res2, res3] 1..4096, "decoder_channels",
 *                 "aspp_channels", "head_channels": 1..4096,
 *                 "aspp_dilations": [3 x 1..64],
 *                 "aspp_pooling": "global" | [h, w] 1..4096 (D2's fixed box kernel),
 *                 "depthwise_separable": bool},
 *    "input": {"pixel_mean": [3 x 0..255], "pixel_std": [3 x (0..255]],
 *              "min_size_test", "max_size_test": 0..16384 (0 = none; max >= min),
 *              "size_divisibility": 0..1024},
 *    "postprocess": {"center_threshold": 0..1, "nms_kernel": odd 1..255,
 *                    "top_k": 1..100000, "stuff_area": 0..2^30,
 *                    "label_divisor": > top_k, and num_classes x label_divisor <= INT32_MAX},
 *    "classes": [{"id": 0..65535 unique, "name": str (1..63 bytes), "isthing": bool,
 *                 "color": [r, g, b] 0..255}, ...] (1..PDL_MAX_CLASSES)}
 * Messages read "SOURCE: config key backbone.depth: expected one of 18, 34, 50,
 * 101, got 42" so a user knows exactly which value to fix.
 */
#include "config.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FORMAT "panoptic-deeplab/1"
#define CH_MAX 4096
#define DIL_MAX 64
#define TEST_SIZE_MAX 16384
#define DIVISIBILITY_MAX 1024
#define NMS_KERNEL_MAX 255
#define TOP_K_MAX 100000
#define STUFF_AREA_MAX (1 << 30)
#define CLASS_ID_MAX 65535
#define KEY_MAX 96

#define TRY(expr)                         \
    do {                                  \
        pdl_status try_st_ = (expr);      \
        if (try_st_ != PDL_OK)            \
            return try_st_;               \
    } while (0)

typedef struct parser {
    const char *source;
    pdl_error *err;
} parser;

/* A JSON value as the user wrote it, shortened for a one-line message. */
static void show_value(const json_t *v, char *buf, size_t size)
{
    /* 15 digits: a decimal the user typed (58.395) shows as typed; ASCII
     * only, so no byte of a bad name reaches the terminal raw and the cut
     * below never splits a character. */
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII |
                                   JSON_REAL_PRECISION(15));
    if (!text) {
        snprintf(buf, size, "?");
        return;
    }
    if (strlen(text) >= size && size > 4)
        snprintf(buf, size, "%.*s...", (int)(size - 4), text);
    else
        snprintf(buf, size, "%s", text);
    free(text);
}

/* "SOURCE: config key KEY: expected WHAT, got VALUE" (or "... missing"). */
static pdl_status bad_value(const parser *p, const char *key, const char *what, const json_t *got)
{
    if (!got)
        return pdl_fail(p->err, PDL_ERR_FORMAT, "%s: config key %s missing (expected %s)",
                        p->source, key, what);
    char shown[48];
    show_value(got, shown, sizeof shown);
    return pdl_fail(p->err, PDL_ERR_FORMAT, "%s: config key %s: expected %s, got %s", p->source,
                    key, what, shown);
}

static void join_key(char *dst, const char *prefix, const char *name)
{
    if (prefix[0])
        snprintf(dst, KEY_MAX, "%s.%s", prefix, name);
    else
        snprintf(dst, KEY_MAX, "%s", name);
}

/* Refuses keys outside `allowed` (NULL-terminated). */
static pdl_status check_keys(const parser *p, json_t *obj, const char *prefix,
                             const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i]) {
            char key[KEY_MAX];
            join_key(key, prefix, k);
            return pdl_fail(p->err, PDL_ERR_FORMAT, "%s: config key %s: unknown key", p->source,
                            key);
        }
    }
    return PDL_OK;
}

static pdl_status get_object(const parser *p, json_t *obj, const char *prefix, const char *name,
                             const char *const *allowed, json_t **out)
{
    char key[KEY_MAX];
    join_key(key, prefix, name);
    json_t *v = json_object_get(obj, name);
    if (!json_is_object(v))
        return bad_value(p, key, "an object", v);
    *out = v;
    return check_keys(p, v, key, allowed);
}

static bool int_in(const json_t *v, long long lo, long long hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

static pdl_status get_int(const parser *p, json_t *obj, const char *prefix, const char *name,
                          int lo, int hi, int *out)
{
    char key[KEY_MAX], what[64];
    join_key(key, prefix, name);
    json_t *v = json_object_get(obj, name);
    if (!int_in(v, lo, hi)) {
        snprintf(what, sizeof what, "an integer in %d..%d", lo, hi);
        return bad_value(p, key, what, v);
    }
    *out = (int)json_integer_value(v);
    return PDL_OK;
}

static pdl_status get_int_array(const parser *p, json_t *obj, const char *prefix,
                                const char *name, size_t n, int lo, int hi, int *out)
{
    char key[KEY_MAX], what[80];
    join_key(key, prefix, name);
    json_t *v = json_object_get(obj, name);
    bool ok = json_is_array(v) && json_array_size(v) == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = int_in(json_array_get(v, i), lo, hi);
    if (!ok) {
        snprintf(what, sizeof what, "an array of %zu integers in %d..%d", n, lo, hi);
        return bad_value(p, key, what, v);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (int)json_integer_value(json_array_get(v, i));
    return PDL_OK;
}

/* A finite number in [lo, hi], or (lo, hi] when lo_open. */
static bool number_in(const json_t *v, double lo, double hi, bool lo_open)
{
    if (!json_is_number(v))
        return false;
    double x = json_number_value(v);
    return isfinite(x) && x <= hi && (lo_open ? x > lo : x >= lo);
}

static pdl_status get_float_array(const parser *p, json_t *obj, const char *prefix,
                                  const char *name, size_t n, double lo, double hi, bool lo_open,
                                  float *out)
{
    char key[KEY_MAX], what[80];
    join_key(key, prefix, name);
    json_t *v = json_object_get(obj, name);
    bool ok = json_is_array(v) && json_array_size(v) == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = number_in(json_array_get(v, i), lo, hi, lo_open);
    if (!ok) {
        snprintf(what, sizeof what, "an array of %zu numbers in %c%g, %g]", n, lo_open ? '(' : '[',
                 lo, hi);
        return bad_value(p, key, what, v);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (float)json_number_value(json_array_get(v, i));
    return PDL_OK;
}

static pdl_status get_float(const parser *p, json_t *obj, const char *prefix, const char *name,
                            double lo, double hi, float *out)
{
    char key[KEY_MAX], what[64];
    join_key(key, prefix, name);
    json_t *v = json_object_get(obj, name);
    if (!number_in(v, lo, hi, false)) {
        snprintf(what, sizeof what, "a number in [%g, %g]", lo, hi);
        return bad_value(p, key, what, v);
    }
    *out = (float)json_number_value(v);
    return PDL_OK;
}

static pdl_status get_bool(const parser *p, json_t *obj, const char *prefix, const char *name,
                           bool *out)
{
    char key[KEY_MAX];
    join_key(key, prefix, name);
    json_t *v = json_object_get(obj, name);
    if (!json_is_boolean(v))
        return bad_value(p, key, "true or false", v);
    *out = json_is_true(v);
    return PDL_OK;
}

/* A non-empty string that fits in `size` bytes with its NUL. */
static pdl_status get_string(const parser *p, json_t *obj, const char *prefix, const char *name,
                             char *dst, size_t size)
{
    char key[KEY_MAX], what[64];
    join_key(key, prefix, name);
    json_t *v = json_object_get(obj, name);
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    /* names reach terminals and JSON lines: no control characters (C0, DEL,
     * C1 as UTF-8 C2 80..9F) and no bidirectional overrides (U+202A..202E,
     * U+2066..2069), which could disguise what a terminal shows */
    const unsigned char *u = (const unsigned char *)json_string_value(v);
    bool printable = len > 0;
    for (size_t i = 0; i < len && printable; i++) {
        printable = u[i] >= 0x20 && u[i] != 0x7f;
        if (u[i] == 0xc2 && i + 1 < len)
            printable = !(u[i + 1] >= 0x80 && u[i + 1] <= 0x9f);
        if (u[i] == 0xe2 && i + 2 < len)
            printable = !((u[i + 1] == 0x80 && u[i + 2] >= 0xaa && u[i + 2] <= 0xae) ||
                          (u[i + 1] == 0x81 && u[i + 2] >= 0xa6 && u[i + 2] <= 0xa9));
    }
    if (!printable || len >= size) {
        snprintf(what, sizeof what, "a string of 1..%zu printable bytes", size - 1);
        return bad_value(p, key, what, v);
    }
    memcpy(dst, json_string_value(v), len + 1);
    return PDL_OK;
}

static pdl_status parse_backbone(const parser *p, json_t *root, pdl_backbone_config *b)
{
    static const char *const keys[] = {"depth", "stem", "stem_out_channels", "res2_out_channels",
                                       "width_per_group", "stride_in_1x1", "res4_dilation",
                                       "res5_dilation", "res5_multi_grid", NULL};
    json_t *o;
    TRY(get_object(p, root, "", "backbone", keys, &o));

    json_t *depth = json_object_get(o, "depth");
    long long d = json_is_integer(depth) ? json_integer_value(depth) : 0;
    if (d != 18 && d != 34 && d != 50 && d != 101)
        return bad_value(p, "backbone.depth", "one of 18, 34, 50, 101", depth);
    b->depth = (int)d;

    json_t *stem = json_object_get(o, "stem");
    const char *s = json_is_string(stem) ? json_string_value(stem) : "";
    if (strcmp(s, "basic") == 0)
        b->stem = PDL_STEM_BASIC;
    else if (strcmp(s, "deeplab") == 0)
        b->stem = PDL_STEM_DEEPLAB;
    else
        return bad_value(p, "backbone.stem", "\"basic\" or \"deeplab\"", stem);

    TRY(get_int(p, o, "backbone", "stem_out_channels", 1, CH_MAX, &b->stem_out_channels));
    TRY(get_int(p, o, "backbone", "res2_out_channels", 1, CH_MAX, &b->res2_out_channels));
    TRY(get_int(p, o, "backbone", "width_per_group", 1, CH_MAX, &b->width_per_group));
    TRY(get_bool(p, o, "backbone", "stride_in_1x1", &b->stride_in_1x1));
    TRY(get_int(p, o, "backbone", "res4_dilation", 1, DIL_MAX, &b->res4_dilation));
    TRY(get_int(p, o, "backbone", "res5_dilation", 1, DIL_MAX, &b->res5_dilation));
    return get_int_array(p, o, "backbone", "res5_multi_grid", 3, 1, DIL_MAX, b->res5_multi_grid);
}

static pdl_status parse_head(const parser *p, json_t *root, const char *name, pdl_head_config *h)
{
    static const char *const keys[] = {"project_channels", "decoder_channels", "aspp_channels",
                                       "aspp_dilations",   "aspp_pooling",     "head_channels",
                                       "depthwise_separable", NULL};
    json_t *o;
    TRY(get_object(p, root, "", name, keys, &o));
    TRY(get_int_array(p, o, name, "project_channels", 2, 1, CH_MAX, h->project_channels));
    TRY(get_int(p, o, name, "decoder_channels", 1, CH_MAX, &h->decoder_channels));
    TRY(get_int(p, o, name, "aspp_channels", 1, CH_MAX, &h->aspp_channels));
    TRY(get_int_array(p, o, name, "aspp_dilations", 3, 1, DIL_MAX, h->aspp_dilations));

    json_t *pool = json_object_get(o, "aspp_pooling");
    if (json_is_string(pool) && strcmp(json_string_value(pool), "global") == 0) {
        h->aspp_pool[0] = h->aspp_pool[1] = 0;
    } else if (json_is_array(pool) && json_array_size(pool) == 2 &&
               int_in(json_array_get(pool, 0), 1, CH_MAX) &&
               int_in(json_array_get(pool, 1), 1, CH_MAX)) {
        h->aspp_pool[0] = (int)json_integer_value(json_array_get(pool, 0));
        h->aspp_pool[1] = (int)json_integer_value(json_array_get(pool, 1));
    } else {
        char key[KEY_MAX];
        join_key(key, name, "aspp_pooling");
        return bad_value(p, key, "\"global\" or [h, w] with each in 1..4096", pool);
    }
    TRY(get_int(p, o, name, "head_channels", 1, CH_MAX, &h->head_channels));
    return get_bool(p, o, name, "depthwise_separable", &h->depthwise_separable);
}

static pdl_status parse_input(const parser *p, json_t *root, pdl_input_config *in)
{
    static const char *const keys[] = {"pixel_mean",    "pixel_std",         "min_size_test",
                                       "max_size_test", "size_divisibility", NULL};
    json_t *o;
    TRY(get_object(p, root, "", "input", keys, &o));
    TRY(get_float_array(p, o, "input", "pixel_mean", 3, 0, 255, false, in->pixel_mean));
    TRY(get_float_array(p, o, "input", "pixel_std", 3, 0, 255, true, in->pixel_std));
    TRY(get_int(p, o, "input", "min_size_test", 0, TEST_SIZE_MAX, &in->min_size_test));
    TRY(get_int(p, o, "input", "max_size_test", 0, TEST_SIZE_MAX, &in->max_size_test));
    if (in->max_size_test != 0 && in->max_size_test < in->min_size_test)
        return pdl_fail(p->err, PDL_ERR_FORMAT,
                        "%s: config key input.max_size_test: %d is below input.min_size_test %d",
                        p->source, in->max_size_test, in->min_size_test);
    return get_int(p, o, "input", "size_divisibility", 0, DIVISIBILITY_MAX,
                   &in->size_divisibility);
}

static pdl_status parse_postprocess(const parser *p, json_t *root, pdl_postprocess_config *pp)
{
    static const char *const keys[] = {"center_threshold", "nms_kernel",    "top_k",
                                       "stuff_area",       "label_divisor", NULL};
    json_t *o;
    TRY(get_object(p, root, "", "postprocess", keys, &o));
    TRY(get_float(p, o, "postprocess", "center_threshold", 0, 1, &pp->center_threshold));
    json_t *k = json_object_get(o, "nms_kernel");
    if (!int_in(k, 1, NMS_KERNEL_MAX) || json_integer_value(k) % 2 == 0)
        return bad_value(p, "postprocess.nms_kernel", "an odd integer in 1..255", k);
    pp->nms_kernel = (int)json_integer_value(k);
    TRY(get_int(p, o, "postprocess", "top_k", 1, TOP_K_MAX, &pp->top_k));
    TRY(get_int(p, o, "postprocess", "stuff_area", 0, STUFF_AREA_MAX, &pp->stuff_area));
    /* Instances are numbered 1..top_k per class, so the divisor must exceed top_k. */
    json_t *div = json_object_get(o, "label_divisor");
    char what[64];
    snprintf(what, sizeof what, "an integer in %d..%d (above postprocess.top_k)", pp->top_k + 1,
             INT_MAX);
    if (!int_in(div, pp->top_k + 1, INT_MAX))
        return bad_value(p, "postprocess.label_divisor", what, div);
    pp->label_divisor = (int)json_integer_value(div);
    return PDL_OK;
}

static pdl_status parse_class(const parser *p, json_t *v, int index, pdl_class_info *c)
{
    static const char *const keys[] = {"id", "name", "isthing", "color", NULL};
    char key[KEY_MAX];
    snprintf(key, sizeof key, "classes[%d]", index);
    if (!json_is_object(v))
        return bad_value(p, key, "an object", v);
    TRY(check_keys(p, v, key, keys));
    TRY(get_int(p, v, key, "id", 0, CLASS_ID_MAX, &c->id));
    TRY(get_string(p, v, key, "name", c->name, sizeof c->name));
    TRY(get_bool(p, v, key, "isthing", &c->isthing));
    int rgb[3];
    TRY(get_int_array(p, v, key, "color", 3, 0, 255, rgb));
    for (int i = 0; i < 3; i++)
        c->color[i] = (uint8_t)rgb[i];
    return PDL_OK;
}

static pdl_status parse_classes(const parser *p, json_t *root, pdl_config *cfg)
{
    json_t *arr = json_object_get(root, "classes");
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (n < 1 || n > PDL_MAX_CLASSES)
        return bad_value(p, "classes", "an array of 1..1024 classes", arr);
    cfg->num_classes = (int)n;
    for (int i = 0; i < cfg->num_classes; i++) {
        TRY(parse_class(p, json_array_get(arr, (size_t)i), i, &cfg->classes[i]));
        for (int j = 0; j < i; j++)
            if (cfg->classes[j].id == cfg->classes[i].id)
                return pdl_fail(p->err, PDL_ERR_FORMAT,
                                "%s: config key classes[%d].id: %d already used by classes[%d]",
                                p->source, i, cfg->classes[i].id, j);
    }
    /* Panoptic labels are class_index x label_divisor + instance, held in int32. */
    if ((long long)cfg->num_classes * cfg->post.label_divisor > INT_MAX)
        return pdl_fail(p->err, PDL_ERR_FORMAT,
                        "%s: config key postprocess.label_divisor: %d x %d classes overflows "
                        "32-bit panoptic labels",
                        p->source, cfg->post.label_divisor, cfg->num_classes);
    return PDL_OK;
}

static pdl_status parse_root(const parser *p, json_t *root, pdl_config *cfg)
{
    static const char *const keys[] = {"format", "name",  "backbone",    "sem_seg_head",
                                       "ins_embed_head", "input", "postprocess", "classes",
                                       NULL};
    if (!json_is_object(root))
        return pdl_fail(p->err, PDL_ERR_FORMAT, "%s: config is not a JSON object", p->source);
    TRY(check_keys(p, root, "", keys));
    json_t *format = json_object_get(root, "format");
    if (!json_is_string(format) || strcmp(json_string_value(format), CONFIG_FORMAT) != 0)
        return bad_value(p, "format", "\"" CONFIG_FORMAT "\"", format);
    TRY(get_string(p, root, "", "name", cfg->name, sizeof cfg->name));
    TRY(parse_backbone(p, root, &cfg->backbone));
    TRY(parse_head(p, root, "sem_seg_head", &cfg->sem));
    TRY(parse_head(p, root, "ins_embed_head", &cfg->ins));
    TRY(parse_input(p, root, &cfg->input));
    TRY(parse_postprocess(p, root, &cfg->post));
    return parse_classes(p, root, cfg);
}

pdl_status pdl_config_parse(const char *json_text, size_t len, const char *source,
                            pdl_config *out, pdl_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: config is not valid JSON (line %d, column %d: %s)",
                        source, jerr.line, jerr.column, jerr.text);
    parser p = {source, err};
    pdl_status st = parse_root(&p, root, out);
    json_decref(root);
    if (st != PDL_OK)
        memset(out, 0, sizeof *out);
    return st;
}

/* ---- serialisation ------------------------------------------------------- */

/* The shortest decimal that reads back as exactly f, so files show 123.675
 * rather than 123.67500305175781 and parse(to_json(cfg)) == cfg bit for bit. */
static json_t *real_of(float f)
{
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if ((float)strtod(buf, NULL) == f)
            break;
    }
    return json_real(strtod(buf, NULL));
}

static json_t *int_array(const int *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

static json_t *float_array(const float *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, real_of(v[i]));
    return a;
}

static json_t *backbone_json(const pdl_backbone_config *b)
{
    return json_pack("{s:i, s:s, s:i, s:i, s:i, s:b, s:i, s:i, s:o}", "depth", b->depth, "stem",
                     b->stem == PDL_STEM_BASIC ? "basic" : "deeplab", "stem_out_channels",
                     b->stem_out_channels, "res2_out_channels", b->res2_out_channels,
                     "width_per_group", b->width_per_group, "stride_in_1x1", b->stride_in_1x1,
                     "res4_dilation", b->res4_dilation, "res5_dilation", b->res5_dilation,
                     "res5_multi_grid", int_array(b->res5_multi_grid, 3));
}

static json_t *head_json(const pdl_head_config *h)
{
    json_t *pool = h->aspp_pool[0] == 0 ? json_string("global") : int_array(h->aspp_pool, 2);
    return json_pack("{s:o, s:i, s:i, s:o, s:o, s:i, s:b}", "project_channels",
                     int_array(h->project_channels, 2), "decoder_channels", h->decoder_channels,
                     "aspp_channels", h->aspp_channels, "aspp_dilations",
                     int_array(h->aspp_dilations, 3), "aspp_pooling", pool, "head_channels",
                     h->head_channels, "depthwise_separable", h->depthwise_separable);
}

static json_t *input_json(const pdl_input_config *in)
{
    return json_pack("{s:o, s:o, s:i, s:i, s:i}", "pixel_mean", float_array(in->pixel_mean, 3),
                     "pixel_std", float_array(in->pixel_std, 3), "min_size_test",
                     in->min_size_test, "max_size_test", in->max_size_test, "size_divisibility",
                     in->size_divisibility);
}

static json_t *postprocess_json(const pdl_postprocess_config *pp)
{
    return json_pack("{s:o, s:i, s:i, s:i, s:i}", "center_threshold",
                     real_of(pp->center_threshold), "nms_kernel", pp->nms_kernel, "top_k",
                     pp->top_k, "stuff_area", pp->stuff_area, "label_divisor", pp->label_divisor);
}

static json_t *classes_json(const pdl_config *cfg)
{
    json_t *a = json_array();
    for (int i = 0; i < cfg->num_classes; i++) {
        const pdl_class_info *c = &cfg->classes[i];
        int rgb[3] = {c->color[0], c->color[1], c->color[2]};
        json_array_append_new(a, json_pack("{s:i, s:s, s:b, s:o}", "id", c->id, "name", c->name,
                                           "isthing", c->isthing, "color", int_array(rgb, 3)));
    }
    return a;
}

char *pdl_config_to_json(const pdl_config *cfg)
{
    json_t *root = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "format", CONFIG_FORMAT,
                             "name", cfg->name, "backbone", backbone_json(&cfg->backbone),
                             "sem_seg_head", head_json(&cfg->sem), "ins_embed_head",
                             head_json(&cfg->ins), "input", input_json(&cfg->input),
                             "postprocess", postprocess_json(&cfg->post), "classes",
                             classes_json(cfg));
    if (!root)
        return NULL;
    char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(root);
    return text;
}
