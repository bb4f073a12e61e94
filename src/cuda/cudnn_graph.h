/* cudnn_graph.h - one layer of the model as a cuDNN graph (backend API), NHWC
 * with N = the batch: a conv fused with its bias, residual add and ReLU, or a
 * max pool.
 *
 * Split in two because of what needs a GPU: the *_describe functions
 * (cudnn_layers.c) build and finalize every tensor, convolution, resample,
 * pointwise and operation descriptor on the host (cuDNN checks shapes,
 * strides and types there; the CUDA-less tests run it for every layer);
 * pdl_cudnn_graph_plan (cudnn_plan.c) then needs a cuDNN handle for the
 * operation graph, the heuristics and the execution plan.
 *
 * Variant-pack ids (the same in every layer's graph): PDL_CONV_UID_*. A net's
 * device pointers are fixed when it is created, so each graph keeps its
 * variant pack (pdl_cudnn_graph_bind) and builds a new one only when a
 * pointer changes, which in practice is the shared workspace moving when it
 * grows for a larger net. Binding needs no GPU either.
 */
#ifndef PDL_CUDNN_GRAPH_H
#define PDL_CUDNN_GRAPH_H

#include <cudnn.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"
#include "status.h"

enum { PDL_CONV_UID_X = 1, PDL_CONV_UID_W, PDL_CONV_UID_B, PDL_CONV_UID_R, PDL_CONV_UID_Y };

#define PDL_CUDNN_CONV_MAX_OPS 4     /* conv, bias add, residual add, ReLU */
#define PDL_CUDNN_CONV_MAX_TENSORS 9 /* X W B R Y and up to three virtual ones */

typedef struct pdl_cudnn_graph {
    pdl_precision precision;
    bool residual;
    int ntensors, nops, npw;
    cudnnBackendDescriptor_t tensors[PDL_CUDNN_CONV_MAX_TENSORS];
    cudnnBackendDescriptor_t conv; /* convolution or resample descriptor */
    cudnnBackendDescriptor_t pw[PDL_CUDNN_CONV_MAX_OPS - 1]; /* pointwise modes */
    cudnnBackendDescriptor_t ops[PDL_CUDNN_CONV_MAX_OPS];
    /* set by pdl_cudnn_graph_plan */
    cudnnBackendDescriptor_t graph, plan;
    int64_t workspace; /* bytes the plan needs */
    /* set by pdl_cudnn_graph_bind: the variant pack and the pointers in it */
    cudnnBackendDescriptor_t pack;
    void *bound[PDL_CONV_UID_Y], *bound_workspace;
} pdl_cudnn_graph;

/* Builds and finalizes the host-side descriptors of conv `c` from input shape
 * `in` to output shape `out` (pdl_model_shapes), for `batch` images one
 * after the other (N = batch). Tensors are NHWC in the
 * precision's storage type (float; half for PDL_PRECISION_FP16), the filter
 * KRSC with cin / groups input channels (depthwise = groups == cin), compute in
 * float. On failure *d is left empty and err names the layer. */
pdl_status pdl_cudnn_conv_describe(const pdl_conv *c, int batch, pdl_shape in, pdl_shape out,
                                   pdl_precision precision, pdl_cudnn_graph *d, pdl_error *err);

/* A max pool (PyTorch floor mode, padding with -inf) from `in` to `out`. */
pdl_status pdl_cudnn_maxpool_describe(const pdl_op *op, int batch, pdl_shape in, pdl_shape out,
                                      pdl_precision precision, pdl_cudnn_graph *d, pdl_error *err);

/* Makes the operation graph and the execution plan: heuristics mode A, the
 * first engine configuration in its list that finalizes (for FP32, the first
 * whose engine uses no tensor cores, which on float data would mean TF32);
 * the fallback mode's list likewise when mode A's has none. */
pdl_status pdl_cudnn_graph_plan(pdl_cudnn_graph *d, cudnnHandle_t handle, const char *name,
                               pdl_error *err);

/* The variant-pack pointers of model op `op` (a conv or the max pool): t[] are
 * the tensors' device buffers, w and b the conv's weights and bias. */
void pdl_cudnn_op_pointers(const pdl_op *op, void *const *t, void *w, void *b,
                           void *ptr[PDL_CONV_UID_Y]);

/* Makes d->pack hold ptr (ptr[uid - 1] is the device pointer of tensor uid,
 * NULL for those the graph lacks) and workspace; keeps the pack it has when
 * they are the ones it holds. Fails (PDL_ERR_ARG) when the pointers given are
 * not exactly the graph's non-virtual tensors. */
pdl_status pdl_cudnn_graph_bind(pdl_cudnn_graph *d, void *const ptr[PDL_CONV_UID_Y],
                                void *workspace, pdl_error *err);

/* Binds (above) and runs the plan on stream-ordered handle. */
pdl_status pdl_cudnn_graph_run(pdl_cudnn_graph *d, cudnnHandle_t handle,
                               void *const ptr[PDL_CONV_UID_Y], void *workspace, pdl_error *err);

void pdl_cudnn_graph_free(pdl_cudnn_graph *d);

#endif
