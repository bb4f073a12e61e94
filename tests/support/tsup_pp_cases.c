/* tsup_pp_cases.c - post-processing test cases with realistic structure,
 * running an executor on a case, and comparing results. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tsup_pp.h"

uint64_t tsup_pp_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double tsup_pp_uniform(uint64_t *s)
{
    return (double)(tsup_pp_rng(s) >> 11) * (1.0 / 9007199254740992.0);
}

void tsup_pp_case_alloc(tsup_pp_case *c, int classes, int in_h, int in_w, int stride, int out_h,
                        int out_w)
{
    memset(c, 0, sizeof *c);
    pdl_pp_options_default(&c->opt);
    c->opt.classes = classes;
    c->opt.isthing = c->isthing;
    c->in_h = in_h;
    c->in_w = in_w;
    c->resize_h = in_h * stride;
    c->resize_w = in_w * stride;
    c->out_h = out_h;
    c->out_w = out_w;
    c->offset_scale_y = c->offset_scale_x = (float)stride;
    size_t plane = (size_t)in_h * in_w;
    c->logits = malloc(plane * classes * sizeof(float));
    c->center = malloc(plane * sizeof(float));
    c->offset = malloc(2 * plane * sizeof(float));
    cr_assert(c->logits && c->center && c->offset, "out of memory");
}

void tsup_pp_case_free(tsup_pp_case *c)
{
    free(c->logits);
    free(c->center);
    free(c->offset);
    memset(c, 0, sizeof *c);
}

typedef struct object {
    double y, x, radius, sigma, peak;
    int cls;
} object;

void tsup_pp_case_random(tsup_pp_case *c, int classes, int out_h, int out_w, int stride,
                         int objects, uint64_t seed)
{
    int in_h = (out_h + stride - 1) / stride, in_w = (out_w + stride - 1) / stride;
    tsup_pp_case_alloc(c, classes, in_h, in_w, stride, out_h, out_w);
    int things = classes / 2, stuffs = classes - things;
    for (int k = 0; k < things; k++)
        c->isthing[k] = 1;
    uint64_t s = seed;
    object *obj = malloc((objects + 1) * sizeof *obj);
    double size = out_h > out_w ? out_h : out_w;
    for (int i = 0; i < objects; i++) {
        obj[i].y = tsup_pp_uniform(&s) * out_h;
        obj[i].x = tsup_pp_uniform(&s) * out_w;
        obj[i].radius = 3 + tsup_pp_uniform(&s) * 0.06 * size;
        obj[i].sigma = obj[i].radius / 3 > 1.5 ? obj[i].radius / 3 : 1.5;
        obj[i].peak = 0.3 + 0.7 * tsup_pp_uniform(&s);
        obj[i].cls = things ? (int)(tsup_pp_rng(&s) % things) : 0;
    }
    size_t plane = (size_t)in_h * in_w;
    double phase = tsup_pp_uniform(&s) * 6.28;
    for (int i = 0; i < in_h; i++)
        for (int j = 0; j < in_w; j++) {
            double oy = (i + 0.5) * stride - 0.5, ox = (j + 0.5) * stride - 0.5;
            size_t p = (size_t)i * in_w + j;
            int cover = -1, nearest = -1;
            double cover_d = INFINITY, near_d = INFINITY, heat = 0;
            for (int o = 0; o < objects; o++) {
                double dy = obj[o].y - oy, dx = obj[o].x - ox, d = sqrt(dy * dy + dx * dx);
                if (d < obj[o].radius && d / obj[o].radius < cover_d) {
                    cover_d = d / obj[o].radius;
                    cover = o;
                }
                if (d < near_d) {
                    near_d = d;
                    nearest = o;
                }
                if (d < 5 * obj[o].sigma)
                    heat += obj[o].peak * exp(-d * d / (2 * obj[o].sigma * obj[o].sigma));
            }
            int band = (int)((oy / out_h + 0.15 * sin(ox / out_w * 6.0 + phase)) * stuffs);
            band = band < 0 ? 0 : (band >= stuffs ? stuffs - 1 : band);
            int win = cover >= 0 ? obj[cover].cls : things + band;
            if (tsup_pp_uniform(&s) < 0.03)
                win = (int)(tsup_pp_rng(&s) % classes);
            for (int k = 0; k < classes; k++)
                c->logits[k * plane + p] =
                    (float)(2.0 * tsup_pp_uniform(&s) - 1.0 + (k == win ? 5 + 3 * tsup_pp_uniform(&s) : 0));
            c->center[p] = (float)(heat + 0.03 * tsup_pp_uniform(&s));
            int target = cover >= 0 ? cover : nearest;
            double ty = target >= 0 ? obj[target].y : oy, tx = target >= 0 ? obj[target].x : ox;
            c->offset[p] = (float)((ty - oy) / stride + 0.6 * (tsup_pp_uniform(&s) - 0.5));
            c->offset[plane + p] = (float)((tx - ox) / stride + 0.6 * (tsup_pp_uniform(&s) - 0.5));
        }
    free(obj);
    c->opt.stuff_area = (int)((double)out_h * out_w / 400);
}

static void copy_result(const pdl_pp_result *r, tsup_pp_result *out)
{
    size_t n = (size_t)r->height * r->width;
    out->height = r->height;
    out->width = r->width;
    out->panoptic = malloc(n * sizeof *out->panoptic);
    memcpy(out->panoptic, r->panoptic, n * sizeof *out->panoptic);
    out->segment_count = r->segment_count;
    out->segments = malloc((r->segment_count + 1) * sizeof *out->segments);
    memcpy(out->segments, r->segments, r->segment_count * sizeof *out->segments);
    out->center_count = r->center_count;
    out->centers = malloc((r->center_count + 1) * sizeof *out->centers);
    memcpy(out->centers, r->centers, r->center_count * sizeof *out->centers);
}

static float *to_exec(const pdl_pp_kernels *k, const float *src, size_t n)
{
    void *p = NULL;
    cr_assert_eq(k->alloc(&p, n * sizeof(float)), 0, "%s: allocation failed", k->name);
    cr_assert_eq(k->upload(p, src, n * sizeof(float), NULL), 0, "%s: upload failed", k->name);
    return p;
}

void tsup_pp_run_exec(const pdl_pp_kernels *k, const tsup_pp_case *c, tsup_pp_result *out)
{
    size_t plane = (size_t)c->in_h * c->in_w;
    float *logits = to_exec(k, c->logits, plane * c->opt.classes);
    float *center = to_exec(k, c->center, plane);
    float *offset = to_exec(k, c->offset, 2 * plane);
    pdl_pp_options opt = c->opt;
    opt.isthing = c->isthing;
    pdl_pp_context *ctx;
    pdl_error err;
    pdl_status st = pdl_pp_init(&ctx, k, NULL, &opt, &err);
    cr_assert_eq(st, PDL_OK, "%s", err.msg);
    pdl_pp_heads h = {logits,      center,      offset,     c->in_h,
                      c->in_w,     c->resize_h, c->resize_w, c->out_h,
                      c->out_w,    c->offset_scale_y, c->offset_scale_x};
    pdl_pp_result r;
    st = pdl_pp_run(ctx, &h, &r, &err);
    cr_assert_eq(st, PDL_OK, "%s", err.msg);
    copy_result(&r, out);
    pdl_pp_free(ctx);
    k->release(logits);
    k->release(center);
    k->release(offset);
}

void tsup_pp_run_cpu(const tsup_pp_case *c, int threads, tsup_pp_result *out)
{
    int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    tsup_pp_run_exec(&pdl_cpu_pp_kernels, c, out);
    omp_set_num_threads(before);
}

void tsup_pp_result_free(tsup_pp_result *r)
{
    free(r->panoptic);
    free(r->segments);
    free(r->centers);
    memset(r, 0, sizeof *r);
}

void tsup_pp_assert_same(const tsup_pp_result *got, const tsup_pp_result *want, double rel_tol,
                         const char *what)
{
    cr_assert_eq(got->height, want->height, "%s: height", what);
    cr_assert_eq(got->width, want->width, "%s: width", what);
    cr_assert_eq(got->center_count, want->center_count, "%s: %d centers, expected %d", what,
                 got->center_count, want->center_count);
    for (int i = 0; i < want->center_count; i++) {
        const pdl_pp_center *g = &got->centers[i], *w = &want->centers[i];
        cr_assert(g->y == w->y && g->x == w->x && g->objectness == w->objectness,
                  "%s: center %d is (%d,%d,%g), expected (%d,%d,%g)", what, i, g->y, g->x,
                  g->objectness, w->y, w->x, w->objectness);
    }
    size_t n = (size_t)want->height * want->width;
    for (size_t p = 0; p < n; p++)
        cr_assert_eq(got->panoptic[p], want->panoptic[p], "%s: pixel (%zu,%zu) is %d, expected %d",
                     what, p / want->width, p % want->width, got->panoptic[p], want->panoptic[p]);
    cr_assert_eq(got->segment_count, want->segment_count, "%s: %d segments, expected %d", what,
                 got->segment_count, want->segment_count);
    for (int i = 0; i < want->segment_count; i++) {
        const pdl_pp_segment *g = &got->segments[i], *w = &want->segments[i];
        cr_assert(g->id == w->id && g->category == w->category && g->isthing == w->isthing &&
                      g->area == w->area && !memcmp(g->bbox, w->bbox, sizeof g->bbox),
                  "%s: segment %d is id %d cat %d thing %d area %lld box %d,%d,%d,%d; expected "
                  "id %d cat %d thing %d area %lld box %d,%d,%d,%d",
                  what, i, g->id, g->category, g->isthing, (long long)g->area, g->bbox[0],
                  g->bbox[1], g->bbox[2], g->bbox[3], w->id, w->category, w->isthing,
                  (long long)w->area, w->bbox[0], w->bbox[1], w->bbox[2], w->bbox[3]);
        double tol = rel_tol * fabs((double)w->score);
        cr_assert(fabs((double)g->score - (double)w->score) <= tol,
                  "%s: segment %d score %.9g, expected %.9g (rel tol %g)", what, i, g->score,
                  w->score, rel_tol);
    }
}
