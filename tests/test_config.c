/* test_config.c - the model config: the default parses to the values its text
 * says, serialisation round-trips (fixed and random configs), and every bad or
 * missing value gets a message naming the source and the key. Bad configs are
 * made by editing one value of the default with jansson. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "support/tsup_safetensors.h"

#define SRC "m.safetensors"

static pdl_config cfg; /* 74 KB: keep it off the stack */

/* Applies one edit to the default config: PATH is '/'-separated, numeric parts
 * index arrays; VALUE is JSON text, or NULL to delete the key. Returns text. */
static char *edited(const char *path, const char *value)
{
    json_t *root = json_loads(tsup_st_default_config(), 0, NULL);
    cr_assert_not_null(root);
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *node = root;
    char *save = NULL, *tok = strtok_r(buf, "/", &save);
    for (;;) {
        char *next = strtok_r(NULL, "/", &save);
        bool index = tok[0] >= '0' && tok[0] <= '9';
        if (!next) {
            json_t *v = value ? json_loads(value, JSON_DECODE_ANY, NULL) : NULL;
            cr_assert(v || !value, "bad JSON %s", value);
            if (index && value)
                cr_assert_eq(json_array_set_new(node, (size_t)atoi(tok), v), 0);
            else if (index)
                cr_assert_eq(json_array_remove(node, (size_t)atoi(tok)), 0);
            else if (value)
                cr_assert_eq(json_object_set_new(node, tok, v), 0);
            else
                cr_assert_eq(json_object_del(node, tok), 0, "no key %s", tok);
            break;
        }
        node = index ? json_array_get(node, (size_t)atoi(tok)) : json_object_get(node, tok);
        cr_assert_not_null(node, "bad path %s", path);
        tok = next;
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* The edit must be refused with exactly SRC ": " + msg. */
static void expect_bad(const char *path, const char *value, const char *msg)
{
    char *text = edited(path, value);
    pdl_error err;
    pdl_status st = pdl_config_parse(text, strlen(text), SRC, &cfg, &err);
    cr_assert_eq(st, PDL_ERR_FORMAT, "%s=%s accepted", path, value ? value : "(deleted)");
    char want[PDL_ERROR_MSG_MAX];
    snprintf(want, sizeof want, SRC ": %s", msg);
    cr_assert_str_eq(err.msg, want, "%s=%s: got '%s'", path, value ? value : "(deleted)",
                     err.msg);
    cr_assert_eq(cfg.num_classes, 0, "a failed parse leaves the config cleared");
    free(text);
}

static void expect_good(const char *path, const char *value)
{
    char *text = edited(path, value);
    pdl_error err;
    cr_assert_eq(pdl_config_parse(text, strlen(text), SRC, &cfg, &err), PDL_OK, "%s=%s: %s", path,
                 value, err.msg);
    free(text);
}

Test(config, default_parses_to_its_values)
{
    const char *t = tsup_st_default_config();
    pdl_error err;
    cr_assert_eq(pdl_config_parse(t, strlen(t), SRC, &cfg, &err), PDL_OK, "%s", err.msg);
    cr_assert_str_eq(cfg.name, "tiny-test");
    cr_assert_eq(cfg.backbone.depth, 18);
    cr_assert_eq(cfg.backbone.stem, PDL_STEM_BASIC);
    cr_assert_eq(cfg.backbone.stem_out_channels, 8);
    cr_assert_eq(cfg.backbone.res2_out_channels, 8);
    cr_assert_eq(cfg.backbone.width_per_group, 8);
    cr_assert_not(cfg.backbone.stride_in_1x1);
    cr_assert_eq(cfg.backbone.res4_dilation, 1);
    cr_assert_eq(cfg.backbone.res5_dilation, 2);
    cr_assert_eq(cfg.backbone.res5_multi_grid[2], 4);
    cr_assert_eq(cfg.sem.project_channels[0], 4);
    cr_assert_eq(cfg.sem.project_channels[1], 8);
    cr_assert_eq(cfg.sem.decoder_channels, 16);
    cr_assert_eq(cfg.sem.aspp_pool[0], 0);
    cr_assert_eq(cfg.sem.aspp_pool[1], 0);
    cr_assert_eq(cfg.ins.aspp_pool[0], 2);
    cr_assert_eq(cfg.ins.aspp_pool[1], 3);
    cr_assert_eq(cfg.ins.aspp_dilations[1], 2);
    cr_assert_eq(cfg.ins.head_channels, 8);
    cr_assert(cfg.ins.depthwise_separable);
    cr_assert_eq(cfg.input.pixel_mean[0], 123.675f);
    cr_assert_eq(cfg.input.pixel_std[2], 57.375f);
    cr_assert_eq(cfg.input.size_divisibility, 32);
    cr_assert_eq(cfg.post.center_threshold, 0.1f);
    cr_assert_eq(cfg.post.nms_kernel, 7);
    cr_assert_eq(cfg.post.top_k, 200);
    cr_assert_eq(cfg.post.stuff_area, 16);
    cr_assert_eq(cfg.post.label_divisor, 1000);
    cr_assert_eq(cfg.num_classes, 3);
    cr_assert_eq(cfg.classes[1].id, 24);
    cr_assert_str_eq(cfg.classes[1].name, "person");
    cr_assert(cfg.classes[1].isthing);
    cr_assert_not(cfg.classes[0].isthing);
    cr_assert_eq(cfg.classes[2].color[2], 142);
}

Test(config, length_is_exact_and_needs_no_terminator)
{
    const char *t = tsup_st_default_config();
    size_t n = strlen(t);
    char *copy = malloc(n + 8);
    memcpy(copy, t, n);
    memcpy(copy + n, "garbage!", 8); /* no NUL: only n bytes may be read */
    pdl_error err;
    cr_assert_eq(pdl_config_parse(copy, n, SRC, &cfg, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_config_parse(copy, n + 8, SRC, &cfg, &err), PDL_ERR_FORMAT);
    cr_assert_eq(pdl_config_parse(copy, n - 10, SRC, &cfg, &err), PDL_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, SRC ": config is not valid JSON"), "%s", err.msg);
    free(copy);
}

Test(config, round_trip_of_the_default)
{
    static pdl_config again;
    const char *t = tsup_st_default_config();
    pdl_error err;
    cr_assert_eq(pdl_config_parse(t, strlen(t), SRC, &cfg, &err), PDL_OK);
    char *json = pdl_config_to_json(&cfg);
    cr_assert_not_null(json);
    cr_assert_not_null(strstr(json, "[123.675,116.28,103.53]"), "floats not shortest: %s", json);
    cr_assert_not_null(strstr(json, "\"aspp_pooling\":\"global\""), "%s", json);
    cr_assert_not_null(strstr(json, "\"aspp_pooling\":[2,3]"), "%s", json);
    cr_assert_eq(pdl_config_parse(json, strlen(json), SRC, &again, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(memcmp(&cfg, &again, sizeof cfg), 0);
    free(json);
}

static uint32_t rng_state = 12345;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (rng_state >> 8) % n;
}
static int rnd_in(int lo, int hi)
{
    return lo + (int)rnd((uint32_t)(hi - lo + 1));
}
static float rnd_float(float lo, float hi)
{
    return lo + (hi - lo) * (float)rnd(1u << 24) * 0x1p-24f;
}

static void random_head(pdl_head_config *h)
{
    for (int i = 0; i < 2; i++)
        h->project_channels[i] = rnd_in(1, 4096);
    h->decoder_channels = rnd_in(1, 4096);
    h->aspp_channels = rnd_in(1, 4096);
    for (int i = 0; i < 3; i++)
        h->aspp_dilations[i] = rnd_in(1, 64);
    if (rnd(2)) {
        h->aspp_pool[0] = rnd_in(1, 4096);
        h->aspp_pool[1] = rnd_in(1, 4096);
    }
    h->head_channels = rnd_in(1, 4096);
    h->depthwise_separable = rnd(2);
}

/* A random config within every range, built field by field. */
static void random_config(pdl_config *c)
{
    memset(c, 0, sizeof *c);
    int len = rnd_in(1, 63);
    for (int i = 0; i < len; i++)
        c->name[i] = (char)rnd_in(32, 126);
    static const int depths[] = {18, 34, 50, 101};
    c->backbone.depth = depths[rnd(4)];
    c->backbone.stem = rnd(2) ? PDL_STEM_DEEPLAB : PDL_STEM_BASIC;
    c->backbone.stem_out_channels = rnd_in(1, 4096);
    c->backbone.res2_out_channels = rnd_in(1, 4096);
    c->backbone.width_per_group = rnd_in(1, 4096);
    c->backbone.stride_in_1x1 = rnd(2);
    c->backbone.res4_dilation = rnd_in(1, 64);
    c->backbone.res5_dilation = rnd_in(1, 64);
    for (int i = 0; i < 3; i++)
        c->backbone.res5_multi_grid[i] = rnd_in(1, 64);
    random_head(&c->sem);
    random_head(&c->ins);
    for (int i = 0; i < 3; i++) {
        c->input.pixel_mean[i] = rnd_float(0, 255);
        c->input.pixel_std[i] = rnd_float(1e-3f, 255);
    }
    c->input.min_size_test = rnd_in(0, 16384);
    c->input.max_size_test = rnd(3) ? rnd_in(c->input.min_size_test, 16384) : 0;
    c->input.size_divisibility = rnd_in(0, 1024);
    c->post.center_threshold = rnd_float(0, 1);
    c->post.nms_kernel = 2 * rnd_in(0, 127) + 1;
    c->post.top_k = rnd_in(1, 100000);
    c->post.stuff_area = rnd_in(0, 1 << 30);
    c->num_classes = rnd_in(1, PDL_MAX_CLASSES);
    c->post.label_divisor = rnd_in(c->post.top_k + 1, INT_MAX / c->num_classes);
    for (int i = 0; i < c->num_classes; i++) {
        pdl_class_info *k = &c->classes[i];
        k->id = i * 64 + rnd_in(0, 63); /* unique */
        int n = rnd_in(1, PDL_CLASS_NAME_MAX - 1);
        for (int j = 0; j < n; j++)
            k->name[j] = (char)rnd_in(32, 126);
        k->isthing = rnd(2);
        for (int j = 0; j < 3; j++)
            k->color[j] = (uint8_t)rnd_in(0, 255);
    }
}

Test(config, round_trip_of_random_configs)
{
    static pdl_config orig;
    for (int iter = 0; iter < 40; iter++) {
        random_config(&orig);
        char *json = pdl_config_to_json(&orig);
        cr_assert_not_null(json);
        pdl_error err;
        cr_assert_eq(pdl_config_parse(json, strlen(json), SRC, &cfg, &err), PDL_OK, "iter %d: %s",
                     iter, err.msg);
        cr_assert_eq(memcmp(&orig, &cfg, sizeof cfg), 0, "iter %d differs", iter);
        free(json);
    }
}

/* ---- malformed text --------------------------------------------------------- */

Test(config, not_json)
{
    pdl_error err;
    cr_assert_eq(pdl_config_parse("{\"format\": ", 11, SRC, &cfg, &err), PDL_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, SRC ": config is not valid JSON (line 1"), "%s", err.msg);
}

Test(config, not_an_object)
{
    pdl_error err;
    cr_assert_eq(pdl_config_parse("[1]", 3, SRC, &cfg, &err), PDL_ERR_FORMAT);
    cr_assert_str_eq(err.msg, SRC ": config is not a JSON object");
}

Test(config, duplicate_key)
{
    pdl_error err;
    const char *t = "{\"name\": \"a\", \"name\": \"b\"}";
    cr_assert_eq(pdl_config_parse(t, strlen(t), SRC, &cfg, &err), PDL_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, "duplicate"), "%s", err.msg);
}

/* ---- root ------------------------------------------------------------------- */

Test(config, format)
{
    expect_bad("format", NULL,
               "config key format missing (expected \"panoptic-deeplab/1\")");
    expect_bad("format", "\"panoptic-deeplab/2\"",
               "config key format: expected \"panoptic-deeplab/1\", got \"panoptic-deeplab/2\"");
}

Test(config, name)
{
    expect_bad("name", "\"\"", "config key name: expected a string of 1..63 printable bytes, got \"\"");
    expect_bad("name", "7", "config key name: expected a string of 1..63 printable bytes, got 7");
    expect_good("name", "\"123456789012345678901234567890123456789012345678901234567890123\"");
    expect_bad("name", "\"1234567890123456789012345678901234567890123456789012345678901234\"",
               "config key name: expected a string of 1..63 printable bytes, got "
               "\"1234567890123456789012345678901234567890123...");
    /* an escape sequence would reach the terminal through `panoptic info` */
    expect_bad("name", "\"demo\\u001b[2J\"",
               "config key name: expected a string of 1..63 printable bytes, got \"demo\\u001B[2J\"");
    expect_bad("name", "\"demo\\u009b2J\"",
               "config key name: expected a string of 1..63 printable bytes, got \"demo\\u009B2J\"");
    expect_bad("name", "\"demo\\u202egnp\"",
               "config key name: expected a string of 1..63 printable bytes, got \"demo\\u202Egnp\"");
    expect_good("name", "\"caf\\u00e9 \\u2014 \\u00a0ok\"");
}

Test(config, unknown_keys)
{
    expect_bad("colour", "1", "config key colour: unknown key");
    expect_bad("backbone/dpeth", "50", "config key backbone.dpeth: unknown key");
    expect_bad("ins_embed_head/aspp", "1", "config key ins_embed_head.aspp: unknown key");
    expect_bad("classes/2/colour", "[1, 2, 3]", "config key classes[2].colour: unknown key");
}

Test(config, section_not_an_object)
{
    expect_bad("backbone", "[]", "config key backbone: expected an object, got []");
    expect_bad("input", NULL, "config key input missing (expected an object)");
}

/* ---- backbone ----------------------------------------------------------------- */

Test(config, backbone_depth)
{
    expect_bad("backbone/depth", "42",
               "config key backbone.depth: expected one of 18, 34, 50, 101, got 42");
    expect_bad("backbone/depth", "\"50\"",
               "config key backbone.depth: expected one of 18, 34, 50, 101, got \"50\"");
    expect_bad("backbone/depth", NULL,
               "config key backbone.depth missing (expected one of 18, 34, 50, 101)");
    expect_good("backbone/depth", "101");
}

Test(config, backbone_stem)
{
    expect_bad("backbone/stem", "\"fancy\"",
               "config key backbone.stem: expected \"basic\" or \"deeplab\", got \"fancy\"");
    expect_good("backbone/stem", "\"deeplab\"");
    cr_assert_eq(cfg.backbone.stem, PDL_STEM_DEEPLAB);
}

Test(config, backbone_channels)
{
    expect_bad("backbone/stem_out_channels", "0",
               "config key backbone.stem_out_channels: expected an integer in 1..4096, got 0");
    expect_bad("backbone/res2_out_channels", "4097",
               "config key backbone.res2_out_channels: expected an integer in 1..4096, got 4097");
    expect_bad("backbone/width_per_group", "8.0",
               "config key backbone.width_per_group: expected an integer in 1..4096, got 8.0");
    expect_bad("backbone/width_per_group", "-64",
               "config key backbone.width_per_group: expected an integer in 1..4096, got -64");
    expect_good("backbone/res2_out_channels", "4096");
}

Test(config, backbone_stride_in_1x1)
{
    expect_bad("backbone/stride_in_1x1", "0",
               "config key backbone.stride_in_1x1: expected true or false, got 0");
    expect_good("backbone/stride_in_1x1", "true");
    cr_assert(cfg.backbone.stride_in_1x1);
}

Test(config, backbone_dilations)
{
    expect_bad("backbone/res5_dilation", "0",
               "config key backbone.res5_dilation: expected an integer in 1..64, got 0");
    expect_bad("backbone/res4_dilation", "65",
               "config key backbone.res4_dilation: expected an integer in 1..64, got 65");
    expect_bad("backbone/res5_multi_grid", "[1, 2]",
               "config key backbone.res5_multi_grid: expected an array of 3 integers in 1..64, "
               "got [1,2]");
    expect_bad("backbone/res5_multi_grid/1", "0",
               "config key backbone.res5_multi_grid: expected an array of 3 integers in 1..64, "
               "got [1,0,4]");
}

/* ---- heads -------------------------------------------------------------------- */

Test(config, head_channels)
{
    expect_bad("sem_seg_head/project_channels", "[32, 64, 128]",
               "config key sem_seg_head.project_channels: expected an array of 2 integers in "
               "1..4096, got [32,64,128]");
    expect_bad("ins_embed_head/decoder_channels", "0",
               "config key ins_embed_head.decoder_channels: expected an integer in 1..4096, got 0");
    expect_bad("ins_embed_head/aspp_channels", "null",
               "config key ins_embed_head.aspp_channels: expected an integer in 1..4096, got null");
    expect_bad("sem_seg_head/head_channels", "5000",
               "config key sem_seg_head.head_channels: expected an integer in 1..4096, got 5000");
}

Test(config, head_aspp_dilations)
{
    expect_bad("sem_seg_head/aspp_dilations/2", "100",
               "config key sem_seg_head.aspp_dilations: expected an array of 3 integers in 1..64, "
               "got [1,2,100]");
    expect_bad("ins_embed_head/aspp_dilations", "\"6,12,18\"",
               "config key ins_embed_head.aspp_dilations: expected an array of 3 integers in "
               "1..64, got \"6,12,18\"");
}

Test(config, head_aspp_pooling)
{
    const char *m = "config key sem_seg_head.aspp_pooling: expected \"global\" or [h, w] with each "
                    "in 1..4096, got ";
    char want[256];
    snprintf(want, sizeof want, "%s\"GLOBAL\"", m);
    expect_bad("sem_seg_head/aspp_pooling", "\"GLOBAL\"", want);
    snprintf(want, sizeof want, "%s[0,4]", m);
    expect_bad("sem_seg_head/aspp_pooling", "[0, 4]", want);
    snprintf(want, sizeof want, "%s[4]", m);
    expect_bad("sem_seg_head/aspp_pooling", "[4]", want);
    expect_good("sem_seg_head/aspp_pooling", "[33, 65]");
    cr_assert_eq(cfg.sem.aspp_pool[0], 33);
    cr_assert_eq(cfg.sem.aspp_pool[1], 65);
}

Test(config, head_depthwise_separable)
{
    expect_bad("ins_embed_head/depthwise_separable", "\"yes\"",
               "config key ins_embed_head.depthwise_separable: expected true or false, got "
               "\"yes\"");
}

/* ---- input ---------------------------------------------------------------------- */

Test(config, input_mean_and_std)
{
    expect_bad("input/pixel_std/1", "0",
               "config key input.pixel_std: expected an array of 3 numbers in (0, 255], got "
               "[58.395,0,57.375]");
    expect_bad("input/pixel_std/0", "-1.5",
               "config key input.pixel_std: expected an array of 3 numbers in (0, 255], got "
               "[-1.5,57.12,57.375]");
    expect_bad("input/pixel_mean/2", "300",
               "config key input.pixel_mean: expected an array of 3 numbers in [0, 255], got "
               "[123.675,116.28,300]");
    expect_bad("input/pixel_mean/0", "\"123\"",
               "config key input.pixel_mean: expected an array of 3 numbers in [0, 255], got "
               "[\"123\",116.28,103.53]");
    expect_good("input/pixel_mean/0", "0");
}

Test(config, input_sizes)
{
    expect_bad("input/min_size_test", "-1",
               "config key input.min_size_test: expected an integer in 0..16384, got -1");
    expect_bad("input/max_size_test", "20000",
               "config key input.max_size_test: expected an integer in 0..16384, got 20000");
    expect_bad("input/size_divisibility", "2048",
               "config key input.size_divisibility: expected an integer in 0..1024, got 2048");
    char *text = edited("input/min_size_test", "1024");
    json_t *root = json_loads(text, 0, NULL);
    json_object_set_new(json_object_get(root, "input"), "max_size_test", json_integer(512));
    char *bad = json_dumps(root, JSON_COMPACT);
    pdl_error err;
    cr_assert_eq(pdl_config_parse(bad, strlen(bad), SRC, &cfg, &err), PDL_ERR_FORMAT);
    cr_assert_str_eq(err.msg,
                     SRC ": config key input.max_size_test: 512 is below input.min_size_test 1024");
    json_decref(root);
    free(bad);
    free(text);
}

/* ---- postprocess ---------------------------------------------------------------- */

Test(config, postprocess_center_threshold)
{
    expect_bad("postprocess/center_threshold", "1.5",
               "config key postprocess.center_threshold: expected a number in [0, 1], got 1.5");
    expect_bad("postprocess/center_threshold", "-0.25",
               "config key postprocess.center_threshold: expected a number in [0, 1], got -0.25");
    expect_good("postprocess/center_threshold", "0");
}

Test(config, postprocess_nms_kernel)
{
    expect_bad("postprocess/nms_kernel", "8",
               "config key postprocess.nms_kernel: expected an odd integer in 1..255, got 8");
    expect_bad("postprocess/nms_kernel", "0",
               "config key postprocess.nms_kernel: expected an odd integer in 1..255, got 0");
    expect_good("postprocess/nms_kernel", "41");
}

Test(config, postprocess_top_k_and_stuff_area)
{
    expect_bad("postprocess/top_k", "0",
               "config key postprocess.top_k: expected an integer in 1..100000, got 0");
    expect_bad("postprocess/stuff_area", "-1",
               "config key postprocess.stuff_area: expected an integer in 0..1073741824, got -1");
}

Test(config, postprocess_label_divisor)
{
    expect_bad("postprocess/label_divisor", "200",
               "config key postprocess.label_divisor: expected an integer in 201..2147483647 "
               "(above postprocess.top_k), got 200");
    expect_bad("postprocess/label_divisor", "0",
               "config key postprocess.label_divisor: expected an integer in 201..2147483647 "
               "(above postprocess.top_k), got 0");
    expect_bad("postprocess/label_divisor", "1000000000",
               "config key postprocess.label_divisor: 1000000000 x 3 classes overflows 32-bit "
               "panoptic labels");
    expect_good("postprocess/label_divisor", "201");
}

/* ---- classes -------------------------------------------------------------------- */

Test(config, classes_list)
{
    expect_bad("classes", "[]", "config key classes: expected an array of 1..1024 classes, got []");
    expect_bad("classes", "{}", "config key classes: expected an array of 1..1024 classes, got {}");
    expect_bad("classes", NULL,
               "config key classes missing (expected an array of 1..1024 classes)");
    expect_bad("classes/1", "\"person\"",
               "config key classes[1]: expected an object, got \"person\"");
}

Test(config, too_many_classes)
{
    json_t *root = json_loads(tsup_st_default_config(), 0, NULL);
    json_t *arr = json_array();
    for (int i = 0; i <= PDL_MAX_CLASSES; i++)
        json_array_append_new(arr, json_pack("{s:i, s:s, s:b, s:[i,i,i]}", "id", i, "name", "c",
                                             "isthing", 0, "color", 1, 2, 3));
    json_object_set_new(json_object_get(root, "postprocess"), "label_divisor", json_integer(256));
    json_object_set(root, "classes", arr);
    char *text = json_dumps(root, JSON_COMPACT);
    pdl_error err;
    cr_assert_eq(pdl_config_parse(text, strlen(text), SRC, &cfg, &err), PDL_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, SRC ": config key classes: expected an array of 1..1024"),
                       "%s", err.msg);
    free(text);
    json_array_remove(arr, 0); /* exactly PDL_MAX_CLASSES is fine */
    text = json_dumps(root, JSON_COMPACT);
    cr_assert_eq(pdl_config_parse(text, strlen(text), SRC, &cfg, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(cfg.num_classes, PDL_MAX_CLASSES);
    cr_assert_eq(cfg.classes[PDL_MAX_CLASSES - 1].id, PDL_MAX_CLASSES);
    free(text);
    json_decref(arr);
    json_decref(root);
}

Test(config, class_ids)
{
    expect_bad("classes/2/id", "24", "config key classes[2].id: 24 already used by classes[1]");
    expect_bad("classes/0/id", "-1",
               "config key classes[0].id: expected an integer in 0..65535, got -1");
    expect_bad("classes/0/id", NULL,
               "config key classes[0].id missing (expected an integer in 0..65535)");
}

Test(config, class_names)
{
    expect_bad("classes/1/name", "\"\"",
               "config key classes[1].name: expected a string of 1..63 printable bytes, got \"\"");
    expect_bad("classes/1/name", "[\"person\"]",
               "config key classes[1].name: expected a string of 1..63 printable bytes, got [\"person\"]");
}

Test(config, class_isthing_and_color)
{
    expect_bad("classes/0/isthing", NULL,
               "config key classes[0].isthing missing (expected true or false)");
    expect_bad("classes/2/color", "[0, 0, 256]",
               "config key classes[2].color: expected an array of 3 integers in 0..255, got "
               "[0,0,256]");
    expect_bad("classes/2/color", "\"#00008e\"",
               "config key classes[2].color: expected an array of 3 integers in 0..255, got "
               "\"#00008e\"");
}
