/* tsup_pp_gen.c - post-processing test inputs: synthetic heads with realistic
 * structure (stuff bands, thing discs with Gaussian center peaks and offsets
 * pointing at them, noise) and the little binary case/result files shared
 * with tests/ref/d2_postprocess.py and bench/. No Criterion here, so the
 * benchmark links it too. */
#include <math.h>
#include <stdio.h>
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

static int upload_floats(const pdl_pp_kernels *k, const float *src, size_t n, const float **dst)
{
    void *p = NULL;
    if (k->alloc(&p, n * sizeof(float)))
        return -1;
    if (k->upload(p, src, n * sizeof(float), NULL)) {
        k->release(p);
        return -1;
    }
    *dst = p;
    return 0;
}

int tsup_pp_heads_upload(const pdl_pp_kernels *k, const tsup_pp_case *c, pdl_pp_heads *h)
{
    size_t plane = (size_t)c->in_h * c->in_w;
    *h = (pdl_pp_heads){NULL,        NULL,        NULL,     c->in_h,          c->in_w,
                        c->resize_h, c->resize_w, c->out_h, c->out_w, c->offset_scale_y,
                        c->offset_scale_x};
    if (upload_floats(k, c->logits, plane * c->opt.classes, &h->semantic) ||
        upload_floats(k, c->center, plane, &h->center) ||
        upload_floats(k, c->offset, 2 * plane, &h->offset)) {
        tsup_pp_heads_release(k, h);
        return -1;
    }
    return 0;
}

void tsup_pp_heads_release(const pdl_pp_kernels *k, pdl_pp_heads *h)
{
    const float *t[3] = {h->semantic, h->center, h->offset};
    for (int i = 0; i < 3; i++)
        if (t[i])
            k->release((void *)t[i]);
    h->semantic = h->center = h->offset = NULL;
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
    if (!c->logits || !c->center || !c->offset) {
        fprintf(stderr, "tsup_pp_case_alloc: out of memory\n");
        abort();
    }
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
                         int objects, double max_radius, uint64_t seed)
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
        obj[i].radius = 3 + tsup_pp_uniform(&s) * max_radius * size;
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

void tsup_pp_result_free(tsup_pp_result *r)
{
    free(r->panoptic);
    free(r->segments);
    free(r->centers);
    memset(r, 0, sizeof *r);
}

/* Files: "PDLPPIN1", 12 int32 (classes, in_h, in_w, resize_h, resize_w,
 * out_h, out_w, nms_kernel, top_k, stuff_area, label_divisor, exact_top_k),
 * 3 float32 (threshold, offset_scale_y, offset_scale_x), classes bytes of
 * thing flags, then logits, center and offsets as float32.
 * "PDLPPOU1", 4 int32 (out_h, out_w, centers, segments), per center int32 y,
 * x and float32 objectness, the int32 panoptic map, per segment 8 int32 (id,
 * category, isthing, area, x, y, w, h) and float32 score. Little-endian. */
static const char case_magic[8] = {'P', 'D', 'L', 'P', 'P', 'I', 'N', '1'};
static const char result_magic[8] = {'P', 'D', 'L', 'P', 'P', 'O', 'U', '1'};

