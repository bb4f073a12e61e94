/* model_input.c - the network input: normalisation and padding as Detectron2
 * does it (per-channel (x - mean) / std in float32 on 0..255 RGB, then zero
 * padding bottom/right to the size divisibility, after normalisation), on the
 * host or, through the dense kernel's arguments made here, on a device. */
#include "model.h"

#include <string.h>

void pdl_model_preprocess(const pdl_config *cfg, const uint8_t *rgb, int h, int w, float *dst)
{
    int hp, wp;
    pdl_model_input_size(cfg, h, w, &hp, &wp);
    for (int c = 0; c < 3; c++) {
        float mean = cfg->input.pixel_mean[c], std = cfg->input.pixel_std[c];
        float *plane = dst + (size_t)c * hp * wp;
        for (int y = 0; y < h; y++) {
            const uint8_t *src = rgb + (size_t)y * w * 3 + c;
            float *row = plane + (size_t)y * wp;
            for (int x = 0; x < w; x++)
                row[x] = ((float)src[3 * x] - mean) / std;
            memset(row + w, 0, (size_t)(wp - w) * sizeof *row);
        }
        memset(plane + (size_t)h * wp, 0, (size_t)(hp - h) * wp * sizeof *plane);
    }
}

void pdl_model_normalize_args(const pdl_config *cfg, int h, int w, int channels,
                              pdl_dense_normalize_args *a)
{
    memset(a, 0, sizeof *a);
    a->h = h;
    a->w = w;
    pdl_model_input_size(cfg, h, w, &a->hp, &a->wp);
    a->channels = channels;
    for (int c = 0; c < 3; c++) {
        a->mean[c] = cfg->input.pixel_mean[c];
        a->std[c] = cfg->input.pixel_std[c];
    }
}
