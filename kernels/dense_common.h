/* dense_common.h - what the dense kernels share: the storage type of FP16
 * tensors on each executor (__half under nvcc, pdl_half on the host, same
 * bits), loads that widen to float and stores that round to nearest even.
 * Each kernel is a template over the element type T (float or
 * pdl_dense_half), instantiated by its launcher for the type in the args. */
#ifndef PDL_DENSE_COMMON_H
#define PDL_DENSE_COMMON_H

#include "dense_kernels.h"
#include "pdl_kernel.h"

#ifdef __CUDACC__
#include <cuda_fp16.h>
typedef __half pdl_dense_half;
#else
typedef pdl_half pdl_dense_half;
#endif

static inline PDL_HD float pdl_load(const float *p)
{
    return *p;
}

static inline PDL_HD void pdl_store(float *p, float v)
{
    *p = v;
}

static inline PDL_HD float pdl_load(const pdl_dense_half *p)
{
#ifdef __CUDACC__
    return __half2float(*p);
#else
    return pdl_half_to_float(*p);
#endif
}

static inline PDL_HD void pdl_store(pdl_dense_half *p, float v)
{
#ifdef __CUDACC__
    *p = __float2half_rn(v);
#else
    *p = pdl_float_to_half(v);
#endif
}

static inline PDL_HD float pdl_fdiv(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}

#endif
