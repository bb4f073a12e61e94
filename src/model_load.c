/* model_load.c - fills the graph's convolutions from a weights file.
 *
 * Each tensor is checked against the shape the config implies before it is
 * read, so a file whose config and tensors disagree fails on the first wrong
 * tensor, by name. BatchNorm is folded into the preceding conv here (in double
 * precision): w' = w * g / sqrt(v + eps), b' = beta - mean * g / sqrt(v + eps),
 * so backends only ever see conv + bias.
 */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BN_EPS 1e-5

static pdl_status read_tensor(pdl_weights *w, const char *conv, const char *leaf, int ndim,
                              const int64_t *shape, float *dst, pdl_error *err)
{
    char name[PDL_CONV_NAME_MAX + 32];
    snprintf(name, sizeof name, "%s.%s", conv, leaf);
    const pdl_tensor *t;
    pdl_status st = pdl_weights_expect(w, name, ndim, shape, &t, err);
    return st != PDL_OK ? st : pdl_tensor_to_f32(w, t, dst, err);
}

static size_t weight_count(const pdl_conv *c)
{
    return (size_t)c->cout * (c->cin / c->groups) * c->kernel * c->kernel;
}

/* BN running statistics: gamma, beta, mean, var, each [cout], in `bn`. */
static void fold_bn(pdl_conv *c, const float *bn)
{
    size_t per_out = weight_count(c) / c->cout;
    const float *g = bn, *beta = bn + c->cout, *mean = bn + 2 * c->cout, *var = bn + 3 * c->cout;
    for (int o = 0; o < c->cout; o++) {
        double scale = g[o] / sqrt((double)var[o] + BN_EPS);
        float *wo = c->weight + (size_t)o * per_out;
        for (size_t i = 0; i < per_out; i++)
            wo[i] = (float)(wo[i] * scale);
        c->bias[o] = (float)(beta[o] - mean[o] * scale);
    }
}

static pdl_status load_conv(pdl_weights *w, pdl_conv *c, float *bn, pdl_error *err)
{
    int64_t wshape[4] = {c->cout, c->cin / c->groups, c->kernel, c->kernel};
    int64_t vshape[1] = {c->cout};
    pdl_status st = read_tensor(w, c->name, "weight", 4, wshape, c->weight, err);
    if (st != PDL_OK)
        return st;
    if (!c->norm)
        return read_tensor(w, c->name, "bias", 1, vshape, c->bias, err);
    static const char *leaves[4] = {"norm.weight", "norm.bias", "norm.running_mean",
                                    "norm.running_var"};
    for (int i = 0; i < 4 && st == PDL_OK; i++)
        st = read_tensor(w, c->name, leaves[i], 1, vshape, bn + (size_t)i * c->cout, err);
    if (st != PDL_OK)
        return st;
    for (int o = 0; o < c->cout; o++)
        if (bn[3 * c->cout + o] < 0)
            return pdl_fail(err, PDL_ERR_MODEL, "%s: tensor %s.norm.running_var has a negative "
                            "value at index %d", w->path, c->name, o);
    fold_bn(c, bn);
    return PDL_OK;
}

pdl_status pdl_model_load(pdl_weights *w, pdl_model *m, size_t *unused, const char **first_unused,
                          pdl_error *err)
{
    pdl_status st = pdl_model_build(&w->config, m, err);
    if (st != PDL_OK)
        return st;
    size_t total = 0;
    int max_cout = 0;
    for (int i = 0; i < m->nops; i++) {
        const pdl_conv *c = &m->ops[i].conv;
        if (m->ops[i].kind != PDL_OP_CONV)
            continue;
        total += weight_count(c) + (size_t)c->cout;
        max_cout = c->cout > max_cout ? c->cout : max_cout;
    }
    m->weight_storage = malloc(total * sizeof(float));
    float *bn = malloc((size_t)max_cout * 4 * sizeof(float));
    if (!m->weight_storage || !bn)
        st = pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory for %zu weights", w->path, total);
    float *next = m->weight_storage;
    for (int i = 0; i < m->nops && st == PDL_OK; i++) {
        pdl_conv *c = &m->ops[i].conv;
        if (m->ops[i].kind != PDL_OP_CONV)
            continue;
        c->weight = next;
        c->bias = next + weight_count(c);
        next = c->bias + c->cout;
        st = load_conv(w, c, bn, err);
    }
    free(bn);
    if (st != PDL_OK) {
        pdl_model_free(m);
        return st;
    }
    const char *first = NULL;
    size_t n = pdl_weights_unused(w, &first);
    if (unused)
        *unused = n;
    if (first_unused)
        *first_unused = n ? first : NULL;
    return PDL_OK;
}
