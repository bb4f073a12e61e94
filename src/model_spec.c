/* model_spec.c - the layer list of Panoptic-DeepLab, built from a config.
 *
 * Mirrors Detectron2's modules (ResNet with deeplab or basic stem, dual ASPP,
 * dual decoder, heads) but flattened into ops over numbered tensors, in an
 * order that keeps few large tensors alive at once: backbone, the four 1x1
 * projections of res2/res3 (so those wide features die), then the whole
 * semantic branch, then the instance branch. Every padding is D2's
 * dilation * (kernel - 1) / 2.
 */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NORM = 1u << 0, RELU = 1u << 1 };

typedef struct builder {
    pdl_model *m;
    int cap_ops, cap_tensors;
    bool nomem;
} builder;

/* Residual blocks per stage res2..res5. */
static const struct {
    int depth, blocks[4];
} depths[] = {{18, {2, 2, 2, 2}}, {34, {3, 4, 6, 3}}, {50, {3, 4, 6, 3}}, {101, {3, 4, 23, 3}}};

static const int *blocks_per_stage(int depth)
{
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++)
        if (depths[i].depth == depth)
            return depths[i].blocks;
    return NULL;
}

static int new_tensor(builder *b, int channels)
{
    pdl_model *m = b->m;
    if (m->ntensors == b->cap_tensors) {
        int cap = b->cap_tensors ? 2 * b->cap_tensors : 64;
        int *c = realloc(m->channels, (size_t)cap * sizeof *c);
        if (!c) {
            b->nomem = true;
            return 0;
        }
        m->channels = c;
        b->cap_tensors = cap;
    }
    m->channels[m->ntensors] = channels;
    return m->ntensors++;
}

/* Appends an op writing a new tensor of `channels`; returns the op (a scratch
 * op when out of memory, so callers need not check). */
static pdl_op *new_op(builder *b, pdl_op_kind kind, int channels)
{
    static pdl_op scratch;
    pdl_model *m = b->m;
    if (m->nops == b->cap_ops) {
        int cap = b->cap_ops ? 2 * b->cap_ops : 64;
        pdl_op *o = realloc(m->ops, (size_t)cap * sizeof *o);
        if (!o)
            b->nomem = true;
        else {
            m->ops = o;
            b->cap_ops = cap;
        }
    }
    if (b->nomem)
        return memset(&scratch, 0, sizeof scratch);
    pdl_op *op = &m->ops[m->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->out = new_tensor(b, channels);
    op->conv.residual = -1;
    return op;
}

static int conv(builder *b, int in, int cout, int k, int stride, int dil, int groups,
                unsigned flags, int residual, const char *fmt, ...)
{
    pdl_op *op = new_op(b, PDL_OP_CONV, cout);
    pdl_conv *c = &op->conv;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof c->name, fmt, ap);
    va_end(ap);
    op->nin = 1;
    op->in[0] = in;
    c->cin = b->nomem ? 0 : b->m->channels[in];
    c->cout = cout;
    c->kernel = k;
    c->stride = stride;
    c->dilation = dil;
    c->pad = dil * (k - 1) / 2;
    c->groups = groups;
    c->norm = flags & NORM;
    c->relu = flags & RELU;
    c->residual = residual;
    return op->out;
}

/* conv + BN + ReLU, the most common layer. */
static int cbr(builder *b, int in, int cout, int k, int stride, int dil, const char *fmt,
               const char *prefix)
{
    return conv(b, in, cout, k, stride, dil, 1, NORM | RELU, -1, fmt, prefix);
}

static int dsconv(builder *b, int in, int cout, int k, int dil, const char *prefix)
{
    int cin = b->nomem ? 1 : b->m->channels[in];
    int x = conv(b, in, cin, k, 1, dil, cin, NORM | RELU, -1, "%s.depthwise", prefix);
    return cbr(b, x, cout, 1, 1, 1, "%s.pointwise", prefix);
}

/* D2's fuse convs and heads: one 5x5 dsconv, or two 3x3 convs. */
static int fuse(builder *b, int in, int cout, bool ds, const char *prefix)
{
    if (ds)
        return dsconv(b, in, cout, 5, 1, prefix);
    int x = cbr(b, in, cout, 3, 1, 1, "%s.0", prefix);
    return cbr(b, x, cout, 3, 1, 1, "%s.1", prefix);
}

