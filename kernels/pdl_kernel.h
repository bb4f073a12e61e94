/* pdl_kernel.h - portability layer that lets one kernel source run on the GPU
 * (compiled by nvcc) and on the CPU (the same file compiled as C++ by g++).
 *
 * A kernel is a per-element PDL_HD function `void f(const Args &a, long i)`;
 * PDL_LAUNCH(f, a, n, stream) runs it for i in [0, n): under nvcc as a
 * bounds-checked __global__ wrapper, on the host as an OpenMP loop. Kernels use
 * no shared memory, no block barriers and no warp intrinsics, only the atomics
 * below (CUDA atomics on the device, GCC __atomic builtins on the host), so the
 * CPU executes exactly the code the GPU runs.
 *
 * Float arithmetic whose result must be bit-identical on both executors goes
 * through pdl_fadd/pdl_fsub/pdl_fmul: on the device they are the _rn
 * intrinsics, which nvcc never contracts into FMAs; on the host plain
 * operators (the host builds never contract: x86-64 without -march has no
 * FMA, and the AVX2 build of the CPU executor is made with -ffp-contract=off).
 */
#ifndef PDL_KERNEL_H
#define PDL_KERNEL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __CUDACC__
#include <cuda_runtime.h>
#define PDL_HD __host__ __device__
#define PDL_EXEC(name) pdl_cuda_##name
#elif defined(PDL_CPU_AVX2)
#define PDL_HD
#define PDL_EXEC(name) pdl_cpu_avx2_##name
#else
#define PDL_HD
#define PDL_EXEC(name) pdl_cpu_##name
#endif

#define PDL_BLOCK 256

