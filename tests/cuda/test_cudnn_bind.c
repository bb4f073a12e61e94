/* test_cudnn_bind.c - the variant packs the CUDA backend runs its cuDNN
 * graphs with, built on the host (no GPU needed: cuDNN finalizes a variant
 * pack from any pointers, it only reads them at execution).
 *
 * What can be checked here: every layer of the demo model binds the pointers
 * pdl_cudnn_op_pointers maps its tensors to (bind refuses a set that is not
 * exactly the graph's non-virtual tensors, so this checks the mapping against
 * the descriptors, residual adds and the max pool included); a wrong set is
 * refused naming the tensor; the pack holds the workspace it was bound to and
 * is rebuilt when the workspace moves. What cannot: that cuDNN reads the
 * pointers as intended, which takes a GPU (make test-gpu).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"
#include "cudnn_graph.h"
#include "safetensors.h"

/* The workspace pointer the pack holds, read back from cuDNN. */
static void *pack_workspace(const pdl_cudnn_graph *d)
{
    void *ws = NULL;
    int64_t n = 0;
    cr_assert_eq(cudnnBackendGetAttribute(d->pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE,
                                          CUDNN_TYPE_VOID_PTR, 1, &n, &ws),
                 CUDNN_STATUS_SUCCESS);
    cr_assert_eq(n, 1);
    return ws;
}

/* Describes op i of m (a conv or the max pool) as the backend does. */
static void describe(const pdl_model *m, const pdl_shape *shapes, int i, pdl_cudnn_graph *d)
{
    const pdl_op *op = &m->ops[i];
    pdl_error err;
    pdl_status st;
    if (op->kind == PDL_OP_MAXPOOL) {
        st = pdl_cudnn_maxpool_describe(op, 1, shapes[op->in[0]], shapes[op->out],
                                        PDL_PRECISION_FP16, d, &err);
    } else {
        pdl_conv stored = op->conv;
        stored.cin = pdl_cuda_conv_cin(op);
        st = pdl_cudnn_conv_describe(&stored, 1, shapes[op->in[0]], shapes[op->out],
                                     PDL_PRECISION_FP16, d, &err);
    }
    cr_assert_eq(st, PDL_OK, "op %d: %s", i, err.msg);
}

typedef struct demo {
    pdl_weights wt;
    pdl_model m;
    pdl_shape *shapes;
    char *buffers; /* stand-ins for device buffers: tensor t is buffers + t */
    void **t;
} demo;

static void demo_open(demo *d)
{
    pdl_error err;
    cr_assert_eq(pdl_weights_open("weights/demo.safetensors", &d->wt, &err), PDL_OK, "%s",
                 err.msg);
    cr_assert_eq(pdl_model_build(&d->wt.config, &d->m, &err), PDL_OK, "%s", err.msg);
    int hp, wp;
    pdl_model_input_size(&d->wt.config, 203, 317, &hp, &wp);
    d->shapes = malloc((size_t)d->m.ntensors * sizeof *d->shapes);
    d->buffers = malloc((size_t)d->m.ntensors);
    d->t = malloc((size_t)d->m.ntensors * sizeof *d->t);
    cr_assert(d->shapes && d->buffers && d->t);
    cr_assert_eq(pdl_model_shapes(&d->m, hp, wp, d->shapes, &err), PDL_OK, "%s", err.msg);
    d->shapes[0].c = PDL_CUDA_INPUT_CHANNELS;
    for (int t = 0; t < d->m.ntensors; t++)
        d->t[t] = d->buffers + t;
}

static void demo_close(demo *d)
{
    free(d->shapes);
    free(d->buffers);
    free(d->t);
    pdl_model_free(&d->m);
    pdl_weights_close(&d->wt);
}

/* The first op of m with the given kind and, for convs, residual or not. */
static int find_op(const pdl_model *m, pdl_op_kind kind, bool residual)
{
    for (int i = 0; i < m->nops; i++)
        if (m->ops[i].kind == kind && (kind != PDL_OP_CONV || (m->ops[i].conv.residual >= 0) == residual))
            return i;
    cr_assert_fail("no such op in the demo model");
    return -1;
}

