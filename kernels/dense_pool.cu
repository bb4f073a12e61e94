/* dense_pool.cu - the ASPP pooling branch's average pooling: Detectron2's
 * fixed kh x kw window sliding with stride 1 and no padding (a box filter),
 * or, with the window as large as the map, global average pooling.
 *
 * Separable, as pdl_cpu_box_filter_nhwc: a rows pass sums kw values along x
 * into float scratch, a columns pass sums kh of those along y and multiplies
 * by 1 / (kh * kw), each sum in the same order as the CPU op, so in float the
 * two agree bit for bit (kw + kh additions per output instead of kw * kh).
 * Global pooling is the same two passes with a 1 x 1 output, so its sums
 * have h x w x channels / channels-way parallelism in the rows pass and no
 * atomics: results are deterministic. One element per (position, channel).
 */
#include "dense_common.h"

template <typename T>
struct pool_t {
    int w, channels, kh, kw, ow;
    float scale;
    const T *src;
    float *rows;
    T *dst;
};

template <typename T>
static PDL_HD void rows_kernel(const pool_t<T> &a, long i)
{
    long p = i / a.channels; /* iy * ow + ox */
    int c = (int)(i % a.channels);
    long iy = p / a.ow, ox = p % a.ow;
    const T *in = a.src + (iy * a.w + ox) * a.channels + c;
    float s = pdl_load(in);
    for (int k = 1; k < a.kw; k++)
        s = pdl_fadd(s, pdl_load(in + (long)k * a.channels));
    a.rows[i] = s;
}

template <typename T>
static PDL_HD void cols_kernel(const pool_t<T> &a, long i)
{
    const float *r = a.rows + i; /* output (oy, ox, c) reads rows from (oy, ox, c) down */
    long step = (long)a.ow * a.channels;
    float s = r[0];
    for (int k = 1; k < a.kh; k++)
        s = pdl_fadd(s, r[k * step]);
    pdl_store(a.dst + i, pdl_fmul(s, a.scale));
}

template <typename T>
static int launch(const pdl_dense_pool_args *in, void *stream)
{
    pool_t<T> a;
    a.w = in->w;
    a.channels = in->channels;
    a.kh = pdl_dense_pool_kernel(in->kh, in->h);
    a.kw = pdl_dense_pool_kernel(in->kw, in->w);
    a.ow = in->w - a.kw + 1;
    a.scale = 1.0f / ((float)a.kh * (float)a.kw);
    a.src = (const T *)in->src;
    a.rows = in->rows;
    a.dst = (T *)in->dst;
    int oh = in->h - a.kh + 1;
    int e = PDL_LAUNCH(rows_kernel<T>, a, (long)in->h * a.ow * a.channels, stream);
    return e ? e : PDL_LAUNCH(cols_kernel<T>, a, (long)oh * a.ow * a.channels, stream);
}

extern "C" int PDL_EXEC(dense_pool)(const pdl_dense_pool_args *in, void *stream)
{
    return in->type == PDL_DENSE_F16 ? launch<pdl_dense_half>(in, stream) : launch<float>(in, stream);
}
