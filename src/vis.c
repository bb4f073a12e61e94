/* vis.c - overlay rendering (see vis.h). */
#include "vis.h"

#include <stddef.h>

void pdl_vis_segment_colour(const uint8_t class_colour[3], int instance, uint8_t out[3])
{
    /* Odd instances darker, even ones lighter, by 20..92 in five steps, so
     * the first ten instances of a class all differ (then the shades repeat). */
    int shift = 0;
    if (instance > 0)
        shift = (instance % 2 ? -1 : 1) * (20 + (instance - 1) / 2 % 5 * 18);
    for (int c = 0; c < 3; c++) {
        int v = class_colour[c] + shift;
        out[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

void pdl_vis_render(const uint8_t *rgb, int w, int h, const int32_t *segment,
                    const uint8_t (*colours)[3], uint8_t *out)
{
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            int32_t s = segment[i];
            bool border = (x + 1 < w && segment[i + 1] != s) ||
                          (y + 1 < h && segment[i + (size_t)w] != s);
            for (int c = 0; c < 3; c++) {
                int v;
                if (border)
                    v = 255;
                else if (s < 0)
                    v = rgb[3 * i + c] / 2;
                else
                    v = (rgb[3 * i + c] * 2 + colours[s][c] * 3) / 5;
                out[3 * i + c] = (uint8_t)v;
            }
        }
}
