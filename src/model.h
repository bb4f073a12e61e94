/* model.h - the Panoptic-DeepLab network as a flat graph built from a pdl_config.
 *
 * The graph is a list of ops in execution order over numbered activation
 * tensors (tensor 0 is the normalised, padded input). Every op writes exactly
 * one new tensor, so a backend can plan buffers by liveness and name any
 * intermediate stage. Spatial sizes are not stored: they follow from the input
 * size (pdl_model_shapes), so one graph serves every image size. Convolutions
 * carry Detectron2's state-dict prefix ("backbone.res2.0.conv1"); after
 * pdl_model_load they hold float32 weights with BatchNorm already folded in, so
 * every conv is conv + bias (+ residual) (+ ReLU).
 */
#ifndef PDL_MODEL_H
#define PDL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dense_kernels.h"
#include "safetensors.h"
#include "status.h"

#define PDL_CONV_NAME_MAX 96
#define PDL_MAX_OP_INPUTS 5 /* the ASPP concat */

typedef enum pdl_op_kind {
    PDL_OP_CONV,
    PDL_OP_MAXPOOL, /* kernel k, stride s, padding p (PyTorch floor mode) */
    PDL_OP_AVGPOOL, /* stride 1, no padding; kernel clamped per dimension; {0,0} = global */
    PDL_OP_RESIZE,  /* bilinear, align_corners=false, to the spatial size of tensor `like` */
    PDL_OP_CONCAT,  /* along channels, in the order of in[] */
} pdl_op_kind;

typedef struct pdl_conv {
    char name[PDL_CONV_NAME_MAX]; /* D2 prefix; tensors are NAME.weight, NAME.norm.* or NAME.bias */
    int cin, cout, kernel, stride, pad, dilation, groups;
    bool norm;     /* BatchNorm in the file (and no conv bias); else the file has NAME.bias */
    bool relu;     /* ReLU after the bias (and after the residual add) */
    int residual;  /* tensor added before the ReLU, or -1 */
    float *weight; /* [cout][cin/groups][kernel][kernel], BN folded (NULL before load) */
    float *bias;   /* [cout], BN folded */
} pdl_conv;

typedef struct pdl_op {
    pdl_op_kind kind;
    int out;                   /* the tensor this op writes */
    int nin;
    int in[PDL_MAX_OP_INPUTS]; /* input tensors (CONCAT: 2..5, others 1) */
    pdl_conv conv;             /* CONV */
    int kernel[2];             /* MAXPOOL (k, k); AVGPOOL (h, w), {0, 0} = global */
    int stride, pad;           /* MAXPOOL */
    int like;                  /* RESIZE: target size is this tensor's */
} pdl_op;

/* Named stages (Detectron2 / reference-file names). The first eleven are graph
 * tensors; the _UP ones are the x4-upsampled, cropped head outputs a backend
 * produces on request. */
typedef enum pdl_stage {
    PDL_STAGE_INPUT,
    PDL_STAGE_RES2,
    PDL_STAGE_RES3,
    PDL_STAGE_RES5,
    PDL_STAGE_SEM_ASPP,
    PDL_STAGE_INS_ASPP,
    PDL_STAGE_SEM_DECODER,
    PDL_STAGE_INS_DECODER,
    PDL_STAGE_SEM_LOGITS,
    PDL_STAGE_CENTER,
    PDL_STAGE_OFFSET,
    PDL_STAGE_GRAPH_COUNT,
    PDL_STAGE_SEM_LOGITS_UP = PDL_STAGE_GRAPH_COUNT,
    PDL_STAGE_CENTER_UP,
    PDL_STAGE_OFFSET_UP,
    PDL_STAGE_COUNT
} pdl_stage;

/* "input", "res2", ..., "offset_up". */
const char *pdl_stage_name(pdl_stage s);

typedef struct pdl_model {
    uint64_t id;                          /* unique per built model: backends key caches on it */
    pdl_config config;
    int nops;
    pdl_op *ops;
    int ntensors;
    int *channels;                        /* per tensor */
    int stage_tensor[PDL_STAGE_GRAPH_COUNT];
    float *weight_storage;                /* one block holding every conv's weight and bias */
} pdl_model;

typedef struct pdl_shape {
    int c, h, w;
} pdl_shape;

/* Builds the graph for a validated config, without weights. On failure *m is
 * left empty (pdl_model_free on it is harmless). */
pdl_status pdl_model_build(const pdl_config *cfg, pdl_model *m, pdl_error *err);

/* Builds the graph from w->config and loads every conv: each tensor is checked
 * with pdl_weights_expect (shape exactly as the config implies), converted with
 * pdl_tensor_to_f32 (NaN/Inf rejected, naming the tensor) and BatchNorm (eps
 * 1e-5) is folded in. Tensors the graph does not use are counted in *unused
 * (may be NULL) and *first_unused names one (NULL when none). Builds the graph
 * itself: pass an empty model, not one from pdl_model_build. On failure *m is
 * left empty. */
