/* backend_cuda.c - entry point of libpanoptic_cuda.so.
 *
 * Built only when nvcc is present and loaded only when a CUDA device is asked
 * for. Opening checks that a driver and a device are usable and names the
 * reason when not; the network on cuDNN's graph API is not built yet, so a
 * usable device still ends in a clear "not built yet" error.
 */
#include "backend.h"

#include <cuda_runtime_api.h>
#include <stdio.h>

static pdl_status cuda_open(const pdl_device_request *req, void **ctx, pdl_error *err)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess)
        return pdl_fail(err, PDL_ERR_DEVICE, "no usable CUDA device (%s); use --device cpu",
                        cudaGetErrorString(e));
    if (count == 0)
        return pdl_fail(err, PDL_ERR_DEVICE, "no usable CUDA device (none found); use --device cpu");
    if (req->index >= count)
        return pdl_fail(err, PDL_ERR_DEVICE, "no usable CUDA device (cuda:%d requested, %d present)",
                        req->index, count);
    *ctx = NULL;
    return pdl_fail(err, PDL_ERR_DEVICE,
                    "CUDA backend: the cuDNN network is not built yet; use --device cpu");
}

static void cuda_close(void *ctx)
{
    (void)ctx;
}

static void cuda_describe(void *ctx, char *buf, size_t size)
{
    (void)ctx;
    snprintf(buf, size, "cuda");
}

static const pdl_backend_ops cuda_ops = {
    .name = "cuda",
    .open = cuda_open,
    .close = cuda_close,
    .describe = cuda_describe,
};

__attribute__((visibility("default"))) const pdl_backend_ops *pdl_cuda_backend_ops(void)
{
    return &cuda_ops;
}
