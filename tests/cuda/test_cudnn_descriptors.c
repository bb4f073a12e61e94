/* test_cudnn_descriptors.c - every conv layer of real models as cuDNN graph
 * descriptors, finalized on the host (no GPU needed): cuDNN itself checks
 * each tensor's shape, strides and type and each fused operation's
 * consistency. Models: Detectron2's Cityscapes R52-DC5 DSConv at 1024x2048,
 * the COCO R52 DSConv config at 640x640 (layers as the backend stores them:
 * the input padded to PDL_CUDA_INPUT_CHANNELS; configs are the converter's presets,
 * written by weights/convert_detectron2.py's PRESETS into tests/cuda/data/),
 * and the demo model (weights/demo.safetensors), in FP32 and FP16, and the
 * stem's max pool; batch 1, and batches of 2 and 3 (N of every activation).
 * Also: inconsistent layers must be refused with an error naming the layer.
 *
 * Linked with cuDNN, so it is its own binary (build/tests/run_cuda_host_tests),
 * built only where nvcc is found.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"
#include "support/tsup_cuda.h"
#include "cudnn_graph.h"
#include "safetensors.h"

typedef struct tally {
    int convs, depthwise, residual, relu, maxpools;
} tally;

/* Describes every conv of cfg's network for `batch` h x w images; returns counts. */
static tally describe_all(const pdl_config *cfg, int batch, int h, int w, pdl_precision precision)
{
    pdl_model m;
    pdl_shape *shapes = tsup_cuda_model_shapes(cfg, h, w, &m);
    pdl_error err;
    shapes[0].c = PDL_CUDA_INPUT_CHANNELS; /* as the backend stores the input */
    tally t = {0};
    for (int i = 0; i < m.nops; i++) {
        const pdl_op *op = &m.ops[i];
        pdl_cudnn_graph d;
        if (op->kind == PDL_OP_MAXPOOL) {
            pdl_status st = pdl_cudnn_maxpool_describe(op, batch, shapes[op->in[0]],
                                                       shapes[op->out], precision, &d, &err);
            cr_assert_eq(st, PDL_OK, "%s at %d x %dx%d: %s", cfg->name, batch, w, h, err.msg);
            pdl_cudnn_graph_free(&d);
            t.maxpools++;
        }
        if (op->kind != PDL_OP_CONV)
            continue;
        pdl_conv stored = op->conv;
        stored.cin = pdl_cuda_conv_cin(op);
        pdl_status st = pdl_cudnn_conv_describe(&stored, batch, shapes[op->in[0]],
                                                shapes[op->out], precision, &d, &err);
        cr_assert_eq(st, PDL_OK, "%s at %d x %dx%d: %s", cfg->name, batch, w, h, err.msg);
        cr_assert_eq(d.nops, 2 + (op->conv.residual >= 0) + op->conv.relu, "%s", op->conv.name);
        pdl_cudnn_graph_free(&d);
        t.convs++;
        t.depthwise += op->conv.groups > 1 && op->conv.groups == op->conv.cin;
        t.residual += op->conv.residual >= 0;
        t.relu += op->conv.relu;
    }
    free(shapes);
    pdl_model_free(&m);
    return t;
}

/* D2's R52 Panoptic-DeepLab with DSConv: stem 3 + res2..5 (3+4+6+3 blocks of
 * 3 convs + 4 shortcuts) = 55 backbone convs; per head 2 projections, ASPP
 * 1 + 3 dsconvs (6) + pooled 1 + project 1 = 9, two fuse dsconvs (4); semantic
 * head dsconv + predictor (3), instance center 2 + predictor and offset dsconv
 * + predictor (6): 55 + 2 * 15 + 3 + 6 = 94. Depthwise: 3 ASPP + 2 fuse per
 * head, + 1 semantic head + 1 offset head = 12. Residual: one per block, 16. */
static void check_r52_dsconv(const char *path, int batch, int h, int w)
{
    pdl_config cfg;
    tsup_cuda_config_from_json(path, &cfg);
    for (int p = 0; p < 2; p++) {
        tally t = describe_all(&cfg, batch, h, w, p ? PDL_PRECISION_FP16 : PDL_PRECISION_FP32);
        cr_expect_eq(t.convs, 94, "%s: %d convs", path, t.convs);
        cr_expect_eq(t.depthwise, 12, "%s: %d depthwise", path, t.depthwise);
        cr_expect_eq(t.residual, 16, "%s: %d residual", path, t.residual);
        cr_expect_eq(t.maxpools, 1, "%s: %d max pools", path, t.maxpools);
    }
}

