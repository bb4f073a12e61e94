/* cuda_weight_pack.h - the host half of the weights upload: every conv's
 * weights and bias laid out in one block exactly as the device reads them,
 * so the upload is a single copy. No CUDA calls here; the CUDA-less host
 * tests check the layout against a reference of their own.
 */
#ifndef PDL_CUDA_WEIGHT_PACK_H
#define PDL_CUDA_WEIGHT_PACK_H

#include <stddef.h>

#include "backend.h"
#include "model.h"
#include "status.h"

/* Every op's weights and bias start at a multiple of this many bytes
 * (cudaMalloc's own alignment, more than cuDNN's 16). */
#define PDL_CUDA_WEIGHT_ALIGN 256

typedef struct pdl_cuda_weight_pack {
    char *block;       /* host copy of the device block */
    size_t bytes;      /* a multiple of PDL_CUDA_WEIGHT_ALIGN */
    size_t *weight_at; /* per op: byte offset of its weights in block (convs only) */
    size_t *bias_at;   /* per op: byte offset of its bias */
} pdl_cuda_weight_pack;

/* Packs m's conv weights for `precision`: each conv's filter in KRSC order
 * ([cout][kh][kw][cin / groups], from PyTorch's [cout][cin / groups][kh][kw]),
 * the input channels of the conv reading the network input padded with zeros
 * to pdl_cuda_conv_cin, then its bias; float, or half (round to nearest even)
 * for PDL_PRECISION_FP16; gaps between them are zero. */
pdl_status pdl_cuda_weight_pack_make(const pdl_model *m, pdl_precision precision,
                                     pdl_cuda_weight_pack *out, pdl_error *err);
void pdl_cuda_weight_pack_free(pdl_cuda_weight_pack *p);

#endif
