/* test_demo_model.c - the bundled weights/demo.safetensors reproduces the
 * committed result for one example (tests/data/demo_expected, written by
 * `panoptic predict weights/demo.safetensors examples/images/synth_1000_000000.png
 * -o tests/data/demo_expected`): identical panoptic ids on >= 99.9 % of the
 * pixels and the same segment list. Areas, boxes and scores may move a little
 * where another CPU's oneDNN kernels round differently, so they get small
 * tolerances; categories and their order must not change. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "engine.h"

#define MODEL "weights/demo.safetensors"
#define EXAMPLE "examples/images/synth_1000_000000.png"
#define EXPECTED "tests/data/demo_expected/synth_1000_000000"

static void predict_example(int threads, pdl_prediction *pred, pdl_engine **engine)
{
    pdl_engine_options opt;
    pdl_engine_options_default(&opt);
    opt.device.kind = PDL_DEVICE_CPU;
    opt.device.threads = threads;
    pdl_error err;
    cr_assert_eq(pdl_engine_open(MODEL, &opt, engine, &err), PDL_OK, "%s", err.msg);
    pdl_image img;
    cr_assert_eq(pdl_image_load(EXAMPLE, &img, &err), PDL_OK, "%s", err.msg);
    pdl_engine_input in;
    cr_assert_eq(pdl_engine_prepare_input(*engine, &img, &in, &err), PDL_OK, "%s", err.msg);
    pdl_engine_times times;
    cr_assert_eq(pdl_engine_infer(*engine, &in, "demo", pred, &times, &err), PDL_OK, "%s", err.msg);
    pdl_engine_input_free(&in);
    pdl_image_free(&img);
}

static void check_against_expected(int threads)
{
    pdl_engine *engine;
    pdl_prediction pred = {0};
    predict_example(threads, &pred, &engine);
    const pdl_config *cfg = pdl_engine_config(engine);

    pdl_image want;
    pdl_error err;
    cr_assert_eq(pdl_image_load(EXPECTED ".png", &want, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(want.width, pred.width);
    cr_assert_eq(want.height, pred.height);
    size_t npix = (size_t)pred.width * pred.height, same = 0;
    for (size_t i = 0; i < npix; i++) {
        const uint8_t *p = want.rgb + 3 * i;
        int32_t want_id = p[0] + 256 * p[1] + 65536 * p[2];
        same += want_id == pred.segment_of[i] + 1;
    }
    cr_expect_geq(same * 1000, npix * 999, "%zu of %zu pixels keep their id", same, npix);

    json_error_t jerr;
    json_t *root = json_load_file(EXPECTED ".json", 0, &jerr);
    cr_assert_not_null(root, "%s: %s", EXPECTED ".json", jerr.text);
    json_t *segs = json_object_get(root, "segments_info");
    cr_assert_eq((int)json_array_size(segs), pred.nsegments);
    cr_assert_gt(pred.nsegments, 3, "the example has several segments");
    double area_tol = 0.001 * (double)npix;
    for (int k = 0; k < pred.nsegments; k++) {
        const json_t *s = json_array_get(segs, (size_t)k);
        const pdl_segment *got = &pred.segments[k];
        const pdl_class_info *cls = &cfg->classes[got->class_index];
        cr_expect_eq(json_integer_value(json_object_get(s, "id")), k + 1);
        cr_expect_eq(json_integer_value(json_object_get(s, "category_id")), cls->id, "segment %d", k + 1);
        cr_expect_eq(json_is_true(json_object_get(s, "isthing")), cls->isthing, "segment %d", k + 1);
        cr_expect_eq(json_integer_value(json_object_get(s, "instance")), got->instance, "segment %d", k + 1);
        double area = (double)json_integer_value(json_object_get(s, "area"));
        cr_expect_leq(fabs(area - (double)got->area), area_tol, "segment %d area %lld, expected %.0f",
                      k + 1, (long long)got->area, area);
        const json_t *bbox = json_object_get(s, "bbox");
        for (int c = 0; c < 4; c++)
            cr_expect_leq(abs((int)json_integer_value(json_array_get(bbox, (size_t)c)) - got->bbox[c]), 1,
                          "segment %d bbox[%d]", k + 1, c);
        double score = json_real_value(json_object_get(s, "score"));
        cr_expect_leq(fabs(score - got->score), 1e-3, "segment %d score %g, expected %g", k + 1,
                      got->score, score);
    }
    json_decref(root);
    pdl_image_free(&want);
    pdl_prediction_free(&pred);
    pdl_engine_close(engine);
}

Test(demo_model, reproduces_the_committed_result_1_thread, .timeout = 60)
{
    check_against_expected(1);
}

Test(demo_model, reproduces_the_committed_result_2_threads, .timeout = 60)
{
    check_against_expected(2);
}
