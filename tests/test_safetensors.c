/* test_safetensors.c - the weights loader: valid files, every malformed case
 * (each its own test, checking the status and that the message names the file
 * and the tensor), pdl_weights_expect/unused, and F16/BF16 widening against
 * values computed by NumPy/PyTorch (tests/ref/make_half_table.py) and by the
 * compiler's own _Float16 conversion. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ref/half_table.h"
#include "safetensors.h"
#include "support/tsup_safetensors.h"

#define NAME "mem.safetensors"
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* `{"__metadata__": {"config": <default config>}, TENSORS}` with TENSORS raw
 * text, so a test can write any header, duplicate keys included. */
static char *header_with(const char *tensors)
{
    json_t *s = json_string(tsup_st_default_config());
    char *cfg = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    char *out;
    cr_assert_geq(asprintf(&out, "{\"__metadata__\": {\"config\": %s}%s%s}", cfg,
                           tensors[0] ? ", " : "", tensors),
                  0);
    free(cfg);
    return out;
}

/* Opens a file made of `header` + data_len bytes of data and expects `code`
 * with a message that starts with the file name and contains `part`. */
static void expect_raw_fails(const char *header, size_t data_len, pdl_status code,
                             const char *part)
{
    uint8_t *data = calloc(1, data_len + 1);
    for (size_t i = 0; i < data_len; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    size_t len;
    uint8_t *buf = tsup_st_raw(header, data, data_len, &len);
    pdl_weights w;
    pdl_error err;
    pdl_status st = pdl_weights_open_memory(buf, len, NAME, &w, &err);
    cr_assert_eq(st, code, "status %d, expected %d: %s", st, code, err.msg);
    cr_assert_eq(strncmp(err.msg, NAME ": ", strlen(NAME) + 2), 0, "msg: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, part), "msg '%s' lacks '%s'", err.msg, part);
    cr_assert_null(strchr(err.msg, '\n'), "multi-line msg: %s", err.msg);
    cr_assert_null(w.tensors);
    cr_assert_null(w.path);
    cr_assert_eq(w.ntensors, 0);
    free(buf);
    free(data);
}

static void expect_tensors_fail(const char *tensors, size_t data_len, pdl_status code,
                                const char *part)
{
    char *h = header_with(tensors);
    expect_raw_fails(h, data_len, code, part);
    free(h);
}

/* A temporary directory per test, removed with whatever the test wrote. */
static char tmpdir[64];
static char tmpfile_path[128];

static void make_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pdl-st-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(tmpfile_path, sizeof tmpfile_path, "%s/model.safetensors", tmpdir);
}

static void remove_tmp(void)
{
    unlink(tmpfile_path);
    rmdir(tmpdir);
}

TestSuite(safetensors, .init = make_tmp, .fini = remove_tmp);

/* ---- valid files ------------------------------------------------------------ */

Test(safetensors, valid_model_round_trips_every_dtype)
{
    tsup_st_builder *b = tsup_st_new();
    float w1[6];
    tsup_st_random_f32(w1, 6, 7, 3.0f);
    const int64_t s1[] = {2, 3}, s2[] = {4}, s3[] = {2, 2}, s4[] = {0, 3};
    const uint16_t h[4] = {0x3c00, 0xc000, 0x3555, 0x0001};  /* 1, -2, ~1/3, 2^-24 */
    const uint16_t bf[4] = {0x3f80, 0xc040, 0x4049, 0x0001}; /* 1, -3, ~3.14, tiny subnormal */
    float scalar = 0.5f;
    tsup_st_add_tensor(b, "z.weight", PDL_DTYPE_F32, 2, s1, w1);
    tsup_st_add_tensor(b, "a.half", PDL_DTYPE_F16, 1, s2, h);
    tsup_st_add_tensor(b, "m.bf16", PDL_DTYPE_BF16, 2, s3, bf);
    tsup_st_add_tensor(b, "scalar", PDL_DTYPE_F32, 0, NULL, &scalar);
    tsup_st_add_tensor(b, "empty", PDL_DTYPE_F32, 2, s4, NULL);
    size_t len;
    uint8_t *buf = tsup_st_to_buffer(b, &len);
    tsup_st_free(b);

    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(buf, len, NAME, &w, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(w.ntensors, 5);
    cr_assert_not(w.mapped);
    cr_assert_str_eq(w.path, NAME);
    for (size_t i = 1; i < w.ntensors; i++)
        cr_assert_lt(strcmp(w.tensors[i - 1].name, w.tensors[i].name), 0, "not sorted");

    const pdl_tensor *t = pdl_weights_find(&w, "z.weight");
    cr_assert_not_null(t);
    cr_assert_eq(t->dtype, PDL_DTYPE_F32);
    cr_assert_eq(t->ndim, 2);
    cr_assert_eq(t->shape[0], 2);
    cr_assert_eq(t->shape[1], 3);
    cr_assert_eq(t->numel, 6);
    cr_assert_eq(t->nbytes, 24);
    float out[6];
    cr_assert_eq(pdl_tensor_to_f32(&w, t, out, &err), PDL_OK, "%s", err.msg);
    cr_assert_arr_eq(out, w1, sizeof w1);

    t = pdl_weights_find(&w, "a.half");
    cr_assert_eq(t->dtype, PDL_DTYPE_F16);
    cr_assert_eq(pdl_tensor_to_f32(&w, t, out, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(out[0], 1.0f);
    cr_assert_eq(out[1], -2.0f);
    cr_assert_eq(out[2], 0x1.554p-2f);
    cr_assert_eq(out[3], 0x1p-24f);

    t = pdl_weights_find(&w, "m.bf16");
    cr_assert_eq(t->dtype, PDL_DTYPE_BF16);
    cr_assert_eq(pdl_tensor_to_f32(&w, t, out, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(out[0], 1.0f);
    cr_assert_eq(out[1], -3.0f);
    cr_assert_eq(out[2], 0x1.92p+1f);
    cr_assert_eq(out[3], 0x1p-133f);

    t = pdl_weights_find(&w, "scalar");
    cr_assert_eq(t->ndim, 0);
    cr_assert_eq(t->numel, 1);
    cr_assert_eq(pdl_tensor_to_f32(&w, t, out, &err), PDL_OK);
    cr_assert_eq(out[0], 0.5f);

    t = pdl_weights_find(&w, "empty");
    cr_assert_eq(t->numel, 0);
    cr_assert_eq(t->nbytes, 0);

    cr_assert_null(pdl_weights_find(&w, "nope"));
    cr_assert_null(pdl_weights_find(&w, ""));
    cr_assert_str_eq(w.config.name, "tiny-test");
    cr_assert_eq(w.config.num_classes, 3);
    pdl_weights_close(&w);
    cr_assert_null(w.tensors);
    free(buf);
}

Test(safetensors, open_maps_a_file)
{
    tsup_st_builder *b = tsup_st_new();
    float v[12];
    tsup_st_random_f32(v, 12, 99, 1.0f);
    const int64_t s[] = {3, 4};
    tsup_st_add_tensor(b, "conv.weight", PDL_DTYPE_F32, 2, s, v);
    cr_assert(tsup_st_write_file(b, tmpfile_path));
    tsup_st_free(b);

    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open(tmpfile_path, &w, &err), PDL_OK, "%s", err.msg);
    cr_assert(w.mapped);
    cr_assert_str_eq(w.path, tmpfile_path);
    const pdl_tensor *t = pdl_weights_find(&w, "conv.weight");
    cr_assert_not_null(t);
    cr_assert_eq(memcmp(t->data, v, sizeof v), 0);
    pdl_weights_close(&w);
    cr_assert_not(w.mapped);
}

Test(safetensors, model_without_tensors_is_valid_and_empty)
{
    char *h = header_with("");
    size_t len;
    uint8_t *buf = tsup_st_raw(h, NULL, 0, &len);
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(buf, len, NAME, &w, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(w.ntensors, 0);
    cr_assert_null(pdl_weights_find(&w, "x"));
    const char *first = "sentinel";
    cr_assert_eq(pdl_weights_unused(&w, &first), 0);
    cr_assert_null(first);
    pdl_weights_close(&w);
    free(buf);
    free(h);
}

Test(safetensors, gaps_and_empty_tensors_inside_others_are_not_overlaps)
{
    char *h = header_with("\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                          "\"e\": {\"dtype\": \"F16\", \"shape\": [0], \"data_offsets\": [4, 4]},"
                          "\"b\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [12, 16]}");
    uint8_t data[16] = {0};
    size_t len;
    uint8_t *buf = tsup_st_raw(h, data, sizeof data, &len);
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(buf, len, NAME, &w, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(w.ntensors, 3);
    pdl_weights_close(&w);
    free(buf);
    free(h);
}

/* ---- file-level errors ------------------------------------------------------ */

Test(safetensors, truncated_at_every_interesting_cut)
{
    tsup_st_builder *b = tsup_st_new();
    const int64_t s[] = {4, 4};
    tsup_st_add_random_f32(b, "w", 2, s, 3, 1.0f);
    size_t len;
    uint8_t *buf = tsup_st_to_buffer(b, &len);
    tsup_st_free(b);
    size_t header_end = 8 + (size_t)buf[0] + ((size_t)buf[1] << 8);
    struct {
        size_t cut;
        const char *part;
    } cuts[] = {
        {1, "truncated: 1 bytes"},
        {7, "shorter than the 8-byte header length"},
        {8, "runs past the end of the file"},
        {9, "runs past the end of the file"},
        {header_end / 2, "runs past the end of the file"},
        {header_end - 1, "runs past the end of the file"},
        {header_end, "tensor w: data_offsets end 64 beyond the data area (0 bytes)"},
        {header_end + 33, "tensor w: data_offsets end 64 beyond the data area (33 bytes)"},
        {len - 1, "tensor w: data_offsets end 64 beyond the data area (63 bytes)"},
    };
    cr_assert_eq(len, header_end + 64);
    for (size_t i = 0; i < N_OF(cuts); i++) {
        pdl_weights w;
        pdl_error err;
        pdl_status st = pdl_weights_open_memory(buf, cuts[i].cut, NAME, &w, &err);
        cr_assert_neq(st, PDL_OK, "cut %zu accepted", cuts[i].cut);
        cr_assert_not_null(strstr(err.msg, cuts[i].part), "cut %zu: %s", cuts[i].cut, err.msg);
        cr_assert_eq(strncmp(err.msg, NAME ": ", strlen(NAME) + 2), 0, "msg: %s", err.msg);
    }
    /* The same through a real file, at a cut inside the data. */
    cr_assert(tsup_st_write_bytes(tmpfile_path, buf, len - 5));
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open(tmpfile_path, &w, &err), PDL_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, tmpfile_path), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "tensor w"), "%s", err.msg);
    free(buf);
}

Test(safetensors, header_length_beyond_file)
{
    uint8_t buf[64] = {0};
    buf[0] = 200; /* header claims 200 bytes, the file has 56 after the length */
    memcpy(buf + 8, "{}", 2);
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(buf, sizeof buf, NAME, &w, &err), PDL_ERR_FORMAT);
    cr_assert_str_eq(err.msg, NAME ": truncated: header length 200 runs past the end of the file "
                              "(64 bytes)");
}

Test(safetensors, header_length_absurd)
{
    uint8_t buf[16] = {0};
    buf[5] = 1; /* 2^40 */
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(buf, sizeof buf, NAME, &w, &err), PDL_ERR_LIMIT);
    cr_assert_not_null(strstr(err.msg, "header length 1099511627776 exceeds the limit"), "%s",
                       err.msg);
    memset(buf, 0xff, 8); /* 2^64 - 1: no wrap-around in the size arithmetic */
    cr_assert_eq(pdl_weights_open_memory(buf, sizeof buf, NAME, &w, &err), PDL_ERR_LIMIT);
}

Test(safetensors, header_length_zero_is_bad_json)
{
    uint8_t buf[8] = {0};
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(buf, sizeof buf, NAME, &w, &err), PDL_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, "header is not valid JSON"), "%s", err.msg);
}

