/* test_batch.c - batched runs of the CPU backend: three different random
 * images of an odd size (97x131) run as one batch of 3 must give, image by
 * image, every stage (head outputs, their x4 upsampled versions and every
 * graph stage) of three single runs. oneDNN may pick other kernels for N = 3
 * (other blocking, other summation order), so the tolerance is
 * max|batch - single| / max(max|single|, 1e-6) <= 1e-5 per stage; the test
 * logs whether the results were bit-identical. Also: plans are built once per
 * (batch, size) and reused, a short last batch being a key of its own; and
 * pdl_engine_infer_batch with the trained demo model gives each image the
 * panoptic map and segments of pdl_engine_infer (>= 99.9 % identical pixels,
 * same segment count), resized or not, and refuses a batch of mixed sizes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "engine.h"
#include "model.h"
#include "safetensors.h"
#include "support/tsup_net.h"
#include "support/tsup_refdata.h"

#define BATCH 3
#define H 97
#define W 131
#define BATCH_TOL 1e-5

typedef struct stage_copy {
    bool present;
    size_t n;
    float *data;
} stage_copy;

static void copy_stages(const pdl_head_outputs *o, stage_copy *c)
{
    for (int s = 0; s < PDL_STAGE_COUNT; s++) {
        const pdl_stage_tensor *t = &o->stages[s];
        c[s] = (stage_copy){t->present, t->present ? (size_t)t->c * t->h * t->w : 0, NULL};
        if (!t->present)
            continue;
        c[s].data = malloc(c[s].n * sizeof(float));
        cr_assert(c[s].data);
        memcpy(c[s].data, t->data, c[s].n * sizeof(float));
    }
}

static int plans_built(void *ctx)
{
    pdl_backend_stats st;
    pdl_cpu_backend_ops.stats(ctx, &st);
    return st.plans_built;
}

static void run(void *ctx, const pdl_model *m, int batch, const float *x, pdl_head_outputs *out)
{
    pdl_error err;
    cr_assert_eq(pdl_cpu_backend_ops.prepare(ctx, m, batch, H, W, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_cpu_backend_ops.run(ctx, x, PDL_RUN_STAGES, out, &err), PDL_OK, "%s",
                 err.msg);
}

static void check_batch_matches_singles(const char *model_file)
{
    char path[256];
    snprintf(path, sizeof path, "tests/ref/data/%s.safetensors", model_file);
    pdl_weights w;
    pdl_model m;
    pdl_error err;
    cr_assert_eq(pdl_weights_open(path, &w, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_model_load(&w, &m, NULL, NULL, &err), PDL_OK, "%s", err.msg);
    int hp, wp;
    pdl_model_input_size(&m.config, H, W, &hp, &wp);
    size_t per_image = (size_t)3 * hp * wp;
    float *x = malloc(BATCH * per_image * sizeof *x);
    cr_assert(x);
    for (int i = 0; i < BATCH; i++) {
        uint8_t *rgb = tsup_ref_image(H, W, 100 + (uint64_t)i);
        pdl_model_preprocess(&m.config, rgb, H, W, x + i * per_image);
        free(rgb);
    }
    cr_assert_neq(memcmp(x, x + per_image, per_image * sizeof *x), 0, "images must differ");

    void *ctx = tsup_cpu_open(2);
    stage_copy single[BATCH][PDL_STAGE_COUNT];
    pdl_head_outputs one, many[BATCH];
    for (int i = 0; i < BATCH; i++) {
        run(ctx, &m, 1, x + i * per_image, &one);
        copy_stages(&one, single[i]);
    }
    cr_assert_eq(plans_built(ctx), 1);

    run(ctx, &m, BATCH, x, many);
    cr_assert_eq(plans_built(ctx), 2, "a batch of 3 is a plan of its own");
    pdl_backend_stats bs;
    pdl_cpu_backend_ops.stats(ctx, &bs);
    bool identical = true;
    double worst = 0;
    for (int i = 0; i < BATCH; i++) {
        cr_assert_eq(many[i].height, H);
        cr_assert_eq(many[i].width, W);
        for (int s = 0; s < PDL_STAGE_COUNT; s++) {
            const pdl_stage_tensor *t = &many[i].stages[s];
            cr_assert_eq(t->present, single[i][s].present, "%s image %d stage %s", model_file,
                         i, pdl_stage_name(s));
            if (!t->present)
                continue;
            cr_assert_eq((size_t)t->c * t->h * t->w, single[i][s].n);
            double e = tsup_max_rel_error(t->data, single[i][s].data, single[i][s].n);
            cr_assert(e <= BATCH_TOL, "%s image %d stage %s: batch vs single %.3g", model_file,
                      i, pdl_stage_name(s), e);
            identical = identical && memcmp(t->data, single[i][s].data,
                                            single[i][s].n * sizeof(float)) == 0;
            worst = e > worst ? e : worst;
        }
        /* the /4 heads handed out directly are image i's, not image 0's */
        size_t n4 = (size_t)many[i].num_classes * many[i].h4 * many[i].w4;
        double e = tsup_max_rel_error(many[i].sem_logits,
                                      single[i][PDL_STAGE_SEM_LOGITS].data, n4);
        cr_assert(e <= BATCH_TOL, "%s image %d: semantic logits %.3g", model_file, i, e);
    }
    cr_log_info("%s: batch of %d vs single runs: %s (worst %.3g), %d own ops", model_file, BATCH,
                identical ? "bit-identical" : "not bit-identical", worst, bs.own_ops);

    /* plans are reused per key; a short last batch of 2 is a third key */
    run(ctx, &m, BATCH, x, many);
    cr_assert_eq(plans_built(ctx), 2);
    run(ctx, &m, 2, x + per_image, many);
    cr_assert_eq(plans_built(ctx), 3);
    double e = tsup_max_rel_error(many[1].stages[PDL_STAGE_CENTER].data,
                                  single[2][PDL_STAGE_CENTER].data, single[2][PDL_STAGE_CENTER].n);
    cr_assert(e <= BATCH_TOL, "%s: second image of a batch of 2: %.3g", model_file, e);
    run(ctx, &m, 1, x, &one);
    run(ctx, &m, BATCH, x, many);
    cr_assert_eq(plans_built(ctx), 3);

    cr_assert_eq(pdl_cpu_backend_ops.prepare(ctx, &m, 0, H, W, &err), PDL_ERR_ARG);
    cr_assert_eq(pdl_cpu_backend_ops.prepare(ctx, &m, PDL_MAX_BATCH + 1, H, W, &err),
                 PDL_ERR_ARG);

    for (int i = 0; i < BATCH; i++)
        for (int s = 0; s < PDL_STAGE_COUNT; s++)
            free(single[i][s].data);
    pdl_cpu_backend_ops.close(ctx);
    free(x);
    pdl_model_free(&m);
    pdl_weights_close(&w);
}

