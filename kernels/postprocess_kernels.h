/* postprocess_kernels.h - the post-processing kernels as a C ops table.
 *
 * kernels/pp_*.cu are compiled by g++ into the CPU executor
 * (pdl_cpu_pp_kernels, linked into libpanoptic.a; on x86-64 a second time for
 * AVX2, pdl_cpu_avx2_pp_kernels) and by nvcc into the CUDA executor
 * (pdl_cuda_pp_kernels, exported by libpanoptic_cuda.so). Both fill
 * this table, so src/postprocess.c drives either one with the same code. All
 * pointers in the argument structs live in the executor's memory; every entry
 * returns 0 or an executor error code (see error_string). Kernels are queued
 * on `stream` (ignored by the CPU); only download() waits.
 */
#ifndef PDL_POSTPROCESS_KERNELS_H
#define PDL_POSTPROCESS_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PDL_PP_MAX_CLASSES 255 /* semantic labels are stored as bytes */
/* Channel-last logits rows are padded to a multiple of 4 classes (with
 * -1e30, whose softmax weight is 0) so the host's 4-wide vector loops have no
 * scalar remainder. */
#define PDL_PP_PADDED(classes) (((classes) + 3) & ~3)
#define PDL_PP_MAX_NMS 255     /* largest NMS window */
#define PDL_PP_HEAD_LANES 8    /* adjacent head pixels per element of semantic_heads */
#define PDL_PP_NMS_LANES 8     /* adjacent columns per element of the NMS column pass */
#define PDL_PP_MAX_TOP_K 65535 /* instance ids are stored as 16-bit */
#define PDL_PP_SEGMENT 64      /* pixels of one row handled by one element in run-length kernels */
#define PDL_PP_GRID 32         /* cell size of the center look-up grid used for grouping */

/* How head tensors map to output pixels: bilinear resize (align_corners
 * false, PyTorch's source index src = (dst + 0.5) * scale - 0.5 clamped at 0)
 * of the in_h x in_w grid, of which the top-left out_h x out_w is the output. */
typedef struct pdl_pp_map {
    int in_h, in_w;
    int out_h, out_w;
    float scale_y, scale_x;               /* in / resized size */
    float offset_scale_y, offset_scale_x; /* multiplies the resized offsets */
} pdl_pp_map;

/* One output coordinate's bilinear taps along an axis: source indices i0, i1
 * and weights l0, l1 (kernels/pp_common.h, pdl_axis). */
typedef struct pdl_axis_tap {
    int i0, i1;
    float l0, l1;
} pdl_axis_tap;

/* The horizontal taps of every output column, the same for all rows: made
 * once per image (axis_taps) and read by the per-pixel kernels. */
typedef struct pdl_pp_axis_args {
    pdl_pp_map map;
    pdl_axis_tap *xtap; /* [out] [out_w] */
    int *xend;          /* [out] [out_w] first column after x's run of equal xtap.i0 */
} pdl_pp_axis_args;

/* Per head pixel: the logits channel-last and the winning class, its logit,
 * the runner-up logit and the largest magnitude (semantic_heads); then per
 * head cell (y0, x0): the classes that can be the argmax at an output pixel
 * interpolated from that cell's four taps (semantic_cells). */
typedef struct pdl_pp_cells_args {
    int in_h, in_w, classes;
    const float *logits;         /* [classes][in_h][in_w] */
    float *logits_last;          /* [out] [in_h * in_w][PDL_PP_PADDED(classes)] */
    unsigned char *win;          /* [out] [in_h * in_w] */
    float *top, *second, *amax;  /* [out] [in_h * in_w] */
    unsigned char *cell_classes; /* [out] [in_h * in_w][classes] */
    unsigned char *cell_count;   /* [out] [in_h * in_w] */
} pdl_pp_cells_args;

typedef struct pdl_pp_semantic_args {
    pdl_pp_map map;
    int classes;
    float threshold;
    float below; /* four center taps all below this: every pixel between them is below threshold */
    const pdl_axis_tap *xtap;
    const int *xend;
    const float *logits, *center;
    const unsigned char *isthing;
    const unsigned char *cell_classes, *cell_count; /* NULL: consider every class */
    unsigned char *sem; /* [out] argmax class */
    float *ctr;         /* [out] center heatmap, v > threshold ? v : -1 */
} pdl_pp_semantic_args;

typedef struct pdl_pp_nms_args {
    int h, w, k;
    const float *ctr;  /* thresholded heatmap */
    float *rowmax;     /* row-window maxima (written by nms_rows, read by nms_cols) */
    float *colmax;     /* [h][w] scratch of nms_cols (suffix maxima) */
    int *cand;         /* [out] pixel index of each peak, in no particular order */
    unsigned *counter; /* [out] number of peaks (zeroed by the caller) */
} pdl_pp_nms_args;

/* Radix select over 64-bit keys (value bits << 32 | ~pixel index), so keys
 * are unique and order by value, then by raster index. */
