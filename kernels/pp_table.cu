/* pp_table.cu - the ops table of this executor: pdl_cpu_pp_kernels when
 * compiled by g++ (pdl_cpu_avx2_pp_kernels in the AVX2 build),
 * pdl_cuda_pp_kernels when compiled by nvcc (exported from
 * libpanoptic_cuda.so and found with dlsym). The generic CPU build also
 * chooses between the two CPU builds. */
#include "pdl_kernel.h"
#include "postprocess_kernels.h"

extern "C" {
int PDL_EXEC(pp_axis_taps)(const pdl_pp_axis_args *a, void *stream);
int PDL_EXEC(pp_semantic_heads)(const pdl_pp_cells_args *a, void *stream);
int PDL_EXEC(pp_semantic_cells)(const pdl_pp_cells_args *a, void *stream);
int PDL_EXEC(pp_semantic)(const pdl_pp_semantic_args *a, void *stream);
int PDL_EXEC(pp_nms_rows)(const pdl_pp_nms_args *a, void *stream);
int PDL_EXEC(pp_nms_cols)(const pdl_pp_nms_args *a, void *stream);
int PDL_EXEC(pp_topk_hist)(const pdl_pp_topk_args *a, void *stream);
int PDL_EXEC(pp_topk_select)(const pdl_pp_topk_args *a, void *stream);
int PDL_EXEC(pp_group_cells)(const pdl_pp_group_args *a, void *stream);
int PDL_EXEC(pp_group)(const pdl_pp_group_args *a, void *stream);
int PDL_EXEC(pp_paint)(const pdl_pp_paint_args *a, void *stream);

extern const pdl_pp_kernels PDL_EXEC(pp_kernels);
const pdl_pp_kernels PDL_EXEC(pp_kernels) = {
#ifdef __CUDACC__
    "cuda",
#elif defined(PDL_CPU_AVX2)
    "cpu-avx2",
#else
    "cpu",
#endif
    PDL_HOST_MEMORY,
    pdl_exec_available,
    pdl_mem_error_string,
    pdl_mem_alloc,
    pdl_mem_release,
    pdl_mem_upload,
    pdl_mem_download,
    pdl_mem_zero,
    PDL_EXEC(pp_axis_taps),
    PDL_EXEC(pp_semantic_heads),
    PDL_EXEC(pp_semantic_cells),
    PDL_EXEC(pp_semantic),
    PDL_EXEC(pp_nms_rows),
    PDL_EXEC(pp_nms_cols),
    PDL_EXEC(pp_topk_hist),
    PDL_EXEC(pp_topk_select),
    PDL_EXEC(pp_group_cells),
    PDL_EXEC(pp_group),
    PDL_EXEC(pp_paint),
};

#if !defined(__CUDACC__) && !defined(PDL_CPU_AVX2)
const pdl_pp_kernels *pdl_cpu_pp_executor(void)
{
#ifdef PDL_CPU_AVX2_BUILT
    if (__builtin_cpu_supports("avx2"))
        return &pdl_cpu_avx2_pp_kernels;
#endif
    return &pdl_cpu_pp_kernels;
}
#endif
}
