/* test_cuda_weight_pack.c - the CUDA backend's packed weight block, checked
 * on the host against a reference written here: for every conv, element
 * (o, r, s, c) of the KRSC filter is PyTorch's weight[o][c][r][s] (zero for
 * the padding channels of a conv reading the 3-channel network input, which
 * the device stores with 8), then the bias; float bits exactly in FP32 and
 * TF32, pdl_half.h's rounding in FP16. Every region must start on a 256-byte
 * boundary, lie inside the block, overlap no other, and every byte outside
 * the regions must be zero.
 *
 * Models: a hand-built one with random weights (the padded first conv, a 7x7
 * conv on the input, depthwise 5x5, a grouped 3x3, 1x1s, an odd output count,
 * a max pool in between) and the demo model's real weights.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"
#include "cuda_weight_pack.h"
#include "pdl_half.h"
#include "safetensors.h"

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

/* Random values over many magnitudes (2^-20 .. 2^4, so FP16 rounds, and
 * goes subnormal), either sign. */
static float random_value(uint32_t *state)
{
    float u = (float)(lcg(state) % 1000000 + 1) / 1000000.0f;
    int e = (int)(lcg(state) % 25) - 20;
    return (lcg(state) & 1 ? -u : u) * ldexpf(1.0f, e);
}

static pdl_op conv_op(int in, int out, int cin, int cout, int k, int groups, uint32_t *state)
{
    pdl_op op = {.kind = PDL_OP_CONV, .out = out, .nin = 1, .in = {in}};
    op.conv = (pdl_conv){.cin = cin, .cout = cout, .kernel = k, .stride = 1, .pad = k / 2,
                         .dilation = 1, .groups = groups, .residual = -1};
    snprintf(op.conv.name, sizeof op.conv.name, "hand.conv%d", out);
    size_t nw = (size_t)cout * (cin / groups) * k * k;
    op.conv.weight = malloc(nw * sizeof(float));
    op.conv.bias = malloc((size_t)cout * sizeof(float));
    cr_assert(op.conv.weight && op.conv.bias);
    for (size_t i = 0; i < nw; i++)
        op.conv.weight[i] = random_value(state);
    for (int i = 0; i < cout; i++)
        op.conv.bias[i] = random_value(state);
    return op;
}

#define HAND_OPS 7

static void hand_model(pdl_model *m, pdl_op ops[HAND_OPS])
{
    uint32_t state = 12345;
    ops[0] = conv_op(0, 1, 3, 16, 3, 1, &state);  /* the input conv: channels padded */
    ops[1] = (pdl_op){.kind = PDL_OP_MAXPOOL, .out = 2, .nin = 1, .in = {1},
                      .kernel = {3, 3}, .stride = 2, .pad = 1};
    ops[2] = conv_op(2, 3, 16, 16, 5, 16, &state); /* depthwise */
    ops[3] = conv_op(3, 4, 16, 24, 1, 1, &state);
    ops[4] = conv_op(4, 5, 24, 32, 3, 4, &state);  /* 4 groups of 6 */
    ops[5] = conv_op(5, 6, 32, 5, 1, 1, &state);   /* 5 outputs: unaligned sizes */
    ops[6] = conv_op(0, 7, 3, 8, 7, 1, &state);    /* another conv on the input */
    *m = (pdl_model){.nops = HAND_OPS, .ops = ops, .ntensors = HAND_OPS + 1};
}

static void hand_model_free(pdl_op ops[HAND_OPS])
{
    for (int i = 0; i < HAND_OPS; i++) {
        free(ops[i].conv.weight);
        free(ops[i].conv.bias);
    }
}

/* Whether element `index` of the storage-type array at p holds v. */
static bool holds(pdl_precision precision, const char *p, size_t index, float v)
{
    if (precision == PDL_PRECISION_FP16) {
        uint16_t bits;
        memcpy(&bits, p + index * 2, 2);
        return bits == pdl_float_to_half_bits(v);
    }
    uint32_t got, want;
    memcpy(&got, p + index * 4, 4);
    memcpy(&want, &v, 4);
    return got == want;
}

