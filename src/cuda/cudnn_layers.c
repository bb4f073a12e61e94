/* cudnn_layers.c - the host-side half of a layer's cuDNN graph (a fused conv
 * or a max pool): tensor, convolution, resample, pointwise and operation
 * descriptors, each finalized as soon as it is complete so cuDNN validates
 * shapes, strides and types without a GPU.
 *
 * Logical dims are NCHW as cuDNN wants them, strides make the memory NHWC
 * (filters KRSC). Grouped and depthwise convs are not a separate attribute in
 * the backend API: cuDNN infers groups = C(x) / C(w). Intermediates between
 * the fused ops are virtual float tensors; only the last op writes Y.
 */
#include "cudnn_graph.h"

#include <string.h>

#include "cuda_check.h"

#define ALIGNMENT 16 /* bytes; every buffer comes from cudaMalloc (256-aligned) */

typedef struct builder {
    pdl_cudnn_graph *d;
    int64_t batch; /* N of every activation */
    int64_t next_virtual_uid;
    pdl_error *err;
} builder;

static pdl_status set(cudnnBackendDescriptor_t desc, cudnnBackendAttributeName_t name,
                      cudnnBackendAttributeType_t type, int64_t count, const void *value,
                      pdl_error *err)
{
    PDL_CUDNN(cudnnBackendSetAttribute(desc, name, type, count, value));
    return PDL_OK;
}

static pdl_status create(cudnnBackendDescriptorType_t type, cudnnBackendDescriptor_t *desc,
                         pdl_error *err)
{
    PDL_CUDNN(cudnnBackendCreateDescriptor(type, desc));
    return PDL_OK;
}

static pdl_status finalize(cudnnBackendDescriptor_t desc, pdl_error *err)
{
    PDL_CUDNN(cudnnBackendFinalize(desc));
    return PDL_OK;
}

/* A tensor with logical dims n,c,h,w and the given strides; uid 0 = virtual. */
static pdl_status tensor(builder *b, int64_t uid, cudnnDataType_t type, const int64_t dims[4],
                         const int64_t strides[4], cudnnBackendDescriptor_t *out)
{
    pdl_cudnn_graph *d = b->d;
    pdl_error *err = b->err;
    bool is_virtual = uid == 0;
    if (is_virtual)
        uid = b->next_virtual_uid++;
    cudnnBackendDescriptor_t t;
    pdl_status st = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &t, err);
    if (st != PDL_OK)
        return st;
    d->tensors[d->ntensors++] = t;
    int64_t alignment = ALIGNMENT;
    st = set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type, err);
    if (st == PDL_OK)
        st = set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims, err);
    if (st == PDL_OK)
        st = set(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides, err);
    if (st == PDL_OK)
        st = set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid, err);
    if (st == PDL_OK)
        st = set(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment, err);
    if (st == PDL_OK)
        st = set(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual, err);
    if (st == PDL_OK)
        st = finalize(t, err);
    *out = t;
    return st;
}

/* An NHWC activation of shape s, batch images. */
static pdl_status activation(builder *b, int64_t uid, cudnnDataType_t type, pdl_shape s,
                             cudnnBackendDescriptor_t *out)
{
    const int64_t dims[4] = {b->batch, s.c, s.h, s.w};
    const int64_t strides[4] = {(int64_t)s.h * s.w * s.c, 1, (int64_t)s.w * s.c, s.c};
    return tensor(b, uid, type, dims, strides, out);
}

static pdl_status conv_descriptor(builder *b, const pdl_conv *c, cudnnBackendDescriptor_t *out)
{
    pdl_error *err = b->err;
    pdl_status st = create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, out, err);
    if (st != PDL_OK)
        return st;
    b->d->conv = *out;
    cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    int64_t dims = 2, dil[2] = {c->dilation, c->dilation}, stride[2] = {c->stride, c->stride},
            pad[2] = {c->pad, c->pad};
    st = set(*out, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute, err);
    if (st == PDL_OK)
        st = set(*out, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode, err);
    if (st == PDL_OK)
        st = set(*out, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims, err);
    if (st == PDL_OK)
        st = set(*out, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil, err);
    if (st == PDL_OK)
        st = set(*out, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride, err);
    if (st == PDL_OK)
        st = set(*out, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad, err);
    if (st == PDL_OK)
        st = set(*out, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad, err);
    return st == PDL_OK ? finalize(*out, err) : st;
}

static pdl_status conv_operation(builder *b, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t w,
                                 cudnnBackendDescriptor_t y)
{
    pdl_cudnn_graph *d = b->d;
    pdl_error *err = b->err;
    cudnnBackendDescriptor_t op;
    pdl_status st = create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, &op, err);
    if (st != PDL_OK)
        return st;
    d->ops[d->nops++] = op;
    float alpha = 1.0f, beta = 0.0f;
    st = set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x,
             err);
    if (st == PDL_OK)
        st = set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                 &w, err);
    if (st == PDL_OK)
        st = set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                 &y, err);
    if (st == PDL_OK)
        st = set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
                 CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d->conv, err);
    if (st == PDL_OK)
        st = set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha,
                 err);
    if (st == PDL_OK)
        st = set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta, err);
    return st == PDL_OK ? finalize(op, err) : st;
}

