/* cuda_run.c - runs a pdl_cuda_net: the 8-bit image is copied into a pinned
 * buffer, uploaded (3 bytes a pixel) and normalised on the device straight
 * into the input tensor (NHWC, storage type, padded to hp x wp and to
 * PDL_CUDA_INPUT_CHANNELS); every op is queued on the stream (cuDNN plans,
 * cuBLASLt for the convs whose GEMM was chosen, dense kernels); the heads, and on request every stage right after
 * the op that wrote it (later ops may reuse its buffer), are converted to
 * planar float on the device, and the x4 outputs made there with the resize
 * kernel (pdl_dense_heads_up, pdl_heads_upsample_full's values). Under
 * PDL_RUN_DEVICE the heads stay there for the CUDA post-processing executor;
 * else they are downloaded. Then the stream is waited for.
 *
 * The op sequence of a net is the same on every run and every pointer in it
 * (activations, weights, scratch, cuDNN variant packs; which convs run as
 * GEMMs, chosen in prepare) is fixed before its first run, except the shared
 * workspace, which moves when a larger net
 * grows it. So after a first eager run the sequence is captured once as a
 * CUDA graph and replayed with one cudaGraphLaunch, which saves the host the
 * cost of ~100 cuDNN executions and kernel launches a run; a workspace move
 * drops the graph and the next run captures anew. Capture is thread-local
 * (other threads may allocate pinned memory meanwhile) on our non-blocking
 * stream. Some cuDNN engines cannot be captured: when capture or
 * instantiation fails, that net runs eagerly from then on and
 * pdl_cuda_net.graph_note (the backend stats' note) says why. Runs that dump
 * stages are eager too (they add copies after every op).
 */
#include "cuda_internal.h"

#include <stdio.h>
#include <string.h>

#include "cuda_check.h"
#include "dense_kernels.h"

static size_t floats_of(pdl_shape s)
{
    return (size_t)s.c * s.h * s.w;
}

static pdl_dense_type dense_type(const pdl_cuda_shared *sh)
{
    return sh->precision == PDL_PRECISION_FP16 ? PDL_DENSE_F16 : PDL_DENSE_F32;
}

/* The graph's view of tensor t: its stored shape with the model's channels
 * (the input is stored with padding channels). */
static pdl_shape graph_shape(const pdl_cuda_net *n, const pdl_model *m, int t)
{
    pdl_shape s = n->shapes[t];
    s.c = m->channels[t];
    return s;
}

/* Image i of tensor t (device). */
static char *image_of(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int t, int i)
{
    return (char *)n->t[t] + (size_t)i * floats_of(n->shapes[t]) * pdl_cuda_elem(sh->precision);
}

static pdl_status upload_input(pdl_cuda_net *n, const pdl_cuda_shared *sh, const uint8_t *rgb,
                               int h, int w, pdl_error *err)
{
    size_t per_image = (size_t)h * w * 3;
    memcpy(n->rgb_host, rgb, per_image * n->batch);
    PDL_CUDA(cudaMemcpyAsync(n->rgb_dev, n->rgb_host, per_image * n->batch,
                             cudaMemcpyHostToDevice, sh->stream));
    pdl_dense_normalize_args a;
    pdl_model_normalize_args(&sh->model->config, h, w, n->shapes[0].c, &a);
    a.type = dense_type(sh);
    for (int i = 0; i < n->batch; i++) {
        a.rgb = n->rgb_dev + i * per_image;
        a.dst = image_of(n, sh, 0, i);
        PDL_CUDA((cudaError_t)pdl_cuda_dense_normalize(&a, sh->stream));
    }
    return PDL_OK;
}

/* Image i of tensor t as planar float at dst (device), without padding
 * channels. */
static pdl_status planar(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int t, int i,
                         float *dst, pdl_error *err)
{
    pdl_shape s = graph_shape(n, sh->model, t);
    pdl_dense_planar_args a = {.type = dense_type(sh), .h = s.h, .w = s.w, .channels = s.c,
                               .src_stride = n->shapes[t].c, .src = image_of(n, sh, t, i),
                               .dst = dst};
    PDL_CUDA((cudaError_t)pdl_cuda_dense_planar(&a, sh->stream));
    return PDL_OK;
}