Test(safetensors, bad_json)
{
    expect_raw_fails("{\"w\": {\"dtype\": \"F32\", \"shape\": [1", 0, PDL_ERR_FORMAT,
                     "header is not valid JSON");
    expect_raw_fails("{\"w\": 1} trailing", 0, PDL_ERR_FORMAT, "header is not valid JSON");
    expect_raw_fails("{\"w\\u0000x\": 1}", 0, PDL_ERR_FORMAT, "header is not valid JSON");
}

/* Messages quote names and JSON text; control characters must not break the line
 * (found by fuzzing: jansson quotes the text near an error, newlines included). */
Test(safetensors, messages_stay_on_one_line)
{
    expect_raw_fails("{\"__metadata__\": {\"config\": \"{\\\n\"}}", 0, PDL_ERR_FORMAT,
                     "header is not valid JSON");
    expect_tensors_fail("\"bad\\nname\": 1", 0, PDL_ERR_FORMAT,
                        "tensor bad?name: header entry is not an object");
}

Test(safetensors, header_not_an_object)
{
    expect_raw_fails("[1, 2, 3]", 0, PDL_ERR_FORMAT, "header is not a JSON object");
}

Test(safetensors, entry_not_an_object)
{
    expect_tensors_fail("\"backbone.w\": [1, 2]", 0, PDL_ERR_FORMAT,
                        "tensor backbone.w: header entry is not an object");
}

