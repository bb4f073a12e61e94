/* dense_planar.cu - head outputs from the network's NHWC (float or half) to
 * the planar float32 [channels][h][w] the post-processing kernels sample.
 * Widening is exact, so post-processing sees exactly the values the network
 * stored. One element per output value, pixel fastest, so writes are
 * contiguous; the reads gather a few channels (heads have 1, 2 or the class
 * count) from each pixel. */
#include "dense_common.h"

template <typename T>
struct planar_t {
    long plane;
    int src_stride, src_c0;
    const T *src;
    float *dst;
};

template <typename T>
static PDL_HD void planar_kernel(const planar_t<T> &a, long i)
{
    long c = i / a.plane, p = i % a.plane;
    a.dst[i] = pdl_load(a.src + p * a.src_stride + a.src_c0 + c);
}

template <typename T>
static int launch(const pdl_dense_planar_args *in, void *stream)
{
    planar_t<T> a;
    a.plane = (long)in->h * in->w;
    a.src_stride = in->src_stride;
    a.src_c0 = in->src_c0;
    a.src = (const T *)in->src;
    a.dst = in->dst;
    return PDL_LAUNCH(planar_kernel<T>, a, a.plane * in->channels, stream);
}

extern "C" int PDL_EXEC(dense_planar)(const pdl_dense_planar_args *in, void *stream)
{
    return in->type == PDL_DENSE_F16 ? launch<pdl_dense_half>(in, stream) : launch<float>(in, stream);
}
