/* tsup_net.c - see tsup_net.h. */
#include "tsup_net.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define MAX_OPS 32
#define MAX_TENSORS 40
#define MAX_WEIGHTS (1u << 20)

static size_t weights_used; /* tests build one graph at a time */

void tsup_graph_init(pdl_model *m, int in_channels)
{
    memset(m, 0, sizeof *m);
    snprintf(m->config.name, sizeof m->config.name, "test-graph");
    m->ops = calloc(MAX_OPS, sizeof *m->ops);
    m->channels = calloc(MAX_TENSORS, sizeof *m->channels);
    m->weight_storage = malloc(MAX_WEIGHTS * sizeof(float));
    cr_assert(m->ops && m->channels && m->weight_storage);
    m->channels[0] = in_channels;
    m->ntensors = 1;
    weights_used = 0;
}

static pdl_op *add(pdl_model *m, pdl_op_kind kind, int in, int channels)
{
    cr_assert(m->nops < MAX_OPS && m->ntensors < MAX_TENSORS);
    pdl_op *op = &m->ops[m->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->nin = 1;
    op->in[0] = in;
    op->out = m->ntensors++;
    op->conv.residual = -1;
    m->channels[op->out] = channels;
    return op;
}

int tsup_graph_conv(pdl_model *m, int in, int cout, int k, int stride, int dil, int groups,
                    bool relu, int residual, uint64_t seed)
{
    pdl_op *op = add(m, PDL_OP_CONV, in, cout);
    pdl_conv *c = &op->conv;
    snprintf(c->name, sizeof c->name, "test.conv%d", m->nops);
    c->cin = m->channels[in];
    c->cout = cout;
    c->kernel = k;
    c->stride = stride;
    c->dilation = dil;
    c->pad = dil * (k - 1) / 2;
    c->groups = groups;
    c->relu = relu;
    c->residual = residual;
    size_t nw = (size_t)cout * (c->cin / groups) * k * k;
    cr_assert(weights_used + nw + cout <= MAX_WEIGHTS);
    c->weight = m->weight_storage + weights_used;
    c->bias = c->weight + nw;
    weights_used += nw + cout;
    pdl_rng r;
    pdl_rng_seed(&r, seed, 0);
    double scale = sqrt(2.0 / ((double)(c->cin / groups) * k * k));
    for (size_t i = 0; i < nw; i++)
        c->weight[i] = (float)(pdl_rng_normal(&r) * scale);
    for (int i = 0; i < cout; i++)
        c->bias[i] = (float)(0.1 * pdl_rng_normal(&r));
    return op->out;
}

int tsup_graph_pool(pdl_model *m, pdl_op_kind kind, int in, int kh, int kw, int stride, int pad)
{
    pdl_op *op = add(m, kind, in, m->channels[in]);
    op->kernel[0] = kh;
    op->kernel[1] = kw;
    op->stride = stride;
    op->pad = pad;
    return op->out;
}

int tsup_graph_resize(pdl_model *m, int in, int like)
{
    pdl_op *op = add(m, PDL_OP_RESIZE, in, m->channels[in]);
    op->like = like;
    return op->out;
}

int tsup_graph_concat(pdl_model *m, int n, const int *in)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += m->channels[in[i]];
    pdl_op *op = add(m, PDL_OP_CONCAT, in[0], c);
    op->nin = n;
    memcpy(op->in, in, (size_t)n * sizeof *in);
    return op->out;
}

void tsup_graph_outputs(pdl_model *m, int t)
{
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++)
        m->stage_tensor[s] = s == PDL_STAGE_INPUT ? 0 : t;
    pdl_model_renew_id(m);
}

float *tsup_random(size_t n, uint64_t seed)
{
    float *p = malloc(n * sizeof *p);
    cr_assert(p);
    pdl_rng r;
    pdl_rng_seed(&r, seed, 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)pdl_rng_range(&r, -1.0, 1.0);
    return p;
}

