/* test_engine_formats.c - the engine's side of a GPU backend's data path,
 * checked on the host with a stand-in backend that does what the CUDA backend
 * does, with the CPU executor of the same kernels:
 *
 * - it takes PDL_INPUT_RGB8 and normalises with the dense kernel
 *   (pdl_model_normalize_args, as cuda_run.c), then runs the CPU backend;
 *
 * The engine's prepared input for it must be the resized 8-bit image (no
 * floats), and every prediction must equal the CPU backend's exactly (the
 * kernels are bit for bit pdl_model_preprocess), native and resized, one
 * image and a batch.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "resize.h"

#define MODEL "weights/demo.safetensors"
#define NIMAGES 3

/* ---- the stand-in backend ----------------------------------------------------- */

typedef struct rgb8_ctx {
    void *cpu;
    const pdl_model *model;
    int batch, h, w;
    float *nhwc, *planar; /* one image, normalised, then as the CPU backend reads it */
    size_t floats;
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

/* ---- tests -------------------------------------------------------------------- */

static pdl_engine *open_engine(const pdl_backend_ops *ops, int short_edge)
{
    pdl_engine_options opt;
    pdl_engine_options_default(&opt);
    opt.device.kind = PDL_DEVICE_CPU;
    opt.device.threads = 2;
    opt.short_edge = short_edge;
    opt.backend = ops;
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

static void check_against_cpu(const pdl_backend_ops *ops, int short_edge)
{
    pdl_engine *cpu = open_engine(NULL, short_edge), *dev = open_engine(ops, short_edge);
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
    cr_assert(strstr(err.msg, "x: input not prepared for the rgb8 backend"), "%s", err.msg);

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
}

Test(engine_formats, rgb8_input_native) { check_against_cpu(&rgb8_ops, 0); }

Test(engine_formats, rgb8_input_resized) { check_against_cpu(&rgb8_ops, 200); }
