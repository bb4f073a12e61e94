/* test_gpu_graph.c - replaying a net's captured CUDA graph gives what its
 * eager first run gave. The CUDA backend runs a net eagerly once, then
 * captures its op sequence and replays it (src/cuda/cuda_run.c). Two
 * different images of one size alternate (A B A B: a replay that did nothing
 * would return the previous image's result, so A must come back as A, not B),
 * then a larger image (its net may grow the shared workspace, which drops the
 * graphs holding the old one), then A and B again: every prediction must equal
 * the image's eager one (a fresh engine's first run) exactly: same kernels,
 * same order (so the 1x1 convs are all sent to cuBLASLt, not timed, which
 * could choose differently per engine). FP32 and FP16. Without a usable
 * device the test says so and is skipped.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "image.h"

#define MODEL "weights/demo.safetensors"

/* The CUDA engine, or a skip naming why there is none. */
static pdl_engine *cuda_engine(pdl_precision precision)
{
    const char *lib = getenv("PDL_GPU_TEST_LIB");
    setenv("PANOPTIC_CUDA_LIB", lib && *lib ? lib : "build/libpanoptic_cuda.so", 1);
    /* a fixed path for the 1x1 convs (the timed choice may differ from engine
     * to engine); cuBLASLt, so the GEMMs are captured too */
    setenv("PANOPTIC_CUDA_GEMM", "cublas", 1);
    pdl_engine_options opt;
    pdl_engine_options_default(&opt);
    opt.device.kind = PDL_DEVICE_CUDA;
    opt.device.precision = precision;
    opt.short_edge = 0; /* every image at its own size */
    opt.max_size = 0;
    pdl_engine *e;
    pdl_error err;
    pdl_status st = pdl_engine_open(MODEL, &opt, &e, &err);
    if (st == PDL_ERR_DEVICE) {
        printf("SKIPPED: %s\n", err.msg);
        fflush(stdout);
        cr_skip_test("%s", err.msg);
    }
    cr_assert_eq(st, PDL_OK, "%s", err.msg);
    return e;
}

static void infer(pdl_engine *e, const pdl_image *img, pdl_prediction *out)
{
    pdl_engine_input in;
    pdl_engine_times times;
    pdl_error err;
    cr_assert_eq(pdl_engine_prepare_input(e, img, &in, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_engine_infer(e, &in, "graph", out, &times, &err), PDL_OK, "%s", err.msg);
    pdl_engine_input_free(&in);
}

static bool same(const pdl_prediction *a, const pdl_prediction *b)
{
    if (a->width != b->width || a->height != b->height || a->nsegments != b->nsegments ||
        memcmp(a->segment_of, b->segment_of, (size_t)a->width * a->height * sizeof *a->segment_of))
        return false;
    for (int i = 0; i < a->nsegments; i++) {
        const pdl_segment *s = &a->segments[i], *t = &b->segments[i];
        if (s->class_index != t->class_index || s->instance != t->instance ||
            s->area != t->area || memcmp(s->bbox, t->bbox, sizeof s->bbox) ||
            s->score != t->score)
            return false;
    }
    return true;
}

/* A larger image: A tiled 3 x 2. */
static pdl_image tiled(const pdl_image *a)
{
    pdl_image big = {.width = a->width * 3, .height = a->height * 2};
    big.rgb = malloc((size_t)big.width * big.height * 3);
    cr_assert(big.rgb);
    for (int y = 0; y < big.height; y++)
        for (int x = 0; x < big.width; x++)
            memcpy(big.rgb + ((size_t)y * big.width + x) * 3,
                   a->rgb + ((size_t)(y % a->height) * a->width + x % a->width) * 3, 3);
    return big;
}

/* What a net's first (eager) run gives: a fresh engine's first inference. */
static void eager_run(pdl_precision precision, const pdl_image *img, pdl_prediction *out)
{
    pdl_engine *e = cuda_engine(precision);
    infer(e, img, out);
    pdl_engine_close(e);
}

static void check_replays(pdl_precision precision)
{
    const char *name = pdl_precision_name(precision);
    pdl_image img[3];
    pdl_error err;
    cr_assert_eq(pdl_image_load("examples/images/synth_1000_000000.png", &img[0], &err), PDL_OK,
                 "%s", err.msg);
    cr_assert_eq(pdl_image_load("examples/images/synth_1000_000001.png", &img[1], &err), PDL_OK,
                 "%s", err.msg);
    img[2] = tiled(&img[0]);
    pdl_prediction eager[2], big_eager, p;
    eager_run(precision, &img[0], &eager[0]);
    eager_run(precision, &img[1], &eager[1]);
    cr_expect_not(same(&eager[0], &eager[1]), "the two images should give different maps");
    /* A (eager), B A B (replays), big (eager, new net), A B (replays, the
     * graphs recaptured if the workspace moved), big (replay) */
    pdl_engine *e = cuda_engine(precision);
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 2; k++) {
            infer(e, &img[k], &p);
            cr_expect(same(&p, &eager[k]), "%s: image %d, round %d differs from its eager run",
                      name, k, round);
            pdl_prediction_free(&p);
        }
        infer(e, &img[2], round ? &p : &big_eager);
        cr_expect(!round || same(&p, &big_eager), "%s: the large image's replay differs", name);
    }
    pdl_prediction_free(&p);
    pdl_prediction_free(&big_eager);
    pdl_prediction_free(&eager[0]);
    pdl_prediction_free(&eager[1]);
    pdl_engine_close(e);
    free(img[2].rgb);
    pdl_image_free(&img[0]);
    pdl_image_free(&img[1]);
}

Test(gpu_graph, replay_matches_eager_fp32)
{
    check_replays(PDL_PRECISION_FP32);
}

Test(gpu_graph, replay_matches_eager_fp16)
{
    check_replays(PDL_PRECISION_FP16);
}
