/* pp_topk.cu - stage 3: top-k of the NMS peaks by radix select.
 *
 * Each peak has the 64-bit key (float bits of its value << 32 | ~pixel index):
 * values are > 0, so their bits order like the floats, and the index part
 * makes keys unique and breaks ties by raster order. topk_hist counts one
 * byte of the keys that share the already-selected high bytes (atomic
 * histogram); the driver walks the 256 bins on the host and descends, so
 * plateaus of any size cost the same few passes. topk_select then keeps the
 * peaks above the found bound. Nothing depends on the order of the peaks.
 *
 * On a plateau every key of a pass falls in one bin, and one atomic per key
 * would serialise all threads on that counter (on the CPU, 2 threads ran the
 * plateau benchmark 2.2x slower than one). So an element counts a chunk of keys and adds each run of equal
 * bins with one atomic: on random bins that is one atomic per key as before,
 * on a plateau one per chunk. Counts are sums, so the result is the same
 * whatever the order.
 */
#include "pp_common.h"

static PDL_HD unsigned long long peak_key(const pdl_pp_topk_args &a, long i)
{
    int p = a.cand[i];
    return ((unsigned long long)pdl_float_bits(a.ctr[p]) << 32) | (unsigned)~(unsigned)p;
}

/* Keys per element of topk_hist. */
#define PP_TOPK_CHUNK 64

static PDL_HD void hist_kernel(const pdl_pp_topk_args &a, long e)
{
    long end = (e + 1) * PP_TOPK_CHUNK < a.count ? (e + 1) * PP_TOPK_CHUNK : a.count;
    unsigned bin = 0, run = 0;
    for (long i = e * PP_TOPK_CHUNK; i < end; i++) {
        unsigned long long key = peak_key(a, i);
        if (a.shift < 56 && (key >> (a.shift + 8)) != (a.prefix >> (a.shift + 8)))
            continue;
        unsigned b = (unsigned)(key >> a.shift) & 255u;
        if (run && b != bin) {
            pdl_atomic_add_u32(&a.hist[bin], run);
            run = 0;
        }
        bin = b;
        run++;
    }
    if (run)
        pdl_atomic_add_u32(&a.hist[bin], run);
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
    return PDL_LAUNCH(hist_kernel, a, (a.count + PP_TOPK_CHUNK - 1) / PP_TOPK_CHUNK, stream);
}

extern "C" int PDL_EXEC(pp_topk_select)(const pdl_pp_topk_args *in, void *stream)
{
    pdl_pp_topk_args a = *in;
    return PDL_LAUNCH(select_kernel, a, a.count, stream);
}
