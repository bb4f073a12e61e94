/* tsup_pp.h - post-processing test support: test cases (inputs), a plain
 * serial reference implementation, running a kernel executor on a case, and
 * comparing results. */
#ifndef TSUP_PP_H
#define TSUP_PP_H

#include <stdint.h>

#include "postprocess.h"

typedef struct tsup_pp_case {
    pdl_pp_options opt;
    unsigned char isthing[PDL_PP_MAX_CLASSES];
    int in_h, in_w, resize_h, resize_w, out_h, out_w;
    float offset_scale_y, offset_scale_x;
    float *logits, *center, *offset; /* host, [classes|1|2][in_h][in_w] */
} tsup_pp_case;

typedef struct tsup_pp_result {
    int height, width;
    int32_t *panoptic;
    pdl_pp_segment *segments;
    int segment_count;
    pdl_pp_center *centers;
    int center_count;
} tsup_pp_result;

/* Allocates a case with uninitialised tensors, default options and no thing class. */
void tsup_pp_case_alloc(tsup_pp_case *c, int classes, int in_h, int in_w, int stride, int out_h,
                        int out_w);
void tsup_pp_case_free(tsup_pp_case *c);

/* Realistic synthetic heads: stuff bands, `objects` thing discs (radius 3 +
 * up to max_radius x the longer side) with Gaussian center peaks and offsets
 * pointing at them, plus noise. The first classes/2 classes are things. */
void tsup_pp_case_random(tsup_pp_case *c, int classes, int out_h, int out_w, int stride,
                         int objects, double max_radius, uint64_t seed);

/* Plain serial reference: full-size bilinear tensors, brute-force NMS,
 * sort-based top-k, brute-force grouping, double-precision softmax. */
void tsup_pp_reference(const tsup_pp_case *c, tsup_pp_result *out);

/* The case's head tensors copied into executor k's memory and described in
 * *h; 0, or -1 when an allocation or upload failed (nothing is then held).
 * tsup_pp_heads_release gives the copies back. */
int tsup_pp_heads_upload(const pdl_pp_kernels *k, const tsup_pp_case *c, pdl_pp_heads *h);
void tsup_pp_heads_release(const pdl_pp_kernels *k, pdl_pp_heads *h);

/* Runs the case through an executor (inputs uploaded to its memory). */
void tsup_pp_run_exec(const pdl_pp_kernels *k, const tsup_pp_case *c, tsup_pp_result *out);
/* Same, on the CPU executor with `threads` OpenMP threads. */
void tsup_pp_run_cpu(const tsup_pp_case *c, int threads, tsup_pp_result *out);
/* The AVX2 build of the CPU executor, or NULL (logged once) where the CPU or
 * the build has none. */
const pdl_pp_kernels *tsup_pp_cpu_avx2(void);

void tsup_pp_result_free(tsup_pp_result *r);

/* Binary case (inputs and options) and result files, see tsup_pp_gen.c;
 * return 0 or -1. */
int tsup_pp_case_write(const tsup_pp_case *c, const char *path);
int tsup_pp_case_read(tsup_pp_case *c, const char *path);
int tsup_pp_result_read(tsup_pp_result *r, const char *path);

/* Runs the case on the CPU executor at 1 and at 2 threads, and on its AVX2
 * build at 2 threads where there is one, and asserts all match `ref` (scores
 * to SCORE_TOL) and each other exactly. */
void tsup_pp_check_cpu(const tsup_pp_case *c, const tsup_pp_result *ref, const char *what);

/* Scores: the reference takes the softmax in double over all classes, the
 * kernels in float with a polynomial exp; 1e-5 relative is ample. */
#define TSUP_PP_SCORE_TOL 1e-5

/* Criterion assertions: identical maps, centers and segments; scores within
 * rel_tol relative (0: bit-identical). */
void tsup_pp_assert_same(const tsup_pp_result *got, const tsup_pp_result *want, double rel_tol,
                         const char *what);

/* What a hand-built case must produce by construction; -1: not checked. */
typedef struct tsup_pp_expect {
    int centers, instances;
    long first_area;        /* area of instance 1 when > 0 */
    int all_void;           /* every pixel -1 */
    int absent_class_a, absent_class_b; /* classes with no segment when > 0 */
} tsup_pp_expect;

typedef struct tsup_pp_hand_case {
    const char *name;
    void (*build)(tsup_pp_case *c, tsup_pp_expect *e);
} tsup_pp_hand_case;

extern const tsup_pp_hand_case tsup_pp_hand_cases[];
extern const int tsup_pp_hand_case_count;

uint64_t tsup_pp_rng(uint64_t *state);
double tsup_pp_uniform(uint64_t *state);

#endif
