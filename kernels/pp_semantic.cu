/* pp_semantic.cu - stage 1: the semantic argmax and the thresholded center
 * heatmap at output size, sampled straight from the head grid so full-size
 * logits never exist.
 *
 * When the output is an upsampling of the heads, semantic_heads stores the
 * logits channel-last (for the per-instance class probabilities computed when
 * painting) with each head pixel's best and second-best logit, and
 * semantic_cells lists per head cell the classes that can be the maximum
 * somewhere in the cell. Interpolation is a convex combination of the four
 * taps, so when one class beats all others at all four taps it wins the whole
 * cell, and otherwise a class below, at all four taps, the mean of the classes
 * that win a tap (less a margin for float rounding) never wins. A pixel then
 * samples only the listed classes (usually one, then none at all) instead of
 * all of them, and the argmax is still exactly that over all classes (first
 * maximum wins).
 *
 * semantic runs over row segments of PDL_PP_SEGMENT pixels so the row's
 * vertical tap is computed once and no per-pixel division is needed; the
 * horizontal taps come from the per-image table that axis_taps makes.
 */
#include "pp_common.h"

/* Head pixels i0 .. i0 + L - 1, pixels innermost: L independent update chains
 * per class and one pass over each plane's contiguous run. Classes go in
 * blocks of 4 (a padded channel-last row holds whole blocks): the block is
 * loaded plane by plane, then stored pixel by pixel as 4 contiguous floats,
 * and the running maxima are plain selects over the L pixels, so the host
 * compiles both to vector code with no branches. */
template <int L>
static PDL_HD void heads_block(const pdl_pp_cells_args &a, long i0)
{
    long plane = (long)a.in_h * a.in_w;
    int padded = PDL_PP_PADDED(a.classes);
    float *last = a.logits_last + i0 * padded;
    float top[L], second[L], amax[L];
    int win[L];
    for (int l = 0; l < L; l++) {
        top[l] = second[l] = -INFINITY;
        amax[l] = 0.0f;
        win[l] = 0;
    }
    for (int c0 = 0; c0 < padded; c0 += 4) {
        float v[4][L];
        for (int k = 0; k < 4; k++) {
            if (c0 + k < a.classes) {
                const float *src = a.logits + (c0 + k) * plane + i0;
                for (int l = 0; l < L; l++)
                    v[k][l] = src[l];
            } else {
                for (int l = 0; l < L; l++)
                    v[k][l] = -1e30f;
            }
        }
        for (int l = 0; l < L; l++)
            for (int k = 0; k < 4; k++)
                last[l * padded + c0 + k] = v[k][l];
        for (int k = 0; k < 4 && c0 + k < a.classes; k++)
            for (int l = 0; l < L; l++) {
                float x = v[k][l], t = top[l];
                float lo = x > t ? t : x;
                float m = x > amax[l] ? x : amax[l];
                amax[l] = -x > m ? -x : m;
                second[l] = lo > second[l] ? lo : second[l];
                /* arithmetic, not a select: GCC will not if-convert an
                 * int select on a float compare, and then vectorises nothing */
                win[l] += (x > t) * (c0 + k - win[l]);
                top[l] = x > t ? x : t;
            }
    }
    for (int l = 0; l < L; l++) {
        a.win[i0 + l] = (unsigned char)win[l];
        a.top[i0 + l] = top[l];
        a.second[i0 + l] = second[l];
        a.amax[i0 + l] = amax[l];
    }
}

/* One element: PDL_PP_HEAD_LANES adjacent head pixels (the last, shorter
 * group goes pixel by pixel). */
static PDL_HD void heads_kernel(const pdl_pp_cells_args &a, long i)
{
    long n = (long)a.in_h * a.in_w, i0 = i * PDL_PP_HEAD_LANES;
    if (i0 + PDL_PP_HEAD_LANES <= n) {
        heads_block<PDL_PP_HEAD_LANES>(a, i0);
        return;
    }
    for (long j = i0; j < n; j++)
        heads_block<1>(a, j);
}

