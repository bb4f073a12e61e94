/* image.h - decoding PNG/JPEG files to 8-bit RGB and writing PNG outputs.
 *
 * Decoding follows what Detectron2's reader (PIL, then convert("RGB")) gives:
 * alpha is dropped without compositing, palettes are expanded, 16-bit samples
 * are scaled to 8 bits, and a JPEG's EXIF orientation is applied the way
 * detectron2.data.detection_utils._apply_exif_orientation does. The format is
 * chosen by content (magic bytes), never by the file name. Every size is
 * checked against PDL_IMAGE_MAX_PIXELS before anything image-sized is
 * allocated.
 *
 * Writers produce PATH through PATH.tmp + rename (atomic_file.h), so a reader
 * never sees a half-written file and a failure leaves nothing behind.
 */
#ifndef PDL_IMAGE_H
#define PDL_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* 2^28 pixels: 768 MiB of RGB, far beyond any photograph we are asked to segment. */
#define PDL_IMAGE_MAX_PIXELS ((uint64_t)1 << 28)

typedef struct pdl_image {
    int width, height;
    uint8_t *rgb; /* width * height * 3 bytes, row-major, R G B interleaved */
} pdl_image;

/* Reads the whole file at path and decodes it; errors name the path. */
pdl_status pdl_image_load(const char *path, pdl_image *out, pdl_error *err);

/* Decodes a PNG or JPEG held in memory; name is used in error messages only.
 * On failure out is left empty ({0, 0, NULL}). */
pdl_status pdl_image_decode(const uint8_t *buf, size_t len, const char *name, pdl_image *out,
                            pdl_error *err);

/* As pdl_image_decode with a lower pixel limit (max_pixels <= PDL_IMAGE_MAX_PIXELS);
 * used by the fuzzer so that hostile headers cannot make every run allocate
 * hundreds of megabytes. */
pdl_status pdl_image_decode_limited(const uint8_t *buf, size_t len, const char *name,
                                    uint64_t max_pixels, pdl_image *out, pdl_error *err);

/* Frees the pixels and clears img; safe on a cleared or already freed image. */
void pdl_image_free(pdl_image *img);

/* True when buf starts with a PNG or JPEG signature (needs 8 or 3 bytes). */
bool pdl_image_sniff(const uint8_t *buf, size_t len);

/* PNG writers. rgb is w*h*3 bytes, gray8 w*h bytes, gray16 w*h native-endian
 * values. Compression is tuned for label maps (fast, few distinct values). */
pdl_status pdl_png_write_rgb8(const char *path, int w, int h, const uint8_t *rgb, pdl_error *err);
pdl_status pdl_png_write_gray8(const char *path, int w, int h, const uint8_t *px, pdl_error *err);
pdl_status pdl_png_write_gray16(const char *path, int w, int h, const uint16_t *px, pdl_error *err);

#endif
