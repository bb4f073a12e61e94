/* safetensors_write.h - float32 tensors to a safetensors file (see .c). */
#ifndef PDL_SAFETENSORS_WRITE_H
#define PDL_SAFETENSORS_WRITE_H

#include <stdint.h>

#include "status.h"

typedef struct pdl_named_tensor {
    const char *name;
    int ndim;
    int64_t shape[4];
    const float *data;
} pdl_named_tensor;

/* Writes the tensors (in order) with __metadata__ {"config": config_json}
 * when config_json is not NULL; PATH.tmp then rename. */
pdl_status pdl_safetensors_write(const char *path, const pdl_named_tensor *tensors, int count,
                                 const char *config_json, pdl_error *err);

#endif