Test(cudnn_descriptors, cityscapes_r52_dsconv_1024x2048)
{
    check_r52_dsconv("tests/cuda/data/cityscapes-r52-dsconv.json", 1, 1024, 2048);
}

Test(cudnn_descriptors, cityscapes_r52_dsconv_batch2_1024x2048)
{
    check_r52_dsconv("tests/cuda/data/cityscapes-r52-dsconv.json", 2, 1024, 2048);
}

Test(cudnn_descriptors, coco_r52_dsconv_640x640)
{
    check_r52_dsconv("tests/cuda/data/coco-r52-dsconv.json", 1, 640, 640);
}

Test(cudnn_descriptors, demo_model)
{
    pdl_weights wt;
    pdl_error err;
    cr_assert_eq(pdl_weights_open("weights/demo.safetensors", &wt, &err), PDL_OK, "%s", err.msg);
    /* an odd size: the padding to the size divisibility goes through too */
    for (int p = 0; p < 2; p++)
        for (int batch = 1; batch <= 3; batch += 2) {
            tally t = describe_all(&wt.config, batch, 301, 433,
                                   p ? PDL_PRECISION_FP16 : PDL_PRECISION_FP32);
            cr_expect_gt(t.convs, 20, "%d convs", t.convs);
            cr_expect_gt(t.relu, 0);
        }
    pdl_weights_close(&wt);
}

/* A 3x3 conv 64 -> 32 on a 40x48 map, for the refusal tests to break. */
static pdl_conv sane_conv(void)
{
    pdl_conv c = {.cin = 64, .cout = 32, .kernel = 3, .stride = 1, .pad = 1, .dilation = 1,
                  .groups = 1, .relu = true, .residual = -1};
    snprintf(c.name, sizeof c.name, "test.conv");
    return c;
}

static void expect_refused_batch(const pdl_conv *c, int batch, pdl_shape in, pdl_shape out,
                                 const char *what)
{
    pdl_cudnn_graph d;
    pdl_error err;
    pdl_status st = pdl_cudnn_conv_describe(c, batch, in, out, PDL_PRECISION_FP32, &d, &err);
    cr_assert_eq(st, PDL_ERR_DEVICE, "%s: accepted", what);
    cr_log_info("%s refused: %s", what, err.msg);
    cr_expect(strstr(err.msg, "test.conv") && strstr(err.msg, "cuDNN") &&
                  strstr(err.msg, "CUDNN_STATUS"),
              "%s: message '%s'", what, err.msg);
    cr_expect_eq(d.ntensors + d.nops + d.npw, 0, "%s: descriptors left behind", what);
}

static void expect_refused(const pdl_conv *c, pdl_shape in, pdl_shape out, const char *what)
{
    expect_refused_batch(c, 1, in, out, what);
}

Test(cudnn_descriptors, sane_layer_accepted)
{
    pdl_conv c = sane_conv();
    pdl_cudnn_graph d;
    pdl_error err;
    for (int batch = 1; batch <= 4; batch *= 2) {
        cr_assert_eq(pdl_cudnn_conv_describe(&c, batch, (pdl_shape){64, 40, 48},
                                             (pdl_shape){32, 40, 48}, PDL_PRECISION_FP16, &d,
                                             &err),
                     PDL_OK, "batch %d: %s", batch, err.msg);
        pdl_cudnn_graph_free(&d);
    }
}

Test(cudnn_descriptors, wrong_shapes_refused)
{
    pdl_conv c = sane_conv();
    /* the filter's input channels (64) do not divide the tensor's 80 */
    expect_refused(&c, (pdl_shape){80, 40, 48}, (pdl_shape){32, 40, 48}, "channel mismatch");
    /* output spatial size not what stride and padding give */
    expect_refused(&c, (pdl_shape){64, 40, 48}, (pdl_shape){32, 20, 24}, "output size");
    /* output channels not the filter count */
    expect_refused(&c, (pdl_shape){64, 40, 48}, (pdl_shape){16, 40, 48}, "filter count");
    /* no images */
    expect_refused_batch(&c, 0, (pdl_shape){64, 40, 48}, (pdl_shape){32, 40, 48}, "batch 0");
    /* a group count that does not divide the input channels: 64 / 3 = 21 per group */
    c.groups = 3;
    expect_refused(&c, (pdl_shape){64, 40, 48}, (pdl_shape){32, 40, 48}, "bad groups");
}
