/* pp_paint.cu - stages 6 and 7: paints the panoptic map from the instance ids,
 * the per-instance ids chosen by the vote and the stuff classes that passed
 * the area test, and gathers each segment's area, bounding box and (for
 * instances) the sum of the probability of its class over its mask.
 *
 * Like grouping it runs over row segments and issues atomics per run of equal
 * segment. The probability of the instance's class at a pixel is the softmax
 * over all classes of the logits sampled from the head grid (channel-last when
 * semantic_cells prepared them, so the class loop reads contiguous memory and
 * vectorises on the host); sums are kept in 32.32 fixed point so they are
 * exact integers and do not depend on the order in which threads add them.
 */
#include "pp_common.h"

/* Softmax probability of class `cls` at the pixel with taps t, over all
 * classes, in 32.32 fixed point; channel-last rows hold `classes` entries,
 * padding included. */
template <bool ChannelLast>
static inline PDL_HD unsigned long long class_prob_fixed(const float *logits, long plane,
                                                         int classes, const pdl_tap &t, int cls)
{
    long cs = ChannelLast ? 1 : plane, ps = ChannelLast ? classes : 1;
    float v[PDL_PP_PADDED(PDL_PP_MAX_CLASSES)];
    const float *b00 = logits + t.o00 * ps, *b01 = logits + t.o01 * ps;
    const float *b10 = logits + t.o10 * ps, *b11 = logits + t.o11 * ps;
    float mx = -INFINITY;
    PDL_SIMD_REDUCE(max, mx)
    for (int c = 0; c < classes; c++) {
        float top = pdl_fadd(pdl_fmul(b00[c * cs], t.lx0), pdl_fmul(b01[c * cs], t.lx1));
        float bot = pdl_fadd(pdl_fmul(b10[c * cs], t.lx0), pdl_fmul(b11[c * cs], t.lx1));
        v[c] = pdl_fadd(pdl_fmul(top, t.ly0), pdl_fmul(bot, t.ly1));
        mx = v[c] > mx ? v[c] : mx;
    }
    float sum = 0.0f;
    PDL_SIMD_REDUCE(+, sum)
    for (int c = 0; c < classes; c++)
        sum += pdl_expf(pdl_fsub(v[c], mx));
    float prob = pdl_expf(pdl_fsub(v[cls], mx)) / sum;
    prob = prob >= 0.0f ? (prob < 1.0f ? prob : 1.0f) : 0.0f;
    return (unsigned long long)(prob * 4294967296.0f);
}

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

static PDL_HD void paint_kernel(const pdl_pp_paint_args &a, long i)
{
    int segs = (a.map.out_w + PDL_PP_SEGMENT - 1) / PDL_PP_SEGMENT;
    int y = (int)(i / segs);
    int xs = (int)(i % segs) * PDL_PP_SEGMENT;
    int xe = xs + PDL_PP_SEGMENT < a.map.out_w ? xs + PDL_PP_SEGMENT : a.map.out_w;
    pdl_axis_tap ty = pdl_axis(y, a.map.scale_y, a.map.in_h);
    int run_key = 0, run_x = xs;
    unsigned long long run_prob = 0;
    for (int x = xs; x < xe; x++) {
        long p = (long)y * a.map.out_w + x;
        int id = a.ins[p], c = a.sem[p], key, v;
        if (id > 0) {
            v = a.ins_value[id];
            key = id;
        } else {
            v = a.isthing[c] ? -1 : a.stuff_value[c];
            key = v >= 0 ? -c - 1 : 0;
        }
        a.pan[p] = v;
        if (key != run_key) {
            flush(a, run_key, y, run_x, x - 1, (unsigned)(x - run_x), run_prob);
            run_key = key;
            run_x = x;
            run_prob = 0;
        }
        if (id > 0) {
            pdl_tap t = pdl_tap_make(ty, pdl_axis(x, a.map.scale_x, a.map.in_w), a.map.in_w);
            run_prob += a.logits ? class_prob_fixed<false>(a.logits, pdl_plane(a.map), a.classes, t,
                                                           a.ins_class[id])
                                 : class_prob_fixed<true>(a.logits_last, 0,
                                                          PDL_PP_PADDED(a.classes), t,
                                                          a.ins_class[id]);
        }
    }
    flush(a, run_key, y, run_x, xe - 1, (unsigned)(xe - run_x), run_prob);
}

extern "C" int PDL_EXEC(pp_paint)(const pdl_pp_paint_args *in, void *stream)
{
    pdl_pp_paint_args a = *in;
    long segs = (a.map.out_w + PDL_PP_SEGMENT - 1) / PDL_PP_SEGMENT;
    return PDL_LAUNCH(paint_kernel, a, (long)a.map.out_h * segs, stream);
}