Test(safetensors, entry_with_unknown_key)
{
    expect_tensors_fail(
        "\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": 1}", 4,
        PDL_ERR_FORMAT, "tensor w: unknown header key 'x'");
}

Test(safetensors, dtype_missing_or_not_a_string)
{
    expect_tensors_fail("\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}", 4, PDL_ERR_FORMAT,
                        "tensor w: dtype missing");
    expect_tensors_fail("\"w\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}", 4,
                        PDL_ERR_FORMAT, "tensor w: dtype missing or not a string");
}

Test(safetensors, unknown_dtype)
{
    expect_tensors_fail("\"head.bias\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": "
                        "[0, 8]}",
                        8, PDL_ERR_UNSUPPORTED, "tensor head.bias has unsupported dtype I64");
    expect_tensors_fail("\"w\": {\"dtype\": \"f32\", \"shape\": [1], \"data_offsets\": [0, 4]}",
                        4, PDL_ERR_UNSUPPORTED, "tensor w has unsupported dtype f32");
}

Test(safetensors, shape_not_an_array_of_integers)
{
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": 4, \"data_offsets\": [0, 16]}",
                        16, PDL_ERR_FORMAT, "tensor w: shape missing or not an array");
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [2.0], \"data_offsets\": [0, 8]}",
                        8, PDL_ERR_FORMAT, "tensor w: shape[0] is not a non-negative integer");
}

