/* cpu_custom.c - two ops oneDNN 2.6 does slowly, written for the NHWC layout
 * the network runs in (channels innermost, so every inner loop is a
 * contiguous, vectorisable run over channels):
 *
 * - depthwise convolution, for the dilated (rates 12, 18) 3x3 ASPP branches:
 *   oneDNN's jit depthwise kernels refuse those paddings and it falls back to
 *   a GEMM in NCHW, with two reorders around it;
 * - the sliding box filter of D2's fixed ASPP pooling (e.g. a 32x64 kernel
 *   over a 64x128 map): oneDNN sums every window from scratch, we sum rows
 *   then columns (kw + kh instead of kw * kh additions per output).
 */
#include "cpu_internal.h"

#include <string.h>

void pdl_cpu_depthwise_nhwc(const float *x, int h, int w, int c, const float *wt,
                            const float *bias, int k, int dil, int pad, bool relu, float *y)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int oy = 0; oy < h; oy++)
        for (int ox = 0; ox < w; ox++) {
            float *o = y + ((size_t)oy * w + ox) * c;
            memcpy(o, bias, (size_t)c * sizeof *o);
            for (int ky = 0; ky < k; ky++) {
                int iy = oy - pad + ky * dil;
                if (iy < 0 || iy >= h)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    int ix = ox - pad + kx * dil;
                    if (ix < 0 || ix >= w)
                        continue;
                    const float *in = x + ((size_t)iy * w + ix) * c;
                    const float *wk = wt + (size_t)(ky * k + kx) * c;
#pragma omp simd
                    for (int ch = 0; ch < c; ch++)
                        o[ch] += in[ch] * wk[ch];
                }
            }
            if (relu) {
#pragma omp simd
                for (int ch = 0; ch < c; ch++)
                    o[ch] = o[ch] > 0 ? o[ch] : 0;
            }
        }
}

void pdl_cpu_box_filter_nhwc(const float *x, int h, int w, int c, int kh, int kw, float *rows,
                             float *y)
{
    int oh = h - kh + 1, ow = w - kw + 1;
    float scale = 1.0f / ((float)kh * (float)kw);
#pragma omp parallel for collapse(2) schedule(static)
    for (int iy = 0; iy < h; iy++)
        for (int ox = 0; ox < ow; ox++) {
            float *r = rows + ((size_t)iy * ow + ox) * c;
            const float *in = x + ((size_t)iy * w + ox) * c;
            memcpy(r, in, (size_t)c * sizeof *r);
            for (int k = 1; k < kw; k++) {
#pragma omp simd
                for (int ch = 0; ch < c; ch++)
                    r[ch] += in[(size_t)k * c + ch];
            }
        }
#pragma omp parallel for collapse(2) schedule(static)
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            float *o = y + ((size_t)oy * ow + ox) * c;
            const float *r = rows + ((size_t)oy * ow + ox) * c;
            memcpy(o, r, (size_t)c * sizeof *o);
            for (int k = 1; k < kh; k++) {
#pragma omp simd
                for (int ch = 0; ch < c; ch++)
                    o[ch] += r[(size_t)k * ow * c + ch];
            }
#pragma omp simd
            for (int ch = 0; ch < c; ch++)
                o[ch] *= scale;
        }
}
