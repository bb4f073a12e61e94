/* tsup_image.h - test data for test_image.c: PNG and JPEG encoders built
 * directly on libpng/libjpeg (independent of the code under test), EXIF APP1
 * segments, a raw PNG reader for checking the writers, and temp directories. */
#ifndef TSUP_IMAGE_H
#define TSUP_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tsup_buf {
    uint8_t *data;
    size_t len;
} tsup_buf;

/* Deterministic pseudo-random numbers (xorshift64*). */
uint32_t tsup_img_rand(uint64_t *state);
void tsup_img_fill_random(uint8_t *p, size_t n, uint64_t seed);

typedef struct tsup_png_spec {
    int w, h, color_type, depth; /* libpng PNG_COLOR_TYPE_* and bit depth */
    bool interlaced;             /* Adam7 */
    const uint16_t *samples;     /* w*h*channels values, each < 2^depth */
    const uint8_t *palette;      /* npalette RGB triples (palette type) */
    int npalette;
    const uint8_t *trns_alpha; /* palette tRNS: ntrns alpha values */
    int ntrns;
    bool trns_color; /* grey/RGB tRNS with trns_value */
    uint16_t trns_value[3];
} tsup_png_spec;

/* Number of samples per pixel for a PNG colour type. */
int tsup_img_png_channels(int color_type);

/* Encodes a PNG in memory; aborts the test on libpng failure. */
tsup_buf tsup_img_png(const tsup_png_spec *spec);

/* Encodes a JPEG: components 1 (grey), 3 (RGB in, YCbCr out, 4:4:4) or
 * 4 (CMYK; ycck selects YCCK instead of CMYK in the file). app1 (may be NULL)
 * is written as an APP1 segment. */
tsup_buf tsup_img_jpeg(int w, int h, int components, bool ycck, const uint8_t *px, int quality,
                       const uint8_t *app1, size_t app1_len);

/* Writes an APP1 payload "Exif\0\0" + TIFF header + IFD0 with one Orientation
 * entry of the given value, in big- or little-endian byte order. Returns its
 * length (32); out must hold 32 bytes. */
size_t tsup_img_exif_app1(uint8_t *out, int orientation, bool big_endian);

/* Reads a PNG file without transforms (samples as stored, 16-bit native).
 * Returns false if libpng fails. *samples is malloc'd. */
bool tsup_img_png_read_raw(const char *path, int *w, int *h, int *color_type, int *depth,
                           uint16_t **samples);

/* Updates the CRC of the PNG chunk starting at offset (length field). */
void tsup_img_png_fix_crc(uint8_t *png, size_t chunk_offset);

/* mkdtemp under /tmp into dir (at least 64 bytes), and recursive removal. */
void tsup_img_tmpdir(char *dir, size_t size);
void tsup_img_rmtree(const char *dir);
void tsup_img_write_file(const char *path, const void *data, size_t len);
bool tsup_img_exists(const char *path);

#endif
