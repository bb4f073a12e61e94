/* tsup_safetensors.h - test support: builds safetensors model files in memory.
 *
 * Tests of the loader, the network and the CLI need model files with chosen
 * tensors and configs, valid or deliberately broken. The builder lays tensors
 * out back to back in insertion order (as the safetensors writers do), pads the
 * header with spaces to a multiple of 8, and puts the config JSON text under
 * __metadata__["config"]. tsup_st_raw() builds a file from a hand-written
 * header for the malformed cases the builder refuses to produce.
 * Allocation failures abort: this is test code.
 */
#ifndef TSUP_SAFETENSORS_H
#define TSUP_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

typedef struct tsup_st_builder tsup_st_builder;

/* A new builder whose config is tsup_st_default_config(). */
tsup_st_builder *tsup_st_new(void);
void tsup_st_free(tsup_st_builder *b);

/* Adds a tensor; `data` holds numel x dtype-size bytes, little-endian (copied). */
void tsup_st_add_tensor(tsup_st_builder *b, const char *name, pdl_dtype dtype, int ndim,
                        const int64_t *shape, const void *data);

/* Adds an F32 tensor of uniform values in [-scale, scale) drawn from `seed`;
 * the same seed gives the same values (see tsup_st_random_f32). */
void tsup_st_add_random_f32(tsup_st_builder *b, const char *name, int ndim, const int64_t *shape,
                            uint32_t seed, float scale);

/* Fills dst[0..n) with the values tsup_st_add_random_f32 would store. */
void tsup_st_random_f32(float *dst, size_t n, uint32_t seed, float scale);

/* Replaces the config text; NULL writes no __metadata__ at all. */
void tsup_st_set_config(tsup_st_builder *b, const char *config_json);

/* The whole file as a malloc'd buffer (caller frees); *len gets its size. */
uint8_t *tsup_st_to_buffer(const tsup_st_builder *b, size_t *len);

/* Writes the file; false (with errno) when it cannot. */
bool tsup_st_write_file(const tsup_st_builder *b, const char *path);

/* A file from a literal header: 8-byte length, header_json, then data (malloc'd). */
uint8_t *tsup_st_raw(const char *header_json, const void *data, size_t data_len, size_t *len);

/* Writes len bytes to path; false on failure. */
bool tsup_st_write_bytes(const char *path, const void *buf, size_t len);

/* A small valid config (ResNet-18 basic stem, 8..16 channels, 3 classes:
 * road (id 7, stuff), person (24, thing), car (26, thing)). Static text. */
const char *tsup_st_default_config(void);

#endif