pdl_status pdl_model_load(pdl_weights *w, pdl_model *m, size_t *unused,
                          const char **first_unused, pdl_error *err);

void pdl_model_free(pdl_model *m);

/* Gives m a new id, for code that assembles or edits a graph by hand (tests):
 * backends then treat it as a model they have not seen. */
void pdl_model_renew_id(pdl_model *m);

/* The network input size for an h x w image: padded bottom/right to the
 * config's size_divisibility (unchanged when it is 0). */
void pdl_model_input_size(const pdl_config *cfg, int h, int w, int *hp, int *wp);

/* Shapes of every tensor for a padded input of hp x wp (shapes[ntensors]).
 * Fails (PDL_ERR_ARG) when the input is too small for a layer to have output. */
pdl_status pdl_model_shapes(const pdl_model *m, int hp, int wp, pdl_shape *shapes,
                            pdl_error *err);

/* Normalises 8-bit interleaved RGB (h x w) with the config's mean/std into
 * dst [3][hp][wp] (pdl_model_input_size), zero padding bottom/right. */
void pdl_model_preprocess(const pdl_config *cfg, const uint8_t *rgb, int h, int w, float *dst);

/* The same normalisation as the dense kernel's arguments (pdl_*_dense_normalize),
 * for a backend that normalises on its device: an h x w image, padded to
 * pdl_model_input_size, into NHWC with `channels` (>= 3) channels, the ones
 * beyond 3 zero. Type, rgb and dst are left for the caller. */
void pdl_model_normalize_args(const pdl_config *cfg, int h, int w, int channels,
                              pdl_dense_normalize_args *a);

/* Learnable parameters, as PyTorch counts them: conv weights and biases and
 * BatchNorm weights and biases (running statistics are buffers, not counted). */
uint64_t pdl_model_params(const pdl_config *cfg);

/* Floating-point operations of the convolutions for an h x w image (padded to
 * the size divisibility): 2 x multiply-adds. Returns 0 when the size is too
 * small for the network. */
double pdl_model_flops(const pdl_config *cfg, int height, int width);

/* ---- head outputs, as backends return them ---------------------------------- */

typedef struct pdl_stage_tensor {
    bool present;
    int c, h, w;
    const float *data; /* [c][h][w] */
} pdl_stage_tensor;

/* What pdl_backend_ops.run asks for. The /4 head outputs always come back. */
enum {
    PDL_RUN_FULL = 1u << 0,   /* also the x4-upsampled, cropped outputs */
    PDL_RUN_STAGES = 1u << 1, /* also every intermediate stage (for --dump-tensors) */
    /* Head outputs (and the x4 ones) stay in the memory of the backend's
     * post-processing executor (pdl_backend_ops.pp_executor): device pointers
     * on a GPU, nothing downloaded. Ignored with PDL_RUN_STAGES, whose
     * outputs are all host memory. */
    PDL_RUN_DEVICE = 1u << 2,
};

/* Filled by a backend's run(); the pointers belong to the backend and stay
 * valid until its next prepare/run/close. Host memory, or the executor's
 * memory under PDL_RUN_DEVICE. */
typedef struct pdl_head_outputs {
    int height, width;       /* the unpadded image size */
    int h4, w4;              /* size of the head outputs: the padded input /4 (rounded up) */
    int num_classes;
    const float *sem_logits; /* [num_classes][h4][w4] */
    const float *center;     /* [h4][w4], before any sigmoid (the model has none) */
    const float *offset;     /* [2][h4][w4], (dy, dx) as predicted: multiply by 4 for pixels */
    /* With PDL_RUN_FULL: x4 bilinear (align_corners=false), offsets x4, cropped to height x width. */
    const float *sem_logits_up; /* [num_classes][height][width] */
    const float *center_up;     /* [height][width] */
    const float *offset_up;     /* [2][height][width], in input pixels */
    /* With PDL_RUN_STAGES: every stage, indexed by pdl_stage. */
    pdl_stage_tensor stages[PDL_STAGE_COUNT];
} pdl_head_outputs;

/* Bilinear x`factor` upsampling as F.interpolate(scale_factor=factor,
 * mode="bilinear", align_corners=False) (source coordinate (d + 0.5) / factor
 * - 0.5, clamped at 0), cropped to out_h x out_w, every value multiplied by
 * `mul`. src [c][h][w], dst [c][out_h][out_w]; out_h <= h * factor. */
pdl_status pdl_upsample_crop(const float *src, int c, int h, int w, int factor, int out_h,
                             int out_w, float mul, float *dst, pdl_error *err);

/* PDL_RUN_FULL's outputs on the host: the /4 heads of `out` upsampled x4 and
 * cropped (offsets x4) into dst, (num_classes + 3) * height * width floats,
 * and out's *_up pointers set into it. */
pdl_status pdl_heads_upsample_full(pdl_head_outputs *out, float *dst, pdl_error *err);

#endif
