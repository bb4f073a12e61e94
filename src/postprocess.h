/* postprocess.h - Panoptic-DeepLab post-processing: head outputs in, panoptic
 * map and segment list out, on either executor of kernels/ (CPU or CUDA).
 *
 * Semantics are Detectron2's get_panoptic_segmentation (design.md section 5):
 * center NMS by k x k max-pool (ties with the window max survive), top-k with
 * Detectron2's rule (keep peaks > max(k-th largest, 0), so with >= k peaks at
 * most k - 1 survive; exact_top_k keeps exactly k, ties by raster order; a map
 * with fewer than k pixels keeps all its peaks), centers ordered by raster
 * index give instance ids 1..K, nearest center by first minimum of the float
 * Euclidean distance, majority vote (ties -> smaller class), ids per class in
 * instance order, stuff below stuff_area -> void.
 *
 * The panoptic map is int32 class * label_divisor + n (things, n = 1, 2, ...)
 * or class * label_divisor (stuff), void = -1 (0 is a valid id: stuff class 0).
 * Scores (things): objectness (center heatmap value at the instance's peak, as
 * in the paper; Detectron2's model instead reads the heatmap at the mask
 * centroid) x mean over the final mask of the softmax probability of the
 * instance's class. Stuff segments have score 1.
 */
#ifndef PDL_POSTPROCESS_H
#define PDL_POSTPROCESS_H

#include <stdint.h>

#include "postprocess_kernels.h"
#include "status.h"

typedef struct pdl_pp_options {
    float threshold;   /* center score threshold (0.1) */
    int nms_kernel;    /* odd, 1..PDL_PP_MAX_NMS (7; COCO 41) */
    int top_k;         /* 1..PDL_PP_MAX_TOP_K (200) */
    int stuff_area;    /* smallest stuff segment kept (2048; COCO 4096) */
    int label_divisor; /* 1000 */
    int exact_top_k;   /* 0: Detectron2's k - 1 quirk (default); 1: exactly k */
    int classes;       /* 1..PDL_PP_MAX_CLASSES */
    const unsigned char *isthing; /* [classes], copied by pdl_pp_init */
} pdl_pp_options;

/* Head tensors, in the executor's memory (device pointers for CUDA). They are
 * bilinearly resized (align_corners false) from in_h x in_w to
 * resize_h x resize_w, of which the top-left out_h x out_w is the output;
 * offsets (dy, dx) are multiplied by offset_scale after resizing. */
typedef struct pdl_pp_heads {
    const float *semantic; /* [classes][in_h][in_w] logits */
    const float *center;   /* [in_h][in_w] */
    const float *offset;   /* [2][in_h][in_w] */
    int in_h, in_w;
    int resize_h, resize_w;
    int out_h, out_w;
    float offset_scale_y, offset_scale_x;
} pdl_pp_heads;

typedef struct pdl_pp_segment {
    int32_t id;   /* value in the panoptic map */
    int category; /* class index */
    int isthing;
    int64_t area;
    int bbox[4]; /* x, y, width, height */
    float score;
} pdl_pp_segment;

typedef struct pdl_pp_center {
    int y, x;
    float objectness; /* upsampled heatmap value at the peak */
} pdl_pp_center;

/* Owned by the context, valid until the next run or pdl_pp_free. */
typedef struct pdl_pp_result {
    int height, width;
    const int32_t *panoptic; /* [height][width], host memory */
    const pdl_pp_segment *segments; /* instances in id order, then stuff by class */
    int segment_count;
    const pdl_pp_center *centers; /* kept centers, raster order; instance i is centers[i - 1] */
    int center_count;
} pdl_pp_result;

typedef struct pdl_pp_context pdl_pp_context;

/* Defaults of Detectron2's Cityscapes config; classes and isthing stay unset. */
void pdl_pp_options_default(pdl_pp_options *opt);

/* Heads at 1/stride of the output, Detectron2's layout: resized by stride,
 * offsets scaled by stride, cropped to out_h x out_w. */
void pdl_pp_heads_strided(pdl_pp_heads *h, const float *semantic, const float *center,
                          const float *offset, int in_h, int in_w, int stride, int out_h, int out_w);

/* `stream` is a cudaStream_t for the CUDA executor (NULL: default stream). */
pdl_status pdl_pp_init(pdl_pp_context **out, const pdl_pp_kernels *exec, void *stream,
                       const pdl_pp_options *opt, pdl_error *err);
/* Buffers grow to the largest size seen and are reused: no allocation per
 * image after the first of a size. */
pdl_status pdl_pp_run(pdl_pp_context *ctx, const pdl_pp_heads *heads, pdl_pp_result *out,
                      pdl_error *err);
void pdl_pp_free(pdl_pp_context *ctx);

#endif
