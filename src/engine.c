/* engine.c - weights + model + backend + post-processing behind one handle.
 *
 * Output geometry follows Detectron2: the network sees the resized image;
 * its /4 head outputs are upsampled x4 and cropped to the resized size, then
 * resized bilinearly to the original size, where post-processing runs. When
 * no resize happened the post-processing samples the /4 tensors directly
 * (the fused path, no full-size logits). After a resize the offsets are
 * rescaled to original-image pixels, unless --compat detectron2 asks for
 * Detectron2's unscaled values.
 *
 * The input is what the backend reads (pdl_backend_ops.input_format):
 * normalised planar floats made here, on the decode threads, for the CPU; the
 * resized 8-bit image for a GPU, which normalises it on the device. A batch
 * of same-sized inputs is copied into one contiguous buffer and runs through
 * the network in one call; post-processing then runs image by image, on the
 * backend's own post-processing executor with the heads left in its memory
 * (PDL_RUN_DEVICE), so a GPU sends back only the panoptic map and segments.
 * Dumps need the stages on the host; they are post-processed there too.
 */
#include "engine.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postprocess.h"
#include "resize.h"
#include "safetensors_write.h"

struct pdl_engine {
    pdl_weights weights;
    pdl_model model;
    pdl_backend backend;
    pdl_pp_context *post;      /* on the backend's executor */
    pdl_pp_context *host_post; /* on the CPU, for host heads (dumps) when post's is a device */
    bool device_heads;         /* the backend can leave the heads with its executor */
    unsigned char isthing[PDL_MAX_CLASSES];
    int short_edge, max_size;
    bool compat_d2;
    const char *dump_dir;
    char *config_json;
    void *batch_input; /* the inputs of batches of more than one, one after the other */
    size_t batch_bytes;
    char device[160];
    char note[600];
};

