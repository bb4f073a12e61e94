/* cuda_check.h - every CUDA runtime, cuDNN and cuBLAS call of the backend goes
 * through one of these macros, so a failure becomes one pdl_fail line naming
 * the statement, the file and line, and the library's own error string.
 *
 * Each macro evaluates the call once and, on failure, returns the pdl_status
 * from the enclosing function (which must take `pdl_error *err`). Out of device
 * memory maps to PDL_ERR_NOMEM, everything else to PDL_ERR_DEVICE.
 */
#ifndef PDL_CUDA_CHECK_H
#define PDL_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "status.h"

pdl_status pdl_cuda_fail(pdl_error *err, cudaError_t e, const char *stmt, const char *file,
                         int line);
pdl_status pdl_cudnn_fail(pdl_error *err, cudnnStatus_t s, const char *stmt, const char *file,
                          int line);
pdl_status pdl_cublas_fail(pdl_error *err, cublasStatus_t s, const char *stmt, const char *file,
                           int line);

#define PDL_CUDA(call)                                                                  \
    do {                                                                                \
        cudaError_t pdl_e_ = (call);                                                    \
        if (pdl_e_ != cudaSuccess)                                                      \
            return pdl_cuda_fail(err, pdl_e_, #call, __FILE__, __LINE__);               \
    } while (0)

#define PDL_CUDNN(call)                                                                 \
    do {                                                                                \
        cudnnStatus_t pdl_s_ = (call);                                                  \
        if (pdl_s_ != CUDNN_STATUS_SUCCESS)                                             \
            return pdl_cudnn_fail(err, pdl_s_, #call, __FILE__, __LINE__);              \
    } while (0)

#define PDL_CUBLAS(call)                                                                \
    do {                                                                                \
        cublasStatus_t pdl_s_ = (call);                                                 \
        if (pdl_s_ != CUBLAS_STATUS_SUCCESS)                                            \
            return pdl_cublas_fail(err, pdl_s_, #call, __FILE__, __LINE__);             \
    } while (0)

#endif
