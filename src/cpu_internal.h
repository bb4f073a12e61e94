/* cpu_internal.h - pieces of the oneDNN CPU backend shared by its files:
 * buffer placement by liveness (cpu_arena.c), primitive descriptors for each
 * op (cpu_ops.c) and the per-size execution plan (cpu_plan.c). Not a public
 * interface; tests use it to check placement and plan reuse.
 */
#ifndef PDL_CPU_INTERNAL_H
#define PDL_CPU_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>
#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "status.h"

#define PDL_CPU_ALIGN 64

/* ---- liveness placement ------------------------------------------------------ */

/* A buffer needed from step `first` to step `last` (inclusive). */
typedef struct pdl_cpu_block {
    size_t size;
    int first, last;
    size_t offset; /* set by pdl_cpu_place_blocks */
} pdl_cpu_block;

/* Gives every block an offset in one arena so that blocks alive at the same
 * step never overlap (greedy, largest first, lowest free gap). Returns the
 * arena size, or (size_t)-1 when out of memory. */
size_t pdl_cpu_place_blocks(pdl_cpu_block *blocks, int n);

/* ---- primitive descriptors (all with a user-provided scratchpad) ------------ */

/* conv + bias (+ sum post-op for the residual) (+ ReLU); src, weights and dst
 * in the layouts oneDNN prefers. */
pdl_status pdl_cpu_conv_pd(dnnl_engine_t eng, const pdl_conv *c, int batch, pdl_shape in,
                           pdl_shape out, dnnl_primitive_desc_t *pd, pdl_error *err);
/* Max or average pooling, no dilation; padding as PyTorch (floor mode). The
 * output has src's batch, as for resampling. */
pdl_status pdl_cpu_pool_pd(dnnl_engine_t eng, bool max, const dnnl_memory_desc_t *src,
                           pdl_shape out, const int kernel[2], int stride, int pad,
                           dnnl_primitive_desc_t *pd, pdl_error *err);
/* Bilinear resampling (oneDNN's linear, the align_corners=false formula). */
pdl_status pdl_cpu_resize_pd(dnnl_engine_t eng, const dnnl_memory_desc_t *src, pdl_shape out,
                             dnnl_primitive_desc_t *pd, pdl_error *err);
pdl_status pdl_cpu_concat_pd(dnnl_engine_t eng, int n, const dnnl_memory_desc_t *srcs,
                             dnnl_primitive_desc_t *pd, pdl_error *err);
pdl_status pdl_cpu_reorder_pd(dnnl_engine_t eng, const dnnl_memory_desc_t *src,
                              const dnnl_memory_desc_t *dst, dnnl_primitive_desc_t *pd,
                              pdl_error *err);
/* Plain NCHW f32 descriptor of `batch` tensors of shape s. */
dnnl_memory_desc_t pdl_cpu_plain_md(int batch, pdl_shape s);
/* Scratchpad bytes a primitive descriptor asks for. */
size_t pdl_cpu_scratch_size(const_dnnl_primitive_desc_t pd);

/* ---- ops of our own (cpu_custom.c), NHWC, one image (cpu_run.c loops over the batch) -------------------------------- */

/* Depthwise conv, stride 1, output h x w (pad = dil * (k - 1) / 2); wt is
 * [k][k][c] (tap-major, channels innermost), then bias and optional ReLU. */
void pdl_cpu_depthwise_nhwc(const float *x, int h, int w, int c, const float *wt,
                            const float *bias, int k, int dil, int pad, bool relu, float *y);
/* Mean over every kh x kw window (stride 1, no padding): y is
 * (h - kh + 1) x (w - kw + 1); rows is scratch of h x (w - kw + 1) x c. */
void pdl_cpu_box_filter_nhwc(const float *x, int h, int w, int c, int kh, int kw, float *rows,
                             float *y);

/* ---- plans ----------------------------------------------------------------------- */

/* A conv's weights reordered into the layout one of its primitives wants. */
typedef struct pdl_cpu_weights {
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
    void *buf;
    struct pdl_cpu_weights *next; /* another layout of the same conv */
} pdl_cpu_weights;

#define PDL_CPU_MAX_ARGS 8

/* One primitive execution. Activation arguments name plan tensors, whose
 * memory objects point into the shared arena; weights and bias are fixed. */
