/* cuda_internal.h - pieces of the CUDA backend shared by its files: the
 * device state (backend_cuda.c: handles, stream, workspace; cuda_weights.c:
 * weights uploaded once) and the per-input-size network (cuda_net.c: cuDNN
 * plans, cuBLASLt GEMMs for the 1x1 convs, activations; cuda_tune.c: which
 * of the two each 1x1 conv runs; cuda_run.c: running it).
 * Not a public interface.
 */
#ifndef PDL_CUDA_INTERNAL_H
#define PDL_CUDA_INTERNAL_H

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <stdbool.h>

#include "backend.h"
#include "cublas_conv1x1.h"
#include "cuda_gemm_choice.h"
#include "cudnn_graph.h"
#include "model.h"

#define PDL_CUDA_LT_WORKSPACE (4u << 20) /* cuBLASLt's share of the workspace */

/* What every plan shares: one device, one stream, the weights, one workspace. */
typedef struct pdl_cuda_shared {
    int device;
    pdl_precision precision;
    pdl_cuda_gemm_mode gemm_mode; /* PANOPTIC_CUDA_GEMM, read when the backend opens */
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasLtHandle_t lt;
    const pdl_model *model;
    uint64_t model_id;
    void *weight_block;    /* every conv's weights (KRSC) and bias, storage type */
    void **weight, **bias; /* per op, into weight_block (NULL for non-convs) */
    size_t weight_bytes;
    void *workspace;
    size_t workspace_size;
} pdl_cuda_shared;

/* The network input is stored with its 3 channels padded to 8 (zeros, and
 * zero weights in the conv that reads it): FP16 tensor-core engines want
 * channel counts that are multiples of 8, and zeros change no sum. */
#define PDL_CUDA_INPUT_CHANNELS 8

/* Input channels of conv op `op` as stored on the device. */
static inline int pdl_cuda_conv_cin(const pdl_op *op)
{
    return op->in[0] == 0 && op->conv.groups == 1 ? PDL_CUDA_INPUT_CHANNELS : op->conv.cin;
}

/* Bytes of one element in the precision's storage type. */
static inline size_t pdl_cuda_elem(pdl_precision p)
{
    return p == PDL_PRECISION_FP16 ? 2 : 4;
}

/* Uploads the model's conv weights (reordered to KRSC, converted to the
 * storage type); keeps them until the model changes. */
pdl_status pdl_cuda_weights_upload(pdl_cuda_shared *sh, const pdl_model *m, pdl_error *err);
void pdl_cuda_weights_free(pdl_cuda_shared *sh);

/* The network for one batch size and padded input size. Every buffer holds
 * the batch's images one after the other (tensors N = batch, NHWC). */
typedef struct pdl_cuda_net {
    int batch, hp, wp;
    int nops;
    pdl_shape *shapes;        /* per tensor, as stored (the input padded to 8 channels) */
    pdl_cudnn_graph *graphs;  /* per op: planned cuDNN graph (convs, max pool) */
    pdl_gemm *gemms;          /* per op: a GEMM candidate's cuBLASLt GEMM (planned when it has one) */
    bool *gemm;               /* per op: runs as its GEMM, not its cuDNN graph */
    bool tuned;               /* gemm[] chosen (pdl_cuda_net_choose_gemms) */
    int gemm_convs;           /* how many convs run as GEMMs */
    void **t;                 /* per tensor: device buffer */
    void *arena;              /* activations, placed by liveness */
    size_t arena_bytes;
    float *pool_rows;         /* the pooling kernel's float scratch */
    size_t workspace;         /* the largest plan's workspace */
    uint8_t *rgb_host, *rgb_dev; /* the 8-bit image, pinned on the host and on the device */
    float *heads_dev, *heads_host; /* planar float head outputs (pinned on the host) */
    float *full_dev, *full_host;   /* PDL_RUN_FULL's, made when first asked for */
    float *stages_dev, *stages_host;
    size_t head_floats, full_floats, stage_floats; /* per image */
    /* the ops captured as a CUDA graph (cuda_run.c) */
    cudaGraphExec_t exec;     /* NULL until captured */
    void *exec_workspace;     /* the shared workspace the capture holds */
    int eager_runs, graph_launches;
    char graph_note[PDL_ERROR_MSG_MAX]; /* why runs stay eager; "" while none failed */
} pdl_cuda_net;

/* "a 2048x1024 input" or "a batch of 4 2048x1024 inputs", for messages. */
void pdl_cuda_net_input_name(const pdl_cuda_net *n, char *buf, size_t size);

/* The three head outputs, in the order heads_dev holds them. */
extern const pdl_stage pdl_cuda_head_stage[3];

/* Plans every layer for `batch` padded inputs of hp x wp and allocates its
 * buffers; out-of-memory errors name the input size and the bytes needed. */
pdl_status pdl_cuda_net_create(pdl_cuda_shared *sh, int batch, int hp, int wp, pdl_cuda_net **out,
                               pdl_error *err);
void pdl_cuda_net_free(pdl_cuda_net *n);

/* Makes the buffers that run's flags need and the net lacks (the x4 outputs,
 * the stage copies, their host copies). */
pdl_status pdl_cuda_net_reserve(pdl_cuda_net *n, const pdl_cuda_shared *sh, unsigned flags,
                                pdl_error *err);

/* Conv op i's GEMM operands: its input, weights, bias, residual, output. */
void pdl_cuda_net_gemm_io(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int i,
                          pdl_gemm_io *io);

/* Queues conv op i, as its GEMM (which must be planned) or its cuDNN graph. */
pdl_status pdl_cuda_net_run_conv(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int i,
                                 bool gemm, pdl_error *err);

/* Sets gemm[] for every conv with a planned GEMM, by sh->gemm_mode: all
 * cuDNN, all cuBLASLt, or (auto) each the way that ran it faster here, timed
 * on the stream (cuda_tune.c). Once per net, before its first run (so the
 * CUDA graph captures the chosen path); the shared workspace must hold
 * n->workspace bytes. */
pdl_status pdl_cuda_net_choose_gemms(pdl_cuda_net *n, const pdl_cuda_shared *sh,
                                     pdl_error *err);

/* Runs the network on rgb, n->batch 8-bit RGB images of out->height x
 * out->width (at most hp x wp), uploaded and normalised on the device; fills
 * out[0..batch-1] with the /4 head outputs as planar float, and what flags ask
 * for (PDL_RUN_FULL, PDL_RUN_STAGES; device pointers under PDL_RUN_DEVICE).
 * The shared workspace must hold n->workspace bytes. */
pdl_status pdl_cuda_net_run(pdl_cuda_net *n, pdl_cuda_shared *sh, const uint8_t *rgb,
                            unsigned flags, pdl_head_outputs *out, pdl_error *err);

#endif
