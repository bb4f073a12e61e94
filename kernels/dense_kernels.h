/* dense_kernels.h - the dense (non-convolution) kernels of the CUDA network,
 * as a C interface: input normalisation, bilinear resize, average pooling,
 * channel-slice copy and head outputs to the planar float post-processing
 * reads. Tensors are NHWC (channels innermost), one image per launch (the
 * resize takes several planes: images of a batch, or planar channels), float32
 * or binary16 (pdl_half, __half on the device; arithmetic always in float).
 *
 * kernels/dense_*.cu are compiled twice, like the post-processing kernels: by
 * g++ into the CPU executor (pdl_cpu_dense_*, in libpanoptic.a, which the
 * tests run) and by nvcc into the CUDA executor (pdl_cuda_dense_*, exported
 * by libpanoptic_cuda.so). Pointers live in the executor's memory (see
 * pdl_pp_kernels for alloc/upload/download). Every launcher queues its
 * kernels on `stream` (ignored by the CPU) and returns 0 or an executor error
 * code (cudaError_t under CUDA).
 */
#ifndef PDL_DENSE_KERNELS_H
#define PDL_DENSE_KERNELS_H

#include <stdint.h>

#include "pdl_half.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pdl_dense_type {
    PDL_DENSE_F32 = 0, /* float */
    PDL_DENSE_F16 = 1, /* pdl_half / __half */
} pdl_dense_type;

/* uint8 RGB interleaved h x w -> NHWC hp x wp x channels (channels >= 3):
 * (x - mean[c]) / std[c] in float, as pdl_model_preprocess computes it; the
 * padding (rows >= h, columns >= w) and channels 3.. are 0. */
typedef struct pdl_dense_normalize_args {
    pdl_dense_type type;
    int h, w, hp, wp, channels;
    float mean[3], std[3];
    const uint8_t *rgb;
    void *dst;
} pdl_dense_normalize_args;

/* Bilinear resize, align_corners=false (PyTorch: source index
 * (in / size) * (dst + 0.5) - 0.5 clamped at 0, the same arithmetic as
 * pdl_upsample_crop) of an in_h x in_w x channels tensor to the logical size
 * size_h x size_w, of which the top-left out_h x out_w is written (a crop;
 * out_* = size_* for none), each value times `mul`. Output pixel p, channel
 * c goes to dst[p * dst_stride + dst_c0 + c], so the result can land in a
 * channel slice of a wider tensor (a concat input). A 1 x 1 input is the
 * broadcast of a pooled vector. `planes` (0 means 1) such tensors lie one
 * after the other in src (in_h * in_w * channels apart) and dst (out_h *
 * out_w * dst_stride apart): the images of a batch, or with channels = 1 the
 * planes of a [c][h][w] array. */
typedef struct pdl_dense_resize_args {
    pdl_dense_type type;
    int in_h, in_w, channels;
    int size_h, size_w;
    int out_h, out_w;
    float mul;
    int dst_stride, dst_c0;
    const void *src;
    void *dst;
    int planes;
} pdl_dense_resize_args;

/* Average over every kh x kw window, stride 1, no padding (Detectron2's
 * ASPP AvgPool2d; with no padding count_include_pad does not matter): the
 * output is (h - kh + 1) x (w - kw + 1) x channels. The kernel is clamped
 * per dimension to the map, and 0 means the whole map (global pooling, a
 * 1 x 1 x channels output), as the model's AVGPOOL op defines it
 * (pdl_dense_pool_kernel). Rows then columns, as pdl_cpu_box_filter_nhwc:
 * `rows` is float scratch of h x (w - kw + 1) x channels, whatever the type. */
typedef struct pdl_dense_pool_args {
    pdl_dense_type type;
    int h, w, channels;
    int kh, kw;
    const void *src;
    float *rows;
    void *dst;
} pdl_dense_pool_args;

/* The effective window along a dimension of n for a requested kernel k. */
static inline int pdl_dense_pool_kernel(int k, int n)
{
    return k > 0 && k < n ? k : n;
}

/* Floats of `rows` scratch that pdl_*_dense_pool needs for these args. */
static inline long pdl_dense_pool_rows(const pdl_dense_pool_args *a)
{
    return (long)a->h * (a->w - pdl_dense_pool_kernel(a->kw, a->w) + 1) * a->channels;
}

/* Copies pixels x channels values from src (pixel stride src_stride) to
 * channels [dst_c0, dst_c0 + channels) of dst (pixel stride dst_stride). */
typedef struct pdl_dense_copy_args {
    pdl_dense_type type;
    long pixels;
    int channels;
    int src_stride;
    int dst_stride, dst_c0;
    const void *src;
    void *dst;
} pdl_dense_copy_args;

/* Head outputs for post-processing: channels [src_c0, src_c0 + channels) of
 * an NHWC tensor (pixel stride src_stride, float or half) to planar float
 * dst[c][y][x], the layout pdl_pp_* take (logits, center, offsets). */
typedef struct pdl_dense_planar_args {
    pdl_dense_type type;
    int h, w, channels;
    int src_stride, src_c0;
    const void *src;
    float *dst;
} pdl_dense_planar_args;

/* PDL_RUN_FULL's outputs on an executor: planar float heads [classes + 3]
 * [h4][w4] (logits, center, offsets (dy, dx)) upsampled x4 bilinearly into
 * dst [classes + 3][height][width], cropped, offsets x4: the values of
 * pdl_heads_upsample_full, through `resize` (pdl_cpu_dense_resize or
 * pdl_cuda_dense_resize) in two launches. */
static inline int pdl_dense_heads_up(int (*resize)(const pdl_dense_resize_args *, void *),
                                     int classes, int h4, int w4, int height, int width,
                                     const float *src, float *dst, void *stream)
{
    pdl_dense_resize_args a = {PDL_DENSE_F32, h4, w4, 1, 4 * h4, 4 * w4, height, width, 1.0f,
                               1, 0, src, dst, classes + 1};
    int rc = resize(&a, stream);
    a.mul = 4.0f;
    a.src = src + (long)(classes + 1) * h4 * w4;
    a.dst = dst + (long)(classes + 1) * height * width;
    a.planes = 2;
    return rc ? rc : resize(&a, stream);
}

#define PDL_DENSE_LAUNCHERS(exec)                                                               \
    int exec##_dense_normalize(const pdl_dense_normalize_args *a, void *stream);                \
    int exec##_dense_resize(const pdl_dense_resize_args *a, void *stream);                      \
    int exec##_dense_pool(const pdl_dense_pool_args *a, void *stream);                          \
    int exec##_dense_copy(const pdl_dense_copy_args *a, void *stream);                          \
    int exec##_dense_planar(const pdl_dense_planar_args *a, void *stream);

PDL_DENSE_LAUNCHERS(pdl_cpu)  /* CPU executor, in libpanoptic.a */
PDL_DENSE_LAUNCHERS(pdl_cuda) /* CUDA executor, only in libpanoptic_cuda.so */

#ifdef __cplusplus
}
#endif

#endif
