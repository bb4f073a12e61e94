/* resize.h - Detectron2's test-time resize, bit-exact with Pillow.
 *
 * Detectron2 resizes test images with ResizeShortestEdge, which calls Pillow's
 * Image.resize(..., BILINEAR). Pillow's bilinear is a separable convolution
 * whose support widens with the downscale factor (so shrinking antialiases),
 * computed in 22-bit fixed point, horizontal pass first. We reproduce it to
 * the bit so published checkpoints see exactly the pixels they were
 * evaluated with.
 */
#ifndef PDL_RESIZE_H
#define PDL_RESIZE_H

#include <stdint.h>

#include "status.h"

/* Output size of ResizeShortestEdge(short_edge, max_size) for an h x w image.
 * short_edge == 0 keeps the size; max_size == 0 means no cap. */
void pdl_resize_shortest_edge_shape(int h, int w, int short_edge, int max_size, int *out_h,
                                    int *out_w);

/* Resizes 8-bit interleaved RGB src (sw x sh) into dst (dw x dh), as Pillow's
 * Image.resize((dw, dh), Image.BILINEAR) does. */
pdl_status pdl_resize_rgb8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh,
                           pdl_error *err);

#endif
