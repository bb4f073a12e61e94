/* dense_copy.cu - copy of an NHWC tensor into a channel slice of a wider one,
 * the concat of the decoder and of ASPP when a producer cannot write its
 * slice directly. One element per value, so consecutive threads touch
 * consecutive channels on both sides. */
#include "dense_common.h"

template <typename T>
struct copy_t {
    int channels, src_stride, dst_stride, dst_c0;
    const T *src;
    T *dst;
};

template <typename T>
static PDL_HD void copy_kernel(const copy_t<T> &a, long i)
{
    long p = i / a.channels;
    int c = (int)(i % a.channels);
    a.dst[p * a.dst_stride + a.dst_c0 + c] = a.src[p * a.src_stride + c];
}

template <typename T>
static int launch(const pdl_dense_copy_args *in, void *stream)
{
    copy_t<T> a;
    a.channels = in->channels;
    a.src_stride = in->src_stride;
    a.dst_stride = in->dst_stride;
    a.dst_c0 = in->dst_c0;
    a.src = (const T *)in->src;
    a.dst = (T *)in->dst;
    return PDL_LAUNCH(copy_kernel<T>, a, in->pixels * in->channels, stream);
}

extern "C" int PDL_EXEC(dense_copy)(const pdl_dense_copy_args *in, void *stream)
{
    return in->type == PDL_DENSE_F16 ? launch<pdl_dense_half>(in, stream) : launch<float>(in, stream);
}
