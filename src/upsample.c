/* upsample.c - the x4 bilinear upsampling of the head outputs, fused with the
 * crop to the unpadded image and the offset scaling, so the full-size tensors
 * are written once. Plain CHW: the heads are few channels and this runs on
 * the predictors' plain outputs. Coordinates follow PyTorch's
 * align_corners=False with a scale factor: src = (dst + 0.5) / factor - 0.5,
 * clamped at 0, neighbours clamped to the last row/column.
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>

typedef struct tap {
    int i0, i1;
    float w1; /* weight of i1; i0 gets 1 - w1 */
} tap;

static void taps(tap *t, int n_out, int n_in, int factor)
{
    float scale = 1.0f / (float)factor;
    for (int d = 0; d < n_out; d++) {
        float s = ((float)d + 0.5f) * scale - 0.5f;
        if (s < 0)
            s = 0;
        int i0 = (int)s;
        t[d].i0 = i0 < n_in - 1 ? i0 : n_in - 1;
        t[d].i1 = i0 + 1 < n_in ? i0 + 1 : n_in - 1;
        t[d].w1 = s - (float)i0;
    }
}

pdl_status pdl_upsample_crop(const float *src, int c, int h, int w, int factor, int out_h,
                             int out_w, float mul, float *dst, pdl_error *err)
{
    tap *ty = malloc((size_t)(out_h + out_w) * sizeof *ty);
    if (!ty)
        return pdl_fail(err, PDL_ERR_NOMEM, "upsampling to %dx%d: out of memory", out_w, out_h);
    tap *tx = ty + out_h;
    taps(ty, out_h, h, factor);
    taps(tx, out_w, w, factor);
#pragma omp parallel for collapse(2) schedule(static)
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < out_h; y++) {
            const float *r0 = src + ((size_t)ch * h + ty[y].i0) * w;
            const float *r1 = src + ((size_t)ch * h + ty[y].i1) * w;
            float wy1 = ty[y].w1, wy0 = 1.0f - wy1;
            float *o = dst + ((size_t)ch * out_h + y) * out_w;
            for (int x = 0; x < out_w; x++) {
                float a = r0[tx[x].i0] * (1.0f - tx[x].w1) + r0[tx[x].i1] * tx[x].w1;
                float b = r1[tx[x].i0] * (1.0f - tx[x].w1) + r1[tx[x].i1] * tx[x].w1;
                o[x] = (a * wy0 + b * wy1) * mul;
            }
        }
    free(ty);
    return PDL_OK;
}

pdl_status pdl_heads_upsample_full(pdl_head_outputs *out, float *dst, pdl_error *err)
{
    size_t plane = (size_t)out->height * (size_t)out->width;
    float *sem = dst, *center = sem + (size_t)out->num_classes * plane, *offset = center + plane;
    pdl_status st = pdl_upsample_crop(out->sem_logits, out->num_classes, out->h4, out->w4, 4,
                                      out->height, out->width, 1.0f, sem, err);
    if (st == PDL_OK)
        st = pdl_upsample_crop(out->center, 1, out->h4, out->w4, 4, out->height, out->width,
                               1.0f, center, err);
    if (st == PDL_OK)
        st = pdl_upsample_crop(out->offset, 2, out->h4, out->w4, 4, out->height, out->width,
                               4.0f, offset, err);
    out->sem_logits_up = sem;
    out->center_up = center;
    out->offset_up = offset;
    return st;
}
