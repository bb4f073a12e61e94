/* pp_topk.cu - stage 3: top-k of the NMS peaks by radix select.
 *
 * Each peak has the 64-bit key (float bits of its value << 32 | ~pixel index):
 * values are > 0, so their bits order like the floats, and the index part
 * makes keys unique and breaks ties by raster order. topk_hist counts one
 * byte of the keys that share the already-selected high bytes (atomic
 * histogram); the driver walks the 256 bins on the host and descends, so
 * plateaus of any size cost the same few passes. topk_select then keeps the
 * peaks above the found bound. Nothing depends on the order of the peaks.
 */
#include "pp_common.h"

static PDL_HD unsigned long long peak_key(const pdl_pp_topk_args &a, long i)
{
    int p = a.cand[i];
    return ((unsigned long long)pdl_float_bits(a.ctr[p]) << 32) | (unsigned)~(unsigned)p;
}

static PDL_HD void hist_kernel(const pdl_pp_topk_args &a, long i)
{
    unsigned long long key = peak_key(a, i);
    if (a.shift < 56 && (key >> (a.shift + 8)) != (a.prefix >> (a.shift + 8)))
        return;
    pdl_atomic_add_u32(&a.hist[(key >> a.shift) & 255u], 1u);
}

static PDL_HD void select_kernel(const pdl_pp_topk_args &a, long i)
{
    unsigned long long key = peak_key(a, i);
    int keep = a.value_only ? (key >> 32) > (a.bound >> 32) : key >= a.bound;
    if (keep) {
        unsigned slot = pdl_atomic_add_u32(a.sel_count, 1u);
        a.sel[slot] = a.cand[i];
        a.sel_value[slot] = a.ctr[a.cand[i]];
    }
}

extern "C" int PDL_EXEC(pp_topk_hist)(const pdl_pp_topk_args *in, void *stream)
{
    pdl_pp_topk_args a = *in;
    return PDL_LAUNCH(hist_kernel, a, a.count, stream);
}

extern "C" int PDL_EXEC(pp_topk_select)(const pdl_pp_topk_args *in, void *stream)
{
    pdl_pp_topk_args a = *in;
    return PDL_LAUNCH(select_kernel, a, a.count, stream);
}