Test(safetensors, negative_dims)
{
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [2, -2], \"data_offsets\": [0, "
                        "16]}",
                        16, PDL_ERR_FORMAT, "tensor w: shape[1] is not a non-negative integer");
}

Test(safetensors, too_many_dims)
{
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], "
                        "\"data_offsets\": [0, 4]}",
                        4, PDL_ERR_UNSUPPORTED, "tensor w has 9 dimensions (at most 8)");
}

Test(safetensors, shape_product_overflow)
{
    /* 2^32 x 2^32 overflows int64; 2^62 x F32 overflows the byte count. */
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], "
                        "\"data_offsets\": [0, 4]}",
                        4, PDL_ERR_FORMAT, "tensor w: shape overflows");
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904], "
                        "\"data_offsets\": [0, 4]}",
                        4, PDL_ERR_FORMAT, "tensor w: byte size overflows");
}

Test(safetensors, shape_and_byte_size_mismatch)
{
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, "
                        "12]}",
                        16, PDL_ERR_FORMAT,
                        "tensor w: 12 bytes in the file, but its shape and dtype need 16");
    expect_tensors_fail("\"w\": {\"dtype\": \"BF16\", \"shape\": [3], \"data_offsets\": [0, 12]}",
                        16, PDL_ERR_FORMAT, "but its shape and dtype need 6");
}

