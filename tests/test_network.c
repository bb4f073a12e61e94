/* test_network.c - the whole network on the CPU backend against the PyTorch
 * reference tensors of tests/ref/data (three configs, six input sizes; see
 * tests/ref/README.md). Every stage a reference file lists is compared, and a
 * listed stage we do not produce fails the test. Metric, per stage:
 * max|ours - ref| / max(max|ref|, 1e-6) <= 1e-4 (FP32 vs the float64 reference;
 * PyTorch's own FP32 run is within 4e-6). Also: weights whose tensors disagree
 * with their config, NaN weights, unknown tensors, plan reuse per size, and 1
 * vs 2 threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "safetensors.h"
#include "support/tsup_net.h"
#include "support/tsup_refdata.h"
#include "support/tsup_safetensors.h"

#define DATA "tests/ref/data/"
#define TOL 1e-4

static void load_model(const char *path, pdl_weights *w, pdl_model *m)
{
    pdl_error err;
    cr_assert_eq(pdl_weights_open(path, w, &err), PDL_OK, "%s", err.msg);
    size_t unused = 99;
    const char *first = NULL;
    cr_assert_eq(pdl_model_load(w, m, &unused, &first, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(unused, 0u, "%s: %zu unused tensors, e.g. %s", path, unused, first);
}

static pdl_stage stage_by_name(const char *name)
{
    for (int s = 0; s < PDL_STAGE_COUNT; s++)
        if (strcmp(pdl_stage_name(s), name) == 0)
            return s;
    cr_assert_fail("unknown stage %s", name);
    return PDL_STAGE_COUNT;
}

/* Our normalised, padded input for a reference file (checked against its
 * `input` tensor when it has one). */
static float *make_input(const pdl_model *m, const tsup_refmeta *meta, const pdl_weights *ref)
{
    int hp, wp;
    pdl_model_input_size(&m->config, meta->height, meta->width, &hp, &wp);
    uint8_t *rgb = tsup_ref_image(meta->height, meta->width, meta->image_seed);
    float *x = malloc((size_t)3 * hp * wp * sizeof *x);
    cr_assert(x);
    pdl_model_preprocess(&m->config, rgb, meta->height, meta->width, x);
    free(rgb);
    const pdl_tensor *t = pdl_weights_find(ref, "input");
    if (t) {
        pdl_error err;
        cr_assert(t->ndim == 4 && t->shape[2] == hp && t->shape[3] == wp, "input shape");
        float *want = malloc((size_t)t->numel * sizeof *want);
        cr_assert_eq(pdl_tensor_to_f32(ref, t, want, &err), PDL_OK, "%s", err.msg);
        double e = tsup_max_rel_error(x, want, (size_t)t->numel);
        cr_assert(e <= 1e-6, "preprocessing differs from the reference input: %.3g", e);
        free(want);
    }
    return x;
}

