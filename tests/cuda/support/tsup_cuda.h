/* tsup_cuda.h - support shared by the CUDA host tests (tests/cuda/). */
#ifndef TSUP_CUDA_H
#define TSUP_CUDA_H

#include "config.h"
#include "model.h"

/* Parses the config JSON file at `path` (a real model's, under
 * tests/cuda/data/) into *cfg; fails the test when it cannot. */
void tsup_cuda_config_from_json(const char *path, pdl_config *cfg);

/* Builds cfg's network into *m and returns its tensor shapes for an h x w
 * input (padded as the backends pad it); the caller frees both. Fails the
 * test when either step fails. */
pdl_shape *tsup_cuda_model_shapes(const pdl_config *cfg, int h, int w, pdl_model *m);

#endif