void pdl_engine_options_default(pdl_engine_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->device.kind = PDL_DEVICE_AUTO;
    opt->short_edge = opt->max_size = -1;
    opt->center_threshold = -1.f;
    opt->nms_kernel = opt->top_k = opt->stuff_area = -1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Post-processing options: the model's, overridden by the command line. */
static pdl_status open_postprocess(pdl_engine *e, const pdl_engine_options *opt,
                                   const char *model_path, pdl_error *err)
{
    const pdl_config *cfg = &e->weights.config;
    if (cfg->num_classes > PDL_PP_MAX_CLASSES)
        return pdl_fail(err, PDL_ERR_UNSUPPORTED, "%s: %d classes; post-processing handles up to %d",
                        model_path, cfg->num_classes, PDL_PP_MAX_CLASSES);
    pdl_pp_options o;
    pdl_pp_options_default(&o);
    o.threshold = opt->center_threshold >= 0.f ? opt->center_threshold : cfg->post.center_threshold;
    o.nms_kernel = opt->nms_kernel > 0 ? opt->nms_kernel : cfg->post.nms_kernel;
    o.top_k = opt->top_k > 0 ? opt->top_k : cfg->post.top_k;
    o.stuff_area = opt->stuff_area >= 0 ? opt->stuff_area : cfg->post.stuff_area;
    o.label_divisor = cfg->post.label_divisor;
    o.classes = cfg->num_classes;
    for (int c = 0; c < cfg->num_classes; c++)
        e->isthing[c] = cfg->classes[c].isthing;
    o.isthing = e->isthing;
    const pdl_pp_kernels *exec = pdl_cpu_pp_executor();
    void *stream = NULL;
    e->device_heads = e->backend.ops->pp_executor != NULL;
    if (e->device_heads)
        exec = e->backend.ops->pp_executor(e->backend.ctx, &stream);
    pdl_status st = pdl_pp_init(&e->post, exec, stream, &o, err);
    if (st == PDL_OK && !exec->host_memory && e->dump_dir)
        st = pdl_pp_init(&e->host_post, pdl_cpu_pp_executor(), NULL, &o, err);
    return st;
}

static pdl_status open_backend(pdl_engine *e, const pdl_engine_options *opt, pdl_error *err)
{
    if (!opt->backend)
        return pdl_backend_open(&opt->device, &e->backend, e->note, sizeof e->note, err);
    pdl_status st = opt->backend->open(&opt->device, &e->backend.ctx, err);
    if (st == PDL_OK)
        e->backend.ops = opt->backend;
    return st;
}

pdl_status pdl_engine_open(const char *model_path, const pdl_engine_options *opt,
                           pdl_engine **out, pdl_error *err)
{
    pdl_engine *e = calloc(1, sizeof *e);
    if (!e)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", model_path);
    pdl_status st = pdl_weights_open(model_path, &e->weights, err);
    if (st != PDL_OK) {
        free(e);
        return st;
    }
    const pdl_config *cfg = &e->weights.config;
    st = pdl_model_load(&e->weights, &e->model, NULL, NULL, err);
    if (st == PDL_OK)
        st = open_backend(e, opt, err);
    if (st != PDL_OK) {
        pdl_engine_close(e);
        return st;
    }
    e->backend.ops->describe(e->backend.ctx, e->device, sizeof e->device);
    e->short_edge = opt->short_edge >= 0 ? opt->short_edge : cfg->input.min_size_test;
    e->max_size = opt->max_size >= 0 ? opt->max_size : cfg->input.max_size_test;
    e->compat_d2 = opt->compat_d2;
    e->dump_dir = opt->dump_dir;
    e->config_json = pdl_config_to_json(cfg);
    st = open_postprocess(e, opt, model_path, err);
    if (st != PDL_OK) {
        pdl_engine_close(e);
        return st;
    }
    *out = e;
    return PDL_OK;
}

void pdl_engine_close(pdl_engine *e)
{
    if (!e)
        return;
    pdl_pp_free(e->post);
    pdl_pp_free(e->host_post);
    pdl_backend_close(&e->backend);
    pdl_model_free(&e->model);
    pdl_weights_close(&e->weights);
    free(e->config_json);
    free(e->batch_input);
    free(e);
}

const pdl_config *pdl_engine_config(const pdl_engine *e)
{
    return &e->weights.config;
}

const char *pdl_engine_device(const pdl_engine *e)
{
    return e->device;
}

const char *pdl_engine_fallback_note(const pdl_engine *e)
{
    return e->note;
}

const char *pdl_engine_backend_name(const pdl_engine *e)
{
    return e->backend.ops->name;
}

void pdl_engine_stats(const pdl_engine *e, pdl_backend_stats *out)
{
    e->backend.ops->stats(e->backend.ctx, out);
}

/* The image as the network reads it: 8-bit RGB resized (or copied), then,
 * for a backend taking floats, normalised and padded. */
pdl_status pdl_engine_prepare_input(const pdl_engine *e, const pdl_image *img,
                                    pdl_engine_input *in, pdl_error *err)
{
    const pdl_config *cfg = &e->weights.config;
    memset(in, 0, sizeof *in);
    in->orig_h = img->height;
    in->orig_w = img->width;
    pdl_resize_shortest_edge_shape(img->height, img->width, e->short_edge, e->max_size, &in->h,
                                   &in->w);
    if ((int64_t)in->h * in->w > PDL_ENGINE_MAX_INPUT_PIXELS)
        return pdl_fail(err, PDL_ERR_LIMIT,
                        "%dx%d image resized to %dx%d for the network, over %lld M pixels "
                        "(--size, --max-size)",
                        img->width, img->height, in->w, in->h,
                        (long long)(PDL_ENGINE_MAX_INPUT_PIXELS >> 20));
    bool resize = in->h != img->height || in->w != img->width;
    bool rgb8 = e->backend.ops->input_format == PDL_INPUT_RGB8;
    const uint8_t *rgb = img->rgb;
    uint8_t *own = NULL;
    if (resize || rgb8) {
        own = malloc((size_t)in->h * (size_t)in->w * 3);
        if (!own)
            return pdl_fail(err, PDL_ERR_NOMEM, "input %dx%d: out of memory", in->w, in->h);
        pdl_status st = resize ? pdl_resize_rgb8(img->rgb, img->width, img->height, own, in->w,
                                                 in->h, err)
                               : PDL_OK;
        if (st != PDL_OK) {
            free(own);
            return st;
        }
        if (!resize)
            memcpy(own, img->rgb, (size_t)in->h * (size_t)in->w * 3);
        rgb = own;
    }
    if (rgb8) {
        in->rgb = own;
        return PDL_OK;
    }
    int hp, wp;
    pdl_model_input_size(cfg, in->h, in->w, &hp, &wp);
    in->data = malloc((size_t)3 * (size_t)hp * (size_t)wp * sizeof *in->data);
    if (!in->data) {
        free(own);
        return pdl_fail(err, PDL_ERR_NOMEM, "input %dx%d: out of memory", hp, wp);
    }
    pdl_model_preprocess(cfg, rgb, in->h, in->w, in->data);
    free(own);
    return PDL_OK;
}

void pdl_engine_input_free(pdl_engine_input *in)
{
    free(in->data);
    free(in->rgb);
    in->data = NULL;
    in->rgb = NULL;
}

static pdl_status dump_stages(const pdl_engine *e, const pdl_head_outputs *h, const char *name,
                              pdl_error *err)
{
    pdl_named_tensor t[PDL_STAGE_COUNT];
    int n = 0;
    for (int s = 0; s < PDL_STAGE_COUNT; s++) {
        const pdl_stage_tensor *st = &h->stages[s];
        if (!st->present)
            continue;
        t[n++] = (pdl_named_tensor){pdl_stage_name(s), 4, {1, st->c, st->h, st->w}, st->data};
    }
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s.safetensors", e->dump_dir, name) >= (int)sizeof path)
        return pdl_fail(err, PDL_ERR_ARG, "%s/%s: dump path too long", e->dump_dir, name);
    for (char *c = path + strlen(e->dump_dir) + 1; *c; c++)
        if (*c == '/')
            *c = '_'; /* one flat folder of dumps, named after the input */
    return pdl_safetensors_write(path, t, n, e->config_json, err);
}

/* Segments keep the post-processing's order; each pixel gets the index of
 * its segment, found through a (class, instance) table. */
static pdl_status to_prediction(const pdl_pp_result *res, int divisor, pdl_prediction *p,
                                pdl_error *err)
{
    int classes = 0, instances = 0;
    for (int s = 0; s < res->segment_count; s++) {
        const pdl_pp_segment *g = &res->segments[s];
        classes = g->category + 1 > classes ? g->category + 1 : classes;
        instances = g->id % divisor + 1 > instances ? g->id % divisor + 1 : instances;
    }
    size_t n = (size_t)res->height * (size_t)res->width;
    int32_t *lookup = malloc(((size_t)classes * (size_t)instances + 1) * sizeof *lookup);
    p->segment_of = malloc(n * sizeof *p->segment_of);
    p->segments = malloc(((size_t)res->segment_count + 1) * sizeof *p->segments);
    if (!lookup || !p->segment_of || !p->segments) {
        free(lookup);
        pdl_prediction_free(p);
        return pdl_fail(err, PDL_ERR_NOMEM, "prediction %dx%d: out of memory", res->width, res->height);
    }
    p->width = res->width;
    p->height = res->height;
    p->nsegments = res->segment_count;
    for (int s = 0; s < res->segment_count; s++) {
        const pdl_pp_segment *g = &res->segments[s];
        p->segments[s] = (pdl_segment){.class_index = g->category, .instance = g->id % divisor,
                                       .area = g->area, .score = g->score,
                                       .bbox = {g->bbox[0], g->bbox[1], g->bbox[2], g->bbox[3]}};
        lookup[g->category * instances + g->id % divisor] = s;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        int32_t v = res->panoptic[i];
        p->segment_of[i] = v < 0 ? -1 : lookup[v / divisor * instances + v % divisor];
    }
    free(lookup);
    return PDL_OK;
}

/* Bytes of one input as the backend reads it. */
static size_t input_bytes(const pdl_engine *e, const pdl_engine_input *in)
{
    if (in->rgb)
        return (size_t)in->h * (size_t)in->w * 3;
    int hp, wp;
    pdl_model_input_size(&e->weights.config, in->h, in->w, &hp, &wp);
    return (size_t)3 * (size_t)hp * (size_t)wp * sizeof(float);
}

/* The batch's inputs one after the other (the first input's own buffer when
 * n is 1). */
static pdl_status gather_inputs(pdl_engine *e, const pdl_engine_input *in, int n,
                                const void **out, pdl_error *err)
{
    if (n == 1) {
        *out = in[0].rgb ? (const void *)in[0].rgb : in[0].data;
        return PDL_OK;
    }
    size_t per_image = input_bytes(e, &in[0]), need = (size_t)n * per_image;
    if (need > e->batch_bytes) {
        free(e->batch_input);
        e->batch_bytes = 0;
        e->batch_input = malloc(need);
        if (!e->batch_input)
            return pdl_fail(err, PDL_ERR_NOMEM, "batch of %d inputs %dx%d: out of memory", n,
                            in[0].w, in[0].h);
        e->batch_bytes = need;
    }
    for (int i = 0; i < n; i++)
        memcpy((char *)e->batch_input + i * per_image,
               in[i].rgb ? (const void *)in[i].rgb : in[i].data, per_image);
    *out = e->batch_input;
    return PDL_OK;
}

/* Heads come back in host memory for dumps, else in the post-processing
 * executor's (the same for the CPU). */
static pdl_status postprocess(pdl_engine *e, const pdl_engine_input *in,
                              const pdl_head_outputs *heads, pdl_prediction *out, pdl_error *err)
{
    pdl_pp_context *pp = e->dump_dir && e->host_post ? e->host_post : e->post;
    pdl_pp_heads ph;
    if (in->h == in->orig_h && in->w == in->orig_w) {
        /* Fused: sample the /4 outputs (x4 upsampling, crop, offsets x4). */
        pdl_pp_heads_strided(&ph, heads->sem_logits, heads->center, heads->offset, heads->h4,
                             heads->w4, 4, in->orig_h, in->orig_w);
    } else {
        /* Detectron2: the full-size outputs of the resized image, resized again. */
        ph = (pdl_pp_heads){.semantic = heads->sem_logits_up, .center = heads->center_up,
                            .offset = heads->offset_up, .in_h = in->h, .in_w = in->w,
                            .resize_h = in->orig_h, .resize_w = in->orig_w,
                            .out_h = in->orig_h, .out_w = in->orig_w,
                            .offset_scale_y = e->compat_d2 ? 1.f : (float)in->orig_h / (float)in->h,
                            .offset_scale_x = e->compat_d2 ? 1.f : (float)in->orig_w / (float)in->w};
    }
    pdl_pp_result res;
    pdl_status st = pdl_pp_run(pp, &ph, &res, err);
    if (st == PDL_OK)
        st = to_prediction(&res, e->weights.config.post.label_divisor, out, err);
    return st;
}

pdl_status pdl_engine_infer_batch(pdl_engine *e, const pdl_engine_input *in, int n,
                                  const char *const *names, pdl_prediction *out,
                                  pdl_engine_times *times, pdl_error *err)
{
    if (n < 1 || n > PDL_MAX_BATCH)
        return pdl_fail(err, PDL_ERR_ARG, "batch of %d images (1..%d)", n, PDL_MAX_BATCH);
    unsigned flags = e->dump_dir ? PDL_RUN_STAGES | PDL_RUN_FULL
                     : e->device_heads ? PDL_RUN_DEVICE
                                       : 0;
    bool rgb8 = e->backend.ops->input_format == PDL_INPUT_RGB8;
    for (int i = 0; i < n; i++) {
        if (rgb8 ? !in[i].rgb : !in[i].data)
            return pdl_fail(err, PDL_ERR_ARG, "%s: input not prepared for the %s backend",
                            names[i], e->backend.ops->name);
        if (in[i].h != in[0].h || in[i].w != in[0].w)
            return pdl_fail(err, PDL_ERR_ARG, "%s: %dx%d in a batch of %dx%d images", names[i],
                            in[i].w, in[i].h, in[0].w, in[0].h);
        if (in[i].h != in[i].orig_h || in[i].w != in[i].orig_w)
            flags |= PDL_RUN_FULL;
        memset(&out[i], 0, sizeof out[i]);
    }
    pdl_head_outputs *heads = malloc((size_t)n * sizeof *heads);
    if (!heads)
        return pdl_fail(err, PDL_ERR_NOMEM, "batch of %d images: out of memory", n);
    double t0 = now_ms();
    const void *input = NULL;
    pdl_status st = gather_inputs(e, in, n, &input, err);
    if (st == PDL_OK)
        st = e->backend.ops->prepare(e->backend.ctx, &e->model, n, in[0].h, in[0].w, err);
    if (st == PDL_OK)
        st = e->backend.ops->run(e->backend.ctx, input, flags, heads, err);
    for (int i = 0; i < n && st == PDL_OK && e->dump_dir; i++)
        st = dump_stages(e, &heads[i], names[i], err);
    double network_ms = (now_ms() - t0) / n;
    for (int i = 0; i < n && st == PDL_OK; i++) {
        double t1 = now_ms();
        st = postprocess(e, &in[i], &heads[i], &out[i], err);
        times[i].network_ms = network_ms;
        times[i].postprocess_ms = now_ms() - t1;
    }
    free(heads);
    for (int i = 0; i < n && st != PDL_OK; i++)
        pdl_prediction_free(&out[i]);
    return st;
}

pdl_status pdl_engine_infer(pdl_engine *e, const pdl_engine_input *in, const char *name,
                            pdl_prediction *out, pdl_engine_times *times, pdl_error *err)
{
    return pdl_engine_infer_batch(e, in, 1, &name, out, times, err);
}