int tsup_pp_case_write(const tsup_pp_case *c, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int32_t h[12] = {c->opt.classes, c->in_h,        c->in_w,         c->resize_h,
                     c->resize_w,    c->out_h,       c->out_w,        c->opt.nms_kernel,
                     c->opt.top_k,   c->opt.stuff_area, c->opt.label_divisor, c->opt.exact_top_k};
    float fl[3] = {c->opt.threshold, c->offset_scale_y, c->offset_scale_x};
    size_t plane = (size_t)c->in_h * c->in_w;
    int ok = fwrite(case_magic, 8, 1, f) == 1 && fwrite(h, sizeof h, 1, f) == 1 &&
             fwrite(fl, sizeof fl, 1, f) == 1 &&
             fwrite(c->isthing, 1, c->opt.classes, f) == (size_t)c->opt.classes &&
             fwrite(c->logits, sizeof(float), plane * c->opt.classes, f) == plane * c->opt.classes &&
             fwrite(c->center, sizeof(float), plane, f) == plane &&
             fwrite(c->offset, sizeof(float), 2 * plane, f) == 2 * plane;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int tsup_pp_case_read(tsup_pp_case *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char magic[8];
    int32_t h[12];
    float fl[3];
    if (fread(magic, 8, 1, f) != 1 || memcmp(magic, case_magic, 8) || fread(h, sizeof h, 1, f) != 1 ||
        fread(fl, sizeof fl, 1, f) != 1 || h[0] < 1 || h[0] > PDL_PP_MAX_CLASSES || h[1] < 1 ||
        h[2] < 1 || h[3] < h[5] || h[4] < h[6] || h[1] > 65536 || h[2] > 65536) {
        fclose(f);
        return -1;
    }
    tsup_pp_case_alloc(c, h[0], h[1], h[2], 1, h[5], h[6]);
    c->resize_h = h[3];
    c->resize_w = h[4];
    c->opt.nms_kernel = h[7];
    c->opt.top_k = h[8];
    c->opt.stuff_area = h[9];
    c->opt.label_divisor = h[10];
    c->opt.exact_top_k = h[11];
    c->opt.threshold = fl[0];
    c->offset_scale_y = fl[1];
    c->offset_scale_x = fl[2];
    size_t plane = (size_t)c->in_h * c->in_w;
    int ok = fread(c->isthing, 1, h[0], f) == (size_t)h[0] &&
             fread(c->logits, sizeof(float), plane * h[0], f) == plane * h[0] &&
             fread(c->center, sizeof(float), plane, f) == plane &&
             fread(c->offset, sizeof(float), 2 * plane, f) == 2 * plane;
    fclose(f);
    if (!ok) {
        tsup_pp_case_free(c);
        return -1;
    }
    return 0;
}

int tsup_pp_result_read(tsup_pp_result *r, const char *path)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char magic[8];
    int32_t h[4];
    int ok = fread(magic, 8, 1, f) == 1 && !memcmp(magic, result_magic, 8) &&
             fread(h, sizeof h, 1, f) == 1 && h[0] > 0 && h[1] > 0 && h[0] <= 65536 &&
             h[1] <= 65536 && h[2] >= 0 && h[2] <= PDL_PP_MAX_TOP_K && h[3] >= 0 &&
             h[3] <= PDL_PP_MAX_TOP_K + PDL_PP_MAX_CLASSES;
    if (ok) {
        size_t n = (size_t)h[0] * h[1];
        r->height = h[0];
        r->width = h[1];
        r->center_count = h[2];
        r->segment_count = h[3];
        r->centers = calloc(h[2] + 1, sizeof *r->centers);
        r->panoptic = malloc(n * sizeof *r->panoptic);
        r->segments = calloc(h[3] + 1, sizeof *r->segments);
        ok = r->centers && r->panoptic && r->segments;
        for (int i = 0; ok && i < h[2]; i++) {
            int32_t yx[2];
            ok = fread(yx, sizeof yx, 1, f) == 1 && fread(&r->centers[i].objectness, 4, 1, f) == 1;
            r->centers[i].y = yx[0];
            r->centers[i].x = yx[1];
        }
        ok = ok && fread(r->panoptic, sizeof(int32_t), n, f) == n;
        for (int i = 0; ok && i < h[3]; i++) {
            int32_t s[8];
            pdl_pp_segment *g = &r->segments[i];
            ok = fread(s, sizeof s, 1, f) == 1 && fread(&g->score, 4, 1, f) == 1;
            g->id = s[0];
            g->category = s[1];
            g->isthing = s[2];
            g->area = s[3];
            memcpy(g->bbox, s + 4, sizeof g->bbox);
        }
    }
    fclose(f);
    if (!ok) {
        tsup_pp_result_free(r);
        return -1;
    }
    return 0;
}
