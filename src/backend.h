/* backend.h - a compute backend is a table of functions plus a context (ggml's
 * pattern). The CPU backend is linked in; the CUDA backend lives in
 * libpanoptic_cuda.so and is loaded with dlopen only when asked for, so the
 * executable starts on machines without CUDA.
 */
#ifndef PDL_BACKEND_H
#define PDL_BACKEND_H

#include <stddef.h>

#include "model.h"
#include "postprocess_kernels.h"
#include "status.h"

typedef enum pdl_device_kind { PDL_DEVICE_AUTO, PDL_DEVICE_CPU, PDL_DEVICE_CUDA } pdl_device_kind;

/* Arithmetic of the network on CUDA (the CPU backend is always FP32). TF32:
 * float tensors, tensor cores allowed to round conv inputs to TF32. FP16: half
 * tensors, float accumulation. */
typedef enum pdl_precision { PDL_PRECISION_FP32, PDL_PRECISION_TF32, PDL_PRECISION_FP16 } pdl_precision;

typedef struct pdl_device_request {
    pdl_device_kind kind;
    int index;   /* CUDA device ordinal */
    int threads; /* CPU threads; 0 = all cores */
    pdl_precision precision;
} pdl_device_request;

/* Counters for tests and --verbose output. */
typedef struct pdl_backend_stats {
    int plans_built;      /* network plans made so far (one per new batch and input size) */
    int plans_cached;     /* plans held now */
    int reorders;         /* layout conversions inside the current plan's network */
    int own_ops;          /* ops of the current plan run by our kernels, not the library's */
    size_t arena_bytes;   /* activation buffers of the current plan */
    size_t live_bytes;    /* its lower bound: the most bytes alive at any one step */
    size_t scratch_bytes; /* primitives' shared scratchpad */
    size_t weight_bytes;  /* weights as the device holds them */
    size_t output_bytes;  /* full-size outputs and stage copies */
    int graph_launches;   /* runs of the current plan replayed from a CUDA graph */
    int gemm_convs;       /* convs of the current plan run as cuBLASLt GEMMs, not cuDNN graphs */
    char note[PDL_ERROR_MSG_MAX]; /* why the current plan runs slower than it could
                                     (a CUDA graph capture failed); "" when nothing */
} pdl_backend_stats;

/* What a backend's run() reads, per image, the batch's images one after the
 * other. The CPU backend takes the normalised planar floats, made by the
 * decode threads; a GPU backend takes the resized 8-bit image, which is 3
 * bytes a pixel on the bus instead of 12 (or 32 as padded NHWC), and
 * normalises it on the device (pdl_model_normalize_args). */
typedef enum pdl_input_format {
    PDL_INPUT_F32_PLANAR, /* float [3][hp][wp]: pdl_model_preprocess, padded */
    PDL_INPUT_RGB8,       /* uint8 [h][w][3]: RGB after the test resize, unpadded */
} pdl_input_format;

/* The largest batch prepare accepts (predict's --batch limit). */
#define PDL_MAX_BATCH 64

typedef struct pdl_backend_ops {
    const char *name; /* "cpu", "cuda" */
    pdl_status (*open)(const pdl_device_request *req, void **ctx, pdl_error *err);
    void (*close)(void *ctx);
    /* One line naming the device, e.g. "cpu (oneDNN 2.6.3, 2 threads)". */
    void (*describe)(void *ctx, char *buf, size_t size);
    /* Makes `model` (which must outlive its use here) ready to run on `batch`
     * (>= 1) images of height x width: the input is padded to the config's
     * size_divisibility (pdl_model_input_size). Plans are cached by (batch,
     * padded size), so calling this for every batch of a folder of same-sized
     * images plans once per batch size. A backend without batching fails with
     * PDL_ERR_UNSUPPORTED for batch > 1. */
    pdl_status (*prepare)(void *ctx, const pdl_model *model, int batch, int height, int width,
                          pdl_error *err);
    /* Runs the network prepared last on `input`, `batch` images in
     * input_format, filling out[0..batch-1], one per image. flags
     * (PDL_RUN_FULL, PDL_RUN_STAGES, PDL_RUN_DEVICE) apply to every image. */
    pdl_status (*run)(void *ctx, const void *input, unsigned flags, pdl_head_outputs *out,
                      pdl_error *err);
    void (*stats)(void *ctx, pdl_backend_stats *out);
    pdl_input_format input_format; /* what run() reads */
    /* The post-processing executor whose memory run() leaves the head outputs
     * in under PDL_RUN_DEVICE, and the stream to queue it on (*stream, for
     * pdl_pp_init); NULL where run() has only host outputs. */
    const pdl_pp_kernels *(*pp_executor)(void *ctx, void **stream);
} pdl_backend_ops;

typedef struct pdl_backend {
    const pdl_backend_ops *ops;
    void *ctx;
    void *library; /* dlopen handle of libpanoptic_cuda.so, or NULL */
} pdl_backend;

/* Symbol libpanoptic_cuda.so exports; returns its ops table. */
#define PDL_CUDA_ENTRY_SYMBOL "pdl_cuda_backend_ops"
typedef const pdl_backend_ops *(*pdl_cuda_entry_fn)(void);

/* Parses "auto", "cpu", "cuda" or "cuda:N". */
pdl_status pdl_device_parse(const char *text, pdl_device_request *out, pdl_error *err);

/* Parses "fp32", "tf32" or "fp16". */
pdl_status pdl_precision_parse(const char *text, pdl_precision *out, pdl_error *err);
const char *pdl_precision_name(pdl_precision p);

/* Opens the requested backend. With PDL_DEVICE_AUTO a CUDA failure falls back to
 * the CPU and the reason is left in `fallback_note` (empty when none). */
pdl_status pdl_backend_open(const pdl_device_request *req, pdl_backend *out,
                            char *fallback_note, size_t note_size, pdl_error *err);
void pdl_backend_close(pdl_backend *b);

extern const pdl_backend_ops pdl_cpu_backend_ops;

#endif
