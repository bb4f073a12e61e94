/* prediction.c - writes a pdl_prediction as PNG maps and a segments JSON. */
#include "prediction.h"

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "image.h"
#include "vis.h"

void pdl_prediction_free(pdl_prediction *p)
{
    free(p->segment_of);
    free(p->segments);
    memset(p, 0, sizeof *p);
}

json_t *pdl_prediction_json(const pdl_prediction *p, const pdl_config *cfg, const char *file_name,
                            const char *image_id)
{
    json_t *segs = json_array();
    for (int s = 0; s < p->nsegments; s++) {
        const pdl_segment *g = &p->segments[s];
        if (g->area == 0)
            continue; /* panopticapi refuses listed segments with no pixels */
        const pdl_class_info *c = &cfg->classes[g->class_index];
        json_array_append_new(
            segs, json_pack("{s:i, s:i, s:s, s:b, s:i, s:I, s:[i,i,i,i], s:f}", "id", s + 1,
                            "category_id", c->id, "category", c->name, "isthing", c->isthing,
                            "instance", g->instance, "area", (json_int_t)g->area, "bbox",
                            g->bbox[0], g->bbox[1], g->bbox[2], g->bbox[3], "score",
                            (double)g->score));
    }
    return json_pack("{s:s, s:s, s:i, s:i, s:o}", "image_id", image_id, "file_name", file_name,
                     "height", p->height, "width", p->width, "segments_info", segs);
}

static pdl_status write_panoptic_png(const pdl_prediction *p, const pdl_config *cfg,
                                     const uint8_t *image, const char *path, pdl_error *err)
{
    (void)cfg;
    (void)image;
    size_t n = (size_t)p->width * (size_t)p->height;
    uint8_t *rgb = malloc(n * 3);
    if (!rgb)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        uint32_t id = (uint32_t)(p->segment_of[i] + 1); /* void (-1) becomes 0 */
        rgb[3 * i] = (uint8_t)id;
        rgb[3 * i + 1] = (uint8_t)(id >> 8);
        rgb[3 * i + 2] = (uint8_t)(id >> 16);
    }
    pdl_status st = pdl_png_write_rgb8(path, p->width, p->height, rgb, err);
    free(rgb);
    return st;
}

static pdl_status write_semantic_png(const pdl_prediction *p, const pdl_config *cfg,
                                     const uint8_t *image, const char *path, pdl_error *err)
{
    (void)image;
    size_t n = (size_t)p->width * (size_t)p->height;
    bool wide = cfg->num_classes >= 255; /* 255 (or 65535) marks void */
    void *px = malloc(n * (wide ? 2 : 1));
    if (!px)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        int32_t s = p->segment_of[i];
        int v = s < 0 ? (wide ? 65535 : 255) : p->segments[s].class_index;
        if (wide)
            ((uint16_t *)px)[i] = (uint16_t)v;
        else
            ((uint8_t *)px)[i] = (uint8_t)v;
    }
    pdl_status st = wide ? pdl_png_write_gray16(path, p->width, p->height, px, err)
                         : pdl_png_write_gray8(path, p->width, p->height, px, err);
    free(px);
    return st;
}

static pdl_status write_instance_png(const pdl_prediction *p, const pdl_config *cfg,
                                     const uint8_t *image, const char *path, pdl_error *err)
{
    (void)cfg;
    (void)image;
    size_t n = (size_t)p->width * (size_t)p->height;
    uint16_t *px = malloc(n * sizeof *px);
    if (!px)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        int32_t s = p->segment_of[i];
        px[i] = (uint16_t)(s < 0 ? 0 : p->segments[s].instance);
    }
    pdl_status st = pdl_png_write_gray16(path, p->width, p->height, px, err);
    free(px);
    return st;
}

