/* cpu_ops.c - oneDNN primitive descriptors for the network's ops.
 *
 * Convolutions are created with format "any" for source, weights and
 * destination, so oneDNN picks its blocked layouts (nChw16c on AVX-512) and
 * the fastest kernel (NHWC brgemm convs on this AVX-512 machine); bias, the residual add (a sum post-op: the destination
 * buffer already holds the residual) and ReLU are fused into the conv.
 * Pooling, resampling and concat take whatever layout (and batch) their input
 * has. Every tensor's N is the plan's batch: one primitive call runs the
 * whole batch. Every
 * primitive uses a caller-provided scratchpad, so one buffer serves them all.
 */
#include "cpu_internal.h"

#include <oneapi/dnnl/dnnl_debug.h>
#include <string.h>

#define DNNL_CHECK(call, what)                                                                  \
    do {                                                                                        \
        dnnl_status_t s_ = (call);                                                              \
        if (s_ != dnnl_success) {                                                               \
            st = pdl_fail(err, PDL_ERR_DEVICE, "oneDNN: %s: %s", what, dnnl_status2str(s_)); \
            goto done;                                                                          \
        }                                                                                       \
    } while (0)

static dnnl_memory_desc_t md_of(int n, const dnnl_dim_t *dims, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t md;
    dnnl_memory_desc_init_by_tag(&md, n, dims, dnnl_f32, tag);
    return md;
}

dnnl_memory_desc_t pdl_cpu_plain_md(int batch, pdl_shape s)
{
    dnnl_dims_t d = {batch, s.c, s.h, s.w};
    return md_of(4, d, dnnl_nchw);
}

static dnnl_memory_desc_t any_md(dnnl_dim_t batch, pdl_shape s)
{
    dnnl_dims_t d = {batch, s.c, s.h, s.w};
    return md_of(4, d, dnnl_format_tag_any);
}

size_t pdl_cpu_scratch_size(const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return md ? dnnl_memory_desc_get_size(md) : 0;
}

static dnnl_status_t new_attr(dnnl_primitive_attr_t *attr)
{
    dnnl_status_t s = dnnl_primitive_attr_create(attr);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    return s;
}

pdl_status pdl_cpu_conv_pd(dnnl_engine_t eng, const pdl_conv *c, int batch, pdl_shape in,
                           pdl_shape out, dnnl_primitive_desc_t *pd, pdl_error *err)
{
    pdl_status st = PDL_OK;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_memory_desc_t src = any_md(batch, in), dst = any_md(batch, out);
    dnnl_memory_desc_t wei, bias;
    dnnl_dims_t bias_dims = {c->cout};
    bias = md_of(1, bias_dims, dnnl_a);
    if (c->groups > 1) {
        dnnl_dims_t wd = {c->groups, c->cout / c->groups, c->cin / c->groups, c->kernel,
                          c->kernel};
        wei = md_of(5, wd, dnnl_format_tag_any);
    } else {
        dnnl_dims_t wd = {c->cout, c->cin, c->kernel, c->kernel};
        wei = md_of(4, wd, dnnl_format_tag_any);
    }
    dnnl_dims_t strides = {c->stride, c->stride}, dil = {c->dilation - 1, c->dilation - 1};
    dnnl_dims_t pad = {c->pad, c->pad};
    dnnl_convolution_desc_t desc;
    DNNL_CHECK(dnnl_dilated_convolution_forward_desc_init(
                   &desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei, &bias,
                   &dst, strides, dil, pad, pad),
               c->name);
    DNNL_CHECK(new_attr(&attr), c->name);
    DNNL_CHECK(dnnl_post_ops_create(&ops), c->name);
    if (c->residual >= 0)
        DNNL_CHECK(dnnl_post_ops_append_sum(ops, 1.0f), c->name);
    if (c->relu)
        DNNL_CHECK(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f),
                   c->name);
    DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, ops), c->name);
    DNNL_CHECK(dnnl_primitive_desc_create(pd, &desc, attr, eng, NULL), c->name);
done:
    dnnl_post_ops_destroy(ops);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

pdl_status pdl_cpu_pool_pd(dnnl_engine_t eng, bool max, const dnnl_memory_desc_t *src,
                           pdl_shape out, const int kernel[2], int stride, int pad,
                           dnnl_primitive_desc_t *pd, pdl_error *err)
{
    pdl_status st = PDL_OK;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_memory_desc_t dst = any_md(src->dims[0], out);
    dnnl_dims_t strides = {stride, stride}, k = {kernel[0], kernel[1]}, dil = {0, 0};
    dnnl_dims_t pl = {pad, pad};
    /* PyTorch's floor mode: the right padding that makes oneDNN's size formula exact */
    dnnl_dims_t pr = {(out.h - 1) * stride + kernel[0] - src->dims[2] - pad,
                      (out.w - 1) * stride + kernel[1] - src->dims[3] - pad};
    dnnl_pooling_v2_desc_t desc;
    const char *what = max ? "max pooling" : "average pooling";
    DNNL_CHECK(dnnl_pooling_v2_forward_desc_init(
                   &desc, dnnl_forward_inference,
                   max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding, src, &dst, strides,
                   k, dil, pl, pr),
               what);
    DNNL_CHECK(new_attr(&attr), what);
    DNNL_CHECK(dnnl_primitive_desc_create(pd, &desc, attr, eng, NULL), what);
done:
    dnnl_primitive_attr_destroy(attr);
    return st;
}

pdl_status pdl_cpu_resize_pd(dnnl_engine_t eng, const dnnl_memory_desc_t *src, pdl_shape out,
                             dnnl_primitive_desc_t *pd, pdl_error *err)
{
    pdl_status st = PDL_OK;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_memory_desc_t dst = any_md(src->dims[0], out);
    dnnl_resampling_desc_t desc;
    DNNL_CHECK(dnnl_resampling_forward_desc_init(&desc, dnnl_forward_inference,
                                                 dnnl_resampling_linear, NULL, src, &dst),
               "bilinear resampling");
    DNNL_CHECK(new_attr(&attr), "bilinear resampling");
    DNNL_CHECK(dnnl_primitive_desc_create(pd, &desc, attr, eng, NULL), "bilinear resampling");
done:
    dnnl_primitive_attr_destroy(attr);
    return st;
}

pdl_status pdl_cpu_concat_pd(dnnl_engine_t eng, int n, const dnnl_memory_desc_t *srcs,
                             dnnl_primitive_desc_t *pd, pdl_error *err)
{
    pdl_status st = PDL_OK;
    dnnl_primitive_attr_t attr = NULL;
    DNNL_CHECK(new_attr(&attr), "concat");
    DNNL_CHECK(dnnl_concat_primitive_desc_create(pd, NULL, n, 1, srcs, attr, eng), "concat");
done:
    dnnl_primitive_attr_destroy(attr);
    return st;
}

pdl_status pdl_cpu_reorder_pd(dnnl_engine_t eng, const dnnl_memory_desc_t *src,
                              const dnnl_memory_desc_t *dst, dnnl_primitive_desc_t *pd,
                              pdl_error *err)
{
    pdl_status st = PDL_OK;
    dnnl_primitive_attr_t attr = NULL;
    DNNL_CHECK(new_attr(&attr), "reorder");
    DNNL_CHECK(dnnl_reorder_primitive_desc_create(pd, src, eng, dst, eng, attr), "reorder");
done:
    dnnl_primitive_attr_destroy(attr);
    return st;
}
