/* image_internal.h - pieces the image decoders share; not part of the public
 * interface (image.h), but the tests use the orientation functions directly. */
#ifndef PDL_IMAGE_INTERNAL_H
#define PDL_IMAGE_INTERNAL_H

#include "image.h"

/* Checks w x h (zero, max_pixels, size_t overflow) and allocates img->rgb.
 * The check comes first, so a hostile header never causes a big allocation. */
pdl_status pdl_image_alloc(pdl_image *img, uint64_t w, uint64_t h, uint64_t max_pixels,
                           const char *name, pdl_error *err);

/* png_fast.c: decodes 8-bit RGB/RGBA non-interlaced PNGs with libdeflate into
 * out and returns true; returns false (out left empty) for every other file,
 * which then goes through libpng. */
bool pdl_png_decode_fast(const uint8_t *buf, size_t len, uint64_t max_pixels, pdl_image *out);

pdl_status pdl_png_decode(const uint8_t *buf, size_t len, const char *name, uint64_t max_pixels,
                          pdl_image *out, pdl_error *err);
pdl_status pdl_jpeg_decode(const uint8_t *buf, size_t len, const char *name, uint64_t max_pixels,
                           pdl_image *out, pdl_error *err);

/* The EXIF Orientation (tag 0x0112 in IFD0) of a JPEG APP1 payload that starts
 * with "Exif\0\0": 1..8, or 0 when absent, unreadable or out of range. */
int pdl_exif_orientation(const uint8_t *app1, size_t len);

/* Applies an EXIF orientation in place (may reallocate img->rgb); values other
 * than 2..8 leave the image as it is. */
pdl_status pdl_image_orient(pdl_image *img, int orientation, const char *name, pdl_error *err);

#endif
