/* cuda_gemm_choice.h - which 1x1 convs may run as cuBLASLt GEMMs and, once
 * both ways are timed on the device (cuda_tune.c), which way each takes.
 * Pure host logic, so the CUDA-less tests check it.
 */
#ifndef PDL_CUDA_GEMM_CHOICE_H
#define PDL_CUDA_GEMM_CHOICE_H

#include <stdbool.h>

#include "model.h"
#include "status.h"

/* How the GEMM candidates run: timed per net (auto), or all one way
 * (PANOPTIC_CUDA_GEMM=cudnn|cublas, for debugging and the GPU tests). */
typedef enum pdl_cuda_gemm_mode {
    PDL_CUDA_GEMM_AUTO,
    PDL_CUDA_GEMM_CUDNN,
    PDL_CUDA_GEMM_CUBLAS,
} pdl_cuda_gemm_mode;

/* The mode named by s ("auto", "cudnn", "cublas"; NULL or "" = auto). */
pdl_status pdl_cuda_gemm_mode_parse(const char *s, pdl_cuda_gemm_mode *mode, pdl_error *err);

/* Whether op is a conv that is one GEMM over NHWC pixels: kernel 1, stride
 * 1, no padding, dilation 1, one group. Its bias, ReLU and residual all fit
 * cuBLASLt's epilogue (cublas_conv1x1.h). */
bool pdl_cuda_gemm_candidate(const pdl_op *op);

/* Whether cuBLASLt takes a conv whose cuDNN plan ran in cudnn_ms and whose
 * GEMM in cublas_ms: only when clearly faster (by PDL_CUDA_GEMM_MARGIN and
 * PDL_CUDA_GEMM_MIN_GAIN_MS), so ties and timing noise keep cuDNN; a time
 * that is not a positive number keeps cuDNN too. */
#define PDL_CUDA_GEMM_MARGIN 0.05f
#define PDL_CUDA_GEMM_MIN_GAIN_MS 0.002f
bool pdl_cuda_gemm_wins(float cudnn_ms, float cublas_ms);

#endif