static void run_model(void *ctx, const pdl_model *m, int h, int w, const float *x,
                      pdl_head_outputs *out)
{
    pdl_error err;
    cr_assert_eq(pdl_cpu_backend_ops.prepare(ctx, m, 1, h, w, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_cpu_backend_ops.run(ctx, x, PDL_RUN_STAGES, out, &err), PDL_OK, "%s",
                 err.msg);
}

static void check_reference(const char *name)
{
    char path[256], model_path[512];
    snprintf(path, sizeof path, DATA "%s.safetensors", name);
    tsup_refmeta meta;
    tsup_refmeta_read(path, &meta);
    snprintf(model_path, sizeof model_path, DATA "%s", meta.model);
    pdl_weights w, ref;
    pdl_model m;
    pdl_error err;
    load_model(model_path, &w, &m);
    cr_assert_eq(pdl_weights_open(path, &ref, &err), PDL_OK, "%s", err.msg);
    float *x = make_input(&m, &meta, &ref);
    void *ctx = tsup_cpu_open(2);
    pdl_head_outputs out;
    run_model(ctx, &m, meta.height, meta.width, x, &out);
    pdl_backend_stats bs;
    pdl_cpu_backend_ops.stats(ctx, &bs);
    cr_log_info("%s: %d reorders, %d own ops", name, bs.reorders, bs.own_ops);
    cr_assert(meta.nstages > 0, "%s lists no stages", path);
    for (int i = 0; i < meta.nstages; i++) {
        pdl_stage s = stage_by_name(meta.stages[i]);
        const pdl_tensor *t = pdl_weights_find(&ref, meta.stages[i]);
        cr_assert(t, "%s: listed stage %s has no tensor", path, meta.stages[i]);
        const pdl_stage_tensor *got = &out.stages[s];
        cr_assert(got->present, "%s: we do not produce stage %s", name, meta.stages[i]);
        cr_assert(t->ndim == 4 && t->shape[0] == 1 && t->shape[1] == got->c &&
                      t->shape[2] == got->h && t->shape[3] == got->w,
                  "%s: stage %s is %dx%dx%d, reference [%lld,%lld,%lld,%lld]", name,
                  meta.stages[i], got->c, got->h, got->w, (long long)t->shape[0],
                  (long long)t->shape[1], (long long)t->shape[2], (long long)t->shape[3]);
        float *want = malloc((size_t)t->numel * sizeof *want);
        cr_assert_eq(pdl_tensor_to_f32(&ref, t, want, &err), PDL_OK, "%s", err.msg);
        double e = tsup_max_rel_error(got->data, want, (size_t)t->numel);
        cr_expect(e <= TOL, "%s: stage %s max relative error %.3g > %g", name, meta.stages[i], e,
                  TOL);
        free(want);
    }
    pdl_cpu_backend_ops.close(ctx);
    free(x);
    pdl_model_free(&m);
    pdl_weights_close(&w);
    pdl_weights_close(&ref);
}

Test(network, small_61x77) { check_reference("small_61x77"); }
Test(network, small_130x257) { check_reference("small_130x257"); }
Test(network, d2_dsconv_97x131) { check_reference("d2-dsconv_97x131"); }
Test(network, d2_dsconv_130x100) { check_reference("d2-dsconv_130x100"); }
Test(network, d2_dsconv_256x512) { check_reference("d2-dsconv_256x512"); }
Test(network, d2_regular_61x61) { check_reference("d2-regular_61x61"); }
Test(network, d2_regular_97x131) { check_reference("d2-regular_97x131"); }

/* A folder of same-sized images plans once; sizes already seen are reused. */
Test(network, plans_once_per_size)
{
    pdl_weights w;
    pdl_model m;
    load_model(DATA "d2-dsconv.safetensors", &w, &m);
    void *ctx = tsup_cpu_open(2);
    const int sizes[][2] = {{64, 96}, {64, 96}, {64, 96}, {80, 70}, {64, 96}, {80, 70}};
    pdl_head_outputs first, out;
    float *x0 = NULL;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int h = sizes[i][0], wd = sizes[i][1];
        uint8_t *rgb = tsup_ref_image(h, wd, 5);
        float *x = malloc((size_t)3 * h * wd * sizeof *x);
        pdl_model_preprocess(&m.config, rgb, h, wd, x);
        free(rgb);
        run_model(ctx, &m, h, wd, x, i == 0 ? &first : &out);
        if (i == 0) {
            size_t n = (size_t)first.num_classes * first.h4 * first.w4;
            float *keep = malloc(n * sizeof *keep);
            memcpy(keep, first.sem_logits, n * sizeof *keep);
            first.sem_logits = keep;
            x0 = x;
        } else {
            free(x);
        }
        pdl_backend_stats st;
        pdl_cpu_backend_ops.stats(ctx, &st);
        cr_assert_eq(st.plans_built, i < 3 ? 1 : 2, "after image %zu: %d plans", i,
                     st.plans_built);
        /* liveness: far less than every activation at once */
        pdl_shape *shapes = malloc((size_t)m.ntensors * sizeof *shapes);
        pdl_error err;
        cr_assert_eq(pdl_model_shapes(&m, h, wd, shapes, &err), PDL_OK, "%s", err.msg);
        size_t all = 0;
        for (int t = 0; t < m.ntensors; t++)
            all += (size_t)shapes[t].c * shapes[t].h * shapes[t].w * sizeof(float);
        free(shapes);
        cr_assert(st.arena_bytes > 0 && st.arena_bytes < all / 4,
                  "arena %zu bytes for %zu bytes of activations", st.arena_bytes, all);
    }
    /* the first size, planned long ago, still gives the same answer */
    run_model(ctx, &m, sizes[0][0], sizes[0][1], x0, &out);
    size_t n = (size_t)first.num_classes * first.h4 * first.w4;
    cr_assert_eq(memcmp(out.sem_logits, first.sem_logits, n * sizeof(float)), 0);
    free((void *)first.sem_logits);
    free(x0);
    pdl_cpu_backend_ops.close(ctx);
    pdl_model_free(&m);
    pdl_weights_close(&w);
}