Test(cudnn_bind, every_layer_binds_its_pointers)
{
    demo dm;
    demo_open(&dm);
    char weights[2];
    void *ws = &weights[1];
    int bound = 0, residual = 0, pools = 0;
    for (int i = 0; i < dm.m.nops; i++) {
        const pdl_op *op = &dm.m.ops[i];
        if (op->kind != PDL_OP_CONV && op->kind != PDL_OP_MAXPOOL)
            continue;
        pdl_cudnn_graph d;
        describe(&dm.m, dm.shapes, i, &d);
        void *ptr[PDL_CONV_UID_Y];
        pdl_cudnn_op_pointers(op, dm.t, &weights[0], &weights[1], ptr);
        cr_expect_eq(ptr[PDL_CONV_UID_X - 1], dm.t[op->in[0]], "op %d", i);
        cr_expect_eq(ptr[PDL_CONV_UID_Y - 1], dm.t[op->out], "op %d", i);
        if (op->kind == PDL_OP_CONV && op->conv.residual >= 0)
            cr_expect_eq(ptr[PDL_CONV_UID_R - 1], dm.t[op->conv.residual], "op %d", i);
        pdl_error err;
        cr_assert_eq(pdl_cudnn_graph_bind(&d, ptr, ws, &err), PDL_OK, "op %d: %s", i, err.msg);
        cr_expect_not_null(d.pack);
        cr_expect_eq(pack_workspace(&d), ws, "op %d", i);
        pdl_cudnn_graph_free(&d);
        bound++;
        residual += op->kind == PDL_OP_CONV && op->conv.residual >= 0;
        pools += op->kind == PDL_OP_MAXPOOL;
    }
    cr_expect_gt(bound, 20);
    cr_expect_gt(residual, 0, "the demo model should have residual adds");
    cr_expect_eq(pools, 1);
    demo_close(&dm);
}

Test(cudnn_bind, pack_follows_the_workspace)
{
    demo dm;
    demo_open(&dm);
    int i = find_op(&dm.m, PDL_OP_CONV, true);
    pdl_cudnn_graph d;
    describe(&dm.m, dm.shapes, i, &d);
    char weights[2], ws[2];
    void *ptr[PDL_CONV_UID_Y];
    pdl_cudnn_op_pointers(&dm.m.ops[i], dm.t, &weights[0], &weights[1], ptr);
    pdl_error err;
    cr_assert_eq(pdl_cudnn_graph_bind(&d, ptr, &ws[0], &err), PDL_OK, "%s", err.msg);
    cudnnBackendDescriptor_t first = d.pack;
    cr_assert_eq(pdl_cudnn_graph_bind(&d, ptr, &ws[0], &err), PDL_OK, "%s", err.msg);
    cr_expect_eq(d.pack, first, "the same pointers rebuilt the pack");
    cr_assert_eq(pdl_cudnn_graph_bind(&d, ptr, &ws[1], &err), PDL_OK, "%s", err.msg);
    cr_expect_eq(pack_workspace(&d), &ws[1], "the pack kept the old workspace");
    cr_expect_eq(d.bound_workspace, &ws[1]);
    pdl_cudnn_graph_free(&d);
    demo_close(&dm);
}

/* Binding ptr to op i's graph must fail naming `tensor`; no pack is left. */
static void expect_refused(const demo *dm, int i, void *ptr[PDL_CONV_UID_Y], const char *tensor,
                           const char *why)
{
    pdl_cudnn_graph d;
    describe(&dm->m, dm->shapes, i, &d);
    char ws;
    pdl_error err;
    cr_assert_eq(pdl_cudnn_graph_bind(&d, ptr, &ws, &err), PDL_ERR_ARG, "op %d: %s accepted", i,
                 tensor);
    cr_expect(strstr(err.msg, tensor) && strstr(err.msg, why), "op %d: message '%s'", i, err.msg);
    cr_expect_null(d.pack);
    pdl_cudnn_graph_free(&d);
}

Test(cudnn_bind, wrong_pointer_sets_refused)
{
    demo dm;
    demo_open(&dm);
    char weights[2];
    void *ptr[PDL_CONV_UID_Y];
    int res = find_op(&dm.m, PDL_OP_CONV, true), plain = find_op(&dm.m, PDL_OP_CONV, false),
        pool = find_op(&dm.m, PDL_OP_MAXPOOL, false);

    pdl_cudnn_op_pointers(&dm.m.ops[res], dm.t, &weights[0], &weights[1], ptr);
    ptr[PDL_CONV_UID_R - 1] = NULL;
    expect_refused(&dm, res, ptr, "tensor R", "no device pointer");

    pdl_cudnn_op_pointers(&dm.m.ops[plain], dm.t, &weights[0], &weights[1], ptr);
    ptr[PDL_CONV_UID_R - 1] = dm.t[0];
    expect_refused(&dm, plain, ptr, "tensor R", "not in the graph");

    pdl_cudnn_op_pointers(&dm.m.ops[plain], dm.t, &weights[0], NULL, ptr);
    expect_refused(&dm, plain, ptr, "tensor B", "no device pointer");

    pdl_cudnn_op_pointers(&dm.m.ops[pool], dm.t, NULL, NULL, ptr);
    ptr[PDL_CONV_UID_W - 1] = &weights[0];
    expect_refused(&dm, pool, ptr, "tensor W", "not in the graph");
    demo_close(&dm);
}
