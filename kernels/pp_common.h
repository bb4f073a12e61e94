/* pp_common.h - bilinear sampling shared by the post-processing kernels.
 *
 * PyTorch's upsample_bilinear2d (align_corners=False) for one output pixel,
 * in float: source index scale * (dst + 0.5) - 0.5 clamped at 0, taps
 * i0 = trunc(src) and i0 + 1 (clamped to the last row/column), weights
 * l1 = src - i0 and l0 = 1 - l1, value (a*l0x + b*l1x)*l0y + (c*l0x + d*l1x)*l1y.
 * Every kernel that needs a head value at an output pixel samples it through
 * here, so the full-size tensors never exist.
 *
 * At integer upsampling factors (the heads' x4) every step is exact and the
 * values are PyTorch's bit for bit. At other factors (resized inputs) the
 * rounding differs: PyTorch 1.13's CPU kernel does not round the source
 * index to float (tests/ref/bilinear_rounding.py), so values differ from it
 * by up to ~5e-4 at coordinates near 2000; its CUDA kernel computes the
 * index in float as here (bench/RESULTS.md, resized input).
 */
#ifndef PDL_PP_COMMON_H
#define PDL_PP_COMMON_H

#include "pdl_kernel.h"
#include "postprocess_kernels.h"

typedef struct pdl_tap {
    long o00, o01, o10, o11; /* offsets of the four taps in a plane */
    float ly0, ly1, lx0, lx1;
} pdl_tap;

static inline PDL_HD pdl_axis_tap pdl_axis(int dst, float scale, int in)
{
    float src = pdl_fsub(pdl_fmul(scale, pdl_fadd((float)dst, 0.5f)), 0.5f);
    if (src < 0.0f)
        src = 0.0f;
    pdl_axis_tap t;
    t.i0 = (int)src;
    if (t.i0 > in - 1)
        t.i0 = in - 1;
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    t.l1 = pdl_fsub(src, (float)t.i0);
    t.l0 = pdl_fsub(1.0f, t.l1);
    return t;
}

static inline PDL_HD pdl_tap pdl_tap_make(pdl_axis_tap ty, pdl_axis_tap tx, int in_w)
{
    pdl_tap t;
    t.o00 = (long)ty.i0 * in_w + tx.i0;
    t.o01 = (long)ty.i0 * in_w + tx.i1;
    t.o10 = (long)ty.i1 * in_w + tx.i0;
    t.o11 = (long)ty.i1 * in_w + tx.i1;
    t.ly0 = ty.l0;
    t.ly1 = ty.l1;
    t.lx0 = tx.l0;
    t.lx1 = tx.l1;
    return t;
}

/* The interpolated value from the four tap values (PyTorch's order). */
static inline PDL_HD float pdl_blend(float v00, float v01, float v10, float v11, pdl_axis_tap ty,
                                     pdl_axis_tap tx)
{
    float top = pdl_fadd(pdl_fmul(v00, tx.l0), pdl_fmul(v01, tx.l1));
    float bot = pdl_fadd(pdl_fmul(v10, tx.l0), pdl_fmul(v11, tx.l1));
    return pdl_fadd(pdl_fmul(top, ty.l0), pdl_fmul(bot, ty.l1));
}

static inline PDL_HD float pdl_bilerp(const float *plane, const pdl_tap &t)
{
    pdl_axis_tap ty = {0, 0, t.ly0, t.ly1}, tx = {0, 0, t.lx0, t.lx1};
    return pdl_blend(plane[t.o00], plane[t.o01], plane[t.o10], plane[t.o11], ty, tx);
}

static inline PDL_HD long pdl_plane(const pdl_pp_map &m)
{
    return (long)m.in_h * m.in_w;
}

#endif
