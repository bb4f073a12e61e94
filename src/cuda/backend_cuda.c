/* backend_cuda.c - entry point of libpanoptic_cuda.so: the backend ops table.
 *
 * Built only when nvcc is present and loaded only when a CUDA device is asked
 * for. Opening checks that a driver and a device are usable and names the
 * reason when not. Networks (cuda_net.c) are cached by batch size and padded
 * input size, like the CPU backend's plans, least recently used out first; all share the uploaded weights
 * (cuda_weights.c) and one workspace sized to the largest plan; a new net's
 * GEMM-shaped convs are assigned to cuBLASLt or cuDNN once that workspace is
 * there (cuda_tune.c; PANOPTIC_CUDA_GEMM=auto|cudnn|cublas). Input is the
 * resized 8-bit image (normalised on the device); the head outputs, planar
 * float like the CPU backend's, stay on the device for the CUDA
 * post-processing executor this table offers (PDL_RUN_DEVICE), or come back
 * to the host (stage dumps).
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "cuda_internal.h"

#define PLAN_CACHE 4

typedef struct cuda_context {
    pdl_cuda_shared sh;
    char name[400];
    pdl_cuda_net *nets[PLAN_CACHE];
    unsigned long last_use[PLAN_CACHE];
    unsigned long clock;
    pdl_cuda_net *current;
    int height, width;
    int plans_built;
} cuda_context;

static pdl_status open_device(cuda_context *c, const pdl_device_request *req, pdl_error *err)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess)
        return pdl_fail(err, PDL_ERR_DEVICE, "no usable CUDA device (%s); use --device cpu",
                        cudaGetErrorString(e));
    if (count == 0)
        return pdl_fail(err, PDL_ERR_DEVICE, "no usable CUDA device (none found); use --device cpu");
    if (req->index >= count)
        return pdl_fail(err, PDL_ERR_DEVICE, "no usable CUDA device (cuda:%d requested, %d present)",
                        req->index, count);
    struct cudaDeviceProp prop;
    PDL_CUDA(cudaSetDevice(req->index));
    PDL_CUDA(cudaGetDeviceProperties(&prop, req->index));
    if (prop.major < 8)
        return pdl_fail(err, PDL_ERR_DEVICE,
                        "no usable CUDA device (%s is sm_%d%d; this build needs sm_80 or newer)",
                        prop.name, prop.major, prop.minor);
    c->sh.device = req->index;
    c->sh.precision = req->precision;
    pdl_status st = pdl_cuda_gemm_mode_parse(getenv("PANOPTIC_CUDA_GEMM"), &c->sh.gemm_mode, err);
    if (st != PDL_OK)
        return st;
    PDL_CUDA(cudaStreamCreateWithFlags(&c->sh.stream, cudaStreamNonBlocking));
    PDL_CUDNN(cudnnCreate(&c->sh.cudnn));
    PDL_CUDNN(cudnnSetStream(c->sh.cudnn, c->sh.stream));
    PDL_CUBLAS(cublasLtCreate(&c->sh.lt));
    snprintf(c->name, sizeof c->name, "cuda:%d (%s, cuDNN %zu, %s)", req->index, prop.name,
             cudnnGetVersion(), pdl_precision_name(req->precision));
    return PDL_OK;
}

static void cuda_close(void *ctx)
{
    cuda_context *c = ctx;
    if (!c)
        return;
    for (int i = 0; i < PLAN_CACHE; i++)
        pdl_cuda_net_free(c->nets[i]);
    pdl_cuda_weights_free(&c->sh);
    cudaFree(c->sh.workspace);
    if (c->sh.lt)
        cublasLtDestroy(c->sh.lt);
    if (c->sh.cudnn)
        cudnnDestroy(c->sh.cudnn);
    if (c->sh.stream)
        cudaStreamDestroy(c->sh.stream);
    free(c);
}

static pdl_status cuda_open(const pdl_device_request *req, void **ctx, pdl_error *err)
{
    cuda_context *c = calloc(1, sizeof *c);
    if (!c)
        return pdl_fail(err, PDL_ERR_NOMEM, "CUDA backend: out of memory");
    pdl_status st = open_device(c, req, err);
    if (st != PDL_OK) {
        cuda_close(c);
        return st;
    }
    *ctx = c;
    return PDL_OK;
}

static void cuda_describe(void *ctx, char *buf, size_t size)
{
    const cuda_context *c = ctx;
    snprintf(buf, size, "%s", c->name);
}

/* Forgets every network (when the model changes). */
static void drop_nets(cuda_context *c)
{
    for (int i = 0; i < PLAN_CACHE; i++) {
        pdl_cuda_net_free(c->nets[i]);
        c->nets[i] = NULL;
    }
    c->current = NULL;
}

static bool net_is(const pdl_cuda_net *n, int batch, int hp, int wp)
{
    return n && n->batch == batch && n->hp == hp && n->wp == wp;
}

/* The net for (batch, hp, wp), else an empty slot, else the least recently used. */
static int find_slot(const cuda_context *c, int batch, int hp, int wp)
{
    for (int i = 0; i < PLAN_CACHE; i++)
        if (net_is(c->nets[i], batch, hp, wp))
            return i;
    int victim = 0;
    for (int i = 0; i < PLAN_CACHE; i++) {
        if (!c->nets[i])
            return i;
        if (c->last_use[i] < c->last_use[victim])
            victim = i;
    }
    return victim;
}

