/* tsup_net.h - small hand-made graphs with random weights for the backend op
 * tests, and naive (double precision, loop-per-definition) references of every
 * op, written from PyTorch's documented semantics, not from our code. */
#ifndef TSUP_NET_H
#define TSUP_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"

/* A model with `in_channels` input planes and room for a few ops. */
void tsup_graph_init(pdl_model *m, int in_channels);
int tsup_graph_conv(pdl_model *m, int in, int cout, int k, int stride, int dil, int groups,
                    bool relu, int residual, uint64_t seed);
int tsup_graph_pool(pdl_model *m, pdl_op_kind kind, int in, int kh, int kw, int stride, int pad);
int tsup_graph_resize(pdl_model *m, int in, int like);
int tsup_graph_concat(pdl_model *m, int n, const int *in);
/* Makes tensor t the three head outputs and every stage (so PDL_RUN_STAGES
 * returns it) and gives the finished graph a fresh id. */
void tsup_graph_outputs(pdl_model *m, int t);

/* Values uniform in [-1, 1) from a seed (never all zero). */
float *tsup_random(size_t n, uint64_t seed);

/* References, all [c][h][w] float in, float out. */
void tsup_ref_conv(const float *x, int cin, int h, int w, const pdl_conv *c, const float *residual,
                   float *y, int oh, int ow);
void tsup_ref_maxpool(const float *x, int c, int h, int w, int k, int s, int p, float *y, int oh,
                      int ow);
void tsup_ref_avgpool(const float *x, int c, int h, int w, int kh, int kw, float *y);
/* F.interpolate(mode="bilinear", align_corners=False) to size (oh, ow), or with
 * scale_factor when factor > 0. */
void tsup_ref_bilinear(const float *x, int c, int h, int w, float *y, int oh, int ow, int factor);

/* max|a - b| / max(max|b|, 1e-6) */
double tsup_max_rel_error(const float *a, const float *b, size_t n);

/* Opens the CPU backend with `threads` (the test fails if it cannot). */
void *tsup_cpu_open(int threads);
#endif
