/* safetensors.h - the weights file: a safetensors container, mapped read-only.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON
 * {"NAME": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"config": "<JSON text of pdl_config>"}}, then the data area.
 * pdl_weights_open() validates the container completely (header length within
 * the file, JSON well-formed, offsets inside the data area, in order and not
 * overlapping, dtype known, byte size = product of the shape x dtype size) and
 * parses the config; pdl_weights_expect() then checks each tensor the model
 * needs. Every error names the file and, where there is one, the tensor.
 */
#ifndef PDL_SAFETENSORS_H
#define PDL_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "status.h"

#define PDL_MAX_DIMS 8
#define PDL_MAX_HEADER_BYTES (100u << 20) /* refuse absurd headers before parsing */

typedef enum pdl_dtype { PDL_DTYPE_F32, PDL_DTYPE_F16, PDL_DTYPE_BF16 } pdl_dtype;

typedef struct pdl_tensor {
    const char *name;
    pdl_dtype dtype;
    int ndim;
    int64_t shape[PDL_MAX_DIMS];
    int64_t numel;
    const void *data; /* inside the read-only mapping; not necessarily aligned */
    size_t nbytes;
    bool used;        /* set by pdl_weights_expect(), to warn about unknown tensors */
} pdl_tensor;

typedef struct pdl_weights {
    char *path;
    const uint8_t *bytes; /* the whole file */
    size_t size;
    bool mapped;          /* bytes came from mmap (else the caller owns them) */
    size_t ntensors;
    pdl_tensor *tensors;  /* sorted by name */
    pdl_config config;
} pdl_weights;

/* Maps and validates PATH. On failure *w is left closed. */
pdl_status pdl_weights_open(const char *path, pdl_weights *w, pdl_error *err);

/* Same validation over a caller-owned buffer (tests, fuzzing); `name` is used in
 * messages. The buffer must outlive *w. */
pdl_status pdl_weights_open_memory(const void *buf, size_t len, const char *name,
                                   pdl_weights *w, pdl_error *err);

void pdl_weights_close(pdl_weights *w);

const pdl_tensor *pdl_weights_find(const pdl_weights *w, const char *name);

/* Checks that NAME exists with exactly this shape and marks it used.
 * "PATH: tensor NAME missing" / "PATH: tensor NAME has shape [..], expected [..]". */
pdl_status pdl_weights_expect(pdl_weights *w, const char *name, int ndim, const int64_t *shape,
                              const pdl_tensor **out, pdl_error *err);

/* Number of tensors never passed to pdl_weights_expect(); *first gets one name. */
size_t pdl_weights_unused(const pdl_weights *w, const char **first);

/* Converts a tensor to float32 (F16 and BF16 widened) and rejects NaN/Inf,
 * naming the tensor and the index of the first bad value. */
pdl_status pdl_tensor_to_f32(const pdl_weights *w, const pdl_tensor *t, float *dst, pdl_error *err);

#endif
