/* tsup_refdata.h - reads the reference tensor files of tests/ref/data (format
 * in tests/ref/README.md): their metadata, and the input image they were made
 * from (SplitMix64 bytes), independently of the code under test. */
#ifndef TSUP_REFDATA_H
#define TSUP_REFDATA_H

#include <stdint.h>

#define TSUP_MAX_STAGES 16

typedef struct tsup_refmeta {
    int height, width;          /* the unpadded image */
    uint64_t image_seed;
    char model[128];            /* model file name, beside the reference file */
    int nstages;
    char stages[TSUP_MAX_STAGES][32];
} tsup_refmeta;

/* Parses the header's __metadata__ (the test fails on a malformed file). */
void tsup_refmeta_read(const char *path, tsup_refmeta *meta);

/* The H x W x 3 RGB image of the README: byte i is the top byte of the
 * (i+1)-th SplitMix64 output from `seed` (malloc'd). */
uint8_t *tsup_ref_image(int h, int w, uint64_t seed);

#endif
