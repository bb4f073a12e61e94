/* engine.h - a loaded model on a backend: image in, panoptic prediction out.
 *
 * Split in two so a pipeline can overlap them: pdl_engine_prepare_input()
 * (decode-side work: Detectron2's test resize, and normalisation for a
 * backend that takes normalised floats) is
 * thread-safe and runs on worker threads; pdl_engine_infer() (network and
 * post-processing) runs on one thread and reuses its per-size plans and
 * buffers from image to image; pdl_engine_infer_batch() runs several
 * same-sized images through the network at once.
 */
#ifndef PDL_ENGINE_H
#define PDL_ENGINE_H

#include <stdbool.h>

#include "backend.h"
#include "config.h"
#include "image.h"
#include "model.h"
#include "prediction.h"
#include "safetensors.h"
#include "status.h"

typedef struct pdl_engine_options {
    pdl_device_request device;
    int short_edge;      /* test resize: -1 = the config's min_size_test, 0 = none */
    int max_size;        /* -1 = the config's max_size_test, 0 = none */
    bool compat_d2;      /* Detectron2's unscaled offsets after a resize */
    float center_threshold; /* < 0: the config's; likewise the ints below when < 0 */
    int nms_kernel, top_k, stuff_area;
    const char *dump_dir; /* write every stage tensor here (debugging), or NULL */
    const pdl_backend_ops *backend; /* NULL: the backend `device` asks for; else this one (tests) */
} pdl_engine_options;

/* An image ready for the network, in the backend's input format: one of data
 * and rgb is set. */
typedef struct pdl_engine_input {
    int orig_h, orig_w; /* the decoded image */
    int h, w;           /* after the test resize */
    float *data;        /* PDL_INPUT_F32_PLANAR: [3][hp][wp] normalised and padded */
    uint8_t *rgb;       /* PDL_INPUT_RGB8: [h][w][3] */
} pdl_engine_input;

typedef struct pdl_engine_times {
    double network_ms, postprocess_ms;
} pdl_engine_times;

typedef struct pdl_engine pdl_engine;

/* Sets every option to "use the model's value" and the device to auto. */
void pdl_engine_options_default(pdl_engine_options *opt);

pdl_status pdl_engine_open(const char *model_path, const pdl_engine_options *opt,
                           pdl_engine **out, pdl_error *err);
void pdl_engine_close(pdl_engine *e);

const pdl_config *pdl_engine_config(const pdl_engine *e);
/* "cpu (oneDNN 2.6.3, 2 threads)"; and the note of an auto fallback, or "". */
const char *pdl_engine_device(const pdl_engine *e);
const char *pdl_engine_fallback_note(const pdl_engine *e);
/* The backend that runs the network: "cpu" or "cuda". */
const char *pdl_engine_backend_name(const pdl_engine *e);
/* The backend's counters (plans, buffers, CUDA graph replays, GEMM convs). */
void pdl_engine_stats(const pdl_engine *e, pdl_backend_stats *out);

/* Largest network input after the test resize: a long thin image resized by
 * its short edge can otherwise ask for hundreds of millions of pixels. */
#define PDL_ENGINE_MAX_INPUT_PIXELS ((int64_t)1 << 26)

/* The test resize of `img` and its conversion for the backend; PDL_ERR_LIMIT
 * when the resized input is over PDL_ENGINE_MAX_INPUT_PIXELS. */
pdl_status pdl_engine_prepare_input(const pdl_engine *e, const pdl_image *img,
                                    pdl_engine_input *in, pdl_error *err);
void pdl_engine_input_free(pdl_engine_input *in);

/* `name` labels dumped tensors. */
pdl_status pdl_engine_infer(pdl_engine *e, const pdl_engine_input *in, const char *name,
                            pdl_prediction *out, pdl_engine_times *times, pdl_error *err);

/* The same for n (1..PDL_MAX_BATCH) inputs of one resized size (h, w; the
 * original sizes may differ): the network runs once on all n, then each is
 * post-processed into out[i] with times[i] (network_ms: the batch's network
 * time divided by n). names[i] labels dumped tensors. On failure the whole
 * batch fails with one error and no out[i] needs freeing. */
pdl_status pdl_engine_infer_batch(pdl_engine *e, const pdl_engine_input *in, int n,
                                  const char *const *names, pdl_prediction *out,
                                  pdl_engine_times *times, pdl_error *err);

#endif
