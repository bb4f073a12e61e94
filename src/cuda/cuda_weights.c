/* cuda_weights.c - the model's conv weights on the device, uploaded once per
 * model: packed on the host (cuda_weight_pack.c: KRSC, the input conv's
 * channels padded, the precision's storage type; BatchNorm is already folded
 * by the model loader) and copied into one device block with one copy, on
 * the backend's stream and waited for: a plain cudaMemcpy from pageable
 * memory goes through the legacy default stream, which our non-blocking
 * stream does not wait for, and may return before the data has landed.
 */
#include "cuda_internal.h"

#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_weight_pack.h"

static pdl_status upload(pdl_cuda_shared *sh, const pdl_model *m, const pdl_cuda_weight_pack *p,
                         pdl_error *err)
{
    cudaError_t e = cudaMalloc(&sh->weight_block, p->bytes);
    if (e != cudaSuccess)
        return pdl_fail(err, PDL_ERR_NOMEM,
                        "CUDA backend: out of device memory for the weights (%zu MB): %s",
                        p->bytes >> 20, cudaGetErrorString(e));
    PDL_CUDA(cudaMemcpyAsync(sh->weight_block, p->block, p->bytes, cudaMemcpyHostToDevice,
                             sh->stream));
    PDL_CUDA(cudaStreamSynchronize(sh->stream));
    for (int i = 0; i < m->nops; i++)
        if (m->ops[i].kind == PDL_OP_CONV) {
            sh->weight[i] = (char *)sh->weight_block + p->weight_at[i];
            sh->bias[i] = (char *)sh->weight_block + p->bias_at[i];
        }
    sh->weight_bytes = p->bytes;
    return PDL_OK;
}

pdl_status pdl_cuda_weights_upload(pdl_cuda_shared *sh, const pdl_model *m, pdl_error *err)
{
    if (sh->model == m && sh->model_id == m->id)
        return PDL_OK;
    pdl_cuda_weights_free(sh);
    sh->weight = calloc((size_t)m->nops, sizeof *sh->weight);
    sh->bias = calloc((size_t)m->nops, sizeof *sh->bias);
    if (!sh->weight || !sh->bias)
        return pdl_fail(err, PDL_ERR_NOMEM, "CUDA backend: out of memory");
    pdl_cuda_weight_pack p;
    pdl_status st = pdl_cuda_weight_pack_make(m, sh->precision, &p, err);
    if (st != PDL_OK)
        return st;
    st = upload(sh, m, &p, err);
    pdl_cuda_weight_pack_free(&p);
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