/* y = x + other (ADD) or y = max(x, 0) (RELU_FWD, other NULL), in float. */
static pdl_status pointwise(builder *b, cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x,
                            cudnnBackendDescriptor_t other, cudnnBackendDescriptor_t y)
{
    pdl_cudnn_graph *d = b->d;
    pdl_error *err = b->err;
    cudnnBackendDescriptor_t pw, op;
    pdl_status st = create(CUDNN_BACKEND_POINTWISE_DESCRIPTOR, &pw, err);
    if (st != PDL_OK)
        return st;
    d->pw[d->npw++] = pw;
    cudnnDataType_t math = CUDNN_DATA_FLOAT;
    st = set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode, err);
    if (st == PDL_OK)
        st = set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &math, err);
    if (st == PDL_OK)
        st = finalize(pw, err);
    if (st == PDL_OK)
        st = create(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, &op, err);
    if (st != PDL_OK)
        return st;
    d->ops[d->nops++] = op;
    st = set(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
             &pw, err);
    if (st == PDL_OK)
        st = set(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x,
                 err);
    if (st == PDL_OK && other)
        st = set(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                 &other, err);
    if (st == PDL_OK)
        st = set(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y,
                 err);
    return st == PDL_OK ? finalize(op, err) : st;
}

/* The output of the next fused step: Y when it is the last, else virtual. */
static pdl_status step_output(builder *b, bool last, cudnnDataType_t io, pdl_shape out,
                              cudnnBackendDescriptor_t *t)
{
    return activation(b, last ? PDL_CONV_UID_Y : 0, last ? io : CUDNN_DATA_FLOAT, out, t);
}

static pdl_status build(builder *b, const pdl_conv *c, pdl_shape in, pdl_shape out)
{
    cudnnDataType_t io = b->d->precision == PDL_PRECISION_FP16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    int64_t cg = c->groups > 0 ? c->cin / c->groups : 0, k = c->kernel;
    const int64_t wdims[4] = {c->cout, cg, k, k}, wstrides[4] = {k * k * cg, 1, k * cg, cg};
    const int64_t bdims[4] = {1, c->cout, 1, 1}, bstrides[4] = {c->cout, 1, c->cout, c->cout};
    cudnnBackendDescriptor_t x, w, bias, r = NULL, conv, y, next;
    pdl_status st = activation(b, PDL_CONV_UID_X, io, in, &x);
    if (st == PDL_OK)
        st = tensor(b, PDL_CONV_UID_W, io, wdims, wstrides, &w);
    if (st == PDL_OK)
        st = tensor(b, PDL_CONV_UID_B, io, bdims, bstrides, &bias);
    if (st == PDL_OK && b->d->residual)
        st = activation(b, PDL_CONV_UID_R, io, out, &r);
    if (st == PDL_OK)
        st = conv_descriptor(b, c, &conv);
    if (st == PDL_OK)
        st = activation(b, 0, CUDNN_DATA_FLOAT, out, &y);
    if (st == PDL_OK)
        st = conv_operation(b, x, w, y);
    bool more = b->d->residual || c->relu;
    if (st == PDL_OK)
        st = step_output(b, !more, io, out, &next);
    if (st == PDL_OK)
        st = pointwise(b, CUDNN_POINTWISE_ADD, y, bias, next);
    y = next;
    if (st == PDL_OK && b->d->residual) {
        st = step_output(b, !c->relu, io, out, &next);
        if (st == PDL_OK)
            st = pointwise(b, CUDNN_POINTWISE_ADD, y, r, next);
        y = next;
    }
    if (st == PDL_OK && c->relu) {
        st = step_output(b, true, io, out, &next);
        if (st == PDL_OK)
            st = pointwise(b, CUDNN_POINTWISE_RELU_FWD, y, NULL, next);
    }
    return st;
}

pdl_status pdl_cudnn_conv_describe(const pdl_conv *c, int batch, pdl_shape in, pdl_shape out,
                                   pdl_precision precision, pdl_cudnn_graph *d, pdl_error *err)
{
    memset(d, 0, sizeof *d);
    d->precision = precision;
    d->residual = c->residual >= 0;
    pdl_error inner;
    builder b = {.d = d, .batch = batch, .next_virtual_uid = PDL_CONV_UID_Y + 1, .err = &inner};
    if (build(&b, c, in, out) == PDL_OK)
        return PDL_OK;
    pdl_cudnn_graph_free(d);
    return pdl_fail(err, inner.code, "%s (%dx%dx%dx%d -> %dx%dx%dx%d, %s): %s", c->name, batch,
                    in.c, in.h, in.w, batch, out.c, out.h, out.w, pdl_precision_name(precision),
                    inner.msg);
}

