/* cuda_net.c - the network for one padded input size on the GPU.
 *
 * Planning walks the graph once: each conv gets its fused cuDNN graph and
 * execution plan, the stem's max pool a cuDNN resample graph; pooling, resize
 * and concat are the dense kernels. Every conv that is one GEMM over the
 * pixels (pdl_cuda_gemm_candidate: the pooled ASPP branch's, the 1x1s of the
 * bottlenecks, projections and dsconvs, the predictors) also gets a cuBLASLt
 * GEMM, planned once the activations are placed (the heuristic wants the
 * buffers' alignment); which of the two runs is chosen later, on the device
 * (cuda_tune.c). A batch is N of every tensor descriptor and of the GEMM's
 * rows; buffers hold the images one after the other, so the dense kernels run
 * per image or over the batch. Activations are NHWC in the precision's
 * storage type and share one arena placed by liveness (pdl_cpu_place_blocks,
 * the CPU backend's placer). Running queues everything on one stream and
 * brings back the /4 heads (and, on request, every stage) as planar float.
 */
#include "cuda_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "cuda_check.h"
#include "dense_kernels.h"

const pdl_stage pdl_cuda_head_stage[3] = {PDL_STAGE_SEM_LOGITS, PDL_STAGE_CENTER,
                                          PDL_STAGE_OFFSET};

static size_t floats_of(pdl_shape s)
{
    return (size_t)s.c * s.h * s.w;
}

void pdl_cuda_net_input_name(const pdl_cuda_net *n, char *buf, size_t size)
{
    if (n->batch > 1)
        snprintf(buf, size, "a batch of %d %dx%d inputs", n->batch, n->wp, n->hp);
    else
        snprintf(buf, size, "a %dx%d input", n->wp, n->hp);
}

/* cudaMalloc or (pinned, for asynchronous copies) cudaMallocHost, with an
 * out-of-memory message naming the input size and what needed how much. */
static pdl_status alloc(const pdl_cuda_net *n, bool host, void **p, size_t bytes,
                        const char *what, pdl_error *err)
{
    cudaError_t e = host ? cudaMallocHost(p, bytes ? bytes : 1) : cudaMalloc(p, bytes ? bytes : 1);
    if (e != cudaSuccess)
        *p = NULL;
    if (e == cudaErrorMemoryAllocation) {
        char input[96];
        pdl_cuda_net_input_name(n, input, sizeof input);
        return pdl_fail(err, PDL_ERR_NOMEM,
                        "CUDA backend: out of %s memory for %s: %s needs %zu MB",
                        host ? "pinned host" : "device", input, what,
                        (bytes + (1u << 20) - 1) >> 20);
    }
    PDL_CUDA(e);
    return PDL_OK;
}

static pdl_status dev_alloc(const pdl_cuda_net *n, void **p, size_t bytes, const char *what,
                            pdl_error *err)
{
    return alloc(n, false, p, bytes, what, err);
}

static pdl_status host_alloc(const pdl_cuda_net *n, void **p, size_t bytes, const char *what,
                             pdl_error *err)
{
    return alloc(n, true, p, bytes, what, err);
}

void pdl_cuda_net_gemm_io(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int i,
                          pdl_gemm_io *io)
{
    const pdl_op *op = &sh->model->ops[i];
    pdl_shape in = n->shapes[op->in[0]];
    *io = (pdl_gemm_io){.pixels = (long)n->batch * in.h * in.w, .cin = pdl_cuda_conv_cin(op),
                        .cout = op->conv.cout, .x = n->t[op->in[0]], .w = sh->weight[i],
                        .bias = sh->bias[i],
                        .residual = op->conv.residual >= 0 ? n->t[op->conv.residual] : NULL,
                        .y = n->t[op->out]};
}

/* The cuBLASLt GEMM of every candidate conv; one the heuristic has nothing
 * for stays unplanned (and on cuDNN). Needs the activations placed. */
static pdl_status plan_gemms(pdl_cuda_net *n, const pdl_cuda_shared *sh, pdl_error *err)
{
    const pdl_model *m = sh->model;
    for (int i = 0; i < m->nops; i++) {
        const pdl_op *op = &m->ops[i];
        if (!pdl_cuda_gemm_candidate(op))
            continue;
        pdl_gemm_io io;
        pdl_cuda_net_gemm_io(n, sh, i, &io);
        pdl_status st = pdl_gemm_describe(&n->gemms[i], sh->precision, &io, op->conv.relu, err);
        if (st == PDL_OK)
            st = pdl_gemm_plan(&n->gemms[i], sh->lt, &io, PDL_CUDA_LT_WORKSPACE, err);
        if (st != PDL_OK)
            return st;
    }
    return PDL_OK;
}