/* Op i's cuDNN graph (a conv or the max pool). */
static pdl_status run_graph(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int i,
                            pdl_error *err)
{
    void *ptr[PDL_CONV_UID_Y];
    pdl_cudnn_op_pointers(&sh->model->ops[i], n->t, sh->weight[i], sh->bias[i], ptr);
    return pdl_cudnn_graph_run(&n->graphs[i], sh->cudnn, ptr, sh->workspace, err);
}

pdl_status pdl_cuda_net_run_conv(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int i,
                                 bool gemm, pdl_error *err)
{
    if (!gemm)
        return run_graph(n, sh, i, err);
    pdl_gemm_io io;
    pdl_cuda_net_gemm_io(n, sh, i, &io);
    return pdl_gemm_run(&n->gemms[i], sh->lt, &io, sh->workspace, PDL_CUDA_LT_WORKSPACE,
                        sh->stream, err);
}

static pdl_status run_dense(const pdl_cuda_net *n, const pdl_cuda_shared *sh, const pdl_op *op,
                            pdl_error *err)
{
    pdl_shape in = n->shapes[op->in[0]], out = n->shapes[op->out];
    pdl_dense_type type = dense_type(sh);
    if (op->kind == PDL_OP_AVGPOOL) {
        /* per image: the windows must not straddle two; `rows` is reused in stream order */
        for (int i = 0; i < n->batch; i++) {
            pdl_dense_pool_args a = {.type = type, .h = in.h, .w = in.w, .channels = in.c,
                                     .kh = op->kernel[0], .kw = op->kernel[1],
                                     .src = image_of(n, sh, op->in[0], i), .rows = n->pool_rows,
                                     .dst = image_of(n, sh, op->out, i)};
            PDL_CUDA((cudaError_t)pdl_cuda_dense_pool(&a, sh->stream));
        }
    } else if (op->kind == PDL_OP_RESIZE) {
        pdl_dense_resize_args a = {.type = type, .in_h = in.h, .in_w = in.w, .channels = in.c,
                                   .size_h = out.h, .size_w = out.w, .out_h = out.h,
                                   .out_w = out.w, .mul = 1.0f, .dst_stride = out.c,
                                   .src = n->t[op->in[0]], .dst = n->t[op->out],
                                   .planes = n->batch};
        PDL_CUDA((cudaError_t)pdl_cuda_dense_resize(&a, sh->stream));
    } else {
        /* a concat: every pixel of the batch alike */
        for (int j = 0, c0 = 0; j < op->nin; c0 += n->shapes[op->in[j]].c, j++) {
            int cj = n->shapes[op->in[j]].c;
            pdl_dense_copy_args a = {.type = type, .pixels = (long)n->batch * out.h * out.w,
                                     .channels = cj,
                                     .src_stride = cj, .dst_stride = out.c, .dst_c0 = c0,
                                     .src = n->t[op->in[j]], .dst = n->t[op->out]};
            PDL_CUDA((cudaError_t)pdl_cuda_dense_copy(&a, sh->stream));
        }
    }
    return PDL_OK;
}

/* Stage copies of tensor t (planar float, into stages_dev: per image, every
 * stage in pdl_stage order). */
static pdl_status dump_stages(pdl_cuda_net *n, const pdl_cuda_shared *sh, int t, pdl_error *err)
{
    const pdl_model *m = sh->model;
    for (int i = 0; i < n->batch; i++) {
        float *dst = n->stages_dev + i * n->stage_floats;
        for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++) {
            int st_t = m->stage_tensor[s];
            if (st_t == t) {
                pdl_status st = planar(n, sh, t, i, dst, err);
                if (st != PDL_OK)
                    return st;
            }
            dst += floats_of(graph_shape(n, m, st_t));
        }
    }
    return PDL_OK;
}