static pdl_status maxpool(builder *b, const pdl_op *op, pdl_shape in, pdl_shape out)
{
    pdl_cudnn_graph *d = b->d;
    pdl_error *err = b->err;
    cudnnDataType_t io = d->precision == PDL_PRECISION_FP16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    cudnnBackendDescriptor_t x, y, op_desc;
    cudnnResampleMode_t mode = CUDNN_RESAMPLE_MAXPOOL;
    cudnnPaddingMode_t padding = CUDNN_NEG_INF_PAD;
    cudnnNanPropagation_t nan = CUDNN_PROPAGATE_NAN;
    int64_t dims = 2, window[2] = {op->kernel[0], op->kernel[1]}, stride[2] = {op->stride, op->stride},
            pad[2] = {op->pad, op->pad};
    pdl_status st = activation(b, PDL_CONV_UID_X, io, in, &x);
    if (st == PDL_OK)
        st = activation(b, PDL_CONV_UID_Y, io, out, &y);
    if (st == PDL_OK)
        st = create(CUDNN_BACKEND_RESAMPLE_DESCRIPTOR, &d->conv, err);
    if (st != PDL_OK)
        return st;
    cudnnBackendDescriptor_t r = d->conv;
    st = set(r, CUDNN_ATTR_RESAMPLE_MODE, CUDNN_TYPE_RESAMPLE_MODE, 1, &mode, err);
    if (st == PDL_OK)
        st = set(r, CUDNN_ATTR_RESAMPLE_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute, err);
    if (st == PDL_OK)
        st = set(r, CUDNN_ATTR_RESAMPLE_NAN_PROPAGATION, CUDNN_TYPE_NAN_PROPOGATION, 1, &nan, err);
    if (st == PDL_OK)
        st = set(r, CUDNN_ATTR_RESAMPLE_PADDING_MODE, CUDNN_TYPE_PADDING_MODE, 1, &padding, err);
    if (st == PDL_OK)
        st = set(r, CUDNN_ATTR_RESAMPLE_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims, err);
    if (st == PDL_OK)
        st = set(r, CUDNN_ATTR_RESAMPLE_WINDOW_DIMS, CUDNN_TYPE_INT64, 2, window, err);
    if (st == PDL_OK)
        st = set(r, CUDNN_ATTR_RESAMPLE_STRIDES, CUDNN_TYPE_INT64, 2, stride, err);
    if (st == PDL_OK)
        st = set(r, CUDNN_ATTR_RESAMPLE_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad, err);
    if (st == PDL_OK)
        st = set(r, CUDNN_ATTR_RESAMPLE_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad, err);
    if (st == PDL_OK)
        st = finalize(r, err);
    if (st == PDL_OK)
        st = create(CUDNN_BACKEND_OPERATION_RESAMPLE_FWD_DESCRIPTOR, &op_desc, err);
    if (st != PDL_OK)
        return st;
    d->ops[d->nops++] = op_desc;
    st = set(op_desc, CUDNN_ATTR_OPERATION_RESAMPLE_FWD_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &r,
             err);
    if (st == PDL_OK)
        st = set(op_desc, CUDNN_ATTR_OPERATION_RESAMPLE_FWD_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                 &x, err);
    if (st == PDL_OK)
        st = set(op_desc, CUDNN_ATTR_OPERATION_RESAMPLE_FWD_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                 &y, err);
    return st == PDL_OK ? finalize(op_desc, err) : st;
}

pdl_status pdl_cudnn_maxpool_describe(const pdl_op *op, int batch, pdl_shape in, pdl_shape out,
                                      pdl_precision precision, pdl_cudnn_graph *d, pdl_error *err)
{
    memset(d, 0, sizeof *d);
    d->precision = precision;
    pdl_error inner;
    builder b = {.d = d, .batch = batch, .next_virtual_uid = PDL_CONV_UID_Y + 1, .err = &inner};
    if (maxpool(&b, op, in, out) == PDL_OK)
        return PDL_OK;
    pdl_cudnn_graph_free(d);
    return pdl_fail(err, inner.code, "max pool %dx%d/%d (%dx%dx%dx%d -> %dx%dx%dx%d, %s): %s",
                    op->kernel[0], op->kernel[1], op->stride, batch, in.c, in.h, in.w, batch,
                    out.c, out.h, out.w, pdl_precision_name(precision), inner.msg);
}

void pdl_cudnn_graph_free(pdl_cudnn_graph *d)
{
    if (d->pack)
        cudnnBackendDestroyDescriptor(d->pack);
    if (d->plan)
        cudnnBackendDestroyDescriptor(d->plan);
    if (d->graph)
        cudnnBackendDestroyDescriptor(d->graph);
    for (int i = 0; i < d->nops; i++)
        cudnnBackendDestroyDescriptor(d->ops[i]);
    for (int i = 0; i < d->npw; i++)
        cudnnBackendDestroyDescriptor(d->pw[i]);
    if (d->conv)
        cudnnBackendDestroyDescriptor(d->conv);
    for (int i = 0; i < d->ntensors; i++)
        cudnnBackendDestroyDescriptor(d->tensors[i]);
    memset(d, 0, sizeof *d);
}
