/* safetensors.c - maps a weights file read-only and validates all of it before
 * anything trusts it (the ggml way: named tensors with shapes, checked up front).
 *
 * The file is never copied: tensors point into the mapping. Validation order
 * follows the layout: header length, JSON, each entry, then the data area as a
 * whole (tensors sorted by begin so one pass finds any overlap), then the
 * config in __metadata__. Every failure is one line naming the file and, where
 * there is one, the tensor.
 */
#include "safetensors.h"
#include "pdl_half.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define METADATA_KEY "__metadata__"

/* safetensors data is little-endian; F32 values are copied as they are. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host assumed");

static size_t dtype_size(pdl_dtype d)
{
    return d == PDL_DTYPE_F32 ? 4 : 2;
}

static bool dtype_parse(const char *s, pdl_dtype *out)
{
    static const struct {
        const char *name;
        pdl_dtype dtype;
    } known[] = {{"F32", PDL_DTYPE_F32}, {"F16", PDL_DTYPE_F16}, {"BF16", PDL_DTYPE_BF16}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i].name) == 0) {
            *out = known[i].dtype;
            return true;
        }
    return false;
}

static uint64_t read_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Fills t (all but name and data) from one header entry {"dtype", "shape",
 * "data_offsets"} and checks its range against the data area; *begin gets the
 * offset of its first byte within that area. */
static pdl_status parse_entry(const char *path, const char *name, json_t *e, size_t data_size,
                              pdl_tensor *t, uint64_t *begin, pdl_error *err)
{
    if (!json_is_object(e))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: tensor %s: header entry is not an object", path,
                        name);
    const char *k;
    json_t *v;
    json_object_foreach(e, k, v) {
        if (strcmp(k, "dtype") != 0 && strcmp(k, "shape") != 0 && strcmp(k, "data_offsets") != 0)
            return pdl_fail(err, PDL_ERR_FORMAT, "%s: tensor %s: unknown header key '%s'", path,
                            name, k);
    }

    json_t *dtype = json_object_get(e, "dtype");
    if (!json_is_string(dtype))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: tensor %s: dtype missing or not a string", path,
                        name);
    if (!dtype_parse(json_string_value(dtype), &t->dtype))
        return pdl_fail(err, PDL_ERR_UNSUPPORTED,
                        "%s: tensor %s has unsupported dtype %.32s (supported: F32, F16, BF16)",
                        path, name, json_string_value(dtype));

    json_t *shape = json_object_get(e, "shape");
    if (!json_is_array(shape))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: tensor %s: shape missing or not an array", path,
                        name);
    if (json_array_size(shape) > PDL_MAX_DIMS)
        return pdl_fail(err, PDL_ERR_UNSUPPORTED, "%s: tensor %s has %zu dimensions (at most %d)",
                        path, name, json_array_size(shape), PDL_MAX_DIMS);
    t->ndim = (int)json_array_size(shape);
    int64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(shape, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "%s: tensor %s: shape[%d] is not a non-negative integer", path, name,
                            i);
        t->shape[i] = json_integer_value(d);
        if (__builtin_mul_overflow(numel, t->shape[i], &numel))
            return pdl_fail(err, PDL_ERR_FORMAT, "%s: tensor %s: shape overflows", path, name);
    }
    t->numel = numel;
    if (__builtin_mul_overflow((uint64_t)numel, (uint64_t)dtype_size(t->dtype), &t->nbytes))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: tensor %s: byte size overflows", path, name);

    json_t *offs = json_object_get(e, "data_offsets");
    json_t *b = json_array_get(offs, 0), *x = json_array_get(offs, 1);
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(b) ||
        !json_is_integer(x) || json_integer_value(b) < 0 || json_integer_value(x) < 0)
        return pdl_fail(err, PDL_ERR_FORMAT,
                        "%s: tensor %s: data_offsets must be [begin, end], non-negative integers",
                        path, name);
    uint64_t lo = (uint64_t)json_integer_value(b), hi = (uint64_t)json_integer_value(x);
    if (lo > hi)
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: tensor %s: data_offsets begin %llu > end %llu",
                        path, name, (unsigned long long)lo, (unsigned long long)hi);
    if (hi > data_size)
        return pdl_fail(err, PDL_ERR_FORMAT,
                        "%s: tensor %s: data_offsets end %llu beyond the data area (%zu bytes)",
                        path, name, (unsigned long long)hi, data_size);
    if (hi - lo != t->nbytes)
        return pdl_fail(err, PDL_ERR_FORMAT,
                        "%s: tensor %s: %llu bytes in the file, but its shape and dtype need %zu",
                        path, name, (unsigned long long)(hi - lo), t->nbytes);
    *begin = lo;
    return PDL_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const pdl_tensor *)a)->name, ((const pdl_tensor *)b)->name);
}

