/* dense_normalize.cu - the network input on the device: uint8 RGB to NHWC
 * (x - mean) / std, zero padded bottom/right, so only the 8-bit image crosses
 * the bus. The arithmetic is pdl_model_preprocess's (float subtract, then a
 * correctly rounded divide), so in float the result is the CPU path's bit for
 * bit. One element per output pixel; channels beyond 3 (when the consumer
 * wants C padded, e.g. to 4 or 8 for tensor cores) are zero. */
#include "dense_common.h"

template <typename T>
struct normalize_t {
    int h, w, wp, channels;
    float mean[3], std[3];
    const uint8_t *rgb;
    T *dst;
};

template <typename T>
static PDL_HD void normalize_kernel(const normalize_t<T> &a, long i)
{
    int y = (int)(i / a.wp), x = (int)(i % a.wp);
    T *o = a.dst + i * a.channels;
    int inside = y < a.h && x < a.w;
    const uint8_t *px = a.rgb + ((long)y * a.w + x) * 3;
    for (int c = 0; c < a.channels; c++) {
        float v = 0.0f;
        if (inside && c < 3)
            v = pdl_fdiv(pdl_fsub((float)px[c], a.mean[c]), a.std[c]);
        pdl_store(o + c, v);
    }
}

template <typename T>
static int launch(const pdl_dense_normalize_args *in, void *stream)
{
    normalize_t<T> a;
    a.h = in->h;
    a.w = in->w;
    a.wp = in->wp;
    a.channels = in->channels;
    for (int c = 0; c < 3; c++) {
        a.mean[c] = in->mean[c];
        a.std[c] = in->std[c];
    }
    a.rgb = in->rgb;
    a.dst = (T *)in->dst;
    return PDL_LAUNCH(normalize_kernel<T>, a, (long)in->hp * in->wp, stream);
}

extern "C" int PDL_EXEC(dense_normalize)(const pdl_dense_normalize_args *in, void *stream)
{
    return in->type == PDL_DENSE_F16 ? launch<pdl_dense_half>(in, stream) : launch<float>(in, stream);
}
