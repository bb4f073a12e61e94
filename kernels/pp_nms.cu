/* pp_nms.cu - stage 2: center keypoint NMS, i.e. a k x k max-pool (stride 1,
 * -inf padding) of the thresholded heatmap; a pixel is a peak when its value is
 * > 0 and equals the pooled maximum (ties with the window maximum survive, as
 * in Detectron2).
 *
 * The pool is separable (rows, then columns) and each pass uses van Herk /
 * Gil-Werman: one element owns a block of k window starts, computes suffix
 * maxima of its block and prefix maxima of the next, and combines them, so the
 * cost per pixel is independent of k (41 for COCO). Max is exact, so this
 * equals the brute-force pool bit for bit. The column pass emits the peaks
 * directly, in arbitrary order (top-k sorts them later).
 */
#include "pp_common.h"

/* Window maxima for window starts base .. base + k - 1 along a line of `len`
 * values at `stride`, in coordinates padded by r = k / 2 on both sides, so the
 * window starting at s is centred on pixel s. */
template <typename Emit>
static PDL_HD void window_block(const float *src, long stride, int len, int k, int base, Emit emit)
{
    int r = k / 2;
    float suf[PDL_PP_MAX_NMS];
    float m = -INFINITY;
    for (int j = k - 1; j >= 0; j--) {
        int u = base + j - r;
        float v = (u >= 0 && u < len) ? src[u * stride] : -INFINITY;
        m = v > m ? v : m;
        suf[j] = m;
    }
    float p = -INFINITY;
    for (int j = 0; j < k && base + j < len; j++) {
        emit(base + j, suf[j] > p ? suf[j] : p);
        int u = base + k + j - r;
        float v = (u >= 0 && u < len) ? src[u * stride] : -INFINITY;
        p = v > p ? v : p;
    }
}

struct row_emit {
    float *out;
    PDL_HD void operator()(int s, float v) const { out[s] = v; }
};

struct peak_emit {
    const pdl_pp_nms_args *a;
    int x;
    PDL_HD void operator()(int s, float pooled) const
    {
        long p = (long)s * a->w + x;
        float t = a->ctr[p];
        if (t > 0.0f && t == pooled)
            a->cand[pdl_atomic_add_u32(a->counter, 1u)] = (int)p;
    }
};

static PDL_HD void rows_kernel(const pdl_pp_nms_args &a, long i)
{
    int blocks = (a.w + a.k - 1) / a.k;
    long y = i / blocks;
    int b = (int)(i % blocks);
    row_emit e = {a.rowmax + y * a.w};
    window_block(a.ctr + y * a.w, 1, a.w, a.k, b * a.k, e);
}

static PDL_HD void cols_kernel(const pdl_pp_nms_args &a, long i)
{
    int b = (int)(i / a.w), x = (int)(i % a.w);
    peak_emit e = {&a, x};
    window_block(a.rowmax + x, a.w, a.h, a.k, b * a.k, e);
}

extern "C" int PDL_EXEC(pp_nms_rows)(const pdl_pp_nms_args *in, void *stream)
{
    pdl_pp_nms_args a = *in;
    return PDL_LAUNCH(rows_kernel, a, (long)a.h * ((a.w + a.k - 1) / a.k), stream);
}

extern "C" int PDL_EXEC(pp_nms_cols)(const pdl_pp_nms_args *in, void *stream)
{
    pdl_pp_nms_args a = *in;
    return PDL_LAUNCH(cols_kernel, a, (long)((a.h + a.k - 1) / a.k) * a.w, stream);
}
