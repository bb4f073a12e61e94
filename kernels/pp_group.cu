/* pp_group.cu - stages 4 and 5: each thing pixel joins the center nearest to
 * (y + dy, x + dx) (first minimum of the float distance sqrt(dy^2 + dx^2), as
 * Detectron2's argmin over torch.norm), and the class histograms per instance
 * and the stuff areas are counted. Squared distances are compared first and
 * sqrt only for near-ties, which orders exactly like comparing correctly
 * rounded float norms; torch.norm may round a norm differently, so
 * pixels within an ulp of equidistant could differ from PyTorch.
 *
 * The nearest-center search is exact but pruned: group_cells lists, for each
 * 32 x 32 cell of the image, the centers whose distance to the cell can be
 * below the smallest "farthest distance" of any center (with a generous
 * margin for rounding), in id order so the first-minimum rule is unchanged.
 * Points outside the image (offsets pointing out) search all centers.
 *
 * group runs over row segments of PDL_PP_SEGMENT pixels and adds runs of equal
 * (instance, class) to the histograms, one atomic per run instead of per pixel.
 */
#include "pp_common.h"

/* The squared distance from center (cy, cx) to the farthest corner of the
 * cell [y0, y1] x [x0, x1]. Centers are finite, so plain compares equal fmin /
 * fmax / fabs and inline. */
static inline PDL_HD double farthest_sq(double cy, double cx, double y0, double y1, double x0,
                                        double x1)
{
    double ay = cy - y0 > y0 - cy ? cy - y0 : y0 - cy, by = cy - y1 > y1 - cy ? cy - y1 : y1 - cy;
    double ax = cx - x0 > x0 - cx ? cx - x0 : x0 - cx, bx = cx - x1 > x1 - cx ? cx - x1 : x1 - cx;
    double fy = ay > by ? ay : by, fx = ax > bx ? ax : bx;
    return fy * fy + fx * fx;
}

