/* model_flops.c - parameter and FLOP counts for `panoptic info` and the
 * benchmark's GFLOP/s. Both walk the same graph the backends run, so they
 * cannot drift from the network; FLOPs count convolutions only (2 x
 * multiply-adds, as the PyTorch benchmark's hooks do), at the padded size.
 */
#include "model.h"

#include <stdlib.h>

uint64_t pdl_model_params(const pdl_config *cfg)
{
    pdl_model m;
    if (pdl_model_build(cfg, &m, NULL) != PDL_OK)
        return 0;
    uint64_t n = 0;
    for (int i = 0; i < m.nops; i++) {
        const pdl_conv *c = &m.ops[i].conv;
        if (m.ops[i].kind != PDL_OP_CONV)
            continue;
        n += (uint64_t)c->cout * (c->cin / c->groups) * c->kernel * c->kernel;
        n += (uint64_t)c->cout * (c->norm ? 2 : 1); /* BN gamma and beta, or the conv bias */
    }
    pdl_model_free(&m);
    return n;
}

double pdl_model_flops(const pdl_config *cfg, int height, int width)
{
    pdl_model m;
    if (pdl_model_build(cfg, &m, NULL) != PDL_OK)
        return 0;
    int hp, wp;
    pdl_model_input_size(cfg, height, width, &hp, &wp);
    double flops = 0;
    pdl_shape *shapes = malloc((size_t)m.ntensors * sizeof *shapes);
    if (shapes && pdl_model_shapes(&m, hp, wp, shapes, NULL) == PDL_OK) {
        for (int i = 0; i < m.nops; i++) {
            const pdl_conv *c = &m.ops[i].conv;
            if (m.ops[i].kind != PDL_OP_CONV)
                continue;
            pdl_shape o = shapes[m.ops[i].out];
            flops += 2.0 * o.c * o.h * o.w * (c->cin / c->groups) * c->kernel * c->kernel;
        }
    }
    free(shapes);
    pdl_model_free(&m);
    return flops;
}