void tsup_ref_conv(const float *x, int cin, int h, int w, const pdl_conv *c, const float *residual,
                   float *y, int oh, int ow)
{
    int gin = cin / c->groups, gout = c->cout / c->groups;
    for (int o = 0; o < c->cout; o++) {
        int g = o / gout;
        for (int yy = 0; yy < oh; yy++)
            for (int xx = 0; xx < ow; xx++) {
                double acc = c->bias[o];
                for (int i = 0; i < gin; i++)
                    for (int ky = 0; ky < c->kernel; ky++)
                        for (int kx = 0; kx < c->kernel; kx++) {
                            int sy = yy * c->stride - c->pad + ky * c->dilation;
                            int sx = xx * c->stride - c->pad + kx * c->dilation;
                            if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                                continue;
                            double wv = c->weight[(((size_t)o * gin + i) * c->kernel + ky) *
                                                      c->kernel + kx];
                            acc += wv * x[((size_t)(g * gin + i) * h + sy) * w + sx];
                        }
                size_t at = ((size_t)o * oh + yy) * ow + xx;
                if (residual)
                    acc += residual[at];
                y[at] = (float)(c->relu && acc < 0 ? 0 : acc);
            }
    }
}

void tsup_ref_maxpool(const float *x, int c, int h, int w, int k, int s, int p, float *y, int oh,
                      int ow)
{
    for (int ch = 0; ch < c; ch++)
        for (int yy = 0; yy < oh; yy++)
            for (int xx = 0; xx < ow; xx++) {
                float best = -INFINITY;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int sy = yy * s - p + ky, sx = xx * s - p + kx;
                        if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
                            float v = x[((size_t)ch * h + sy) * w + sx];
                            best = v > best ? v : best;
                        }
                    }
                y[((size_t)ch * oh + yy) * ow + xx] = best;
            }
}

void tsup_ref_avgpool(const float *x, int c, int h, int w, int kh, int kw, float *y)
{
    int oh = h - kh + 1, ow = w - kw + 1;
    for (int ch = 0; ch < c; ch++)
        for (int yy = 0; yy < oh; yy++)
            for (int xx = 0; xx < ow; xx++) {
                double acc = 0;
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        acc += x[((size_t)ch * h + yy + ky) * w + xx + kx];
                y[((size_t)ch * oh + yy) * ow + xx] = (float)(acc / (kh * kw));
            }
}

/* PyTorch's area_pixel_compute_source_index for align_corners=False. */
static void source(int d, int in, int out, int factor, int *i0, int *i1, double *l1)
{
    double scale = factor > 0 ? 1.0 / factor : (double)in / out;
    double s = (d + 0.5) * scale - 0.5;
    if (s < 0)
        s = 0;
    *i0 = (int)s;
    if (*i0 > in - 1)
        *i0 = in - 1;
    *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
    *l1 = s - *i0;
}

void tsup_ref_bilinear(const float *x, int c, int h, int w, float *y, int oh, int ow, int factor)
{
    for (int ch = 0; ch < c; ch++)
        for (int yy = 0; yy < oh; yy++) {
            int y0, y1;
            double ly;
            source(yy, h, oh, factor, &y0, &y1, &ly);
            for (int xx = 0; xx < ow; xx++) {
                int x0, x1;
                double lx;
                source(xx, w, ow, factor, &x0, &x1, &lx);
                const float *p = x + (size_t)ch * h * w;
                double top = p[y0 * w + x0] * (1 - lx) + p[y0 * w + x1] * lx;
                double bot = p[y1 * w + x0] * (1 - lx) + p[y1 * w + x1] * lx;
                y[((size_t)ch * oh + yy) * ow + xx] = (float)(top * (1 - ly) + bot * ly);
            }
        }
}

double tsup_max_rel_error(const float *a, const float *b, size_t n)
{
    double diff = 0, ref = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= diff)) /* NaN counts as infinitely wrong */
            diff = isnan(d) ? INFINITY : d;
        ref = fabs(b[i]) > ref ? fabs(b[i]) : ref;
    }
    return diff / (ref > 1e-6 ? ref : 1e-6);
}

void *tsup_cpu_open(int threads)
{
    pdl_device_request req = {.kind = PDL_DEVICE_CPU, .threads = threads};
    void *ctx;
    pdl_error err;
    cr_assert_eq(pdl_cpu_backend_ops.open(&req, &ctx, &err), PDL_OK, "%s", err.msg);
    return ctx;
}