static pdl_status plan_layers(pdl_cuda_net *n, pdl_cuda_shared *sh, pdl_error *err)
{
    const pdl_model *m = sh->model;
    for (int i = 0; i < m->nops; i++) {
        const pdl_op *op = &m->ops[i];
        pdl_cudnn_graph *g = &n->graphs[i];
        pdl_status st = PDL_OK;
        if (op->kind == PDL_OP_CONV) {
            pdl_conv stored = op->conv;
            stored.cin = pdl_cuda_conv_cin(op);
            st = pdl_cudnn_conv_describe(&stored, n->batch, n->shapes[op->in[0]],
                                         n->shapes[op->out], sh->precision, g, err);
            if (st == PDL_OK)
                st = pdl_cudnn_graph_plan(g, sh->cudnn, op->conv.name, err);
        } else if (op->kind == PDL_OP_MAXPOOL) {
            st = pdl_cudnn_maxpool_describe(op, n->batch, n->shapes[op->in[0]],
                                            n->shapes[op->out], sh->precision, g, err);
            if (st == PDL_OK)
                st = pdl_cudnn_graph_plan(g, sh->cudnn, "stem max pool", err);
        }
        if (st != PDL_OK)
            return st;
        if ((size_t)g->workspace > n->workspace)
            n->workspace = (size_t)g->workspace;
    }
    return PDL_OK;
}

/* Places every activation in one arena by liveness (op i is step i + 1, the
 * input is written at step 0; head outputs live to the end). */
static pdl_status place(pdl_cuda_net *n, const pdl_cuda_shared *sh, const int *producer,
                        pdl_error *err)
{
    const pdl_model *m = sh->model;
    pdl_cpu_block *b = calloc((size_t)m->ntensors, sizeof *b);
    if (!b)
        return pdl_fail(err, PDL_ERR_NOMEM, "CUDA backend: out of memory");
    for (int t = 0; t < m->ntensors; t++)
        b[t] = (pdl_cpu_block){.size = floats_of(n->shapes[t]) * n->batch *
                                       pdl_cuda_elem(sh->precision),
                               .first = producer[t] + 1, .last = producer[t] + 1};
    for (int i = 0; i < m->nops; i++) {
        const pdl_op *op = &m->ops[i];
        for (int j = 0; j < op->nin; j++)
            b[op->in[j]].last = i + 1;
        if (op->kind == PDL_OP_CONV && op->conv.residual >= 0)
            b[op->conv.residual].last = i + 1;
    }
    for (int h = 0; h < 3; h++)
        b[m->stage_tensor[pdl_cuda_head_stage[h]]].last = INT_MAX;
    n->arena_bytes = pdl_cpu_place_blocks(b, m->ntensors);
    pdl_status st = n->arena_bytes == (size_t)-1
                        ? pdl_fail(err, PDL_ERR_NOMEM, "CUDA backend: out of memory")
                        : dev_alloc(n, &n->arena, n->arena_bytes, "the activations", err);
    for (int t = 0; t < m->ntensors && st == PDL_OK; t++)
        n->t[t] = (char *)n->arena + b[t].offset;
    free(b);
    return st;
}

static pdl_status alloc_buffers(pdl_cuda_net *n, const pdl_cuda_shared *sh, pdl_error *err)
{
    const pdl_model *m = sh->model;
    long rows = 1;
    for (int i = 0; i < m->nops; i++)
        if (m->ops[i].kind == PDL_OP_AVGPOOL) {
            pdl_shape in = n->shapes[m->ops[i].in[0]];
            pdl_dense_pool_args a = {.h = in.h, .w = in.w, .channels = in.c,
                                     .kw = m->ops[i].kernel[1]};
            long r = pdl_dense_pool_rows(&a);
            rows = r > rows ? r : rows;
        }
    for (int h = 0; h < 3; h++)
        n->head_floats += floats_of(n->shapes[m->stage_tensor[pdl_cuda_head_stage[h]]]);
    pdl_status st = dev_alloc(n, (void **)&n->pool_rows, (size_t)rows * sizeof(float),
                              "the pooling scratch", err);
    size_t heads = n->head_floats * n->batch * sizeof(float);
    if (st == PDL_OK)
        st = dev_alloc(n, (void **)&n->heads_dev, heads, "the heads", err);
    if (st == PDL_OK)
        st = host_alloc(n, (void **)&n->heads_host, heads, "the heads' host copy", err);
    size_t rgb_bytes = (size_t)n->hp * n->wp * 3 * n->batch;
    if (st == PDL_OK)
        st = dev_alloc(n, (void **)&n->rgb_dev, rgb_bytes, "the 8-bit input", err);
    if (st == PDL_OK)
        st = host_alloc(n, (void **)&n->rgb_host, rgb_bytes, "the 8-bit input's staging copy",
                        err);
    return st;
}

