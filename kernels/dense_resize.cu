/* dense_resize.cu - bilinear resize (align_corners=false) of an NHWC tensor,
 * for the decoder (ASPP output to the res3 size, then to the res2 size), the
 * x4 head upsampling (with the offset scaling and the crop to the unpadded
 * image fused in) and the broadcast of the pooled ASPP branch (a 1 x 1 or
 * small pooled map back to the res5 size). The result can go straight into a
 * channel slice of the concat that consumes it.
 *
 * Taps and weights come from pdl_axis (kernels/pp_common.h, PyTorch's
 * formula), and the value is ((a*lx0 + b*lx1)*ly0 + (c*lx0 + d*lx1)*ly1)*mul
 * in float, the order pdl_upsample_crop uses, so in float the two agree bit
 * for bit. One element per output value (pixel, channel): neighbouring
 * threads read neighbouring channels of the same four taps; planes (batch
 * images, or the channels of a planar array) are the outermost index.
 */
#include "dense_common.h"
#include "pp_common.h"

template <typename T>
struct resize_t {
    int in_h, in_w, channels, out_w;
    long out_pixels; /* per plane */
    float scale_y, scale_x, mul;
    int dst_stride, dst_c0;
    const T *src;
    T *dst;
};

template <typename T>
static PDL_HD void resize_kernel(const resize_t<T> &a, long i)
{
    long p = i / a.channels;
    int c = (int)(i % a.channels);
    long plane = p / a.out_pixels, q = p % a.out_pixels;
    int y = (int)(q / a.out_w), x = (int)(q % a.out_w);
    pdl_axis_tap ty = pdl_axis(y, a.scale_y, a.in_h), tx = pdl_axis(x, a.scale_x, a.in_w);
    const T *src = a.src + plane * a.in_h * a.in_w * a.channels;
    const T *r0 = src + (long)ty.i0 * a.in_w * a.channels + c;
    const T *r1 = src + (long)ty.i1 * a.in_w * a.channels + c;
    long x0 = (long)tx.i0 * a.channels, x1 = (long)tx.i1 * a.channels;
    float top = pdl_fadd(pdl_fmul(pdl_load(r0 + x0), tx.l0), pdl_fmul(pdl_load(r0 + x1), tx.l1));
    float bot = pdl_fadd(pdl_fmul(pdl_load(r1 + x0), tx.l0), pdl_fmul(pdl_load(r1 + x1), tx.l1));
    float v = pdl_fmul(pdl_fadd(pdl_fmul(top, ty.l0), pdl_fmul(bot, ty.l1)), a.mul);
    pdl_store(a.dst + p * a.dst_stride + a.dst_c0 + c, v);
}

template <typename T>
static int launch(const pdl_dense_resize_args *in, void *stream)
{
    resize_t<T> a;
    a.in_h = in->in_h;
    a.in_w = in->in_w;
    a.channels = in->channels;
    a.out_w = in->out_w;
    a.out_pixels = (long)in->out_h * in->out_w;
    /* PyTorch's scale for a given output size, input / output in float */
    a.scale_y = (float)in->in_h / (float)in->size_h;
    a.scale_x = (float)in->in_w / (float)in->size_w;
    a.mul = in->mul;
    a.dst_stride = in->dst_stride;
    a.dst_c0 = in->dst_c0;
    a.src = (const T *)in->src;
    a.dst = (T *)in->dst;
    long planes = in->planes > 1 ? in->planes : 1;
    return PDL_LAUNCH(resize_kernel<T>, a, planes * a.out_pixels * in->channels, stream);
}

extern "C" int PDL_EXEC(dense_resize)(const pdl_dense_resize_args *in, void *stream)
{
    return in->type == PDL_DENSE_F16 ? launch<pdl_dense_half>(in, stream) : launch<float>(in, stream);
}