static inline PDL_HD float pdl_fadd(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

static inline PDL_HD float pdl_fsub(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

static inline PDL_HD float pdl_fmul(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

static inline PDL_HD float pdl_fsqrt(float a)
{
#ifdef __CUDA_ARCH__
    return __fsqrt_rn(a);
#else
    return sqrtf(a);
#endif
}

static inline PDL_HD uint32_t pdl_float_bits(float f)
{
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

static inline PDL_HD float pdl_bits_float(uint32_t u)
{
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* exp(x) in plain float operations (Cephes' expf: round x*log2(e) with the
 * 1.5 * 2^23 trick, a degree-5 polynomial, exponent bits), about 1 ulp. Used
 * instead of libm so that it inlines and vectorises on the host and gives the
 * same bits on both executors. Inputs are clamped to [-87, 88]. */
static inline PDL_HD float pdl_expf(float x)
{
    x = x < -87.0f ? -87.0f : x; /* two plain selects (NaN passes): one minps / maxps each */
    x = x > 88.0f ? 88.0f : x;
    const float magic = 12582912.0f;
    float t = pdl_fadd(pdl_fmul(x, 1.44269504088896341f), magic);
    float n = pdl_fsub(t, magic);
    int e = (int)(pdl_float_bits(t) - pdl_float_bits(magic));
    float r = pdl_fsub(pdl_fsub(x, pdl_fmul(n, 0.693359375f)), pdl_fmul(n, -2.12194440e-4f));
    float p = 1.9875691500e-4f;
    p = pdl_fadd(pdl_fmul(p, r), 1.3981999507e-3f);
    p = pdl_fadd(pdl_fmul(p, r), 8.3334519073e-3f);
    p = pdl_fadd(pdl_fmul(p, r), 4.1665795894e-2f);
    p = pdl_fadd(pdl_fmul(p, r), 1.6666665459e-1f);
    p = pdl_fadd(pdl_fmul(p, r), 5.0000001201e-1f);
    float y = pdl_fadd(pdl_fadd(pdl_fmul(pdl_fmul(p, r), r), r), 1.0f);
    return pdl_fmul(y, pdl_bits_float((uint32_t)(e + 127) << 23));
}

/* A hint that *p will be read soon (host only: x86 prefetches never fault,
 * and the GPU hides latency with other warps). For rows read in an order
 * the hardware prefetcher does not follow. */
static inline PDL_HD void pdl_prefetch(const void *p)
{
#ifdef __CUDA_ARCH__
    (void)p;
#else
    __builtin_prefetch(p);
#endif
}

/* ---- atomics (relaxed: results are only read after the launch ends) ---- */
static inline PDL_HD unsigned pdl_atomic_add_u32(unsigned *p, unsigned v)
{
#ifdef __CUDA_ARCH__
    return atomicAdd(p, v);
#else
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

static inline PDL_HD void pdl_atomic_add_u64(unsigned long long *p, unsigned long long v)
{
#ifdef __CUDA_ARCH__
    atomicAdd(p, v);
#else
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

static inline PDL_HD void pdl_atomic_min_i32(int *p, int v)
{
#ifdef __CUDA_ARCH__
    atomicMin(p, v);
#else
    int cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v < cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
#endif
}

static inline PDL_HD void pdl_atomic_max_i32(int *p, int v)
{
#ifdef __CUDA_ARCH__
    atomicMax(p, v);
#else
    int cur = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (v > cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
#endif
}

/* ---- launch ---- */
#ifdef __CUDACC__
template <typename A, void (*F)(const A &, long)>
__global__ void pdl_entry(A a, long n)
{
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        F(a, i);
}

template <typename A, void (*F)(const A &, long)>
static int pdl_launch(const A &a, long n, void *stream)
{
    if (n <= 0)
        return 0;
    unsigned blocks = (unsigned)((n + PDL_BLOCK - 1) / PDL_BLOCK);
    pdl_entry<A, F><<<blocks, PDL_BLOCK, 0, (cudaStream_t)stream>>>(a, n);
    return (int)cudaGetLastError();
}
#else
template <typename A, void (*F)(const A &, long)>
static int pdl_launch(const A &a, long n, void *stream)
{
    (void)stream;
#pragma omp parallel
    {
        /* A thread's own copy of the arguments: stores through their
         * pointers (bytes may alias anything) cannot change a local whose
         * address never escapes, so the kernel keeps the fields in registers
         * instead of reloading them after every store. */
        const A local = a;
        /* Guided: large chunks first (few atomics), small ones at the end, so
         * the threads finish together although the work per element varies
         * (thing pixels cost far more than stuff in grouping and painting). */
#pragma omp for schedule(guided, 16)
        for (long i = 0; i < n; i++)
            F(local, i);
    }
    return 0;
}
#endif

/* `a` must be a plain variable of the argument struct type. */
#define PDL_LAUNCH(F, a, n, stream) pdl_launch<decltype(a), F>((a), (n), (stream))

/* ---- memory of the executor (device memory under CUDA, the heap on the CPU) ---- */
#ifdef __CUDACC__
#define PDL_HOST_MEMORY 0
static inline int pdl_mem_alloc(void **p, size_t n)
{
    return (int)cudaMalloc(p, n ? n : 1);
}
static inline void pdl_mem_release(void *p)
{
    cudaFree(p);
}
static inline int pdl_mem_upload(void *dst, const void *src, size_t n, void *stream)
{
    return n ? (int)cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, (cudaStream_t)stream) : 0;
}
static inline int pdl_mem_download(void *dst, const void *src, size_t n, void *stream)
{
    cudaError_t e = n ? cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, (cudaStream_t)stream)
                      : cudaSuccess;
    if (e == cudaSuccess)
        e = cudaStreamSynchronize((cudaStream_t)stream);
    return (int)e;
}
static inline int pdl_mem_zero(void *dst, size_t n, void *stream)
{
    return n ? (int)cudaMemsetAsync(dst, 0, n, (cudaStream_t)stream) : 0;
}
static inline const char *pdl_mem_error_string(int code)
{
    return cudaGetErrorString((cudaError_t)code);
}
static inline int pdl_exec_available(char *why, size_t size)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(why, size, "%s", cudaGetErrorString(e));
        return 0;
    }
    if (count == 0) {
        snprintf(why, size, "no CUDA device found");
        return 0;
    }
    return 1;
}
#else
#define PDL_HOST_MEMORY 1
static inline int pdl_mem_alloc(void **p, size_t n)
{
    *p = malloc(n ? n : 1);
    return *p ? 0 : 1;
}
static inline void pdl_mem_release(void *p)
{
    free(p);
}
static inline int pdl_mem_upload(void *dst, const void *src, size_t n, void *stream)
{
    (void)stream;
    if (n)
        memcpy(dst, src, n);
    return 0;
}
static inline int pdl_mem_download(void *dst, const void *src, size_t n, void *stream)
{
    (void)stream;
    if (n)
        memcpy(dst, src, n);
    return 0;
}
static inline int pdl_mem_zero(void *dst, size_t n, void *stream)
{
    (void)stream;
    if (n)
        memset(dst, 0, n);
    return 0;
}
static inline const char *pdl_mem_error_string(int code)
{
    return code ? "out of memory" : "no error";
}
static inline int pdl_exec_available(char *why, size_t size)
{
    (void)why;
    (void)size;
    return 1;
}
#endif

#endif