typedef struct span {
    uint64_t begin, end;
    const char *name;
} span;

static int by_begin(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Non-empty tensors sorted by begin overlap iff one starts before the previous ends. */
static pdl_status check_overlap(const char *path, span *spans, size_t n, pdl_error *err)
{
    qsort(spans, n, sizeof *spans, by_begin);
    for (size_t i = 1; i < n; i++)
        if (spans[i].begin < spans[i - 1].end)
            return pdl_fail(err, PDL_ERR_FORMAT, "%s: tensors %s and %s overlap in the data area",
                            path, spans[i - 1].name, spans[i].name);
    return PDL_OK;
}

static pdl_status parse_metadata(const char *path, json_t *meta, pdl_config *cfg, pdl_error *err)
{
    if (!meta)
        return pdl_fail(err, PDL_ERR_FORMAT,
                        "%s: no __metadata__ in the header (a model carries its config there)",
                        path);
    if (!json_is_object(meta))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: __metadata__ is not an object", path);
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (!json_is_string(v))
            return pdl_fail(err, PDL_ERR_FORMAT, "%s: __metadata__ value '%s' is not a string",
                            path, k);
    }
    json_t *config = json_object_get(meta, "config");
    if (!config)
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: __metadata__ has no \"config\"", path);
    return pdl_config_parse(json_string_value(config), json_string_length(config), path, cfg, err);
}

/* Everything after the 8-byte length check: header JSON, tensors, config. */
static pdl_status parse_header(const char *path, json_t *root, const uint8_t *data,
                               size_t data_size, pdl_weights *w, pdl_error *err)
{
    if (!json_is_object(root))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: header is not a JSON object", path);
    size_t n = json_object_size(root), names_size = 0;
    json_t *meta = json_object_get(root, METADATA_KEY);
    if (meta)
        n--;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
        names_size += strlen(k) + 1;

    /* One block: tensors, then spans, then all names. */
    size_t bytes = n * (sizeof(pdl_tensor) + sizeof(span)) + names_size;
    uint8_t *block = calloc(1, bytes ? bytes : 1);
    if (!block)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: no memory for %zu tensors", path, n);
    w->tensors = (pdl_tensor *)block;
    span *spans = (span *)(block + n * sizeof(pdl_tensor));
    char *names = (char *)(spans + n);

    size_t i = 0, nspans = 0;
    json_object_foreach(root, k, v) {
        if (strcmp(k, METADATA_KEY) == 0)
            continue;
        pdl_tensor *t = &w->tensors[i++];
        size_t len = strlen(k) + 1;
        memcpy(names, k, len);
        t->name = names;
        names += len;
        uint64_t begin = 0;
        pdl_status st = parse_entry(path, t->name, v, data_size, t, &begin, err);
        if (st != PDL_OK)
            return st;
        t->data = data + begin;
        if (t->nbytes > 0)
            spans[nspans++] = (span){begin, begin + t->nbytes, t->name};
    }
    w->ntensors = n;
    pdl_status st = check_overlap(path, spans, nspans, err);
    if (st != PDL_OK)
        return st;
    qsort(w->tensors, n, sizeof *w->tensors, by_name);
    return parse_metadata(path, meta, &w->config, err);
}

static pdl_status parse_file(pdl_weights *w, pdl_error *err)
{
    const char *path = w->path;
    if (w->size == 0)
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: empty file, not a safetensors model", path);
    if (w->size < 8)
        return pdl_fail(err, PDL_ERR_FORMAT,
                        "%s: truncated: %zu bytes, shorter than the 8-byte header length", path,
                        w->size);
    uint64_t header_len = read_le64(w->bytes);
    if (header_len > PDL_MAX_HEADER_BYTES)
        return pdl_fail(err, PDL_ERR_LIMIT,
                        "%s: header length %llu exceeds the limit of %u bytes (not a safetensors "
                        "file?)",
                        path, (unsigned long long)header_len, PDL_MAX_HEADER_BYTES);
    if (header_len > w->size - 8)
        return pdl_fail(err, PDL_ERR_FORMAT,
                        "%s: truncated: header length %llu runs past the end of the file "
                        "(%zu bytes)",
                        path, (unsigned long long)header_len, w->size);

    json_error_t jerr;
    json_t *root = json_loadb((const char *)w->bytes + 8, (size_t)header_len,
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_duplicate_key)
            return pdl_fail(err, PDL_ERR_FORMAT, "%s: header names a tensor twice (%s)", path,
                            jerr.text);
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: header is not valid JSON (column %d: %s)", path,
                        jerr.column, jerr.text);
    }
    size_t data_off = 8 + (size_t)header_len;
    pdl_status st = parse_header(path, root, w->bytes + data_off, w->size - data_off, w, err);
    json_decref(root);
    return st;
}