pdl_status pdl_cuda_net_reserve(pdl_cuda_net *n, const pdl_cuda_shared *sh, unsigned flags,
                                pdl_error *err)
{
    const pdl_model *m = sh->model;
    pdl_status st = PDL_OK;
    /* the x4 outputs are cropped to the image, which is at most hp x wp */
    size_t full = (size_t)(m->channels[m->stage_tensor[PDL_STAGE_SEM_LOGITS]] + 3) * n->hp * n->wp;
    if ((flags & PDL_RUN_FULL) && !n->full_dev) {
        st = dev_alloc(n, (void **)&n->full_dev, full * n->batch * sizeof(float),
                       "the x4 outputs", err);
        n->full_floats = st == PDL_OK ? full : 0;
    }
    if (st == PDL_OK && (flags & PDL_RUN_FULL) && !(flags & PDL_RUN_DEVICE) && !n->full_host)
        st = host_alloc(n, (void **)&n->full_host, full * n->batch * sizeof(float),
                        "the x4 outputs' host copy", err);
    if (st != PDL_OK || !(flags & PDL_RUN_STAGES) || n->stages_host)
        return st;
    size_t stages = 0;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++) {
        pdl_shape g = n->shapes[m->stage_tensor[s]];
        g.c = m->channels[m->stage_tensor[s]];
        stages += floats_of(g);
    }
    cudaFree(n->stages_dev);
    st = dev_alloc(n, (void **)&n->stages_dev, stages * n->batch * sizeof(float),
                   "the stage copies", err);
    if (st == PDL_OK)
        st = host_alloc(n, (void **)&n->stages_host, stages * n->batch * sizeof(float),
                        "the stage copies' host copy", err);
    n->stage_floats = st == PDL_OK ? stages : 0;
    return st;
}

pdl_status pdl_cuda_net_create(pdl_cuda_shared *sh, int batch, int hp, int wp, pdl_cuda_net **out,
                               pdl_error *err)
{
    const pdl_model *m = sh->model;
    pdl_cuda_net *n = calloc(1, sizeof *n);
    int *producer = malloc((size_t)m->ntensors * sizeof *producer);
    pdl_status st = PDL_OK;
    if (n) {
        n->batch = batch;
        n->hp = hp;
        n->wp = wp;
        n->nops = m->nops;
        n->shapes = malloc((size_t)m->ntensors * sizeof *n->shapes);
        n->graphs = calloc((size_t)m->nops, sizeof *n->graphs);
        n->gemms = calloc((size_t)m->nops, sizeof *n->gemms);
        n->gemm = calloc((size_t)m->nops, sizeof *n->gemm);
        n->t = calloc((size_t)m->ntensors, sizeof *n->t);
    }
    if (!n || !producer || !n->shapes || !n->graphs || !n->gemms || !n->gemm || !n->t)
        st = pdl_fail(err, PDL_ERR_NOMEM, "CUDA backend: out of memory");
    if (st == PDL_OK)
        st = pdl_model_shapes(m, hp, wp, n->shapes, err);
    if (st == PDL_OK) {
        n->shapes[0].c = PDL_CUDA_INPUT_CHANNELS;
        producer[0] = -1;
        for (int i = 0; i < m->nops; i++)
            producer[m->ops[i].out] = i;
        st = plan_layers(n, sh, err);
    }
    if (n && n->workspace < PDL_CUDA_LT_WORKSPACE)
        n->workspace = PDL_CUDA_LT_WORKSPACE;
    if (st == PDL_OK)
        st = place(n, sh, producer, err);
    if (st == PDL_OK)
        st = plan_gemms(n, sh, err);
    if (st == PDL_OK)
        st = alloc_buffers(n, sh, err);
    free(producer);
    if (st != PDL_OK) {
        pdl_cuda_net_free(n);
        return st;
    }
    *out = n;
    return PDL_OK;
}

void pdl_cuda_net_free(pdl_cuda_net *n)
{
    if (!n)
        return;
    if (n->exec)
        cudaGraphExecDestroy(n->exec);
    for (int i = 0; n->graphs && i < n->nops; i++)
        pdl_cudnn_graph_free(&n->graphs[i]);
    for (int i = 0; n->gemms && i < n->nops; i++)
        pdl_gemm_free(&n->gemms[i]);
    free(n->gemms);
    free(n->graphs);
    free(n->shapes);
    free(n->gemm);
    free(n->t);
    cudaFree(n->arena);
    cudaFree(n->pool_rows);
    cudaFree(n->heads_dev);
    cudaFree(n->full_dev);
    cudaFree(n->stages_dev);
    cudaFreeHost(n->heads_host);
    cudaFreeHost(n->full_host);
    cudaFreeHost(n->stages_host);
    cudaFree(n->rgb_dev);
    cudaFreeHost(n->rgb_host);
    free(n);
}
