/* test_engine_formats.c - the engine's side of a GPU backend's data path,
 * checked on the host with a stand-in backend that does what the CUDA backend
 * does, with the CPU executor of the same kernels:
 *
 * - it takes PDL_INPUT_RGB8 and normalises with the dense kernel
 *   (pdl_model_normalize_args, as cuda_run.c), then runs the CPU backend;
 * - the "device" variant also offers a post-processing executor whose
 *   memory is not the host's (the CPU kernels, flagged host_memory = 0, so
 *   the driver takes its device path) and, under PDL_RUN_DEVICE, makes the
 *   x4 outputs with pdl_dense_heads_up as the CUDA backend does.
 *
 * The engine's prepared input must be the resized 8-bit image (no floats);
 * every prediction must equal the CPU backend's exactly (the kernels are bit
 * for bit pdl_model_preprocess and pdl_heads_upsample_full), native and
 * resized, one image and a batch; post-processing must run on the backend's
 * executor, except for dumps, whose heads are on the host.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "resize.h"
#include "support/tsup_image.h"

#define MODEL "weights/demo.safetensors"
#define NIMAGES 3

/* ---- the stand-in backend ----------------------------------------------------- */

typedef struct rgb8_ctx {
    void *cpu;
    const pdl_model *model;
    int batch, h, w;
    float *nhwc, *planar; /* one image, normalised, then as the CPU backend reads it */
    size_t floats;
    float *full; /* the x4 outputs under PDL_RUN_DEVICE */
    size_t full_floats;
} rgb8_ctx;

static pdl_status rgb8_open(const pdl_device_request *req, void **ctx, pdl_error *err)
{
    rgb8_ctx *c = calloc(1, sizeof *c);
    cr_assert_not_null(c);
    pdl_status st = pdl_cpu_backend_ops.open(req, &c->cpu, err);
    if (st != PDL_OK)
        free(c);
    else
        *ctx = c;
    return st;
}

static void rgb8_close(void *ctx)
{
    rgb8_ctx *c = ctx;
    pdl_cpu_backend_ops.close(c->cpu);
    free(c->nhwc);
    free(c->planar);
    free(c->full);
    free(c);
}

static void rgb8_describe(void *ctx, char *buf, size_t size)
{
    (void)ctx;
    snprintf(buf, size, "rgb8 stand-in");
}

static pdl_status rgb8_prepare(void *ctx, const pdl_model *model, int batch, int height, int width,
                               pdl_error *err)
{
    rgb8_ctx *c = ctx;
    c->model = model;
    c->batch = batch;
    c->h = height;
    c->w = width;
    return pdl_cpu_backend_ops.prepare(c->cpu, model, batch, height, width, err);
}

/* The batch's 8-bit images, normalised by the dense kernels into planar floats. */
static void normalise(rgb8_ctx *c, const uint8_t *rgb)
{
    pdl_dense_normalize_args a;
    pdl_model_normalize_args(&c->model->config, c->h, c->w, 3, &a);
    size_t per_image = (size_t)3 * a.hp * a.wp;
    if (per_image * c->batch > c->floats) {
        free(c->nhwc);
        free(c->planar);
        c->floats = per_image * c->batch;
        c->nhwc = malloc(per_image * sizeof *c->nhwc);
        c->planar = malloc(c->floats * sizeof *c->planar);
        cr_assert(c->nhwc && c->planar);
    }
    for (int i = 0; i < c->batch; i++) {
        a.type = PDL_DENSE_F32;
        a.rgb = rgb + (size_t)i * c->h * c->w * 3;
        a.dst = c->nhwc;
        cr_assert_eq(pdl_cpu_dense_normalize(&a, NULL), 0);
        pdl_dense_planar_args p = {.type = PDL_DENSE_F32, .h = a.hp, .w = a.wp, .channels = 3,
                                   .src_stride = 3, .src = c->nhwc,
                                   .dst = c->planar + i * per_image};
        cr_assert_eq(pdl_cpu_dense_planar(&p, NULL), 0);
    }
}

static pdl_status rgb8_run(void *ctx, const void *input, unsigned flags, pdl_head_outputs *out,
                           pdl_error *err)
{
    rgb8_ctx *c = ctx;
    normalise(c, input);
    return pdl_cpu_backend_ops.run(c->cpu, c->planar, flags, out, err);
}

/* The CUDA backend's way to PDL_RUN_FULL under PDL_RUN_DEVICE: the network
 * without it, then pdl_dense_heads_up on the planar heads (contiguous, as
 * cuda_run.c lays them out). */
