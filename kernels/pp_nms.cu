/* pp_nms.cu - stage 2: center keypoint NMS, i.e. a k x k max-pool (stride 1,
 * -inf padding) of the thresholded heatmap; a pixel is a peak when its value is
 * > 0 and equals the pooled maximum (ties with the window maximum survive, as
 * in Detectron2).
 *
 * The pool is separable (rows, then columns) and each pass uses van Herk /
 * Gil-Werman: one element owns a block of k window starts, computes suffix
 * maxima of its block and prefix maxima of the next, and combines them, so the
 * cost per pixel is independent of k (41 for COCO). Max is exact, so this
 * equals the brute-force pool bit for bit. The column pass handles
 * PDL_PP_NMS_LANES adjacent columns per element (vectorised on the host, still
 * tens of thousands of threads on the GPU) and emits the peaks directly, in
 * arbitrary order (top-k sorts them later). Suffix maxima live in memory the
 * element owns (its output row, or the column pass's scratch), not in
 * per-thread arrays: at k = 255 those would take 8 KB of local memory per GPU
 * thread, which the driver reserves for every thread the GPU can hold.
 *
 * Above-threshold values are sparse (near centers), and a window maximum that
 * is <= 0 never decides a peak: a peak is > 0 and is part of its own window.
 * So a row block whose inputs are all <= 0 stores 0 instead of its maxima, and
 * a column block with no value > 0 of its own emits nothing and stops: both
 * only scan their values, which the host does with vector compares. Every
 * peak is found exactly as by the full pool.
 */
#include "pp_common.h"

/* Window maxima for window starts base .. base + k - 1 of a row of `len`
 * values, in coordinates padded by r = k / 2 on both sides, so the window
 * starting at s is centred on pixel s. The block's suffix maxima are written
 * to out[] first and combined there with the next block's prefix maxima, so
 * a thread needs no array of its own (k goes up to 255). */
static PDL_HD void row_block(const float *src, float *out, int len, int k, int base)
{
    int r = k / 2;
    float m = -INFINITY;
    for (int j = k - 1; j >= 0; j--) {
        int u = base + j - r;
        float v = (u >= 0 && u < len) ? src[u] : -INFINITY;
        m = v > m ? v : m;
        if (base + j < len)
            out[base + j] = m;
    }
    float p = -INFINITY;
    for (int j = 0; j < k && base + j < len; j++) {
        float suf = out[base + j];
        out[base + j] = suf > p ? suf : p;
        int u = base + k + j - r;
        float v = (u >= 0 && u < len) ? src[u] : -INFINITY;
        p = v > p ? v : p;
    }
}

/* The peaks among rows base .. base + k - 1 at columns x0 .. x0 + L - 1,
 * whose column suffix maxima are in colmax: counted, or with EMIT written to
 * cand[0 ..]. Returns how many. The counting form is a vector compare and
 * sum on the host. */
template <int L, bool EMIT>
static PDL_HD unsigned block_peaks(const pdl_pp_nms_args &a, int base, int x0, int *cand)
{
    int r = a.k / 2;
    float p[L];
    for (int l = 0; l < L; l++)
        p[l] = -INFINITY;
    unsigned n = 0;
    for (int j = 0; j < a.k && base + j < a.h; j++) {
        long row = (long)(base + j) * a.w + x0;
        const float *t = a.ctr + row, *suf = a.colmax + row;
        for (int l = 0; l < L; l++) {
            int hit = t[l] > 0.0f && t[l] == (suf[l] > p[l] ? suf[l] : p[l]);
            if (EMIT && hit)
                cand[n] = (int)(row + l);
            n += hit;
        }
        int u = base + a.k + j - r;
        if (u < a.h) {
            const float *src = a.rowmax + (long)u * a.w + x0;
            for (int l = 0; l < L; l++)
                p[l] = src[l] > p[l] ? src[l] : p[l];
        }
    }
    return n;
}

/* The column pass for window starts base .. base + k - 1 (rows) at L adjacent
 * columns x0 .. x0 + L - 1: the same van Herk scheme as row_block, with the
 * L columns innermost so the host vectorises them, and the suffix maxima in
 * the caller's scratch (the element's own rows and columns of it). The
 * block's peaks are counted first and their slots in the list reserved with
 * one atomic: on a plateau every pixel is a peak, and an atomic per peak
 * would serialise the threads on the counter. */
