/* model_traffic.c - the arithmetic behind the GPU floors in bench/RESULTS.md:
 * a model's conv FLOPs and the bytes its ops must move at one input size,
 * counted on the graph the backends run (BatchNorm folded; bias, residual
 * add and ReLU fused into their conv, as the cuDNN graphs do). Each op reads
 * each of its inputs (the residual included) once, writes its output once and
 * reads its weights and bias once; anything a real kernel moves beyond that
 * (halos, workspace, re-reads) only adds to it, so time = bytes / bandwidth
 * is a floor.
 *
 *   cc ... -o model_traffic bench/model_traffic.c build/libpanoptic.a ...
 *   model_traffic MODEL [HEIGHT WIDTH]     (default 1024 2048)
 */
#include <stdio.h>
#include <stdlib.h>

#include "model.h"
#include "safetensors.h"

static double values(pdl_shape s)
{
    return (double)s.c * s.h * s.w;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: %s MODEL [HEIGHT WIDTH]\n", argv[0]);
        return 2;
    }
    int h = argc == 4 ? atoi(argv[2]) : 1024, w = argc == 4 ? atoi(argv[3]) : 2048;
    pdl_weights wt;
    pdl_model m;
    pdl_error err;
    if (pdl_weights_open(argv[1], &wt, &err) != PDL_OK ||
        pdl_model_build(&wt.config, &m, &err) != PDL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int hp, wp;
    pdl_model_input_size(&wt.config, h, w, &hp, &wp);
    pdl_shape *shapes = malloc((size_t)m.ntensors * sizeof *shapes);
    if (!shapes || pdl_model_shapes(&m, hp, wp, shapes, &err) != PDL_OK) {
        fprintf(stderr, "%s\n", shapes ? err.msg : "out of memory");
        return 1;
    }
    double act = 0, weights = 0, conv_act = 0;
    int convs = 0;
    for (int i = 0; i < m.nops; i++) {
        const pdl_op *op = &m.ops[i];
        double moved = values(shapes[op->out]);
        for (int j = 0; j < op->nin; j++)
            moved += values(shapes[op->in[j]]);
        if (op->kind == PDL_OP_CONV) {
            const pdl_conv *c = &op->conv;
            if (c->residual >= 0)
                moved += values(shapes[c->residual]);
            weights += (double)c->cout * (c->cin / c->groups) * c->kernel * c->kernel + c->cout;
            conv_act += moved;
            convs++;
        }
        act += moved;
    }
    printf("%s at %dx%d (padded %dx%d): %d ops (%d convs), %.1f GFLOP\n", argv[1], h, w, hp, wp,
           m.nops, convs, pdl_model_flops(&wt.config, h, w) / 1e9);
    printf("values moved: activations %.1f M (convs %.1f M), weights %.1f M\n", act / 1e6,
           conv_act / 1e6, weights / 1e6);
    for (int bytes = 2; bytes <= 4; bytes += 2)
        printf("bytes moved at %d bytes per value: %.3f GB\n", bytes,
               (act + weights) * bytes / 1e9);
    free(shapes);
    pdl_model_free(&m);
    pdl_weights_close(&wt);
    return 0;
}
