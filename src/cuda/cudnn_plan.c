/* cudnn_plan.c - the half of a conv layer's cuDNN graph that needs a handle
 * (a GPU): operation graph, heuristics, execution plan, and running it with
 * the variant pack built once per set of pointers (binding, checked against
 * the graph's tensors, needs no GPU).
 *
 * Heuristics mode A ranks engine configurations; we take the first that
 * finalizes into a plan. When mode A has none (a fused graph its engines do
 * not cover, or only tensor-core engines for FP32), the fallback mode's
 * list is tried the same way before the layer is given up, as cuDNN's
 * frontend does with its {A, fallback} heuristics lists. How TF32 is expressed: cuDNN 9 has no math-mode
 * attribute in the backend API; an engine whose numerical notes include
 * CUDNN_NUMERICAL_NOTE_TENSOR_CORE runs float data on tensor cores, i.e. in
 * TF32. So FP32 skips those engines (and any that down-convert inputs), TF32
 * and FP16 take the heuristics' order as it is.
 */
#include "cudnn_graph.h"

#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"

/* Whether the engine of configuration cfg may run at this precision. */
static pdl_status engine_allowed(cudnnBackendDescriptor_t cfg, pdl_precision precision,
                                 bool *allowed, pdl_error *err)
{
    *allowed = true;
    if (precision != PDL_PRECISION_FP32)
        return PDL_OK;
    cudnnBackendDescriptor_t engine;
    PDL_CUDNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &engine));
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    int64_t n = 0;
    cudnnStatus_t s = cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE,
                                               CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &engine);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                                     CUDNN_TYPE_NUMERICAL_NOTE, CUDNN_NUMERICAL_NOTE_TYPE_COUNT,
                                     &n, notes);
    cudnnBackendDestroyDescriptor(engine);
    PDL_CUDNN(s);
    for (int64_t i = 0; i < n; i++)
        if (notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE ||
            notes[i] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS)
            *allowed = false;
    return PDL_OK;
}

static pdl_status make_graph(pdl_cudnn_graph *d, cudnnHandle_t handle, pdl_error *err)
{
    PDL_CUDNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &d->graph));
    PDL_CUDNN(cudnnBackendSetAttribute(d->graph, CUDNN_ATTR_OPERATIONGRAPH_OPS,
                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, d->nops, d->ops));
    PDL_CUDNN(cudnnBackendSetAttribute(d->graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE,
                                       CUDNN_TYPE_HANDLE, 1, &handle));
    PDL_CUDNN(cudnnBackendFinalize(d->graph));
    return PDL_OK;
}

/* Tries cfgs[0..n) in order; the first allowed one that finalizes is d->plan. */
static pdl_status first_plan(pdl_cudnn_graph *d, cudnnHandle_t handle, cudnnBackendDescriptor_t *cfgs,
                             int64_t n, pdl_error *err)
{
    for (int64_t i = 0; i < n; i++) {
        bool allowed;
        pdl_status st = engine_allowed(cfgs[i], d->precision, &allowed, err);
        if (st != PDL_OK)
            return st;
        if (!allowed)
            continue;
        cudnnBackendDescriptor_t plan;
        PDL_CUDNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &plan));
        cudnnStatus_t s = cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE,
                                                   CUDNN_TYPE_HANDLE, 1, &handle);
        if (s == CUDNN_STATUS_SUCCESS)
            s = cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                         CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfgs[i]);
        if (s == CUDNN_STATUS_SUCCESS)
            s = cudnnBackendFinalize(plan);
        int64_t count;
        if (s == CUDNN_STATUS_SUCCESS)
            s = cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                         CUDNN_TYPE_INT64, 1, &count, &d->workspace);
        if (s == CUDNN_STATUS_SUCCESS) {
            d->plan = plan;
            return PDL_OK;
        }
        cudnnBackendDestroyDescriptor(plan);
    }
    return pdl_fail(err, PDL_ERR_DEVICE, "no cuDNN engine finalizes (%lld candidates%s)",
                    (long long)n, d->precision == PDL_PRECISION_FP32 ? ", tensor-core ones skipped for fp32" : "");
}

static pdl_status heuristics(pdl_cudnn_graph *d, cudnnHandle_t handle, cudnnBackendHeurMode_t mode,
                             pdl_error *err)
{
    cudnnBackendDescriptor_t heur;
    PDL_CUDNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur));
    int64_t n = 0;
    cudnnStatus_t s = cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
                                               CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d->graph);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1,
                                     &mode);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendFinalize(heur);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                     CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n, NULL);
    cudnnBackendDescriptor_t *cfgs = calloc(n > 0 ? (size_t)n : 1, sizeof *cfgs);
    int64_t made = 0;
    for (; cfgs && s == CUDNN_STATUS_SUCCESS && made < n; made++)
        s = cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfgs[made]);
    if (s == CUDNN_STATUS_SUCCESS && cfgs)
        s = cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                     CUDNN_TYPE_BACKEND_DESCRIPTOR, n, &n, cfgs);
    pdl_status st = !cfgs ? pdl_fail(err, PDL_ERR_NOMEM, "cuDNN heuristics: out of memory")
                    : s != CUDNN_STATUS_SUCCESS
                        ? pdl_cudnn_fail(err, s, "engine heuristics", __FILE__, __LINE__)
                        : first_plan(d, handle, cfgs, n, err);
    for (int64_t i = 0; cfgs && i < made; i++)
        if (cfgs[i])
            cudnnBackendDestroyDescriptor(cfgs[i]);
    free(cfgs);
    cudnnBackendDestroyDescriptor(heur);
    return st;
}

