/* cuda_weights.c - the model's conv weights on the device, uploaded once per
 * model: reordered from PyTorch's [cout][cin/g][k][k] to the KRSC layout the
 * NHWC cuDNN graphs (and the cuBLASLt 1x1 GEMM) read, and converted to the
 * precision's storage type (FP16: round to nearest even). BatchNorm is already
 * folded by the model loader. Everything goes into one device block.
 */
#include "cuda_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cuda_check.h"
#include "pdl_half.h"

#define ALIGN 256

static size_t aligned(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

static void store(pdl_precision p, void *dst, size_t i, float v)
{
    if (p == PDL_PRECISION_FP16)
        ((pdl_half *)dst)[i] = pdl_float_to_half(v);
    else
        ((float *)dst)[i] = v;
}

/* Writes op's KRSC weights (input channels padded with zeros to the stored
 * count, pdl_cuda_conv_cin) then its bias at host + offsets. */
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

static pdl_status upload(pdl_cuda_shared *sh, const pdl_model *m, char *host, size_t total,
                         size_t *woff, size_t *boff, pdl_error *err)
{
    cudaError_t e = cudaMalloc(&sh->weight_block, total);
    if (e != cudaSuccess)
        return pdl_fail(err, PDL_ERR_NOMEM,
                        "CUDA backend: out of device memory for the weights (%zu MB): %s",
                        total >> 20, cudaGetErrorString(e));
    PDL_CUDA(cudaMemcpy(sh->weight_block, host, total, cudaMemcpyHostToDevice));
    for (int i = 0; i < m->nops; i++)
        if (m->ops[i].kind == PDL_OP_CONV) {
            sh->weight[i] = (char *)sh->weight_block + woff[i];
            sh->bias[i] = (char *)sh->weight_block + boff[i];
        }
    sh->weight_bytes = total;
    return PDL_OK;
}

pdl_status pdl_cuda_weights_upload(pdl_cuda_shared *sh, const pdl_model *m, pdl_error *err)
{
    if (sh->model == m && sh->model_id == m->id)
        return PDL_OK;
    pdl_cuda_weights_free(sh);
    size_t elem = pdl_cuda_elem(sh->precision), total = 0;
    size_t *woff = calloc((size_t)m->nops, sizeof *woff), *boff = calloc((size_t)m->nops, sizeof *boff);
    sh->weight = calloc((size_t)m->nops, sizeof *sh->weight);
    sh->bias = calloc((size_t)m->nops, sizeof *sh->bias);
    if (!woff || !boff || !sh->weight || !sh->bias) {
        free(woff);
        free(boff);
        return pdl_fail(err, PDL_ERR_NOMEM, "CUDA backend: out of memory");
    }
    for (int i = 0; i < m->nops; i++) {
        const pdl_conv *c = &m->ops[i].conv;
        if (m->ops[i].kind != PDL_OP_CONV)
            continue;
        woff[i] = total;
        total += aligned((size_t)c->cout * (pdl_cuda_conv_cin(&m->ops[i]) / c->groups) * c->kernel *
                         c->kernel * elem);
        boff[i] = total;
        total += aligned((size_t)c->cout * elem);
    }
    char *host = calloc(total ? total : 1, 1);
    pdl_status st = host ? PDL_OK : pdl_fail(err, PDL_ERR_NOMEM, "CUDA backend: out of memory");
    for (int i = 0; i < m->nops && st == PDL_OK; i++)
        if (m->ops[i].kind == PDL_OP_CONV)
            convert(sh->precision, &m->ops[i], host + woff[i], host + boff[i]);
    if (st == PDL_OK)
        st = upload(sh, m, host, total, woff, boff, err);
    free(host);
    free(woff);
    free(boff);
    if (st != PDL_OK)
        return st;
    sh->model = m;
    sh->model_id = m->id;
    return PDL_OK;
}

void pdl_cuda_weights_free(pdl_cuda_shared *sh)
{
    cudaFree(sh->weight_block);
    free(sh->weight);
    free(sh->bias);
    sh->weight_block = NULL;
    sh->weight = sh->bias = NULL;
    sh->weight_bytes = 0;
    sh->model = NULL;
}