/* Queues every op on the stream, with the stage copies when asked. */
static pdl_status queue_ops(pdl_cuda_net *n, const pdl_cuda_shared *sh, bool stages,
                            pdl_error *err)
{
    const pdl_model *m = sh->model;
    pdl_status st = stages ? dump_stages(n, sh, 0, err) : PDL_OK;
    for (int i = 0; i < m->nops && st == PDL_OK; i++) {
        const pdl_op *op = &m->ops[i];
        if (op->kind == PDL_OP_CONV)
            st = pdl_cuda_net_run_conv(n, sh, i, n->gemm[i], err);
        else if (op->kind == PDL_OP_MAXPOOL)
            st = run_graph(n, sh, i, err);
        else
            st = run_dense(n, sh, op, err);
        if (st == PDL_OK && stages)
            st = dump_stages(n, sh, op->out, err);
    }
    return st;
}

/* Records queue_ops in n->exec. On failure n->exec stays NULL and
 * n->graph_note says why; the stream is out of capture mode either way. */
static void capture(pdl_cuda_net *n, const pdl_cuda_shared *sh)
{
    pdl_error inner;
    pdl_status st = PDL_OK;
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamBeginCapture(sh->stream, cudaStreamCaptureModeThreadLocal);
    if (e == cudaSuccess) {
        st = queue_ops(n, sh, false, &inner);
        cudaError_t end = cudaStreamEndCapture(sh->stream, &graph);
        e = st == PDL_OK ? end : cudaSuccess;
    }
    if (e == cudaSuccess && st == PDL_OK)
        e = cudaGraphInstantiate(&n->exec, graph, 0);
    if (graph)
        cudaGraphDestroy(graph);
    if (e == cudaSuccess && st == PDL_OK) {
        n->exec_workspace = sh->workspace;
        return;
    }
    n->exec = NULL;
    cudaGetLastError(); /* clear it, or the next kernel launch's check reports it */
    snprintf(n->graph_note, sizeof n->graph_note,
             "CUDA graph capture failed, runs stay eager: %.440s",
             st != PDL_OK ? inner.msg : cudaGetErrorString(e));
}

/* The first run of a net is eager (cuDNN and cuBLASLt do their lazy set-up
 * outside a capture); the next captures and every later one replays. */
static pdl_status run_ops(pdl_cuda_net *n, const pdl_cuda_shared *sh, bool stages,
                          pdl_error *err)
{
    if (n->exec && n->exec_workspace != sh->workspace) {
        cudaGraphExecDestroy(n->exec);
        n->exec = NULL;
    }
    if (!stages && !n->exec && n->eager_runs > 0 && !n->graph_note[0])
        capture(n, sh);
    if (!stages && n->exec) {
        PDL_CUDA(cudaGraphLaunch(n->exec, sh->stream));
        n->graph_launches++;
        return PDL_OK;
    }
    pdl_status st = queue_ops(n, sh, stages, err);
    n->eager_runs += st == PDL_OK;
    return st;
}

/* Per image i: the heads as planar float [classes + 3][h4][w4] at heads_dev
 * + i * head_floats and, for PDL_RUN_FULL, their x4 upsampling cropped to
 * h x w at full_dev + i * full (the x4 outputs of the batch packed). */
static pdl_status heads(pdl_cuda_net *n, const pdl_cuda_shared *sh, bool full_too, int h, int w,
                        size_t full, pdl_error *err)
{
    const pdl_model *m = sh->model;
    pdl_shape s4 = n->shapes[m->stage_tensor[PDL_STAGE_SEM_LOGITS]];
    for (int i = 0; i < n->batch; i++) {
        float *first = n->heads_dev + i * n->head_floats, *dst = first;
        for (int k = 0; k < 3; k++) {
            int t = m->stage_tensor[pdl_cuda_head_stage[k]];
            pdl_status st = planar(n, sh, t, i, dst, err);
            if (st != PDL_OK)
                return st;
            dst += floats_of(n->shapes[t]);
        }
        if (full_too)
            PDL_CUDA((cudaError_t)pdl_dense_heads_up(pdl_cuda_dense_resize, s4.c, s4.h, s4.w, h,
                                                     w, first, n->full_dev + i * full,
                                                     sh->stream));
    }
    return PDL_OK;
}

/* Host copies of what the flags ask for (none of the heads when they stay
 * on the device); then the stream is waited for. */
