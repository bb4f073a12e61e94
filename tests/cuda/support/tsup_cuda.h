/* tsup_cuda.h - support shared by the CUDA host tests (tests/cuda/). */
#ifndef TSUP_CUDA_H
#define TSUP_CUDA_H

#include "config.h"

/* Parses the config JSON file at `path` (a real model's, under
 * tests/cuda/data/) into *cfg; fails the test when it cannot. */
void tsup_cuda_config_from_json(const char *path, pdl_config *cfg);

#endif