static pdl_status device_run(void *ctx, const void *input, unsigned flags, pdl_head_outputs *out,
                             pdl_error *err)
{
    rgb8_ctx *c = ctx;
    if (!(flags & PDL_RUN_DEVICE) || (flags & PDL_RUN_STAGES))
        return rgb8_run(ctx, input, flags, out, err);
    normalise(c, input);
    pdl_status st = pdl_cpu_backend_ops.run(c->cpu, c->planar, flags & ~PDL_RUN_FULL, out, err);
    if (st != PDL_OK || !(flags & PDL_RUN_FULL))
        return st;
    int classes = out[0].num_classes, h4 = out[0].h4, w4 = out[0].w4;
    size_t per_image = (size_t)(classes + 3) * c->h * c->w;
    if (per_image * c->batch > c->full_floats) {
        free(c->full);
        c->full_floats = per_image * c->batch;
        c->full = malloc(c->full_floats * sizeof *c->full);
        cr_assert_not_null(c->full);
    }
    float *heads = malloc((size_t)(classes + 3) * h4 * w4 * sizeof *heads);
    cr_assert_not_null(heads);
    for (int i = 0; i < c->batch; i++) {
        pdl_head_outputs *o = &out[i];
        size_t plane4 = (size_t)h4 * w4, plane = (size_t)c->h * c->w;
        memcpy(heads, o->sem_logits, classes * plane4 * sizeof *heads);
        memcpy(heads + classes * plane4, o->center, plane4 * sizeof *heads);
        memcpy(heads + (classes + 1) * plane4, o->offset, 2 * plane4 * sizeof *heads);
        float *full = c->full + i * per_image;
        cr_assert_eq(pdl_dense_heads_up(pdl_cpu_dense_resize, classes, h4, w4, c->h, c->w, heads,
                                        full, NULL),
                     0);
        o->sem_logits_up = full;
        o->center_up = full + classes * plane;
        o->offset_up = full + (classes + 1) * plane;
    }
    free(heads);
    return PDL_OK;
}

/* The CPU kernels as if their memory were a device's; paint calls counted. */
static pdl_pp_kernels device_exec;
static int device_paints;

static int counting_paint(const pdl_pp_paint_args *a, void *stream)
{
    device_paints++;
    return pdl_cpu_pp_kernels.paint(a, stream);
}

static const pdl_pp_kernels *device_pp_executor(void *ctx, void **stream)
{
    (void)ctx;
    device_exec = pdl_cpu_pp_kernels;
    device_exec.name = "device stand-in";
    device_exec.host_memory = 0;
    device_exec.paint = counting_paint;
    *stream = NULL;
    return &device_exec;
}

static void rgb8_stats(void *ctx, pdl_backend_stats *out)
{
    rgb8_ctx *c = ctx;
    pdl_cpu_backend_ops.stats(c->cpu, out);
}

static const pdl_backend_ops rgb8_ops = {
    .name = "rgb8",
    .open = rgb8_open,
    .close = rgb8_close,
    .describe = rgb8_describe,
    .prepare = rgb8_prepare,
    .run = rgb8_run,
    .stats = rgb8_stats,
    .input_format = PDL_INPUT_RGB8,
};

static const pdl_backend_ops device_ops = {
    .name = "device",
    .open = rgb8_open,
    .close = rgb8_close,
    .describe = rgb8_describe,
    .prepare = rgb8_prepare,
    .run = device_run,
    .stats = rgb8_stats,
    .input_format = PDL_INPUT_RGB8,
    .pp_executor = device_pp_executor,
};

/* ---- tests -------------------------------------------------------------------- */

static pdl_engine *open_engine(const pdl_backend_ops *ops, int short_edge, const char *dump)
{
    pdl_engine_options opt;
    pdl_engine_options_default(&opt);
    opt.device.kind = PDL_DEVICE_CPU;
    opt.device.threads = 2;
    opt.short_edge = short_edge;
    opt.backend = ops;
    opt.dump_dir = dump;
    pdl_engine *e;
    pdl_error err;
    cr_assert_eq(pdl_engine_open(MODEL, &opt, &e, &err), PDL_OK, "%s", err.msg);
    return e;
}

static void load_example(int i, pdl_image *img)
{
    char path[128];
    snprintf(path, sizeof path, "examples/images/synth_1000_00000%d.png", i);
    pdl_error err;
    cr_assert_eq(pdl_image_load(path, img, &err), PDL_OK, "%s", err.msg);
}

static void assert_same_prediction(const pdl_prediction *a, const pdl_prediction *b, int image)
{
    cr_assert(a->width == b->width && a->height == b->height, "image %d: size", image);
    cr_assert_eq(a->nsegments, b->nsegments, "image %d: %d vs %d segments", image, a->nsegments,
                 b->nsegments);
    cr_assert_gt(a->nsegments, 1, "image %d: a trivial prediction proves nothing", image);
    for (int s = 0; s < a->nsegments; s++) {
        const pdl_segment *p = &a->segments[s], *q = &b->segments[s];
        cr_assert(p->class_index == q->class_index && p->instance == q->instance &&
                      p->area == q->area && p->score == q->score &&
                      memcmp(p->bbox, q->bbox, sizeof p->bbox) == 0,
                  "image %d segment %d differs", image, s);
    }
    size_t n = (size_t)a->width * a->height;
    cr_assert(memcmp(a->segment_of, b->segment_of, n * sizeof *a->segment_of) == 0,
              "image %d: panoptic maps differ", image);
}

