/* resize.c - Pillow-exact bilinear resampling of 8-bit RGB (see resize.h).
 *
 * Follows Pillow's Resample.c: per output pixel a window of source pixels
 * around center = (i + 0.5) * scale, triangle weights of support
 * max(scale, 1), normalised, rounded to PRECISION_BITS fixed point; each pass
 * rounds and clips to 8 bits, as Pillow does, which is why the result is
 * bit-identical rather than merely close.
 */
#include "resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

typedef struct coeffs {
    int ksize;
    int *bounds;  /* per output pixel: first source index, count */
    int32_t *k;   /* per output pixel: ksize fixed-point weights */
} coeffs;

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static pdl_status precompute(int in_size, int out_size, coeffs *c, pdl_error *err)
{
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = filterscale; /* the bilinear filter's support is 1 */
    c->ksize = (int)ceil(support) * 2 + 1;
    c->bounds = malloc((size_t)out_size * 2 * sizeof *c->bounds);
    c->k = calloc((size_t)out_size * (size_t)c->ksize, sizeof *c->k);
    double *w = malloc((size_t)c->ksize * sizeof *w);
    if (!c->bounds || !c->k || !w) {
        free(w);
        return pdl_fail(err, PDL_ERR_NOMEM, "resize %d -> %d: out of memory", in_size, out_size);
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        int xmax = (int)(center + support + 0.5);
        if (xmin < 0)
            xmin = 0;
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        double sum = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = triangle((x + xmin - center + 0.5) / filterscale);
            sum += w[x];
        }
        int32_t *k = c->k + (size_t)xx * (size_t)c->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = sum != 0.0 ? w[x] / sum : w[x];
            k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
        }
        c->bounds[2 * xx] = xmin;
        c->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return PDL_OK;
}

static void free_coeffs(coeffs *c)
{
    free(c->bounds);
    free(c->k);
}

static uint8_t clip8(int32_t v)
{
    if (v >= (1 << PRECISION_BITS << 8))
        return 255;
    if (v <= 0)
        return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

/* One pass along x (stride 3 between taps) or y (stride 3 * width). */
static void pass(const uint8_t *src, uint8_t *dst, int lines, int out_len, size_t src_line,
                 size_t src_tap, size_t dst_line, size_t dst_step, const coeffs *c)
{
#pragma omp parallel for schedule(static)
    for (int line = 0; line < lines; line++)
        for (int o = 0; o < out_len; o++) {
            const int32_t *k = c->k + (size_t)o * (size_t)c->ksize;
            const uint8_t *s = src + (size_t)line * src_line + (size_t)c->bounds[2 * o] * src_tap;
            int32_t acc[3] = {1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1),
                              1 << (PRECISION_BITS - 1)};
            for (int t = 0; t < c->bounds[2 * o + 1]; t++)
                for (int ch = 0; ch < 3; ch++)
                    acc[ch] += s[(size_t)t * src_tap + (size_t)ch] * k[t];
            uint8_t *d = dst + (size_t)line * dst_line + (size_t)o * dst_step;
            for (int ch = 0; ch < 3; ch++)
                d[ch] = clip8(acc[ch]);
        }
}

pdl_status pdl_resize_rgb8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh,
                           pdl_error *err)
{
    if (sw < 1 || sh < 1 || dw < 1 || dh < 1)
        return pdl_fail(err, PDL_ERR_ARG, "resize %dx%d -> %dx%d: empty image", sw, sh, dw, dh);
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * (size_t)sh * 3);
        return PDL_OK;
    }
    coeffs cx = {0}, cy = {0};
    pdl_status st = precompute(sw, dw, &cx, err);
    if (st == PDL_OK)
        st = precompute(sh, dh, &cy, err);
    if (st != PDL_OK) {
        free_coeffs(&cx);
        free_coeffs(&cy);
        return st;
    }
    /* Pillow resamples horizontally only the source rows the vertical pass
     * reads, then vertically; when one axis keeps its size that pass is skipped. */
    int first = cy.bounds[0];
    int last = cy.bounds[2 * (dh - 1)] + cy.bounds[2 * (dh - 1) + 1];
    const uint8_t *rows = src + (size_t)first * (size_t)sw * 3;
    uint8_t *tmp = NULL;
    int tmp_w = sw;
    if (dw != sw) {
        tmp = malloc((size_t)dw * (size_t)(last - first) * 3);
        if (!tmp) {
            free_coeffs(&cx);
            free_coeffs(&cy);
            return pdl_fail(err, PDL_ERR_NOMEM, "resize %dx%d -> %dx%d: out of memory", sw, sh, dw, dh);
        }
        pass(rows, tmp, last - first, dw, (size_t)sw * 3, 3, (size_t)dw * 3, 3, &cx);
        rows = tmp;
        tmp_w = dw;
    }
    if (dh != sh) {
        for (int i = 0; i < dh; i++)
            cy.bounds[2 * i] -= first;
        pass(rows, dst, dw, dh, 3, (size_t)tmp_w * 3, 3, (size_t)dw * 3, &cy);
    } else {
        memcpy(dst, rows, (size_t)dw * (size_t)dh * 3);
    }
    free(tmp);
    free_coeffs(&cx);
    free_coeffs(&cy);
    return PDL_OK;
}

void pdl_resize_shortest_edge_shape(int h, int w, int short_edge, int max_size, int *out_h,
                                    int *out_w)
{
    if (short_edge <= 0) {
        *out_h = h;
        *out_w = w;
        return;
    }
    /* Detectron2's ResizeShortestEdge.get_output_shape, in double as Python does. */
    double size = short_edge, scale = size / (h < w ? h : w);
    double nh, nw;
    if (h < w) {
        nh = size;
        nw = scale * w;
    } else {
        nh = scale * h;
        nw = size;
    }
    double longest = nh > nw ? nh : nw;
    if (max_size > 0 && longest > max_size) {
        scale = max_size / longest;
        nh *= scale;
        nw *= scale;
    }
    /* at least one pixel (Detectron2 would fail on the empty image) */
    *out_h = nh < 0.5 ? 1 : (int)(nh + 0.5);
    *out_w = nw < 0.5 ? 1 : (int)(nw + 0.5);
}