/* Marks bytes [at, at + n) of the block as used; fails on overlap or overrun. */
static void claim(unsigned char *used, size_t bytes, size_t at, size_t n, int op)
{
    cr_assert_eq(at % 256, 0, "op %d: region at %zu not 256-aligned", op, at);
    cr_assert_leq(at + n, bytes, "op %d: region [%zu, %zu) past the block's %zu bytes", op, at,
                  at + n, bytes);
    for (size_t i = at; i < at + n; i++) {
        cr_assert_not(used[i], "op %d: byte %zu already used by another region", op, i);
        used[i] = 1;
    }
}

/* Checks p against the reference for every conv of m; returns the convs seen. */
static int check_pack(const pdl_model *m, pdl_precision precision, const pdl_cuda_weight_pack *p)
{
    size_t elem = precision == PDL_PRECISION_FP16 ? 2 : 4;
    cr_assert_eq(p->bytes % 256, 0, "%zu bytes", p->bytes);
    unsigned char *used = calloc(p->bytes + 1, 1);
    cr_assert(used);
    int convs = 0;
    for (int i = 0; i < m->nops; i++) {
        const pdl_op *op = &m->ops[i];
        if (op->kind != PDL_OP_CONV)
            continue;
        const pdl_conv *c = &op->conv;
        int k = c->kernel, cg = c->cin / c->groups;
        int stored = op->in[0] == 0 && c->groups == 1 ? 8 : cg;
        const char *w = p->block + p->weight_at[i], *b = p->block + p->bias_at[i];
        claim(used, p->bytes, p->weight_at[i], (size_t)c->cout * k * k * stored * elem, i);
        claim(used, p->bytes, p->bias_at[i], (size_t)c->cout * elem, i);
        for (int o = 0; o < c->cout; o++)
            for (int r = 0; r < k; r++)
                for (int s = 0; s < k; s++)
                    for (int ch = 0; ch < stored; ch++) {
                        float want = ch < cg ? c->weight[(((size_t)o * cg + ch) * k + r) * k + s]
                                             : 0.0f;
                        size_t at = (((size_t)o * k + r) * k + s) * stored + ch;
                        cr_assert(holds(precision, w, at, want),
                                  "op %d (%s) weight o=%d r=%d s=%d c=%d: expected %g", i,
                                  c->name, o, r, s, ch, want);
                    }
        for (int o = 0; o < c->cout; o++)
            cr_assert(holds(precision, b, (size_t)o, c->bias[o]), "op %d bias %d", i, o);
        convs++;
    }
    for (size_t i = 0; i < p->bytes; i++)
        cr_assert(used[i] || !p->block[i], "byte %zu outside every region is %d", i,
                  p->block[i]);
    free(used);
    return convs;
}

static const pdl_precision precisions[3] = {PDL_PRECISION_FP32, PDL_PRECISION_TF32,
                                            PDL_PRECISION_FP16};

Test(cuda_weight_pack, hand_built_shapes)
{
    pdl_op ops[HAND_OPS];
    pdl_model m;
    hand_model(&m, ops);
    for (int p = 0; p < 3; p++) {
        pdl_cuda_weight_pack pk;
        pdl_error err;
        cr_assert_eq(pdl_cuda_weight_pack_make(&m, precisions[p], &pk, &err), PDL_OK, "%s",
                     err.msg);
        cr_expect_eq(check_pack(&m, precisions[p], &pk), HAND_OPS - 1);
        pdl_cuda_weight_pack_free(&pk);
    }
    hand_model_free(ops);
}

Test(cuda_weight_pack, demo_model)
{
    pdl_weights wt;
    pdl_model m = {0};
    pdl_error err;
    cr_assert_eq(pdl_weights_open("weights/demo.safetensors", &wt, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_model_load(&wt, &m, NULL, NULL, &err), PDL_OK, "%s", err.msg);
    for (int p = 0; p < 3; p++) {
        pdl_cuda_weight_pack pk;
        cr_assert_eq(pdl_cuda_weight_pack_make(&m, precisions[p], &pk, &err), PDL_OK, "%s",
                     err.msg);
        cr_expect_gt(check_pack(&m, precisions[p], &pk), 20);
        pdl_cuda_weight_pack_free(&pk);
    }
    pdl_model_free(&m);
    pdl_weights_close(&wt);
}