/* An op with one input and as many channels out as in. */
static pdl_op *unary(builder *b, pdl_op_kind kind, int in)
{
    pdl_op *op = new_op(b, kind, b->nomem ? 0 : b->m->channels[in]);
    op->nin = 1;
    op->in[0] = in;
    return op;
}

static int maxpool(builder *b, int in, int k, int stride, int pad)
{
    pdl_op *op = unary(b, PDL_OP_MAXPOOL, in);
    op->kernel[0] = op->kernel[1] = k;
    op->stride = stride;
    op->pad = pad;
    return op->out;
}

static int resize_like(builder *b, int in, int like)
{
    pdl_op *op = unary(b, PDL_OP_RESIZE, in);
    op->like = like;
    return op->out;
}

static int concat(builder *b, int n, const int *in)
{
    int channels = 0;
    for (int i = 0; i < n && !b->nomem; i++)
        channels += b->m->channels[in[i]];
    pdl_op *op = new_op(b, PDL_OP_CONCAT, channels);
    op->nin = n;
    memcpy(op->in, in, (size_t)n * sizeof *in);
    return op->out;
}

static int stem(builder *b, const pdl_backbone_config *bb)
{
    int x = 0;
    if (bb->stem == PDL_STEM_DEEPLAB) {
        int half = bb->stem_out_channels / 2;
        x = cbr(b, x, half, 3, 2, 1, "%s.conv1", "backbone.stem");
        x = cbr(b, x, half, 3, 1, 1, "%s.conv2", "backbone.stem");
        x = cbr(b, x, bb->stem_out_channels, 3, 1, 1, "%s.conv3", "backbone.stem");
    } else {
        x = cbr(b, x, bb->stem_out_channels, 7, 2, 1, "%s.conv1", "backbone.stem");
    }
    return maxpool(b, x, 3, 2, 1);
}

/* One residual block; the shortcut conv exists exactly when channels change. */
static int block(builder *b, const pdl_backbone_config *bb, int x, int width, int cout, int stride,
                 int dil, const char *prefix)
{
    bool bottleneck = bb->depth >= 50;
    int cin = b->nomem ? cout : b->m->channels[x];
    int y;
    if (bottleneck) {
        int s1 = bb->stride_in_1x1 ? stride : 1, s3 = bb->stride_in_1x1 ? 1 : stride;
        y = cbr(b, x, width, 1, s1, 1, "%s.conv1", prefix);
        y = cbr(b, y, width, 3, s3, dil, "%s.conv2", prefix);
    } else {
        y = cbr(b, x, cout, 3, stride, 1, "%s.conv1", prefix);
    }
    int shortcut = x;
    if (cin != cout)
        shortcut = conv(b, x, cout, 1, stride, 1, 1, NORM, -1, "%s.shortcut", prefix);
    return conv(b, y, cout, bottleneck ? 1 : 3, 1, 1, 1, NORM | RELU, shortcut,
                bottleneck ? "%s.conv3" : "%s.conv2", prefix);
}

static pdl_status backbone(builder *b, const pdl_backbone_config *bb, pdl_error *err)
{
    const int *blocks = blocks_per_stage(bb->depth);
    if (!blocks)
        return pdl_fail(err, PDL_ERR_UNSUPPORTED, "backbone.depth %d: expected 18, 34, 50 or 101",
                        bb->depth);
    int x = stem(b, bb);
    int cout = bb->res2_out_channels, width = bb->width_per_group;
    for (int stage = 2; stage <= 5; stage++) {
        int dil = stage == 4 ? bb->res4_dilation : stage == 5 ? bb->res5_dilation : 1;
        int first_stride = stage == 2 || dil > 1 ? 1 : 2;
        for (int i = 0; i < blocks[stage - 2]; i++) {
            int d = stage == 5 ? dil * bb->res5_multi_grid[i] : dil;
            if (bb->depth < 50 && d != 1)
                return pdl_fail(err, PDL_ERR_UNSUPPORTED,
                                "backbone: depth %d uses basic blocks, which Detectron2 does not "
                                "dilate (res%d dilation %d)", bb->depth, stage, d);
            char prefix[48];
            snprintf(prefix, sizeof prefix, "backbone.res%d.%d", stage, i);
            x = block(b, bb, x, width, cout, i == 0 ? first_stride : 1, d, prefix);
        }
        if (stage != 4)
            b->m->stage_tensor[stage == 2 ? PDL_STAGE_RES2 : stage == 3 ? PDL_STAGE_RES3
                                                                        : PDL_STAGE_RES5] = x;
        cout *= 2;
        width *= 2;
    }
    return PDL_OK;
}

