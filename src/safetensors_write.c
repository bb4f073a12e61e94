/* safetensors_write.c - writes float32 tensors as a safetensors file.
 *
 * Used by `predict --dump-tensors`, so the network's stages can be read by
 * any safetensors reader and compared with another implementation (the
 * layout matches the reference files of tests/ref/).
 */
#include "safetensors_write.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"

pdl_status pdl_safetensors_write(const char *path, const pdl_named_tensor *tensors, int count,
                                 const char *config_json, pdl_error *err)
{
    json_t *header = json_object();
    size_t offset = 0;
    for (int i = 0; i < count; i++) {
        const pdl_named_tensor *t = &tensors[i];
        json_t *shape = json_array();
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            json_array_append_new(shape, json_integer(t->shape[d]));
            numel *= (size_t)t->shape[d];
        }
        size_t bytes = numel * sizeof(float);
        json_object_set_new(header, t->name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", "F32", "shape", shape,
                                      "data_offsets", (json_int_t)offset,
                                      (json_int_t)(offset + bytes)));
        offset += bytes;
    }
    if (config_json)
        json_object_set_new(header, "__metadata__", json_pack("{s:s}", "config", config_json));
    char *text = json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(header);
    if (!text)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    /* Pad the header with spaces to 8 bytes so the data area is aligned. */
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    pdl_atomic_file af;
    pdl_status st = pdl_atomic_open(path, &af, err);
    if (st != PDL_OK) {
        free(text);
        return st;
    }
    uint8_t le[8];
    for (int b = 0; b < 8; b++)
        le[b] = (uint8_t)((uint64_t)padded >> (8 * b));
    bool ok = fwrite(le, 1, 8, af.fp) == 8 && fwrite(text, 1, len, af.fp) == len;
    for (size_t k = len; ok && k < padded; k++)
        ok = fputc(' ', af.fp) != EOF;
    for (int i = 0; ok && i < count; i++) {
        size_t numel = 1;
        for (int d = 0; d < tensors[i].ndim; d++)
            numel *= (size_t)tensors[i].shape[d];
        ok = fwrite(tensors[i].data, sizeof(float), numel, af.fp) == numel;
    }
    free(text);
    if (!ok) {
        pdl_atomic_abort(&af);
        return pdl_fail(err, PDL_ERR_IO, "%s: write failed", path);
    }
    return pdl_atomic_commit(&af, err);
}