Test(safetensors, data_offsets_malformed)
{
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}", 4,
                        PDL_ERR_FORMAT, "tensor w: data_offsets must be [begin, end]");
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}",
                        4, PDL_ERR_FORMAT, "tensor w: data_offsets must be [begin, end]");
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [1]}", 4, PDL_ERR_FORMAT,
                        "tensor w: data_offsets must be");
}

Test(safetensors, begin_after_end)
{
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [8, 4]}",
                        8, PDL_ERR_FORMAT, "tensor w: data_offsets begin 8 > end 4");
}

Test(safetensors, offsets_out_of_range)
{
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}",
                        12, PDL_ERR_FORMAT,
                        "tensor w: data_offsets end 16 beyond the data area (12 bytes)");
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [20, 20]}",
                        12, PDL_ERR_FORMAT, "tensor w: data_offsets end 20 beyond");
}

Test(safetensors, overlapping_offsets)
{
    expect_tensors_fail("\"first\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, "
                        "16]},"
                        "\"second\": {\"dtype\": \"F16\", \"shape\": [4], \"data_offsets\": [14, "
                        "22]}",
                        24, PDL_ERR_FORMAT, "tensors first and second overlap");
    /* Identical ranges, listed in the other order. */
    expect_tensors_fail("\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]},"
                        "\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}",
                        8, PDL_ERR_FORMAT, "overlap in the data area");
}

Test(safetensors, duplicate_names)
{
    expect_tensors_fail("\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                        "\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}",
                        8, PDL_ERR_FORMAT, "header names a tensor twice");
}

/* ---- metadata and config ------------------------------------------------------ */

Test(safetensors, missing_metadata)
{
    expect_raw_fails("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
                     PDL_ERR_FORMAT, "no __metadata__ in the header");
}

Test(safetensors, metadata_not_an_object)
{
    expect_raw_fails("{\"__metadata__\": \"config\"}", 0, PDL_ERR_FORMAT,
                     "__metadata__ is not an object");
}

Test(safetensors, metadata_value_not_a_string)
{
    expect_raw_fails("{\"__metadata__\": {\"config\": {\"format\": 1}}}", 0, PDL_ERR_FORMAT,
                     "__metadata__ value 'config' is not a string");
}

Test(safetensors, metadata_without_config)
{
    expect_raw_fails("{\"__metadata__\": {\"format\": \"pt\"}}", 0, PDL_ERR_FORMAT,
                     "__metadata__ has no \"config\"");
}

Test(safetensors, bad_config_is_reported_with_the_file_name)
{
    json_t *c = json_loads(tsup_st_default_config(), 0, NULL);
    json_object_set_new(json_object_get(c, "backbone"), "depth", json_integer(42));
    char *text = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    tsup_st_builder *b = tsup_st_new();
    tsup_st_set_config(b, text);
    size_t len;
    uint8_t *buf = tsup_st_to_buffer(b, &len);
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(buf, len, NAME, &w, &err), PDL_ERR_FORMAT);
    cr_assert_str_eq(err.msg, NAME ": config key backbone.depth: expected one of 18, 34, 50, 101, "
                              "got 42");
    tsup_st_set_config(b, "{not json");
    free(buf);
    buf = tsup_st_to_buffer(b, &len);
    cr_assert_eq(pdl_weights_open_memory(buf, len, NAME, &w, &err), PDL_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, NAME ": config is not valid JSON"), "%s", err.msg);
    free(buf);
    free(text);
    tsup_st_free(b);
}

/* ---- paths -------------------------------------------------------------------- */

Test(safetensors, zero_byte_file)
{
    cr_assert(tsup_st_write_bytes(tmpfile_path, "", 0));
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open(tmpfile_path, &w, &err), PDL_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, "empty file"), "%s", err.msg);
    cr_assert_eq(strncmp(err.msg, tmpfile_path, strlen(tmpfile_path)), 0, "%s", err.msg);
    cr_assert_null(w.path);
}

