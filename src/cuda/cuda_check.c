/* cuda_check.c - the failure half of cuda_check.h's macros: one message line
 * per failed CUDA, cuDNN or cuBLAS call. cuDNN's last error message (which
 * says which attribute or shape it refused) is appended when it has one.
 */
#include "cuda_check.h"

#include <string.h>

static const char *base(const char *file)
{
    const char *slash = strrchr(file, '/');
    return slash ? slash + 1 : file;
}

pdl_status pdl_cuda_fail(pdl_error *err, cudaError_t e, const char *stmt, const char *file,
                         int line)
{
    return pdl_fail(err, e == cudaErrorMemoryAllocation ? PDL_ERR_NOMEM : PDL_ERR_DEVICE,
                    "CUDA: %s failed at %s:%d: %s", stmt, base(file), line, cudaGetErrorString(e));
}

pdl_status pdl_cudnn_fail(pdl_error *err, cudnnStatus_t s, const char *stmt, const char *file,
                          int line)
{
    char detail[256] = "";
    cudnnGetLastErrorString(detail, sizeof detail);
    return pdl_fail(err, s == CUDNN_STATUS_ALLOC_FAILED ? PDL_ERR_NOMEM : PDL_ERR_DEVICE,
                    "cuDNN: %s failed at %s:%d: %s%s%s", stmt, base(file), line,
                    cudnnGetErrorString(s), detail[0] ? ": " : "", detail);
}

pdl_status pdl_cublas_fail(pdl_error *err, cublasStatus_t s, const char *stmt, const char *file,
                           int line)
{
    return pdl_fail(err, s == CUBLAS_STATUS_ALLOC_FAILED ? PDL_ERR_NOMEM : PDL_ERR_DEVICE,
                    "cuBLAS: %s failed at %s:%d: %s", stmt, base(file), line,
                    cublasGetStatusString(s));
}