/* The prepared input is the (resized) 8-bit image and nothing else. */
static void check_rgb8_input(const pdl_engine_input *in, const pdl_image *img)
{
    cr_assert_null(in->data);
    cr_assert_not_null(in->rgb);
    cr_assert(in->orig_h == img->height && in->orig_w == img->width);
    size_t bytes = (size_t)in->h * in->w * 3;
    uint8_t *want = malloc(bytes);
    cr_assert_not_null(want);
    if (in->h == img->height && in->w == img->width) {
        memcpy(want, img->rgb, bytes);
    } else {
        pdl_error err;
        cr_assert_eq(pdl_resize_rgb8(img->rgb, img->width, img->height, want, in->w, in->h, &err),
                     PDL_OK, "%s", err.msg);
    }
    cr_assert(memcmp(in->rgb, want, bytes) == 0, "prepared pixels differ from the image");
    free(want);
}

/* Runs the images through the CPU backend and `ops`, one by one and as a
 * batch; returns how many of `ops`' runs painted on its own executor. */
static int check_against_cpu(const pdl_backend_ops *ops, int short_edge, const char *dump)
{
    pdl_engine *cpu = open_engine(NULL, short_edge, NULL), *dev = open_engine(ops, short_edge, dump);
    int paints = device_paints;
    pdl_engine_input cin[NIMAGES], din[NIMAGES];
    const char *names[NIMAGES] = {"a", "b", "c"};
    pdl_error err;
    for (int i = 0; i < NIMAGES; i++) {
        pdl_image img;
        load_example(i, &img);
        cr_assert_eq(pdl_engine_prepare_input(cpu, &img, &cin[i], &err), PDL_OK, "%s", err.msg);
        cr_assert_eq(pdl_engine_prepare_input(dev, &img, &din[i], &err), PDL_OK, "%s", err.msg);
        cr_assert(cin[i].data && !cin[i].rgb, "the CPU backend takes floats");
        cr_assert(din[i].h == cin[i].h && din[i].w == cin[i].w);
        if (short_edge > 0)
            cr_assert(din[i].h != img.height || din[i].w != img.width, "no resize happened");
        check_rgb8_input(&din[i], &img);
        pdl_image_free(&img);
    }
    /* an input prepared for one backend is refused by the other */
    pdl_prediction want[NIMAGES], got[NIMAGES];
    pdl_engine_times t[NIMAGES];
    cr_assert_eq(pdl_engine_infer(dev, &cin[0], "x", &got[0], &t[0], &err), PDL_ERR_ARG);
    cr_assert(strstr(err.msg, "x: input not prepared for the"), "%s", err.msg);

    for (int i = 0; i < NIMAGES; i++) {
        cr_assert_eq(pdl_engine_infer(cpu, &cin[i], names[i], &want[i], &t[i], &err), PDL_OK,
                     "%s", err.msg);
        cr_assert_eq(pdl_engine_infer(dev, &din[i], names[i], &got[i], &t[i], &err), PDL_OK,
                     "%s", err.msg);
        assert_same_prediction(&got[i], &want[i], i);
        pdl_prediction_free(&got[i]);
    }
    /* batches against the CPU's batch (a batched plan may round differently) */
    for (int i = 0; i < NIMAGES; i++)
        pdl_prediction_free(&want[i]);
    cr_assert_eq(pdl_engine_infer_batch(cpu, cin, NIMAGES, names, want, t, &err), PDL_OK, "%s",
                 err.msg);
    cr_assert_eq(pdl_engine_infer_batch(dev, din, NIMAGES, names, got, t, &err), PDL_OK, "%s",
                 err.msg);
    for (int i = 0; i < NIMAGES; i++) {
        assert_same_prediction(&got[i], &want[i], i);
        pdl_prediction_free(&got[i]);
        pdl_prediction_free(&want[i]);
        pdl_engine_input_free(&cin[i]);
        pdl_engine_input_free(&din[i]);
    }
    pdl_engine_close(cpu);
    pdl_engine_close(dev);
    return device_paints - paints;
}

Test(engine_formats, rgb8_input_native) { check_against_cpu(&rgb8_ops, 0, NULL); }

Test(engine_formats, rgb8_input_resized) { check_against_cpu(&rgb8_ops, 200, NULL); }

/* 3 single runs and a batch of 3: 6 post-processings, all on the executor */
Test(engine_formats, device_heads_native)
{
    cr_assert_eq(check_against_cpu(&device_ops, 0, NULL), 2 * NIMAGES);
}

Test(engine_formats, device_heads_resized)
{
    cr_assert_eq(check_against_cpu(&device_ops, 200, NULL), 2 * NIMAGES);
}

/* Dumps bring the heads to the host: post-processed there, same result. */
Test(engine_formats, device_heads_dump_on_host)
{
    char dir[64];
    tsup_img_tmpdir(dir, sizeof dir);
    cr_assert_eq(check_against_cpu(&device_ops, 200, dir), 0);
    tsup_img_rmtree(dir);
}