Test(network_batch, d2_dsconv_batch_matches_single_runs)
{
    check_batch_matches_singles("d2-dsconv");
}

Test(network_batch, d2_regular_batch_matches_single_runs)
{
    check_batch_matches_singles("d2-regular");
}

static void engine_batch_matches_single(int short_edge)
{
    pdl_engine_options opt;
    pdl_engine_options_default(&opt);
    opt.device.kind = PDL_DEVICE_CPU;
    opt.device.threads = 2;
    opt.short_edge = short_edge;
    pdl_engine *e;
    pdl_error err;
    cr_assert_eq(pdl_engine_open("weights/demo.safetensors", &opt, &e, &err), PDL_OK, "%s",
                 err.msg);
    pdl_engine_input in[BATCH];
    const char *names[BATCH] = {"a", "b", "c"};
    for (int i = 0; i < BATCH; i++) {
        char path[128];
        snprintf(path, sizeof path, "examples/images/synth_1000_00000%d.png", i);
        pdl_image img;
        cr_assert_eq(pdl_image_load(path, &img, &err), PDL_OK, "%s", err.msg);
        cr_assert_eq(pdl_engine_prepare_input(e, &img, &in[i], &err), PDL_OK, "%s", err.msg);
        pdl_image_free(&img);
    }
    pdl_prediction one[BATCH], many[BATCH];
    pdl_engine_times t[BATCH];
    for (int i = 0; i < BATCH; i++)
        cr_assert_eq(pdl_engine_infer(e, &in[i], names[i], &one[i], &t[i], &err), PDL_OK, "%s",
                     err.msg);
    cr_assert_eq(pdl_engine_infer_batch(e, in, BATCH, names, many, t, &err), PDL_OK, "%s",
                 err.msg);
    for (int i = 0; i < BATCH; i++) {
        cr_assert(t[i].network_ms > 0 && t[i].network_ms == t[0].network_ms);
        cr_assert_eq(many[i].width, one[i].width);
        cr_assert_eq(many[i].height, one[i].height);
        cr_assert_eq(many[i].nsegments, one[i].nsegments, "image %d: %d vs %d segments", i,
                     many[i].nsegments, one[i].nsegments);
        cr_assert_gt(one[i].nsegments, 1);
        size_t n = (size_t)one[i].width * one[i].height, same = 0;
        for (size_t p = 0; p < n; p++)
            same += many[i].segment_of[p] == one[i].segment_of[p];
        cr_assert_geq(same, n - n / 1000, "image %d: %zu of %zu pixels agree", i, same, n);
        pdl_prediction_free(&one[i]);
        pdl_prediction_free(&many[i]);
    }
    /* a batch of two sizes is refused, naming the odd one */
    in[1].h--;
    cr_assert_eq(pdl_engine_infer_batch(e, in, BATCH, names, many, t, &err), PDL_ERR_ARG);
    cr_assert(strstr(err.msg, "b:"), "%s", err.msg);
    in[1].h++;
    for (int i = 0; i < BATCH; i++)
        pdl_engine_input_free(&in[i]);
    pdl_engine_close(e);
}

Test(network_batch, engine_batch_matches_single_native) { engine_batch_matches_single(0); }

Test(network_batch, engine_batch_matches_single_resized) { engine_batch_matches_single(200); }
