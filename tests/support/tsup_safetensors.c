/* tsup_safetensors.c - the safetensors writer used by the tests (see the header). */
#include "tsup_safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_entry {
    char *name;
    pdl_dtype dtype;
    int ndim;
    int64_t shape[PDL_MAX_DIMS];
    size_t nbytes;
    uint8_t *data;
} st_entry;

struct tsup_st_builder {
    st_entry *entries;
    size_t n, cap;
    char *config; /* NULL: no __metadata__ */
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

static const char *dtype_name(pdl_dtype d)
{
    return d == PDL_DTYPE_F32 ? "F32" : d == PDL_DTYPE_F16 ? "F16" : "BF16";
}

tsup_st_builder *tsup_st_new(void)
{
    tsup_st_builder *b = xmalloc(sizeof *b);
    memset(b, 0, sizeof *b);
    b->config = xstrdup(tsup_st_default_config());
    return b;
}

void tsup_st_free(tsup_st_builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->entries[i].name);
        free(b->entries[i].data);
    }
    free(b->entries);
    free(b->config);
    free(b);
}

void tsup_st_add_tensor(tsup_st_builder *b, const char *name, pdl_dtype dtype, int ndim,
                        const int64_t *shape, const void *data)
{
    if (ndim < 0 || ndim > PDL_MAX_DIMS)
        abort();
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->entries = realloc(b->entries, b->cap * sizeof *b->entries);
        if (!b->entries)
            abort();
    }
    st_entry *e = &b->entries[b->n++];
    memset(e, 0, sizeof *e);
    e->name = xstrdup(name);
    e->dtype = dtype;
    e->ndim = ndim;
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        e->shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    e->nbytes = numel * (dtype == PDL_DTYPE_F32 ? 4 : 2);
    e->data = xmalloc(e->nbytes);
    if (e->nbytes)
        memcpy(e->data, data, e->nbytes);
}

/* xorshift32: tiny, deterministic, and good enough for test weights. */
void tsup_st_random_f32(float *dst, size_t n, uint32_t seed, float scale)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        dst[i] = scale * ((float)(s >> 8) * 0x1p-23f - 1.0f);
    }
}

void tsup_st_add_random_f32(tsup_st_builder *b, const char *name, int ndim, const int64_t *shape,
                            uint32_t seed, float scale)
{
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= (size_t)shape[i];
    float *v = xmalloc(numel * sizeof *v);
    tsup_st_random_f32(v, numel, seed, scale);
    tsup_st_add_tensor(b, name, PDL_DTYPE_F32, ndim, shape, v);
    free(v);
}

void tsup_st_set_config(tsup_st_builder *b, const char *config_json)
{
    free(b->config);
    b->config = config_json ? xstrdup(config_json) : NULL;
}

static uint8_t *assemble(const char *header, size_t header_len, const void *data, size_t data_len,
                         size_t *len)
{
    /* Pad with spaces so the data area starts 8-byte aligned, as safetensors does. */
    size_t padded = (header_len + 7) / 8 * 8;
    *len = 8 + padded + data_len;
    uint8_t *buf = xmalloc(*len);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, header, header_len);
    memset(buf + 8 + header_len, ' ', padded - header_len);
    if (data_len)
        memcpy(buf + 8 + padded, data, data_len);
    return buf;
}

uint8_t *tsup_st_raw(const char *header_json, const void *data, size_t data_len, size_t *len)
{
    return assemble(header_json, strlen(header_json), data, data_len, len);
}

uint8_t *tsup_st_to_buffer(const tsup_st_builder *b, size_t *len)
{
    json_t *root = json_object();
    if (b->config)
        json_object_set_new(root, "__metadata__", json_pack("{s:s}", "config", b->config));
    size_t total = 0;
    for (size_t i = 0; i < b->n; i++) {
        const st_entry *e = &b->entries[i];
        json_t *shape = json_array();
        for (int d = 0; d < e->ndim; d++)
            json_array_append_new(shape, json_integer(e->shape[d]));
        json_object_set_new(root, e->name,
                            json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype_name(e->dtype),
                                      "shape", shape, "data_offsets", (json_int_t)total,
                                      (json_int_t)(total + e->nbytes)));
        total += e->nbytes;
    }
    char *header = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!header)
        abort();
    uint8_t *data = xmalloc(total);
    size_t off = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->entries[i].nbytes)
            memcpy(data + off, b->entries[i].data, b->entries[i].nbytes);
        off += b->entries[i].nbytes;
    }
    uint8_t *buf = assemble(header, strlen(header), data, total, len);
    free(header);
    free(data);
    return buf;
}

bool tsup_st_write_bytes(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(buf, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

bool tsup_st_write_file(const tsup_st_builder *b, const char *path)
{
    size_t len;
    uint8_t *buf = tsup_st_to_buffer(b, &len);
    bool ok = tsup_st_write_bytes(path, buf, len);
    free(buf);
    return ok;
}

const char *tsup_st_default_config(void)
{
    return "{\"format\": \"panoptic-deeplab/1\", \"name\": \"tiny-test\",\n"
           " \"backbone\": {\"depth\": 18, \"stem\": \"basic\", \"stem_out_channels\": 8,\n"
           "   \"res2_out_channels\": 8, \"width_per_group\": 8, \"stride_in_1x1\": false,\n"
           "   \"res4_dilation\": 1, \"res5_dilation\": 2, \"res5_multi_grid\": [1, 2, 4]},\n"
           " \"sem_seg_head\": {\"project_channels\": [4, 8], \"decoder_channels\": 16,\n"
           "   \"aspp_channels\": 16, \"aspp_dilations\": [1, 2, 3], \"aspp_pooling\": \"global\",\n"
           "   \"head_channels\": 16, \"depthwise_separable\": true},\n"
           " \"ins_embed_head\": {\"project_channels\": [4, 8], \"decoder_channels\": 8,\n"
           "   \"aspp_channels\": 16, \"aspp_dilations\": [1, 2, 3], \"aspp_pooling\": [2, 3],\n"
           "   \"head_channels\": 8, \"depthwise_separable\": true},\n"
           " \"input\": {\"pixel_mean\": [123.675, 116.28, 103.53],\n"
           "   \"pixel_std\": [58.395, 57.12, 57.375], \"min_size_test\": 0, \"max_size_test\": 0,\n"
           "   \"size_divisibility\": 32},\n"
           " \"postprocess\": {\"center_threshold\": 0.1, \"nms_kernel\": 7, \"top_k\": 200,\n"
           "   \"stuff_area\": 16, \"label_divisor\": 1000},\n"
           " \"classes\": [\n"
           "   {\"id\": 7, \"name\": \"road\", \"isthing\": false, \"color\": [128, 64, 128]},\n"
           "   {\"id\": 24, \"name\": \"person\", \"isthing\": true, \"color\": [220, 20, 60]},\n"
           "   {\"id\": 26, \"name\": \"car\", \"isthing\": true, \"color\": [0, 0, 142]}]}\n";
}