static int aspp(builder *b, const pdl_head_config *hc, int res5, const char *head)
{
    char p[96];
    snprintf(p, sizeof p, "%s.decoder.res5.project_conv", head);
    int a = hc->aspp_channels, branch[5];
    branch[0] = cbr(b, res5, a, 1, 1, 1, "%s.convs.0", p);
    for (int i = 0; i < 3; i++) {
        char q[128];
        snprintf(q, sizeof q, "%s.convs.%d", p, i + 1);
        int d = hc->aspp_dilations[i];
        branch[i + 1] = hc->depthwise_separable ? dsconv(b, res5, a, 3, d, q)
                                                : cbr(b, res5, a, 3, 1, d, "%s", q);
    }
    pdl_op *pool = unary(b, PDL_OP_AVGPOOL, res5);
    pool->kernel[0] = hc->aspp_pool[0];
    pool->kernel[1] = hc->aspp_pool[1];
    int pc = conv(b, pool->out, a, 1, 1, 1, 1, RELU, -1, "%s.convs.4.1", p);
    branch[4] = resize_like(b, pc, res5);
    int cat = concat(b, 5, branch);
    return cbr(b, cat, a, 1, 1, 1, "%s.project", p);
}

/* The 1x1 projections of res3 and res2 for one head. Both heads project
 * before either decodes, so the wide backbone features die early. */
static void project(builder *b, const pdl_head_config *hc, const char *head, int proj[2])
{
    static const char *names[2] = {"res3", "res2"};
    const int feats[2] = {b->m->stage_tensor[PDL_STAGE_RES3], b->m->stage_tensor[PDL_STAGE_RES2]};
    for (int i = 0; i < 2; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s.decoder.%s", head, names[i]);
        proj[i] = cbr(b, feats[i], hc->project_channels[1 - i], 1, 1, 1, "%s.project_conv", p);
    }
}

/* ASPP, then for res3 and res2: upsample, concat [projection, y], fuse. */
static int decoder(builder *b, const pdl_head_config *hc, const char *head, const int proj[2],
                   int *aspp_out)
{
    int y = *aspp_out = aspp(b, hc, b->m->stage_tensor[PDL_STAGE_RES5], head);
    static const char *names[2] = {"res3", "res2"};
    for (int i = 0; i < 2; i++) {
        char p[96];
        int pair[2] = {proj[i], resize_like(b, y, proj[i])};
        int cat = concat(b, 2, pair);
        snprintf(p, sizeof p, "%s.decoder.%s.fuse_conv", head, names[i]);
        y = fuse(b, cat, hc->decoder_channels, hc->depthwise_separable, p);
    }
    return y;
}

static int predictor(builder *b, int in, int cout, const char *name)
{
    return conv(b, in, cout, 1, 1, 1, 1, 0, -1, "%s", name);
}

static void heads(builder *b, const pdl_config *cfg)
{
    int *st = b->m->stage_tensor;
    const pdl_head_config *sem = &cfg->sem, *ins = &cfg->ins;
    int sem_proj[2], ins_proj[2];
    project(b, sem, "sem_seg_head", sem_proj);
    project(b, ins, "ins_embed_head", ins_proj);
    st[PDL_STAGE_SEM_DECODER] = decoder(b, sem, "sem_seg_head", sem_proj, &st[PDL_STAGE_SEM_ASPP]);
    int h = fuse(b, st[PDL_STAGE_SEM_DECODER], sem->head_channels, sem->depthwise_separable,
                 "sem_seg_head.head");
    st[PDL_STAGE_SEM_LOGITS] = predictor(b, h, cfg->num_classes, "sem_seg_head.predictor");

    st[PDL_STAGE_INS_DECODER] = decoder(b, ins, "ins_embed_head", ins_proj, &st[PDL_STAGE_INS_ASPP]);
    int d = ins->decoder_channels;
    h = cbr(b, st[PDL_STAGE_INS_DECODER], d, 3, 1, 1, "%s.center_head.0", "ins_embed_head");
    h = cbr(b, h, ins->head_channels, 3, 1, 1, "%s.center_head.1", "ins_embed_head");
    st[PDL_STAGE_CENTER] = predictor(b, h, 1, "ins_embed_head.center_predictor");
    h = fuse(b, st[PDL_STAGE_INS_DECODER], ins->head_channels, ins->depthwise_separable,
             "ins_embed_head.offset_head");
    st[PDL_STAGE_OFFSET] = predictor(b, h, 2, "ins_embed_head.offset_predictor");
}

