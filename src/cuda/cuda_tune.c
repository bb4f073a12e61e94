/* cuda_tune.c - chooses, once per net, whether each conv with a planned
 * cuBLASLt GEMM runs as that GEMM or as its cuDNN graph.
 *
 * Which is faster depends on the shape, the precision and the GPU, so it is
 * measured where it runs: each candidate is run both ways on the backend's
 * stream (a warm-up each, then TUNE_ROUNDS alternating rounds of TUNE_REPS
 * back-to-back runs, timed with CUDA events; the fastest round of each way
 * counts, which discards rounds slowed by clock changes), and
 * pdl_cuda_gemm_wins decides, leaning to cuDNN on near ties. The tensors'
 * contents are whatever the arena holds: the timing does not depend on them,
 * and every tensor is recomputed by the first real run. PANOPTIC_CUDA_GEMM
 * (sh->gemm_mode) can force one way instead. Each candidate runs 2 + 4 x
 * TUNE_REPS times, so R52 at 1024x2048 (59 candidates of ~10-100 us) should
 * cost some tens of milliseconds, once per batch and input size (an
 * estimate: not yet measured on a GPU).
 */
#include "cuda_internal.h"

#include "cuda_check.h"

#define TUNE_REPS 5
#define TUNE_ROUNDS 2

typedef struct timer {
    cudaEvent_t start, stop;
} timer;

/* The time of one run of conv i the given way, the mean of TUNE_REPS. */
static pdl_status time_reps(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int i, bool gemm,
                            const timer *t, float *ms, pdl_error *err)
{
    PDL_CUDA(cudaEventRecord(t->start, sh->stream));
    for (int r = 0; r < TUNE_REPS; r++) {
        pdl_status st = pdl_cuda_net_run_conv(n, sh, i, gemm, err);
        if (st != PDL_OK)
            return st;
    }
    PDL_CUDA(cudaEventRecord(t->stop, sh->stream));
    PDL_CUDA(cudaEventSynchronize(t->stop));
    PDL_CUDA(cudaEventElapsedTime(ms, t->start, t->stop));
    *ms /= TUNE_REPS;
    return PDL_OK;
}

/* ms[0]: conv i on cuDNN, ms[1]: as its GEMM (the best round of each). */
static pdl_status time_both(const pdl_cuda_net *n, const pdl_cuda_shared *sh, int i,
                            const timer *t, float ms[2], pdl_error *err)
{
    for (int way = 0; way < 2; way++) {
        pdl_status st = pdl_cuda_net_run_conv(n, sh, i, way, err);
        if (st != PDL_OK)
            return st;
    }
    for (int round = 0; round < TUNE_ROUNDS; round++)
        for (int way = 0; way < 2; way++) {
            float now;
            pdl_status st = time_reps(n, sh, i, way, t, &now, err);
            if (st != PDL_OK)
                return st;
            ms[way] = round == 0 || now < ms[way] ? now : ms[way];
        }
    return PDL_OK;
}

static pdl_status choose(pdl_cuda_net *n, const pdl_cuda_shared *sh, const timer *t,
                         pdl_error *err)
{
    for (int i = 0; i < n->nops; i++) {
        if (!n->gemms[i].planned)
            continue;
        bool gemm = sh->gemm_mode == PDL_CUDA_GEMM_CUBLAS;
        if (sh->gemm_mode == PDL_CUDA_GEMM_AUTO) {
            float ms[2];
            pdl_status st = time_both(n, sh, i, t, ms, err);
            if (st != PDL_OK)
                return st;
            gemm = pdl_cuda_gemm_wins(ms[0], ms[1]);
        }
        n->gemm[i] = gemm;
        n->gemm_convs += gemm;
    }
    return PDL_OK;
}

pdl_status pdl_cuda_net_choose_gemms(pdl_cuda_net *n, const pdl_cuda_shared *sh,
                                     pdl_error *err)
{
    timer t = {0};
    n->gemm_convs = 0;
    cudaError_t e = cudaEventCreate(&t.start);
    if (e == cudaSuccess)
        e = cudaEventCreate(&t.stop);
    pdl_status st = e == cudaSuccess ? choose(n, sh, &t, err)
                                     : pdl_cuda_fail(err, e, "cudaEventCreate", __FILE__,
                                                     __LINE__);
    if (t.stop)
        cudaEventDestroy(t.stop);
    if (t.start)
        cudaEventDestroy(t.start);
    n->tuned = st == PDL_OK;
    return st;
}