/* Floats need not be bit-identical across thread counts, but must agree. */
Test(network, one_and_two_threads_agree)
{
    pdl_weights w;
    pdl_model m;
    load_model(DATA "d2-regular.safetensors", &w, &m);
    int h = 75, wd = 90;
    uint8_t *rgb = tsup_ref_image(h, wd, 11);
    int hp, wp;
    pdl_model_input_size(&m.config, h, wd, &hp, &wp);
    float *x = malloc((size_t)3 * hp * wp * sizeof *x);
    pdl_model_preprocess(&m.config, rgb, h, wd, x);
    free(rgb);
    pdl_head_outputs a, b;
    void *one = tsup_cpu_open(1), *two = tsup_cpu_open(2);
    run_model(one, &m, h, wd, x, &a);
    run_model(two, &m, h, wd, x, &b);
    for (int s = 0; s < PDL_STAGE_COUNT; s++) {
        size_t n = (size_t)a.stages[s].c * a.stages[s].h * a.stages[s].w;
        double e = tsup_max_rel_error(a.stages[s].data, b.stages[s].data, n);
        cr_expect(e <= 1e-5, "stage %s: 1 vs 2 threads differ by %.3g", pdl_stage_name(s), e);
    }
    pdl_cpu_backend_ops.close(one);
    pdl_cpu_backend_ops.close(two);
    free(x);
    pdl_model_free(&m);
    pdl_weights_close(&w);
}

/* ---- bad weights --------------------------------------------------------------- */

typedef enum { EDIT_NONE, EDIT_DROP, EDIT_SHAPE, EDIT_NAN, EDIT_EXTRA } edit_kind;

/* small.safetensors rewritten as F32 with one tensor edited; tries to load it. */
static pdl_status load_edited(edit_kind kind, const char *target, char *msg, size_t *unused,
                              char *first_unused)
{
    pdl_weights src, w;
    pdl_error err;
    cr_assert_eq(pdl_weights_open(DATA "small.safetensors", &src, &err), PDL_OK, "%s", err.msg);
    tsup_st_builder *b = tsup_st_new();
    char *cfg = pdl_config_to_json(&src.config);
    tsup_st_set_config(b, cfg);
    free(cfg);
    for (size_t i = 0; i < src.ntensors; i++) {
        const pdl_tensor *t = &src.tensors[i];
        bool hit = strcmp(t->name, target) == 0;
        if (hit && kind == EDIT_DROP)
            continue;
        float *v = malloc((size_t)t->numel * sizeof *v);
        cr_assert_eq(pdl_tensor_to_f32(&src, t, v, &err), PDL_OK, "%s", err.msg);
        int64_t shape[PDL_MAX_DIMS];
        memcpy(shape, t->shape, sizeof shape);
        int ndim = t->ndim;
        if (hit && kind == EDIT_SHAPE) /* one output channel fewer */
            shape[0] -= 1;
        if (hit && kind == EDIT_NAN)
            v[t->numel / 2] = NAN;
        tsup_st_add_tensor(b, t->name, PDL_DTYPE_F32, ndim, shape, v);
        free(v);
    }
    if (kind == EDIT_EXTRA) {
        int64_t shape[1] = {3};
        float v[3] = {1, 2, 3};
        tsup_st_add_tensor(b, target, PDL_DTYPE_F32, 1, shape, v);
    }
    pdl_weights_close(&src);
    size_t len;
    uint8_t *buf = tsup_st_to_buffer(b, &len);
    tsup_st_free(b);
    cr_assert_eq(pdl_weights_open_memory(buf, len, "edited.safetensors", &w, &err), PDL_OK, "%s",
                 err.msg);
    pdl_model m;
    const char *first = NULL;
    pdl_status st = pdl_model_load(&w, &m, unused, &first, &err);
    snprintf(msg, PDL_ERROR_MSG_MAX, "%s", st == PDL_OK ? "" : err.msg);
    if (first_unused)
        snprintf(first_unused, 128, "%s", first ? first : "");
    if (st == PDL_OK)
        pdl_model_free(&m);
    pdl_weights_close(&w);
    free(buf);
    return st;
}

Test(network_errors, missing_tensor_is_named)
{
    char msg[PDL_ERROR_MSG_MAX];
    const char *name = "ins_embed_head.decoder.res3.project_conv.norm.running_var";
    cr_assert_eq(load_edited(EDIT_DROP, name, msg, NULL, NULL), PDL_ERR_MODEL);
    cr_assert(strstr(msg, name) && strstr(msg, "missing"), "message: %s", msg);
    cr_assert(!strchr(msg, '\n'));
}