pdl_status pdl_cudnn_graph_plan(pdl_cudnn_graph *d, cudnnHandle_t handle, const char *name,
                               pdl_error *err)
{
    pdl_error inner, fallback;
    pdl_status st = make_graph(d, handle, &inner);
    if (st != PDL_OK)
        return pdl_fail(err, inner.code, "%s (%s): %s", name, pdl_precision_name(d->precision),
                        inner.msg);
    if (heuristics(d, handle, CUDNN_HEUR_MODE_A, &inner) == PDL_OK ||
        heuristics(d, handle, CUDNN_HEUR_MODE_FALLBACK, &fallback) == PDL_OK)
        return PDL_OK;
    return pdl_fail(err, inner.code, "%s (%s): heuristics mode A: %s; fallback mode: %s", name,
                    pdl_precision_name(d->precision), inner.msg, fallback.msg);
}

void pdl_cudnn_op_pointers(const pdl_op *op, void *const *t, void *w, void *b,
                           void *ptr[PDL_CONV_UID_Y])
{
    bool conv = op->kind == PDL_OP_CONV;
    ptr[PDL_CONV_UID_X - 1] = t[op->in[0]];
    ptr[PDL_CONV_UID_W - 1] = conv ? w : NULL;
    ptr[PDL_CONV_UID_B - 1] = conv ? b : NULL;
    ptr[PDL_CONV_UID_R - 1] = conv && op->conv.residual >= 0 ? t[op->conv.residual] : NULL;
    ptr[PDL_CONV_UID_Y - 1] = t[op->out];
}

/* Bit uid - 1 set for each uid of the graph's non-virtual tensors. */
static pdl_status graph_uids(const pdl_cudnn_graph *d, unsigned *mask, pdl_error *err)
{
    *mask = 0;
    for (int i = 0; i < d->ntensors; i++) {
        bool is_virtual;
        int64_t uid, n;
        PDL_CUDNN(cudnnBackendGetAttribute(d->tensors[i], CUDNN_ATTR_TENSOR_IS_VIRTUAL,
                                           CUDNN_TYPE_BOOLEAN, 1, &n, &is_virtual));
        if (is_virtual)
            continue;
        PDL_CUDNN(cudnnBackendGetAttribute(d->tensors[i], CUDNN_ATTR_TENSOR_UNIQUE_ID,
                                           CUDNN_TYPE_INT64, 1, &n, &uid));
        if (uid < 1 || uid > PDL_CONV_UID_Y)
            return pdl_fail(err, PDL_ERR_ARG, "cuDNN variant pack: graph tensor uid %lld unknown",
                            (long long)uid);
        *mask |= 1u << (uid - 1);
    }
    return PDL_OK;
}

/* The pointers given must be exactly the graph's tensors: cuDNN would only
 * notice at execution, on the GPU, and with a vaguer message. */
static pdl_status check_pointers(const pdl_cudnn_graph *d, void *const ptr[PDL_CONV_UID_Y],
                                 pdl_error *err)
{
    static const char *const names[PDL_CONV_UID_Y] = {"X", "W", "B", "R", "Y"};
    unsigned want;
    pdl_status st = graph_uids(d, &want, err);
    for (int i = 0; i < PDL_CONV_UID_Y && st == PDL_OK; i++)
        if ((bool)(want >> i & 1) != (ptr[i] != NULL))
            st = pdl_fail(err, PDL_ERR_ARG, "cuDNN variant pack: tensor %s (uid %d) %s", names[i],
                          i + 1, ptr[i] ? "is not in the graph" : "has no device pointer");
    return st;
}

pdl_status pdl_cudnn_graph_bind(pdl_cudnn_graph *d, void *const ptr[PDL_CONV_UID_Y],
                                void *workspace, pdl_error *err)
{
    if (d->pack && d->bound_workspace == workspace && !memcmp(d->bound, ptr, sizeof d->bound))
        return PDL_OK;
    if (d->pack)
        cudnnBackendDestroyDescriptor(d->pack);
    d->pack = NULL;
    pdl_status st = check_pointers(d, ptr, err);
    if (st != PDL_OK)
        return st;
    int64_t uids[PDL_CONV_UID_Y], n = 0;
    void *ptrs[PDL_CONV_UID_Y];
    for (int i = 0; i < PDL_CONV_UID_Y; i++)
        if (ptr[i]) {
            uids[n] = i + 1;
            ptrs[n++] = ptr[i];
        }
    cudnnBackendDescriptor_t pack;
    PDL_CUDNN(cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &pack));
    cudnnStatus_t s = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS,
                                               CUDNN_TYPE_INT64, n, uids);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
                                     CUDNN_TYPE_VOID_PTR, n, ptrs);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendSetAttribute(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR,
                                     1, &workspace);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnBackendFinalize(pack);
    if (s != CUDNN_STATUS_SUCCESS) {
        cudnnBackendDestroyDescriptor(pack);
        PDL_CUDNN(s);
    }
    d->pack = pack;
    memcpy(d->bound, ptr, sizeof d->bound);
    d->bound_workspace = workspace;
    return PDL_OK;
}

pdl_status pdl_cudnn_graph_run(pdl_cudnn_graph *d, cudnnHandle_t handle,
                               void *const ptr[PDL_CONV_UID_Y], void *workspace, pdl_error *err)
{
    pdl_status st = pdl_cudnn_graph_bind(d, ptr, workspace, err);
    if (st != PDL_OK)
        return st;
    PDL_CUDNN(cudnnBackendExecute(handle, d->plan, d->pack));
    return PDL_OK;
}
