/* pp_semantic.cu - stage 1: the semantic argmax, the log-sum-exp of the logits
 * (for instance scores) and the thresholded center heatmap at output size,
 * sampled straight from the head grid so full-size logits never exist.
 *
 * When the output is an upsampling of the heads, semantic_cells first lists,
 * per head cell, the classes whose largest tap is within PDL_PP_LSE_CUTOFF of
 * the best smallest tap. Interpolation is a convex combination of the four
 * taps, so no other class can win at an output pixel of that cell or weigh in
 * its softmax; a pixel then samples only the listed classes (usually one or
 * two) instead of all of them. The margins absorb float rounding, so the
 * argmax is exactly that over all classes (first maximum wins).
 */
#include "pp_common.h"

static PDL_HD void cells_kernel(const pdl_pp_cells_args &a, long i)
{
    int y = (int)(i / a.in_w), x = (int)(i % a.in_w);
    int y1 = y + (y < a.in_h - 1 ? 1 : 0), x1 = x + (x < a.in_w - 1 ? 1 : 0);
    long plane = (long)a.in_h * a.in_w;
    long o00 = (long)y * a.in_w + x, o01 = (long)y * a.in_w + x1;
    long o10 = (long)y1 * a.in_w + x, o11 = (long)y1 * a.in_w + x1;
    float hi[PDL_PP_MAX_CLASSES];
    float best_lo = -INFINITY;
    for (int c = 0; c < a.classes; c++) {
        const float *l = a.logits + c * plane;
        float v0 = l[o00], v1 = l[o01], v2 = l[o10], v3 = l[o11];
        float lo = fminf(fminf(v0, v1), fminf(v2, v3));
        hi[c] = fmaxf(fmaxf(v0, v1), fmaxf(v2, v3));
        if (lo > best_lo)
            best_lo = lo;
    }
    double cut = (double)best_lo - PDL_PP_LSE_CUTOFF - 1e-5 * fabs((double)best_lo);
    unsigned char *list = a.cell_classes + i * a.classes;
    int n = 0;
    for (int c = 0; c < a.classes; c++)
        if ((double)hi[c] + 1e-5 * fabs((double)hi[c]) >= cut)
            list[n++] = (unsigned char)c;
    a.cell_count[i] = (unsigned char)n;
}

static PDL_HD void semantic_kernel(const pdl_pp_semantic_args &a, long i)
{
    int y = (int)(i / a.map.out_w), x = (int)(i % a.map.out_w);
    pdl_axis_tap ty = pdl_axis(y, a.map.scale_y, a.map.in_h);
    pdl_axis_tap tx = pdl_axis(x, a.map.scale_x, a.map.in_w);
    pdl_tap t = pdl_tap_make(ty, tx, a.map.in_w);
    long plane = pdl_plane(a.map);

    float v = pdl_bilerp(a.center, t);
    a.ctr[i] = v > a.threshold ? v : -1.0f;

    const unsigned char *list = NULL;
    int n = a.classes;
    if (a.cell_count) {
        long cell = (long)ty.i0 * a.map.in_w + tx.i0;
        n = a.cell_count[cell];
        list = a.cell_classes + cell * a.classes;
    }
    float vals[PDL_PP_MAX_CLASSES];
    int best = 0;
    float best_v = 0.0f;
    for (int j = 0; j < n; j++) {
        int c = list ? list[j] : j;
        float l = pdl_bilerp(a.logits + c * plane, t);
        vals[j] = l;
        if (j == 0 || l > best_v) {
            best = c;
            best_v = l;
        }
    }
    a.sem[i] = (unsigned char)best;
    if (n > 0 && a.isthing[best]) {
        float s = 0.0f;
        for (int j = 0; j < n; j++)
            s += expf(vals[j] - best_v);
        a.lse[i] = best_v + logf(s);
    }
}

extern "C" int PDL_EXEC(pp_semantic_cells)(const pdl_pp_cells_args *in, void *stream)
{
    pdl_pp_cells_args a = *in;
    return PDL_LAUNCH(cells_kernel, a, (long)a.in_h * a.in_w, stream);
}

extern "C" int PDL_EXEC(pp_semantic)(const pdl_pp_semantic_args *in, void *stream)
{
    pdl_pp_semantic_args a = *in;
    return PDL_LAUNCH(semantic_kernel, a, (long)a.map.out_h * a.map.out_w, stream);
}