Test(safetensors, missing_path)
{
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open("/nonexistent/dir/m.safetensors", &w, &err), PDL_ERR_IO);
    cr_assert_str_eq(err.msg, "/nonexistent/dir/m.safetensors: cannot open: No such file or "
                              "directory");
}

Test(safetensors, directory_path)
{
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open(tmpdir, &w, &err), PDL_ERR_IO);
    cr_assert_not_null(strstr(err.msg, "not a regular file (a directory)"), "%s", err.msg);
    cr_assert_eq(strncmp(err.msg, tmpdir, strlen(tmpdir)), 0);
}

/* ---- expect / unused ---------------------------------------------------------- */

static void open_three(pdl_weights *w, uint8_t **buf)
{
    tsup_st_builder *b = tsup_st_new();
    const int64_t conv[] = {8, 3, 7, 7}, vec[] = {8};
    tsup_st_add_random_f32(b, "backbone.stem.conv1.weight", 4, conv, 1, 0.1f);
    tsup_st_add_random_f32(b, "backbone.stem.conv1.norm.bias", 1, vec, 2, 0.1f);
    tsup_st_add_random_f32(b, "extra.tensor", 1, vec, 3, 0.1f);
    size_t len;
    *buf = tsup_st_to_buffer(b, &len);
    tsup_st_free(b);
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(*buf, len, NAME, w, &err), PDL_OK, "%s", err.msg);
}

Test(safetensors, expect_missing_tensor)
{
    pdl_weights w;
    uint8_t *buf;
    open_three(&w, &buf);
    const int64_t s[] = {8};
    pdl_error err;
    const pdl_tensor *t = NULL;
    cr_assert_eq(pdl_weights_expect(&w, "backbone.stem.conv1.norm.weight", 1, s, &t, &err),
                 PDL_ERR_MODEL);
    cr_assert_str_eq(err.msg, NAME ": tensor backbone.stem.conv1.norm.weight missing");
    cr_assert_null(t);
    pdl_weights_close(&w);
    free(buf);
}

Test(safetensors, expect_wrong_shape)
{
    pdl_weights w;
    uint8_t *buf;
    open_three(&w, &buf);
    pdl_error err;
    const int64_t wrong[] = {8, 3, 3, 3}, wrong_rank[] = {8, 3, 49};
    cr_assert_eq(pdl_weights_expect(&w, "backbone.stem.conv1.weight", 4, wrong, NULL, &err),
                 PDL_ERR_MODEL);
    cr_assert_str_eq(err.msg, NAME ": tensor backbone.stem.conv1.weight has shape [8, 3, 7, 7], "
                              "expected [8, 3, 3, 3]");
    cr_assert_eq(pdl_weights_expect(&w, "backbone.stem.conv1.weight", 3, wrong_rank, NULL, &err),
                 PDL_ERR_MODEL);
    cr_assert_not_null(strstr(err.msg, "expected [8, 3, 49]"), "%s", err.msg);
    cr_assert_eq(pdl_weights_unused(&w, NULL), 3, "a failed expect must not mark a tensor used");
    pdl_weights_close(&w);
    free(buf);
}

Test(safetensors, expect_marks_used_and_unused_counts_the_rest)
{
    pdl_weights w;
    uint8_t *buf;
    open_three(&w, &buf);
    pdl_error err;
    const char *first = NULL;
    cr_assert_eq(pdl_weights_unused(&w, &first), 3);
    cr_assert_str_eq(first, "backbone.stem.conv1.norm.bias");

    const int64_t conv[] = {8, 3, 7, 7}, vec[] = {8};
    const pdl_tensor *t = NULL;
    cr_assert_eq(pdl_weights_expect(&w, "backbone.stem.conv1.weight", 4, conv, &t, &err), PDL_OK);
    cr_assert_not_null(t);
    cr_assert_str_eq(t->name, "backbone.stem.conv1.weight");
    cr_assert(t->used);
    cr_assert_eq(pdl_weights_expect(&w, "backbone.stem.conv1.norm.bias", 1, vec, NULL, &err),
                 PDL_OK);
    cr_assert_eq(pdl_weights_unused(&w, &first), 1);
    cr_assert_str_eq(first, "extra.tensor");
    cr_assert_eq(pdl_weights_expect(&w, "extra.tensor", 1, vec, NULL, &err), PDL_OK);
    cr_assert_eq(pdl_weights_unused(&w, &first), 0);
    cr_assert_null(first);
    pdl_weights_close(&w);
    free(buf);
}