template <int L>
static PDL_HD void cols_block(const pdl_pp_nms_args &a, int base, int x0)
{
    int any = 0;
    for (int j = 0; j < a.k && base + j < a.h; j++) {
        const float *t = a.ctr + (long)(base + j) * a.w + x0;
        for (int l = 0; l < L; l++)
            any |= t[l] > 0.0f;
    }
    if (!any)
        return;
    int r = a.k / 2;
    float m[L];
    for (int l = 0; l < L; l++)
        m[l] = -INFINITY;
    for (int j = a.k - 1; j >= 0; j--) {
        int u = base + j - r;
        if (u >= 0 && u < a.h) {
            const float *src = a.rowmax + (long)u * a.w + x0;
            for (int l = 0; l < L; l++)
                m[l] = src[l] > m[l] ? src[l] : m[l];
        }
        if (base + j < a.h) {
            float *suf = a.colmax + (long)(base + j) * a.w + x0;
            for (int l = 0; l < L; l++)
                suf[l] = m[l];
        }
    }
    unsigned n = block_peaks<L, false>(a, base, x0, NULL);
    if (n)
        block_peaks<L, true>(a, base, x0, a.cand + pdl_atomic_add_u32(a.counter, n));
}

/* Whether any of src[lo .. hi - 1] is > 0: running maxima in 8 lanes, the
 * form GCC vectorises (it leaves a plain any-reduction scalar). */
static inline PDL_HD int any_positive(const float *src, int lo, int hi)
{
    float m[8];
    for (int l = 0; l < 8; l++)
        m[l] = 0.0f;
    int u = lo;
    for (; u + 8 <= hi; u += 8)
        for (int l = 0; l < 8; l++)
            m[l] = src[u + l] > m[l] ? src[u + l] : m[l];
    for (; u < hi; u++)
        m[0] = src[u] > m[0] ? src[u] : m[0];
    int any = 0;
    for (int l = 0; l < 8; l++)
        any |= m[l] > 0.0f;
    return any;
}

/* Window starts per element of the row pass: whole van Herk blocks of k, about
 * PDL_PP_SEGMENT of them, so the all-below-zero scan covers a long run. */
static inline PDL_HD int row_span(int k)
{
    return k < PDL_PP_SEGMENT ? PDL_PP_SEGMENT / k * k : k;
}

static PDL_HD void rows_kernel(const pdl_pp_nms_args &a, long i)
{
    int span = row_span(a.k), spans = (a.w + span - 1) / span;
    long y = i / spans;
    int base = (int)(i % spans) * span, end = base + span < a.w ? base + span : a.w;
    const float *src = a.ctr + y * a.w;
    float *out = a.rowmax + y * a.w;
    int r = a.k / 2;
    int lo = base - r > 0 ? base - r : 0, hi = end + r < a.w ? end + r : a.w;
    if (!any_positive(src, lo, hi)) {
        for (int s = base; s < end; s++)
            out[s] = 0.0f;
        return;
    }
    for (int b = base; b < end; b += a.k)
        row_block(src, out, a.w, a.k, b);
}

/* One element: a block of k window starts down PDL_PP_NMS_LANES adjacent
 * columns (the last group of a row may be narrower and goes column by column). */
static PDL_HD void cols_kernel(const pdl_pp_nms_args &a, long i)
{
    int groups = (a.w + PDL_PP_NMS_LANES - 1) / PDL_PP_NMS_LANES;
    int b = (int)(i / groups), x0 = (int)(i % groups) * PDL_PP_NMS_LANES;
    if (x0 + PDL_PP_NMS_LANES <= a.w) {
        cols_block<PDL_PP_NMS_LANES>(a, b * a.k, x0);
        return;
    }
    for (int x = x0; x < a.w; x++)
        cols_block<1>(a, b * a.k, x);
}

extern "C" int PDL_EXEC(pp_nms_rows)(const pdl_pp_nms_args *in, void *stream)
{
    pdl_pp_nms_args a = *in;
    int span = row_span(a.k);
    return PDL_LAUNCH(rows_kernel, a, (long)a.h * ((a.w + span - 1) / span), stream);
}

extern "C" int PDL_EXEC(pp_nms_cols)(const pdl_pp_nms_args *in, void *stream)
{
    pdl_pp_nms_args a = *in;
    long groups = (a.w + PDL_PP_NMS_LANES - 1) / PDL_PP_NMS_LANES;
    return PDL_LAUNCH(cols_kernel, a, (long)((a.h + a.k - 1) / a.k) * groups, stream);
}
