/* pp_paint.cu - stages 6 and 7: paints the panoptic map from the instance ids,
 * the per-instance ids chosen by the vote and the stuff classes that passed
 * the area test, and gathers each segment's area, bounding box and (for
 * instances) the sum of the probability of its class over its mask.
 *
 * Like grouping it runs over row segments and issues atomics per run of equal
 * segment. The probability of the instance's class at a pixel is the softmax
 * over all classes of the logits sampled from the head grid (channel-last when
 * semantic_cells prepared them, so the class loops read contiguous memory and
 * vectorise on the host). The sampling is separable: each head column a
 * segment touches is interpolated down to the row once, and a pixel only
 * blends two such columns, shifted by its argmax logit (no max pass). Sums
 * are kept in 32.32 fixed point so they are exact integers and do not depend
 * on the order in which threads add them. Scores only need 1e-5, so rounding
 * in another order than the argmax's sampling is fine; the map never depends
 * on it.
 *
 * A thread keeps two columns and two rows of softmax terms, CAP floats each:
 * the kernel is built for up to 32 classes (Cityscapes, the demo model) and
 * for PDL_PP_MAX_CLASSES, and launched with the smaller that fits, since a GPU
 * reserves a thread's local memory for every thread it can hold (4 KB at 256
 * classes, 512 bytes at 32).
 */
#include "pp_common.h"

/* Classes of the small build of paint_kernel (a multiple of 4). */
#define PP_PAINT_SMALL_CAP 32

/* Logits of head column j interpolated down to the row with vertical tap ty,
 * for `padded` classes (planar rows hold only `classes`; the rest is filled
 * with -1e30, whose softmax weight is 0, as in the channel-last padding). */
static inline PDL_HD void column_logits(const pdl_pp_paint_args &a, pdl_axis_tap ty, int j,
                                        float *out)
{
    int padded = PDL_PP_PADDED(a.classes);
    long p0 = (long)ty.i0 * a.map.in_w + j, p1 = (long)ty.i1 * a.map.in_w + j;
    if (a.logits) {
        long plane = pdl_plane(a.map);
        for (int c = 0; c < a.classes; c++)
            out[c] = pdl_fadd(pdl_fmul(a.logits[c * plane + p0], ty.l0),
                              pdl_fmul(a.logits[c * plane + p1], ty.l1));
        for (int c = a.classes; c < padded; c++)
            out[c] = -1e30f;
        return;
    }
    const float *r0 = a.logits_last + p0 * padded, *r1 = a.logits_last + p1 * padded;
    for (int c = 0; c < padded; c += 4)
        for (int l = 0; l < 4; l++)
            out[c + l] = pdl_fadd(pdl_fmul(r0[c + l], ty.l0), pdl_fmul(r1[c + l], ty.l1));
}

/* The sum of e[0 .. padded - 1] in a fixed order: four lanes over the
 * blocks of 4, then the lanes pairwise. */
struct softmax_sum {
    float lane[4];
};

static inline PDL_HD void sum_clear(softmax_sum &s)
{
    for (int l = 0; l < 4; l++)
        s.lane[l] = 0.0f;
}

static inline PDL_HD float sum_total(const softmax_sum &s)
{
    return (s.lane[0] + s.lane[1]) + (s.lane[2] + s.lane[3]);
}

/* e[c] = exp(v_c - v_top) for the logits v interpolated between head columns
 * with row-interpolated logits c0 and c1 (weights lx0, lx1), and their sum.
 * `top` is the pixel's argmax class: its logit is the largest up to
 * rounding, so it serves as the softmax shift. Classes come in blocks of 4 so
 * the host vectorises without remainder loops. */
static inline PDL_HD float softmax_terms(const float *c0, const float *c1, float lx0, float lx1,
                                         int padded, int top, float *e)
{
    float mx = pdl_fadd(pdl_fmul(c0[top], lx0), pdl_fmul(c1[top], lx1));
    softmax_sum s;
    sum_clear(s);
    for (int c = 0; c < padded; c += 4)
        for (int l = 0; l < 4; l++) {
            e[c + l] = pdl_expf(
                pdl_fsub(pdl_fadd(pdl_fmul(c0[c + l], lx0), pdl_fmul(c1[c + l], lx1)), mx));
            s.lane[l] += e[c + l];
        }
    return sum_total(s);
}