Test(network_errors, wrong_shape_is_named)
{
    char msg[PDL_ERROR_MSG_MAX];
    const char *name = "backbone.res3.0.conv2.weight";
    cr_assert_eq(load_edited(EDIT_SHAPE, name, msg, NULL, NULL), PDL_ERR_MODEL);
    cr_assert(strstr(msg, name) && strstr(msg, "shape"), "message: %s", msg);
}

Test(network_errors, nan_weight_is_named)
{
    char msg[PDL_ERROR_MSG_MAX];
    const char *name = "sem_seg_head.predictor.weight";
    cr_assert_neq(load_edited(EDIT_NAN, name, msg, NULL, NULL), PDL_OK);
    cr_assert(strstr(msg, name), "message: %s", msg);
}

Test(network_errors, nan_in_batchnorm_is_named)
{
    char msg[PDL_ERROR_MSG_MAX];
    const char *name = "backbone.stem.conv1.norm.running_mean";
    cr_assert_neq(load_edited(EDIT_NAN, name, msg, NULL, NULL), PDL_OK);
    cr_assert(strstr(msg, name), "message: %s", msg);
}

Test(network_errors, unknown_tensor_is_reported)
{
    char msg[PDL_ERROR_MSG_MAX], first[128];
    size_t unused = 0;
    cr_assert_eq(load_edited(EDIT_EXTRA, "backbone.res6.0.conv1.weight", msg, &unused, first),
                 PDL_OK, "%s", msg);
    cr_assert_eq(unused, 1u);
    cr_assert_str_eq(first, "backbone.res6.0.conv1.weight");
}

/* Detectron2 defines no dilated basic block: a clear error, not a wrong net. */
Test(network_errors, unsupported_config_is_named)
{
    pdl_config cfg;
    pdl_error err;
    const char *text = tsup_st_default_config(); /* depth 18 with res5 dilation 2 */
    cr_assert_eq(pdl_config_parse(text, strlen(text), "default", &cfg, &err), PDL_OK, "%s",
                 err.msg);
    pdl_model m;
    cr_assert_eq(pdl_model_build(&cfg, &m, &err), PDL_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "dilat") && strstr(err.msg, "depth 18"), "message: %s", err.msg);
}

/* An image too small for the network fails cleanly at prepare. */
Test(network_errors, tiny_input_fails_cleanly)
{
    pdl_weights w;
    pdl_model m;
    load_model(DATA "small.safetensors", &w, &m);
    void *ctx = tsup_cpu_open(1);
    pdl_error err;
    pdl_head_outputs out;
    float x[3] = {0.5f, -0.5f, 0.25f};
    cr_assert_eq(pdl_cpu_backend_ops.run(ctx, x, 0, &out, &err), PDL_ERR_ARG);
    cr_assert_eq(pdl_cpu_backend_ops.prepare(ctx, &m, 1, 1, 1, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(pdl_cpu_backend_ops.run(ctx, x, PDL_RUN_FULL, &out, &err), PDL_OK, "%s", err.msg);
    cr_assert(isfinite(out.sem_logits_up[0]));
    cr_assert_eq(pdl_cpu_backend_ops.prepare(ctx, &m, 1, 0, 5, &err), PDL_ERR_ARG);
    pdl_cpu_backend_ops.close(ctx);
    pdl_model_free(&m);
    pdl_weights_close(&w);
}

/* pdl_model_params / pdl_model_flops against PyTorch: sum(p.numel() for p in
 * model.parameters()) and 2 x multiply-adds counted by forward hooks on every
 * conv of tests/ref/pdl_reference.py, for a 97x131 image (padded to 128x160
 * for d2-regular). */
Test(network, params_and_flops_match_pytorch)
{
    static const struct {
        const char *file;
        uint64_t params;
        double flops;
    } cases[] = {{"small", 261416, 53089776},
                 {"d2-dsconv", 135182, 37680224},
                 {"d2-regular", 243448, 104214528}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, DATA "%s.safetensors", cases[i].file);
        pdl_weights w;
        pdl_error err;
        cr_assert_eq(pdl_weights_open(path, &w, &err), PDL_OK, "%s", err.msg);
        cr_expect_eq(pdl_model_params(&w.config), cases[i].params, "%s params", cases[i].file);
        cr_expect_eq(pdl_model_flops(&w.config, 97, 131), cases[i].flops, "%s flops %.0f",
                     cases[i].file, pdl_model_flops(&w.config, 97, 131));
        pdl_weights_close(&w);
    }
}