static pdl_status download(pdl_cuda_net *n, const pdl_cuda_shared *sh, unsigned flags,
                           size_t full, pdl_error *err)
{
    size_t images = (size_t)n->batch;
    if (!(flags & PDL_RUN_DEVICE)) {
        PDL_CUDA(cudaMemcpyAsync(n->heads_host, n->heads_dev,
                                 images * n->head_floats * sizeof(float), cudaMemcpyDeviceToHost,
                                 sh->stream));
        if (flags & PDL_RUN_FULL)
            PDL_CUDA(cudaMemcpyAsync(n->full_host, n->full_dev, images * full * sizeof(float),
                                     cudaMemcpyDeviceToHost, sh->stream));
    }
    if (flags & PDL_RUN_STAGES)
        PDL_CUDA(cudaMemcpyAsync(n->stages_host, n->stages_dev,
                                 images * n->stage_floats * sizeof(float),
                                 cudaMemcpyDeviceToHost, sh->stream));
    PDL_CUDA(cudaStreamSynchronize(sh->stream));
    return PDL_OK;
}

/* out for image i: pointers into the device buffers or their host copies. */
static void set_outputs(const pdl_cuda_net *n, const pdl_model *m, unsigned flags, int i,
                        size_t full, pdl_head_outputs *out)
{
    bool device = flags & PDL_RUN_DEVICE;
    pdl_shape s4 = n->shapes[m->stage_tensor[PDL_STAGE_SEM_LOGITS]];
    size_t plane4 = (size_t)s4.h * s4.w, plane = (size_t)out->height * out->width;
    out->h4 = s4.h;
    out->w4 = s4.w;
    out->num_classes = s4.c;
    out->sem_logits = (device ? n->heads_dev : n->heads_host) + i * n->head_floats;
    out->center = out->sem_logits + s4.c * plane4;
    out->offset = out->center + plane4;
    if (flags & PDL_RUN_FULL) {
        out->sem_logits_up = (device ? n->full_dev : n->full_host) + i * full;
        out->center_up = out->sem_logits_up + s4.c * plane;
        out->offset_up = out->center_up + plane;
    }
    if (!(flags & PDL_RUN_STAGES))
        return;
    const float *next = n->stages_host + i * n->stage_floats;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++) {
        pdl_shape g = graph_shape(n, m, m->stage_tensor[s]);
        out->stages[s] = (pdl_stage_tensor){true, g.c, g.h, g.w, next};
        next += floats_of(g);
    }
    const float *up[3] = {out->sem_logits_up, out->center_up, out->offset_up};
    const int ch[3] = {s4.c, 1, 2};
    for (int k = 0; k < 3; k++)
        out->stages[PDL_STAGE_SEM_LOGITS_UP + k] =
            (pdl_stage_tensor){true, ch[k], out->height, out->width, up[k]};
}

pdl_status pdl_cuda_net_run(pdl_cuda_net *n, pdl_cuda_shared *sh, const uint8_t *rgb,
                            unsigned flags, pdl_head_outputs *out, pdl_error *err)
{
    const pdl_model *m = sh->model;
    if (flags & PDL_RUN_STAGES)
        flags = (flags | PDL_RUN_FULL) & ~PDL_RUN_DEVICE;
    int h = out[0].height, w = out[0].width;
    size_t full = (size_t)(m->channels[m->stage_tensor[PDL_STAGE_SEM_LOGITS]] + 3) * h * w;
    pdl_status st = pdl_cuda_net_reserve(n, sh, flags, err);
    if (st == PDL_OK)
        st = upload_input(n, sh, rgb, h, w, err);
    if (st == PDL_OK)
        st = run_ops(n, sh, flags & PDL_RUN_STAGES, err);
    if (st == PDL_OK)
        st = heads(n, sh, flags & PDL_RUN_FULL, h, w, full, err);
    if (st == PDL_OK)
        st = download(n, sh, flags, full, err);
    for (int i = 0; i < n->batch && st == PDL_OK; i++)
        set_outputs(n, m, flags, i, full, &out[i]);
    return st;
}