static PDL_HD void cells_kernel(const pdl_pp_cells_args &a, long i)
{
    int y = (int)(i / a.in_w), x = (int)(i % a.in_w);
    int y1 = y + (y < a.in_h - 1 ? 1 : 0), x1 = x + (x < a.in_w - 1 ? 1 : 0);
    long tap[4] = {(long)y * a.in_w + x, (long)y * a.in_w + x1, (long)y1 * a.in_w + x,
                   (long)y1 * a.in_w + x1};
    /* Only the cells with several candidates read the channel-last rows, too
     * sparsely for the hardware prefetcher: keep both rows coming, 16 head
     * pixels ahead (at most the last pixel). */
    long last = (long)a.in_h * a.in_w - 1;
    for (int t = 0; t < 4; t += 2)
        pdl_prefetch(a.logits_last +
                     (tap[t] + 16 < last ? tap[t] + 16 : last) * PDL_PP_PADDED(a.classes));
    /* Interpolated values stay within a few ulps of the taps' range, far
     * inside 1e-5 of the largest tap magnitude. */
    float amax = 0.0f;
    for (int t = 0; t < 4; t++)
        amax = a.amax[tap[t]] > amax ? a.amax[tap[t]] : amax;
    float margin = 2e-5f * amax;
    unsigned char *list = a.cell_classes + i * a.classes;

    /* One class clearly wins all four taps: it wins everywhere in the cell. */
    int w = a.win[tap[0]], clear = 1;
    for (int t = 0; t < 4; t++)
        clear &= a.win[tap[t]] == w && a.second[tap[t]] < a.top[tap[t]] - margin;
    if (clear) {
        list[0] = (unsigned char)w;
        a.cell_count[i] = 1;
        return;
    }

    /* Otherwise the maximum at any interpolated point is at least the
     * interpolated mean of the classes that win some tap, so a class below
     * that mean at all four taps never wins. */
    const float *row[4];
    for (int t = 0; t < 4; t++)
        row[t] = a.logits_last + tap[t] * PDL_PP_PADDED(a.classes);
    float mean[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int winners = 0;
    for (int t = 0; t < 4; t++) {
        int seen = 0;
        for (int u = 0; u < t; u++)
            seen |= a.win[tap[u]] == a.win[tap[t]];
        if (seen)
            continue;
        winners++;
        for (int s = 0; s < 4; s++)
            mean[s] += row[s][a.win[tap[t]]];
    }
    float bound[4];
    for (int t = 0; t < 4; t++)
        bound[t] = mean[t] / (float)winners - margin;
    int n = 0;
    for (int c = 0; c < a.classes; c++)
        if (!(row[0][c] < bound[0] && row[1][c] < bound[1] && row[2][c] < bound[2] &&
              row[3][c] < bound[3]))
            list[n++] = (unsigned char)c;
    a.cell_count[i] = (unsigned char)n;
}

/* The taps of column x and the end of its run: the source index is
 * nondecreasing in x (every step of pdl_axis is monotone), so the first
 * column with a larger i0 is found by bisection. */
static PDL_HD void axis_kernel(const pdl_pp_axis_args &a, long x)
{
    pdl_axis_tap t = pdl_axis((int)x, a.map.scale_x, a.map.in_w);
    a.xtap[x] = t;
    int lo = (int)x, hi = a.map.out_w; /* i0(lo) == t.i0; hi is past the run */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (pdl_axis(mid, a.map.scale_x, a.map.in_w).i0 == t.i0)
            lo = mid;
        else
            hi = mid;
    }
    a.xend[x] = hi;
}

/* The argmax class at output pixel p with taps t: the first maximum over the
 * cell's candidate classes. */
static inline PDL_HD int sampled_argmax(const pdl_pp_semantic_args &a, const pdl_tap &t,
                                        const unsigned char *list, int n)
{
    long plane = pdl_plane(a.map);
    int best = 0;
    float best_v = 0.0f;
    for (int j = 0; j < n; j++) {
        int c = list[j];
        float l = pdl_bilerp(a.logits + c * plane, t);
        if (j == 0 || l > best_v) {
            best = c;
            best_v = l;
        }
    }
    return best;
}

/* The argmax over every class at L adjacent pixels x0 .. x0 + L - 1 of one
 * row, classes outer and the pixels innermost, so the host computes the L
 * interpolations and running maxima as vectors (the per-pixel loop over
 * classes stayed scalar and was 70% of the time for resized inputs). Each
 * value is pdl_blend of the same taps, and the update keeps the first
 * maximum, so the result is the per-pixel loop's bit for bit. */
template <int L>
static PDL_HD void argmax_lanes(const pdl_pp_semantic_args &a, pdl_axis_tap ty, long row, int x0)
{
    long plane = pdl_plane(a.map);
    const float *r0 = a.logits + (long)ty.i0 * a.map.in_w, *r1 = a.logits + (long)ty.i1 * a.map.in_w;
    int i0[L], i1[L], best[L];
    float lx0[L], lx1[L], best_v[L];
    for (int l = 0; l < L; l++) {
        pdl_axis_tap tx = a.xtap[x0 + l];
        i0[l] = tx.i0;
        i1[l] = tx.i1;
        lx0[l] = tx.l0;
        lx1[l] = tx.l1;
        best[l] = 0;
        best_v[l] = -INFINITY; /* replaced by class 0 */
    }
    for (int c = 0; c < a.classes; c++) {
        const float *p0 = r0 + c * plane, *p1 = r1 + c * plane;
        for (int l = 0; l < L; l++) {
            float top = pdl_fadd(pdl_fmul(p0[i0[l]], lx0[l]), pdl_fmul(p0[i1[l]], lx1[l]));
            float bot = pdl_fadd(pdl_fmul(p1[i0[l]], lx0[l]), pdl_fmul(p1[i1[l]], lx1[l]));
            float v = pdl_fadd(pdl_fmul(top, ty.l0), pdl_fmul(bot, ty.l1));
            /* arithmetic, not a select: see heads_block */
            int take = c == 0 || v > best_v[l];
            best[l] += take * (c - best[l]);
            best_v[l] = take ? v : best_v[l];
        }
    }
    for (int l = 0; l < L; l++)
        a.sem[row + x0 + l] = (unsigned char)best[l];
}