static pdl_status write_vis_png(const pdl_prediction *p, const pdl_config *cfg, const uint8_t *rgb,
                                const char *path, pdl_error *err)
{
    size_t n = (size_t)p->width * (size_t)p->height;
    uint8_t *out = malloc(n * 3);
    uint8_t(*colours)[3] = malloc((size_t)(p->nsegments ? p->nsegments : 1) * sizeof *colours);
    pdl_status st;
    if (!out || !colours) {
        st = pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    } else {
        for (int s = 0; s < p->nsegments; s++)
            pdl_vis_segment_colour(cfg->classes[p->segments[s].class_index].color,
                                   p->segments[s].instance, colours[s]);
        pdl_vis_render(rgb, p->width, p->height, p->segment_of, (const uint8_t(*)[3])colours, out);
        st = pdl_png_write_rgb8(path, p->width, p->height, out, err);
    }
    free(out);
    free(colours);
    return st;
}

/* The maps of one image in writing order: file suffix, the option that asks
 * for it (-1: always written) and its writer. */
static const struct {
    const char *suffix;
    int option; /* offset of a bool in pdl_output_options, or -1 */
    pdl_status (*write)(const pdl_prediction *p, const pdl_config *cfg, const uint8_t *image,
                        const char *path, pdl_error *err);
} maps[] = {
    {".png", -1, write_panoptic_png},
    {"_sem.png", offsetof(pdl_output_options, semantic), write_semantic_png},
    {"_ins.png", offsetof(pdl_output_options, instance), write_instance_png},
    {"_vis.png", offsetof(pdl_output_options, vis), write_vis_png},
};
#define MAP_COUNT (sizeof maps / sizeof maps[0])

static bool map_wanted(size_t k, const pdl_output_options *opt)
{
    return maps[k].option < 0 || *(const bool *)((const char *)opt + maps[k].option);
}

int pdl_prediction_files(const pdl_output_options *opt, const char *suffix[PDL_PREDICTION_FILES])
{
    int n = 0;
    for (size_t k = 0; k < MAP_COUNT; k++)
        if (map_wanted(k, opt))
            suffix[n++] = maps[k].suffix;
    suffix[n++] = ".json";
    return n;
}

pdl_status pdl_prediction_write(const pdl_prediction *p, const pdl_config *cfg, const uint8_t *rgb,
                                const char *base, const char *image_id,
                                const pdl_output_options *opt, pdl_error *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s_vis.png", base) >= (int)sizeof path)
        return pdl_fail(err, PDL_ERR_ARG, "%s: output path too long", base);
    pdl_status st = PDL_OK;
    size_t written[MAP_COUNT], nwritten = 0;
    for (size_t k = 0; k < MAP_COUNT && st == PDL_OK; k++) {
        if (!map_wanted(k, opt))
            continue;
        snprintf(path, sizeof path, "%s%s", base, maps[k].suffix);
        st = maps[k].write(p, cfg, rgb, path, err);
        if (st == PDL_OK)
            written[nwritten++] = k;
    }
    if (st == PDL_OK) {
        const char *slash = strrchr(base, '/');
        snprintf(path, sizeof path, "%s.png", slash ? slash + 1 : base);
        json_t *obj = pdl_prediction_json(p, cfg, path, image_id);
        snprintf(path, sizeof path, "%s.json", base);
        st = obj ? pdl_atomic_write_json(path, obj, JSON_COMPACT, err)
                 : pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
        json_decref(obj);
    }
    /* A failed image leaves none of its new files, and once one of them had
     * replaced a file of an earlier run, that run's JSON (which marks a
     * complete set) goes too: a partial set would mislead a reader until
     * --resume redoes it. */
    for (size_t i = 0; st != PDL_OK && i < nwritten; i++) {
        snprintf(path, sizeof path, "%s%s", base, maps[written[i]].suffix);
        unlink(path);
    }
    if (st != PDL_OK && nwritten > 0) {
        snprintf(path, sizeof path, "%s.json", base);
        unlink(path);
    }
    return st;
}