/* e *= q, returning the new sum (same order as softmax_terms). */
static inline PDL_HD float softmax_step(float *e, const float *q, int padded)
{
    softmax_sum s;
    sum_clear(s);
    for (int c = 0; c < padded; c += 4)
        for (int l = 0; l < 4; l++) {
            e[c + l] = pdl_fmul(e[c + l], q[c + l]);
            s.lane[l] += e[c + l];
        }
    return sum_total(s);
}

/* term / sum in 32.32 fixed point. */
static inline PDL_HD unsigned long long prob_fixed(float term, float sum)
{
    float prob = term / sum;
    prob = prob >= 0.0f ? (prob < 1.0f ? prob : 1.0f) : 0.0f;
    /* via the signed conversion (one instruction on x86-64; exact here,
     * the value is at most 2^32) */
    return (unsigned long long)(long long)(prob * 4294967296.0f);
}

/* Largest class logit change between two head columns beyond which stepping
 * the softmax terms (below) is not used: it bounds how far the terms drift
 * from the shift taken at the first pixel (e^16 either way, far from float
 * overflow or underflow) and the rounding the ratios add (about 1e-6). */
#define PP_RATIO_MAX_DELTA 16.0f

/* key > 0: instance id; key < 0: stuff class -key - 1; 0: void. */
static PDL_HD void flush(const pdl_pp_paint_args &a, int key, int y, int x0, int x1, unsigned n,
                         unsigned long long prob)
{
    int *box;
    if (key > 0) {
        pdl_atomic_add_u32(&a.ins_area[key], n);
        pdl_atomic_add_u64(&a.ins_prob[key], prob);
        box = a.ins_box + 4 * key;
    } else if (key < 0) {
        box = a.stuff_box + 4 * (-key - 1);
    } else {
        return;
    }
    pdl_atomic_min_i32(&box[0], x0);
    pdl_atomic_min_i32(&box[1], y);
    pdl_atomic_max_i32(&box[2], x1);
    pdl_atomic_max_i32(&box[3], y);
}