typedef struct pdl_pp_topk_args {
    const int *cand;
    long count;
    const float *ctr;
    int shift;                /* topk_hist: histogram of bits [shift, shift + 8) */
    unsigned long long prefix; /* topk_hist: bits above shift + 8 that keys must have */
    unsigned *hist;            /* [256] */
    int value_only;            /* topk_select: compare value bits only (Detectron2's rule) */
    unsigned long long bound;  /* topk_select: keep keys > bound (value_only) or >= bound */
    int *sel;                  /* [out] kept pixel indices */
    float *sel_value;          /* [out] their heatmap values */
    unsigned *sel_count;       /* [out] (zeroed by the caller) */
} pdl_pp_topk_args;

typedef struct pdl_pp_group_args {
    pdl_pp_map map;
    int classes, centers;
    const pdl_axis_tap *xtap;
    const float *offsets;           /* [2][in_h][in_w], (dy, dx) */
    const unsigned char *sem, *isthing;
    const float *center_y, *center_x; /* [centers], raster order */
    int grid_h, grid_w;
    unsigned short *cell_list; /* [grid cells][centers]: centers that can be nearest in the cell */
    unsigned short *cell_n;    /* [grid cells] */
    unsigned short *ins;       /* [out] instance id 1..centers, 0 for none */
    unsigned *vote;            /* [out] [centers][classes] class histogram per instance */
    unsigned *stuff_area;      /* [out] [classes] pixels per stuff class */
} pdl_pp_group_args;

typedef struct pdl_pp_paint_args {
    pdl_pp_map map;
    int classes;
    const pdl_axis_tap *xtap;
    const float *logits;      /* planar [classes][in_h][in_w], or NULL to use logits_last */
    const float *logits_last; /* channel-last [in_h * in_w][PDL_PP_PADDED(classes)] */
    const unsigned char *sem;
    const unsigned short *ins;
    const int *ins_value;     /* [centers + 1] panoptic id per instance */
    const int *ins_class;     /* [centers + 1] voted class per instance */
    const int *stuff_value;   /* [classes] class * divisor; -1 for things and stuff too small */
    int *pan;                 /* [out] panoptic map, void = -1 */
    unsigned *ins_area;       /* [out] [centers + 1] */
    int *ins_box;             /* [out] [centers + 1][4] x0 y0 x1 y1 (set to INT_MAX/-1 first) */
    unsigned long long *ins_prob; /* [out] [centers + 1] class probability sums, 32.32 fixed point */
    int *stuff_box;           /* [out] [classes][4] */
} pdl_pp_paint_args;

typedef struct pdl_pp_kernels {
    const char *name;
    int host_memory; /* 1 when executor memory is ordinary host memory */
    int (*available)(char *why, size_t size);
    const char *(*error_string)(int code);
    int (*alloc)(void **ptr, size_t bytes);
    void (*release)(void *ptr);
    int (*upload)(void *dst, const void *src, size_t bytes, void *stream);
    int (*download)(void *dst, const void *src, size_t bytes, void *stream); /* waits */
    int (*zero)(void *dst, size_t bytes, void *stream);
    /* launch over the out_w output columns */
    int (*axis_taps)(const pdl_pp_axis_args *a, void *stream);
    /* launch over in_h * in_w head pixels (in groups of PDL_PP_HEAD_LANES) / cells */
    int (*semantic_heads)(const pdl_pp_cells_args *a, void *stream);
    int (*semantic_cells)(const pdl_pp_cells_args *a, void *stream);
    /* launches over row segments of the output */
    int (*semantic)(const pdl_pp_semantic_args *a, void *stream);
    int (*nms_rows)(const pdl_pp_nms_args *a, void *stream);
    int (*nms_cols)(const pdl_pp_nms_args *a, void *stream);
    int (*topk_hist)(const pdl_pp_topk_args *a, void *stream);
    int (*topk_select)(const pdl_pp_topk_args *a, void *stream);
    int (*group_cells)(const pdl_pp_group_args *a, void *stream);
    int (*group)(const pdl_pp_group_args *a, void *stream);
    int (*paint)(const pdl_pp_paint_args *a, void *stream);
} pdl_pp_kernels;

extern const pdl_pp_kernels pdl_cpu_pp_kernels;
/* The same kernels built for AVX2 (x86-64 only; PDL_CPU_AVX2_BUILT says it is
 * linked in). Same results bit for bit: no FMA contraction in either build. */
extern const pdl_pp_kernels pdl_cpu_avx2_pp_kernels;
/* The CPU executor for this machine: the AVX2 build where the CPU has AVX2,
 * else the generic one. */
const pdl_pp_kernels *pdl_cpu_pp_executor(void);
/* Defined only inside libpanoptic_cuda.so. */
extern const pdl_pp_kernels pdl_cuda_pp_kernels;
/* Name under which libpanoptic_cuda.so exports its table (for dlsym). */
#define PDL_CUDA_PP_KERNELS_SYMBOL "pdl_cuda_pp_kernels"

#ifdef __cplusplus
}
#endif

#endif