static PDL_HD void cells_kernel(const pdl_pp_group_args &a, long i)
{
    int gy = (int)(i / a.grid_w), gx = (int)(i % a.grid_w);
    double y0 = (double)gy * PDL_PP_GRID, x0 = (double)gx * PDL_PP_GRID;
    double y1 = fmin(y0 + PDL_PP_GRID, (double)a.map.out_h);
    double x1 = fmin(x0 + PDL_PP_GRID, (double)a.map.out_w);
    /* The smallest farthest distance, in 4 lanes (a min is exact in any
     * order, and GCC vectorises lanes, not a plain min-reduction). */
    double lane[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
    int c = 0;
    for (; c + 4 <= a.centers; c += 4)
        for (int l = 0; l < 4; l++) {
            double d = farthest_sq(a.center_y[c + l], a.center_x[c + l], y0, y1, x0, x1);
            lane[l] = d < lane[l] ? d : lane[l];
        }
    for (; c < a.centers; c++) {
        double d = farthest_sq(a.center_y[c], a.center_x[c], y0, y1, x0, x1);
        lane[0] = d < lane[0] ? d : lane[0];
    }
    double best = lane[0];
    for (int l = 1; l < 4; l++)
        best = lane[l] < best ? lane[l] : best;
    double bound = best * (1.0 + 1e-3) + 1.0;
    unsigned short *list = a.cell_list + i * a.centers;
    int n = 0;
    for (c = 0; c < a.centers; c++) {
        double cy = a.center_y[c], cx = a.center_x[c];
        double ny = cy < y0 ? y0 - cy : (cy > y1 ? cy - y1 : 0.0);
        double nx = cx < x0 ? x0 - cx : (cx > x1 ? cx - x1 : 0.0);
        if (ny * ny + nx * nx <= bound)
            list[n++] = (unsigned short)c;
    }
    a.cell_n[i] = (unsigned short)n;
}

/* Index 0..centers-1 of the nearest center; 0 when no distance is finite. */
static PDL_HD int nearest(const pdl_pp_group_args &a, float ly, float lx)
{
    const unsigned short *list = NULL;
    int n = a.centers;
    if (ly >= 0.0f && ly < (float)a.map.out_h && lx >= 0.0f && lx < (float)a.map.out_w) {
        long cell = (long)((int)ly / PDL_PP_GRID) * a.grid_w + (int)lx / PDL_PP_GRID;
        list = a.cell_list + cell * a.centers;
        n = a.cell_n[cell];
    }
    /* A square more than 2^-20 (relative) below best2 has a strictly smaller
     * correctly rounded sqrt, so sqrt is only needed for near-ties. */
    int best = 0;
    float best2 = INFINITY, clear = INFINITY; /* clear = best2 * (1 - 2^-20) */
    for (int j = 0; j < n; j++) {
        int c = list ? list[j] : j;
        float dy = pdl_fsub(a.center_y[c], ly), dx = pdl_fsub(a.center_x[c], lx);
        float d2 = pdl_fadd(pdl_fmul(dy, dy), pdl_fmul(dx, dx));
        if (d2 < clear || (d2 < best2 && pdl_fsqrt(d2) < pdl_fsqrt(best2))) {
            best = c;
            best2 = d2;
            clear = pdl_fmul(d2, 0.99999904632568359375f);
        }
    }
    return best;
}

/* A run key: instance * 256 + class for instance pixels, the class for stuff
 * pixels, -1 for pixels that count nowhere (thing pixels without centers). */
static PDL_HD void flush(const pdl_pp_group_args &a, int key, unsigned n)
{
    if (key >= 256)
        pdl_atomic_add_u32(&a.vote[(long)(key / 256 - 1) * a.classes + key % 256], n);
    else if (key >= 0)
        pdl_atomic_add_u32(&a.stuff_area[key], n);
}

static PDL_HD void group_kernel(const pdl_pp_group_args &a, long i)
{
    int segs = (a.map.out_w + PDL_PP_SEGMENT - 1) / PDL_PP_SEGMENT;
    int y = (int)(i / segs);
    int xs = (int)(i % segs) * PDL_PP_SEGMENT;
    int xe = xs + PDL_PP_SEGMENT < a.map.out_w ? xs + PDL_PP_SEGMENT : a.map.out_w;
    pdl_axis_tap ty = pdl_axis(y, a.map.scale_y, a.map.in_h);
    long plane = pdl_plane(a.map);
    int run_key = -1;
    unsigned run_n = 0;
    long row = (long)y * a.map.out_w;
    for (int x = xs; x < xe;) {
        int c = a.sem[row + x], key, end = x + 1;
        if (a.isthing[c] && a.centers > 0) {
            pdl_tap t = pdl_tap_make(ty, a.xtap[x], a.map.in_w);
            float dy = pdl_fmul(pdl_bilerp(a.offsets, t), a.map.offset_scale_y);
            float dx = pdl_fmul(pdl_bilerp(a.offsets + plane, t), a.map.offset_scale_x);
            int id = nearest(a, pdl_fadd((float)y, dy), pdl_fadd((float)x, dx)) + 1;
            a.ins[row + x] = (unsigned short)id;
            key = id * 256 + c;
        } else {
            /* a run of one class that joins no instance: one key */
            a.ins[row + x] = 0;
            while (end < xe && a.sem[row + end] == c)
                a.ins[row + end++] = 0;
            key = a.isthing[c] ? -1 : c;
        }
        if (key != run_key) {
            flush(a, run_key, run_n);
            run_key = key;
            run_n = 0;
        }
        run_n += (unsigned)(end - x);
        x = end;
    }
    flush(a, run_key, run_n);
}

extern "C" int PDL_EXEC(pp_group_cells)(const pdl_pp_group_args *in, void *stream)
{
    pdl_pp_group_args a = *in;
    return PDL_LAUNCH(cells_kernel, a, (long)a.grid_h * a.grid_w, stream);
}

extern "C" int PDL_EXEC(pp_group)(const pdl_pp_group_args *in, void *stream)
{
    pdl_pp_group_args a = *in;
    long segs = (a.map.out_w + PDL_PP_SEGMENT - 1) / PDL_PP_SEGMENT;
    return PDL_LAUNCH(group_kernel, a, (long)a.map.out_h * segs, stream);
}