template <int CAP>
static PDL_HD void paint_kernel(const pdl_pp_paint_args &a, long i)
{
    int segs = (a.map.out_w + PDL_PP_SEGMENT - 1) / PDL_PP_SEGMENT;
    int y = (int)(i / segs);
    int xs = (int)(i % segs) * PDL_PP_SEGMENT;
    int xe = xs + PDL_PP_SEGMENT < a.map.out_w ? xs + PDL_PP_SEGMENT : a.map.out_w;
    pdl_axis_tap ty = pdl_axis(y, a.map.scale_y, a.map.in_h);
    int run_key = 0, run_x = xs;
    unsigned long long run_prob = 0;
    /* Row-interpolated logits of the two head columns the current pixel
     * reads: slot col[s] holds head column j[s], and side 0 / 1 of the pixel
     * (columns tx.i0 / tx.i1) is in slot at[0] / at[1]. Pixels move right, so
     * each column is interpolated once per segment, into the slot the pixel
     * does not use. */
    int padded = PDL_PP_PADDED(a.classes);
    float col[2][CAP];
    int j[2] = {-1, -1}, at[2] = {0, 1};
    /* Softmax terms e, valid for pixel e_x. Between two pixels that read the
     * same columns with weights that move by exactly `step` (upsampling by a
     * power of two), every logit moves by exactly (c1 - c0) * step, so the
     * terms of the next pixel are e * q with q = exp((c1 - c0) * step), the
     * same for every pixel pair of the column pair: one exp per class and
     * pair instead of one per class and pixel. */
    float e[CAP], q[CAP];
    float e_sum = 0.0f;
    int e_x = -1, q_ok = 0;
    float q_step = 0.0f;
    /* the horizontal tap of pixel tx_x (kept from the step test) */
    pdl_axis_tap tx = {0, 0, 0.0f, 0.0f};
    int tx_x = -1;
    long row = (long)y * a.map.out_w;
    for (int x = xs; x < xe; x++) {
        long p = row + x;
        int id = a.ins[p], c = a.sem[p];
        /* A run of non-instance pixels of one class has one value and key. */
        int v = id > 0 ? a.ins_value[id] : a.stuff_value[c];
        int key = id > 0 ? id : v >= 0 ? -c - 1 : 0;
        int end = x + 1;
        a.pan[p] = v;
        if (id == 0)
            while (end < xe && a.ins[row + end] == 0 && a.sem[row + end] == c)
                a.pan[row + end++] = v;
        if (key != run_key) {
            flush(a, run_key, y, run_x, x - 1, (unsigned)(x - run_x), run_prob);
            run_key = key;
            run_x = x;
            run_prob = 0;
        }
        if (id == 0) {
            x = end - 1;
            continue;
        }
        if (tx_x != x)
            tx = a.xtap[x];
        int need[2] = {tx.i0, tx.i1};
        if (j[at[0]] != need[0] || j[at[1]] != need[1]) {
            for (int side = 0; side < 2; side++) {
                int slot = j[0] == need[side] ? 0 : j[1] == need[side] ? 1 : -1;
                if (slot < 0) {
                    /* side 1 must keep the slot side 0 just took */
                    slot = side == 0 ? (j[0] == need[1] ? 1 : 0) : 1 - at[0];
                    column_logits(a, ty, need[side], col[slot]);
                    j[slot] = need[side];
                }
                at[side] = slot;
            }
            q_ok = 0;
        }
        const float *c0 = col[at[0]], *c1 = col[at[1]];
        if (e_x != x)
            e_sum = softmax_terms(c0, c1, tx.l0, tx.l1, padded, c, e);
        run_prob += prob_fixed(e[a.ins_class[id]], e_sum);

        if (x + 1 >= xe || a.ins[p + 1] == 0)
            continue;
        pdl_axis_tap next = a.xtap[x + 1];
        float step = pdl_fsub(next.l1, tx.l1);
        int same_pair = next.i0 == tx.i0 && next.i1 == tx.i1 && pdl_fsub(tx.l0, next.l0) == step;
        tx = next;
        tx_x = x + 1;
        if (!same_pair)
            continue;
        if (!q_ok || step != q_step) {
            /* far[l]: 1 once a class in lane l moves too far (or is NaN);
             * float lanes and a select, which GCC vectorises (not an
             * int any-reduction) */
            float far[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int k = 0; k < padded; k += 4)
                for (int l = 0; l < 4; l++) {
                    float d = pdl_fsub(c1[k + l], c0[k + l]);
                    far[l] = d <= PP_RATIO_MAX_DELTA && d >= -PP_RATIO_MAX_DELTA ? far[l] : 1.0f;
                    q[k + l] = pdl_expf(pdl_fmul(d, step));
                }
            if (far[0] + far[1] + far[2] + far[3] > 0.0f)
                continue;
            q_ok = 1;
            q_step = step;
        }
        e_sum = softmax_step(e, q, padded);
        e_x = x + 1;
    }
    flush(a, run_key, y, run_x, xe - 1, (unsigned)(xe - run_x), run_prob);
}

extern "C" int PDL_EXEC(pp_paint)(const pdl_pp_paint_args *in, void *stream)
{
    pdl_pp_paint_args a = *in;
    long segs = (a.map.out_w + PDL_PP_SEGMENT - 1) / PDL_PP_SEGMENT;
    if (PDL_PP_PADDED(a.classes) <= PP_PAINT_SMALL_CAP)
        return PDL_LAUNCH(paint_kernel<PP_PAINT_SMALL_CAP>, a, (long)a.map.out_h * segs, stream);
    return PDL_LAUNCH(paint_kernel<PDL_PP_PADDED(PDL_PP_MAX_CLASSES)>, a,
                      (long)a.map.out_h * segs, stream);
}