typedef enum pdl_cpu_custom {
    PDL_CPU_ONEDNN,    /* a oneDNN primitive */
    PDL_CPU_DEPTHWISE, /* pdl_cpu_depthwise_nhwc: args SRC, DST */
    PDL_CPU_BOX,       /* pdl_cpu_box_filter_nhwc: args SRC, DST, scratch */
} pdl_cpu_custom;

typedef struct pdl_cpu_step {
    pdl_cpu_custom custom;
    int param[4];    /* DEPTHWISE: k, dilation, relu; BOX: kh, kw */
    float *aux;      /* DEPTHWISE: weights [k][k][c] then bias [c] (owned) */
    dnnl_primitive_t prim;
    int nargs;
    int kind[PDL_CPU_MAX_ARGS];           /* DNNL_ARG_* */
    int tensor[PDL_CPU_MAX_ARGS];         /* plan tensor, or -1: fixed[] */
    dnnl_memory_t fixed[PDL_CPU_MAX_ARGS];
    bool own[PDL_CPU_MAX_ARGS];           /* fixed[] memory created by this step */
    dnnl_memory_desc_t scratch_md;
    dnnl_memory_t scratch;                /* NULL when the primitive needs none */
    dnnl_exec_arg_t args[PDL_CPU_MAX_ARGS + 1];
} pdl_cpu_step;

typedef struct pdl_cpu_tensor {
    dnnl_memory_desc_t md;
    pdl_shape shape;
    int block;           /* arena block; -1 for the input, which the caller owns */
    int producer;        /* step that writes it; -1 for the input */
    dnnl_memory_t mem;
} pdl_cpu_tensor;

/* Everything for one (batch, input size). Tensors 0..model->ntensors-1 are the graph's;
 * reorder targets follow. */
typedef struct pdl_cpu_plan {
    int batch, hp, wp;
    int ntensors, cap_tensors;
    pdl_cpu_tensor *t;
    int nblocks;
    pdl_cpu_block *blocks;
    int nsteps, cap_steps;
    pdl_cpu_step *steps;
    int nreorders;                             /* layout changes inside the network */
    int out_tensor[PDL_STAGE_GRAPH_COUNT];     /* plain copy of each head output */
    dnnl_primitive_t dump[PDL_STAGE_GRAPH_COUNT]; /* stage -> plain NCHW */
    dnnl_memory_t dump_mem[PDL_STAGE_GRAPH_COUNT];
    float *dump_buf;                           /* all stages, allocated on first request */
    size_t arena_bytes, scratch_bytes;
    size_t live_bytes;                         /* most bytes alive at one step */
    unsigned bound_generation;
    bool bound;
} pdl_cpu_plan;

/* What plans share: the engine and stream, one activation arena and one
 * scratchpad (only one plan runs at a time), and weights reordered once. */
typedef struct pdl_cpu_shared {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    const pdl_model *model;
    uint64_t model_id;
    pdl_cpu_weights **weights; /* per op: a list of reordered copies, one per layout */
    int nweights;              /* ops in that array (the model may already be gone) */
    void *arena;
    size_t arena_size;
    void *scratch;
    size_t scratch_size;
    unsigned generation;       /* bumped whenever arena or scratch move */
    size_t weight_bytes;
} pdl_cpu_shared;

/* Plans every primitive and buffer for `batch` padded inputs of hp x wp. */
pdl_status pdl_cpu_plan_create(pdl_cpu_shared *sh, int batch, int hp, int wp, pdl_cpu_plan **out,
                               pdl_error *err);
void pdl_cpu_plan_free(pdl_cpu_plan *p);
/* Runs the network on input [batch][3][hp][wp]; fills the /4 outputs of
 * out[0..batch-1] and, with PDL_RUN_STAGES, every graph stage. The caller has sized sh's arena and
 * scratchpad to the plan's arena_bytes and scratch_bytes. */
pdl_status pdl_cpu_plan_run(pdl_cpu_plan *p, pdl_cpu_shared *sh, const float *input,
                            unsigned flags, pdl_head_outputs *out, pdl_error *err);
/* The conv of op `op` in layout md, reordered from the model on first use. */
pdl_status pdl_cpu_weights_get(pdl_cpu_shared *sh, int op, const dnnl_memory_desc_t *md,
                               dnnl_memory_t *mem, pdl_error *err);
void pdl_cpu_weights_free(pdl_cpu_shared *sh);

#endif
