/* cuda_weight_pack.c - see cuda_weight_pack.h. Offsets first (one pass over
 * the ops), then one zeroed block that every conv is converted into, so the
 * padding channels and the alignment gaps are zeros without extra work.
 */
#include "cuda_weight_pack.h"

#include <stdlib.h>

#include "cuda_internal.h"
#include "pdl_half.h"

static size_t aligned(size_t n)
{
    return (n + PDL_CUDA_WEIGHT_ALIGN - 1) / PDL_CUDA_WEIGHT_ALIGN * PDL_CUDA_WEIGHT_ALIGN;
}

static void store(pdl_precision p, void *dst, size_t i, float v)
{
    if (p == PDL_PRECISION_FP16)
        ((pdl_half *)dst)[i] = pdl_float_to_half(v);
    else
        ((float *)dst)[i] = v;
}

/* Writes op's KRSC weights (input channels padded with zeros to the stored
 * count, pdl_cuda_conv_cin) at w and its bias at b. */
static void convert(pdl_precision p, const pdl_op *op, char *w, char *b)
{
    const pdl_conv *c = &op->conv;
    int cg = c->cin / c->groups, stored = pdl_cuda_conv_cin(op) / c->groups, k = c->kernel;
    for (int o = 0; o < c->cout; o++)
        for (int i = 0; i < cg; i++)
            for (int t = 0; t < k * k; t++)
                store(p, w, ((size_t)o * k * k + t) * stored + i,
                      c->weight[((size_t)o * cg + i) * k * k + t]);
    for (int o = 0; o < c->cout; o++)
        store(p, b, (size_t)o, c->bias[o]);
}

pdl_status pdl_cuda_weight_pack_make(const pdl_model *m, pdl_precision precision,
                                     pdl_cuda_weight_pack *out, pdl_error *err)
{
    pdl_cuda_weight_pack p = {0};
    size_t elem = pdl_cuda_elem(precision);
    p.weight_at = calloc((size_t)m->nops, sizeof *p.weight_at);
    p.bias_at = calloc((size_t)m->nops, sizeof *p.bias_at);
    for (int i = 0; i < m->nops && p.weight_at && p.bias_at; i++) {
        const pdl_op *op = &m->ops[i];
        const pdl_conv *c = &op->conv;
        if (op->kind != PDL_OP_CONV)
            continue;
        p.weight_at[i] = p.bytes;
        p.bytes += aligned((size_t)c->cout * (pdl_cuda_conv_cin(op) / c->groups) * c->kernel *
                           c->kernel * elem);
        p.bias_at[i] = p.bytes;
        p.bytes += aligned((size_t)c->cout * elem);
    }
    if (p.weight_at && p.bias_at)
        p.block = calloc(p.bytes ? p.bytes : 1, 1);
    if (!p.block) {
        pdl_cuda_weight_pack_free(&p);
        return pdl_fail(err, PDL_ERR_NOMEM, "CUDA backend: out of memory packing the weights");
    }
    for (int i = 0; i < m->nops; i++)
        if (m->ops[i].kind == PDL_OP_CONV)
            convert(precision, &m->ops[i], p.block + p.weight_at[i], p.block + p.bias_at[i]);
    *out = p;
    return PDL_OK;
}

void pdl_cuda_weight_pack_free(pdl_cuda_weight_pack *p)
{
    free(p->block);
    free(p->weight_at);
    free(p->bias_at);
    *p = (pdl_cuda_weight_pack){0};
}