/* ---- F16 / BF16 widening and non-finite values ---------------------------------- */

static bool bits_finite(uint32_t bits)
{
    return (bits & 0x7f800000u) != 0x7f800000u;
}

static void open_one(pdl_dtype dtype, const uint16_t *v, size_t n, pdl_weights *w, uint8_t **buf)
{
    tsup_st_builder *b = tsup_st_new();
    const int64_t s[] = {(int64_t)n};
    tsup_st_add_tensor(b, "t", dtype, 1, s, v);
    size_t len;
    *buf = tsup_st_to_buffer(b, &len);
    tsup_st_free(b);
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(*buf, len, NAME, w, &err), PDL_OK, "%s", err.msg);
}

/* Every finite pattern widens bit-exactly; every non-finite one is rejected
 * with its index, placed after two finite values. */
static void check_table(pdl_dtype dtype, const uint32_t (*table)[2], size_t n)
{
    uint16_t *v = malloc(n * sizeof *v);
    uint32_t *want = malloc(n * sizeof *want);
    size_t nfinite = 0, nbad = 0;
    for (size_t i = 0; i < n; i++)
        if (bits_finite(table[i][1])) {
            v[nfinite] = (uint16_t)table[i][0];
            want[nfinite++] = table[i][1];
        }
    pdl_weights w;
    uint8_t *buf;
    pdl_error err;
    open_one(dtype, v, nfinite, &w, &buf);
    float *out = malloc(nfinite * sizeof *out);
    cr_assert_eq(pdl_tensor_to_f32(&w, &w.tensors[0], out, &err), PDL_OK, "%s", err.msg);
    for (size_t i = 0; i < nfinite; i++) {
        uint32_t got;
        memcpy(&got, &out[i], 4);
        cr_assert_eq(got, want[i], "pattern 0x%04x -> 0x%08x, reference 0x%08x", v[i], got,
                     want[i]);
    }
    pdl_weights_close(&w);
    free(buf);

    for (size_t i = 0; i < n; i++) {
        if (bits_finite(table[i][1]))
            continue;
        nbad++;
        uint16_t three[3] = {0x0000, 0x0001, (uint16_t)table[i][0]};
        open_one(dtype, three, 3, &w, &buf);
        cr_assert_eq(pdl_tensor_to_f32(&w, &w.tensors[0], out, &err), PDL_ERR_FORMAT);
        const char *kind = (table[i][1] & 0x7fffff) ? "NaN" : "Inf";
        char want_msg[128];
        snprintf(want_msg, sizeof want_msg, NAME ": tensor t has a non-finite value (%s) at index 2",
                 kind);
        cr_assert_str_eq(err.msg, want_msg, "pattern 0x%04x", (unsigned)table[i][0]);
        pdl_weights_close(&w);
        free(buf);
    }
    cr_assert_geq(nbad, 4, "the table must exercise Inf and NaN");
    cr_assert_geq(nfinite, 200);
    free(out);
    free(v);
    free(want);
}

Test(safetensors, f16_matches_numpy)
{
    check_table(PDL_DTYPE_F16, half_f16_table, N_OF(half_f16_table));
}

Test(safetensors, bf16_matches_torch)
{
    check_table(PDL_DTYPE_BF16, half_bf16_table, N_OF(half_bf16_table));
}