/* Shared by both entry points; on failure releases what it took, mapping included. */
static pdl_status open_bytes(const uint8_t *bytes, size_t size, bool mapped, const char *name,
                             pdl_weights *w, pdl_error *err)
{
    memset(w, 0, sizeof *w);
    w->bytes = bytes;
    w->size = size;
    w->mapped = mapped;
    w->path = strdup(name);
    if (!w->path) {
        pdl_weights_close(w);
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", name);
    }
    pdl_status st = parse_file(w, err);
    if (st != PDL_OK)
        pdl_weights_close(w);
    return st;
}

pdl_status pdl_weights_open(const char *path, pdl_weights *w, pdl_error *err)
{
    memset(w, 0, sizeof *w);
    /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer before
     * the regular-file test below could refuse it (no effect on files). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return pdl_fail(err, PDL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return pdl_fail(err, PDL_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return pdl_fail(err, PDL_ERR_IO, "%s: not a regular file%s", path,
                        S_ISDIR(sb.st_mode) ? " (a directory)" : "");
    }
    size_t size = (size_t)sb.st_size;
    const uint8_t *bytes = NULL;
    if (size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return pdl_fail(err, PDL_ERR_IO, "%s: cannot map: %s", path, strerror(e));
        }
        bytes = m;
    }
    close(fd);
    return open_bytes(bytes, size, size > 0, path, w, err);
}

pdl_status pdl_weights_open_memory(const void *buf, size_t len, const char *name, pdl_weights *w,
                                   pdl_error *err)
{
    return open_bytes(buf, len, false, name, w, err);
}

void pdl_weights_close(pdl_weights *w)
{
    if (w->mapped)
        munmap((void *)w->bytes, w->size);
    free(w->tensors);
    free(w->path);
    memset(w, 0, sizeof *w);
}

const pdl_tensor *pdl_weights_find(const pdl_weights *w, const char *name)
{
    pdl_tensor key = {.name = name};
    if (w->ntensors == 0)
        return NULL;
    return bsearch(&key, w->tensors, w->ntensors, sizeof key, by_name);
}

static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

pdl_status pdl_weights_expect(pdl_weights *w, const char *name, int ndim, const int64_t *shape,
                              const pdl_tensor **out, pdl_error *err)
{
    pdl_tensor *t = (pdl_tensor *)pdl_weights_find(w, name);
    if (!t)
        return pdl_fail(err, PDL_ERR_MODEL, "%s: tensor %s missing", w->path, name);
    bool same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        return pdl_fail(err, PDL_ERR_MODEL, "%s: tensor %s has shape %s, expected %s", w->path,
                        name, got, want);
    }
    t->used = true;
    if (out)
        *out = t;
    return PDL_OK;
}

size_t pdl_weights_unused(const pdl_weights *w, const char **first)
{
    size_t n = 0;
    if (first)
        *first = NULL;
    for (size_t i = 0; i < w->ntensors; i++)
        if (!w->tensors[i].used && n++ == 0 && first)
            *first = w->tensors[i].name;
    return n;
}

/* bfloat16 is the top half of a binary32. */
static float bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

pdl_status pdl_tensor_to_f32(const pdl_weights *w, const pdl_tensor *t, float *dst, pdl_error *err)
{
    const uint8_t *src = t->data;
    for (int64_t i = 0; i < t->numel; i++) {
        float f;
        uint16_t h;
        if (t->dtype == PDL_DTYPE_F32) {
            memcpy(&f, src + 4 * i, 4);
        } else {
            h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
            f = t->dtype == PDL_DTYPE_F16 ? pdl_half_bits_to_float(h) : bf16_to_float(h);
        }
        if (!isfinite(f))
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "%s: tensor %s has a non-finite value (%s) at index %lld", w->path,
                            t->name, isnan(f) ? "NaN" : "Inf", (long long)i);
        dst[i] = f;
    }
    return PDL_OK;
}