pdl_status pdl_model_build(const pdl_config *cfg, pdl_model *m, pdl_error *err)
{
    memset(m, 0, sizeof *m);
    m->config = *cfg;
    pdl_model_renew_id(m);
    builder b = {.m = m};
    new_tensor(&b, 3);
    pdl_status st = backbone(&b, &cfg->backbone, err);
    if (st == PDL_OK && !b.nomem)
        heads(&b, cfg);
    if (st == PDL_OK && b.nomem)
        st = pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory building the network", cfg->name);
    if (st != PDL_OK)
        pdl_model_free(m);
    return st;
}

void pdl_model_renew_id(pdl_model *m)
{
    static uint64_t next_id;
    m->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
}

void pdl_model_free(pdl_model *m)
{
    if (!m)
        return;
    free(m->ops);
    free(m->channels);
    free(m->weight_storage);
    memset(m, 0, sizeof *m);
}

void pdl_model_input_size(const pdl_config *cfg, int h, int w, int *hp, int *wp)
{
    int d = cfg->input.size_divisibility;
    *hp = d > 0 ? (h + d - 1) / d * d : h;
    *wp = d > 0 ? (w + d - 1) / d * d : w;
}

static int conv_out(int in, int k, int stride, int pad, int dil)
{
    int span = dil * (k - 1) + 1;
    return in + 2 * pad < span ? 0 : (in + 2 * pad - span) / stride + 1;
}

pdl_status pdl_model_shapes(const pdl_model *m, int hp, int wp, pdl_shape *shapes, pdl_error *err)
{
    shapes[0] = (pdl_shape){m->channels[0], hp, wp};
    for (int i = 0; i < m->nops; i++) {
        const pdl_op *op = &m->ops[i];
        pdl_shape in = shapes[op->in[0]], out = {m->channels[op->out], in.h, in.w};
        const pdl_conv *c = &op->conv;
        switch (op->kind) {
        case PDL_OP_CONV:
            out.h = conv_out(in.h, c->kernel, c->stride, c->pad, c->dilation);
            out.w = conv_out(in.w, c->kernel, c->stride, c->pad, c->dilation);
            break;
        case PDL_OP_MAXPOOL:
            out.h = conv_out(in.h, op->kernel[0], op->stride, op->pad, 1);
            out.w = conv_out(in.w, op->kernel[1], op->stride, op->pad, 1);
            break;
        case PDL_OP_AVGPOOL:
            /* global, or the kernel clamped per dimension: never larger than the map */
            out.h = op->kernel[0] > 0 && op->kernel[0] < in.h ? in.h - op->kernel[0] + 1 : 1;
            out.w = op->kernel[1] > 0 && op->kernel[1] < in.w ? in.w - op->kernel[1] + 1 : 1;
            break;
        case PDL_OP_RESIZE:
            out.h = shapes[op->like].h;
            out.w = shapes[op->like].w;
            break;
        case PDL_OP_CONCAT:
            for (int j = 1; j < op->nin; j++)
                if (shapes[op->in[j]].h != in.h || shapes[op->in[j]].w != in.w)
                    return pdl_fail(err, PDL_ERR_ARG, "%s: concat of %dx%d and %dx%d tensors",
                                    m->config.name, in.h, in.w, shapes[op->in[j]].h,
                                    shapes[op->in[j]].w);
            break;
        }
        if (out.h < 1 || out.w < 1)
            return pdl_fail(err, PDL_ERR_ARG, "input %dx%d is too small for %s (%s)", wp, hp,
                            m->config.name, op->kind == PDL_OP_CONV ? c->name : "pooling");
        shapes[op->out] = out;
    }
    return PDL_OK;
}

const char *pdl_stage_name(pdl_stage s)
{
    static const char *names[PDL_STAGE_COUNT] = {
        "input",       "res2",        "res3",       "res5",   "sem_aspp",
        "ins_aspp",    "sem_decoder", "ins_decoder", "sem_logits", "center",
        "offset",      "sem_logits_up", "center_up", "offset_up"};
    return (unsigned)s < PDL_STAGE_COUNT ? names[s] : "?";
}