/* All 63488 finite F16 patterns against the compiler's _Float16 conversion. */
Test(safetensors, f16_exhaustive_against_compiler)
{
    uint16_t *v = malloc(65536 * sizeof *v);
    size_t n = 0;
    for (uint32_t h = 0; h < 65536; h++)
        if (((h >> 10) & 0x1f) != 0x1f)
            v[n++] = (uint16_t)h;
    cr_assert_eq(n, 63488);
    pdl_weights w;
    uint8_t *buf;
    pdl_error err;
    open_one(PDL_DTYPE_F16, v, n, &w, &buf);
    float *out = malloc(n * sizeof *out);
    cr_assert_eq(pdl_tensor_to_f32(&w, &w.tensors[0], out, &err), PDL_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        _Float16 h;
        memcpy(&h, &v[i], 2);
        float ref = (float)h;
        cr_assert_eq(memcmp(&ref, &out[i], 4), 0, "pattern 0x%04x: %a vs %a", v[i], out[i], ref);
    }
    pdl_weights_close(&w);
    free(buf);
    free(out);
    free(v);
}

Test(safetensors, f32_nan_and_inf_rejected_naming_tensor_and_index)
{
    float v[8];
    tsup_st_random_f32(v, 8, 5, 2.0f);
    v[5] = NAN;
    tsup_st_builder *b = tsup_st_new();
    const int64_t s[] = {2, 4};
    tsup_st_add_tensor(b, "sem_seg_head.predictor.weight", PDL_DTYPE_F32, 2, s, v);
    v[5] = 1.0f;
    v[6] = -INFINITY;
    tsup_st_add_tensor(b, "ins_embed_head.center_predictor.bias", PDL_DTYPE_F32, 2, s, v);
    size_t len;
    uint8_t *buf = tsup_st_to_buffer(b, &len);
    tsup_st_free(b);
    pdl_weights w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open_memory(buf, len, NAME, &w, &err), PDL_OK, "%s", err.msg);
    float out[8];
    cr_assert_eq(pdl_tensor_to_f32(&w, pdl_weights_find(&w, "sem_seg_head.predictor.weight"), out,
                                   &err),
                 PDL_ERR_FORMAT);
    cr_assert_str_eq(err.msg, NAME ": tensor sem_seg_head.predictor.weight has a non-finite value "
                              "(NaN) at index 5");
    cr_assert_eq(pdl_tensor_to_f32(&w,
                                   pdl_weights_find(&w, "ins_embed_head.center_predictor.bias"),
                                   out, &err),
                 PDL_ERR_FORMAT);
    cr_assert_str_eq(err.msg, NAME ": tensor ins_embed_head.center_predictor.bias has a "
                              "non-finite value (Inf) at index 6");
    pdl_weights_close(&w);
    free(buf);
}

/* The dump writer's files must load with our own validating reader. */
#include "safetensors_write.h"

Test(safetensors, written_dump_reads_back)
{
    float a[6], b[4];
    for (int i = 0; i < 6; i++)
        a[i] = 0.5f * (float)i - 1.25f;
    for (int i = 0; i < 4; i++)
        b[i] = 3.0f + (float)i;
    pdl_named_tensor t[2] = {{"stage_a", 3, {1, 2, 3}, a}, {"b", 2, {2, 2}, b}};
    char path[] = "/tmp/pdl_dump_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    pdl_error err;
    const char *cfg = tsup_st_default_config();
    cr_assert_eq(pdl_safetensors_write(path, t, 2, cfg, &err), PDL_OK, "%s", err.msg);
    pdl_weights w;
    cr_assert_eq(pdl_weights_open(path, &w, &err), PDL_OK, "%s", err.msg);
    const pdl_tensor *ta = pdl_weights_find(&w, "stage_a");
    cr_assert_not_null(ta);
    cr_assert_eq(ta->ndim, 3);
    cr_assert_eq(ta->shape[2], 3);
    float back[6];
    cr_assert_eq(pdl_tensor_to_f32(&w, ta, back, &err), PDL_OK);
    cr_assert_eq(memcmp(back, a, sizeof a), 0);
    cr_assert_not_null(pdl_weights_find(&w, "b"));
    pdl_weights_close(&w);
    unlink(path);
}