static pdl_status grow_workspace(cuda_context *c, const pdl_cuda_net *n, pdl_error *err)
{
    if (n->workspace <= c->sh.workspace_size)
        return PDL_OK;
    cudaFree(c->sh.workspace);
    c->sh.workspace = NULL;
    c->sh.workspace_size = 0;
    cudaError_t e = cudaMalloc(&c->sh.workspace, n->workspace);
    if (e == cudaErrorMemoryAllocation) {
        char input[96];
        pdl_cuda_net_input_name(n, input, sizeof input);
        return pdl_fail(err, PDL_ERR_NOMEM,
                        "CUDA backend: out of device memory for %s: the cuDNN workspace needs "
                        "%zu MB", input, (n->workspace + (1u << 20) - 1) >> 20);
    }
    PDL_CUDA(e);
    c->sh.workspace_size = n->workspace;
    return PDL_OK;
}

static pdl_status prepare(cuda_context *c, const pdl_model *model, int batch, int height,
                          int width, pdl_error *err)
{
    if (batch < 1 || batch > PDL_MAX_BATCH)
        return pdl_fail(err, PDL_ERR_ARG, "CUDA backend: bad batch size %d (1..%d)", batch,
                        PDL_MAX_BATCH);
    if (height < 1 || width < 1)
        return pdl_fail(err, PDL_ERR_ARG, "CUDA backend: bad image size %dx%d", width, height);
    PDL_CUDA(cudaSetDevice(c->sh.device));
    if (c->sh.model != model || c->sh.model_id != model->id)
        drop_nets(c);
    pdl_status st = pdl_cuda_weights_upload(&c->sh, model, err);
    if (st != PDL_OK)
        return st;
    int hp, wp;
    pdl_model_input_size(&model->config, height, width, &hp, &wp);
    int slot = find_slot(c, batch, hp, wp);
    if (!net_is(c->nets[slot], batch, hp, wp)) {
        pdl_cuda_net_free(c->nets[slot]);
        c->nets[slot] = NULL;
        c->current = NULL;
        st = pdl_cuda_net_create(&c->sh, batch, hp, wp, &c->nets[slot], err);
        if (st != PDL_OK)
            return st;
        c->plans_built++;
    }
    st = grow_workspace(c, c->nets[slot], err);
    if (st == PDL_OK && !c->nets[slot]->tuned)
        st = pdl_cuda_net_choose_gemms(c->nets[slot], &c->sh, err);
    if (st != PDL_OK)
        return st;
    c->last_use[slot] = ++c->clock;
    c->current = c->nets[slot];
    c->height = height;
    c->width = width;
    return PDL_OK;
}

/* A failed prepare leaves no net current: the one before may have lost its
 * workspace (grow_workspace frees it first) or its weights, and run() must
 * refuse rather than run it. */
static pdl_status cuda_prepare(void *ctx, const pdl_model *model, int batch, int height, int width,
                               pdl_error *err)
{
    cuda_context *c = ctx;
    pdl_status st = prepare(c, model, batch, height, width, err);
    if (st != PDL_OK)
        c->current = NULL;
    return st;
}

static pdl_status cuda_run(void *ctx, const void *input, unsigned flags, pdl_head_outputs *out,
                           pdl_error *err)
{
    cuda_context *c = ctx;
    if (!c->current)
        return pdl_fail(err, PDL_ERR_ARG, "CUDA backend: run without a successful prepare");
    /* the device is per thread, and predict runs the network on a thread of its own */
    PDL_CUDA(cudaSetDevice(c->sh.device));
    memset(out, 0, (size_t)c->current->batch * sizeof *out);
    for (int i = 0; i < c->current->batch; i++) {
        out[i].height = c->height;
        out[i].width = c->width;
    }
    return pdl_cuda_net_run(c->current, &c->sh, input, flags, out, err);
}

static const pdl_pp_kernels *cuda_pp_executor(void *ctx, void **stream)
{
    cuda_context *c = ctx;
    *stream = c->sh.stream;
    return &pdl_cuda_pp_kernels;
}

static void cuda_stats(void *ctx, pdl_backend_stats *out)
{
    const cuda_context *c = ctx;
    memset(out, 0, sizeof *out);
    out->plans_built = c->plans_built;
    for (int i = 0; i < PLAN_CACHE; i++)
        out->plans_cached += c->nets[i] != NULL;
    if (c->current) {
        const pdl_model *m = c->sh.model;
        for (int i = 0; i < m->nops; i++)
            out->own_ops += m->ops[i].kind != PDL_OP_CONV && m->ops[i].kind != PDL_OP_MAXPOOL;
        out->arena_bytes = c->current->arena_bytes;
        out->graph_launches = c->current->graph_launches;
        out->gemm_convs = c->current->gemm_convs;
        memcpy(out->note, c->current->graph_note, sizeof out->note);
    }
    out->scratch_bytes = c->sh.workspace_size;
    out->weight_bytes = c->sh.weight_bytes;
    if (c->current)
        out->output_bytes = (c->current->head_floats + c->current->full_floats +
                             c->current->stage_floats) * c->current->batch * sizeof(float);
}

static const pdl_backend_ops cuda_ops = {
    .name = "cuda",
    .open = cuda_open,
    .close = cuda_close,
    .describe = cuda_describe,
    .prepare = cuda_prepare,
    .run = cuda_run,
    .stats = cuda_stats,
    .input_format = PDL_INPUT_RGB8,
    .pp_executor = cuda_pp_executor,
};

__attribute__((visibility("default"))) const pdl_backend_ops *pdl_cuda_backend_ops(void)
{
    return &cuda_ops;
}