#define PP_ARGMAX_LANES 8

/* Without class lists: every class at every pixel of the segment. */
static PDL_HD void argmax_all(const pdl_pp_semantic_args &a, pdl_axis_tap ty, long row, int xs,
                              int xe)
{
    int x = xs;
    for (; x + PP_ARGMAX_LANES <= xe; x += PP_ARGMAX_LANES)
        argmax_lanes<PP_ARGMAX_LANES>(a, ty, row, x);
    for (; x < xe; x++)
        argmax_lanes<1>(a, ty, row, x);
}

/* p[x .. end - 1] = v; runs of 4 (x4 upsampling) as one vector store. */
template <typename T>
static inline PDL_HD void fill(T *p, int x, int end, T v)
{
    if (end - x == 4) {
        for (int u = 0; u < 4; u++)
            p[x + u] = v;
        return;
    }
    for (int u = x; u < end; u++)
        p[u] = v;
}

/* Pixels are taken in runs that read the same head column pair (4 in a row at
 * x4 upsampling): the run shares the tap offsets, the four center taps and
 * the cell's class list. A run whose center taps are all below `below` is
 * below threshold everywhere and one whose cell has a single candidate class
 * has that class everywhere; both are filled without sampling. */
static PDL_HD void semantic_kernel(const pdl_pp_semantic_args &a, long i)
{
    int segs = (a.map.out_w + PDL_PP_SEGMENT - 1) / PDL_PP_SEGMENT;
    int y = (int)(i / segs);
    int xs = (int)(i % segs) * PDL_PP_SEGMENT;
    int xe = xs + PDL_PP_SEGMENT < a.map.out_w ? xs + PDL_PP_SEGMENT : a.map.out_w;
    pdl_axis_tap ty = pdl_axis(y, a.map.scale_y, a.map.in_h);
    long row = (long)y * a.map.out_w;
    for (int x = xs, end; x < xe; x = end) {
        pdl_axis_tap tx = a.xtap[x];
        end = a.xend[x] < xe ? a.xend[x] : xe;
        pdl_tap t = pdl_tap_make(ty, tx, a.map.in_w);
        float c00 = a.center[t.o00], c01 = a.center[t.o01], c10 = a.center[t.o10],
              c11 = a.center[t.o11];
        if (c00 < a.below && c01 < a.below && c10 < a.below && c11 < a.below) {
            fill(a.ctr + row, x, end, -1.0f);
        } else {
            for (int u = x; u < end; u++) {
                float v = pdl_blend(c00, c01, c10, c11, ty, a.xtap[u]);
                a.ctr[row + u] = v > a.threshold ? v : -1.0f;
            }
        }
        if (!a.cell_count)
            continue;
        long cell = (long)ty.i0 * a.map.in_w + tx.i0;
        int n = a.cell_count[cell];
        const unsigned char *list = a.cell_classes + cell * a.classes;
        if (n == 1) {
            fill(a.sem + row, x, end, list[0]);
        } else {
            for (int u = x; u < end; u++) {
                t.lx0 = a.xtap[u].l0;
                t.lx1 = a.xtap[u].l1;
                a.sem[row + u] = (unsigned char)sampled_argmax(a, t, list, n);
            }
        }
    }
    if (!a.cell_count)
        argmax_all(a, ty, row, xs, xe);
}

extern "C" int PDL_EXEC(pp_axis_taps)(const pdl_pp_axis_args *in, void *stream)
{
    pdl_pp_axis_args a = *in;
    return PDL_LAUNCH(axis_kernel, a, (long)a.map.out_w, stream);
}

extern "C" int PDL_EXEC(pp_semantic_heads)(const pdl_pp_cells_args *in, void *stream)
{
    pdl_pp_cells_args a = *in;
    long n = (long)a.in_h * a.in_w;
    return PDL_LAUNCH(heads_kernel, a, (n + PDL_PP_HEAD_LANES - 1) / PDL_PP_HEAD_LANES, stream);
}

extern "C" int PDL_EXEC(pp_semantic_cells)(const pdl_pp_cells_args *in, void *stream)
{
    pdl_pp_cells_args a = *in;
    return PDL_LAUNCH(cells_kernel, a, (long)a.in_h * a.in_w, stream);
}

extern "C" int PDL_EXEC(pp_semantic)(const pdl_pp_semantic_args *in, void *stream)
{
    pdl_pp_semantic_args a = *in;
    long segs = (a.map.out_w + PDL_PP_SEGMENT - 1) / PDL_PP_SEGMENT;
    return PDL_LAUNCH(semantic_kernel, a, (long)a.map.out_h * segs, stream);
}
