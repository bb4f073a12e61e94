/* synth_dataset.c - writes a folder of synthetic scenes in COCO-panoptic
 * format: images/NAME.png, panoptic/NAME.png and panoptic.json.
 *
 * Scenes are rendered and written in parallel (each is independent); the JSON
 * is assembled afterwards in index order so the output is byte-identical at
 * any thread count.
 */
#include "synth.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "image.h"
#include "make_dirs.h"

static void scene_name(char *buf, size_t size, uint64_t seed, int index)
{
    snprintf(buf, size, "synth_%llu_%06d", (unsigned long long)seed, index);
}

static pdl_status write_scene(const char *dir, const pdl_synth_scene *s, const char *name,
                              pdl_error *err)
{
    char path[PATH_MAX];
    size_t npix = (size_t)s->width * (size_t)s->height;
    snprintf(path, sizeof path, "%s/images/%s.png", dir, name);
    pdl_status st = pdl_png_write_rgb8(path, s->width, s->height, s->rgb, err);
    if (st != PDL_OK)
        return st;
    uint8_t *label = malloc(npix * 3);
    if (!label)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < npix; i++) {
        label[3 * i] = (uint8_t)(s->ids[i] & 0xff);
        label[3 * i + 1] = (uint8_t)((s->ids[i] >> 8) & 0xff);
        label[3 * i + 2] = (uint8_t)((s->ids[i] >> 16) & 0xff);
    }
    snprintf(path, sizeof path, "%s/panoptic/%s.png", dir, name);
    st = pdl_png_write_rgb8(path, s->width, s->height, label, err);
    free(label);
    return st;
}

static json_t *segments_json(const pdl_synth_scene *s)
{
    json_t *list = json_array();
    for (int k = 0; k < s->nsegments; k++) {
        const pdl_synth_segment *g = &s->segments[k];
        json_array_append_new(
            list, json_pack("{s:I, s:i, s:i, s:I, s:[i,i,i,i]}", "id", (json_int_t)g->id,
                            "category_id", g->category_id, "iscrowd", g->iscrowd ? 1 : 0, "area",
                            (json_int_t)g->area, "bbox", g->bbox[0], g->bbox[1], g->bbox[2],
                            g->bbox[3]));
    }
    return list;
}

static json_t *categories_json(void)
{
    json_t *cats = json_array();
    for (int i = 0; i < PDL_SYNTH_NUM_CLASSES; i++) {
        const pdl_synth_class *c = &pdl_synth_classes[i];
        json_array_append_new(cats, json_pack("{s:i, s:s, s:s, s:i, s:[i,i,i]}", "id", c->id,
                                              "name", c->name, "supercategory",
                                              c->isthing ? "thing" : "stuff", "isthing",
                                              c->isthing ? 1 : 0, "color", c->color[0],
                                              c->color[1], c->color[2]));
    }
    return cats;
}

pdl_status pdl_synth_write_dataset(const char *dir, int n, uint64_t seed, int width, int height,
                                   pdl_error *err)
{
    if (n < 1)
        return pdl_fail(err, PDL_ERR_ARG, "synth: scene count must be positive");
    char sub[PATH_MAX];
    pdl_status st = pdl_make_dirs(dir, err);
    snprintf(sub, sizeof sub, "%s/images", dir);
    if (st == PDL_OK)
        st = pdl_make_dirs(sub, err);
    snprintf(sub, sizeof sub, "%s/panoptic", dir);
    if (st == PDL_OK)
        st = pdl_make_dirs(sub, err);
    if (st != PDL_OK)
        return st;

    json_t **segments = calloc((size_t)n, sizeof *segments);
    if (!segments)
        return pdl_fail(err, PDL_ERR_NOMEM, "synth: out of memory");
    int failed = 0;
    pdl_error first = {0};
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < n; i++) {
        pdl_synth_scene s;
        pdl_error e;
        char name[64];
        scene_name(name, sizeof name, seed, i);
        pdl_status r = pdl_synth_render(width, height, seed, (uint64_t)i, &s, &e);
        if (r == PDL_OK) {
            r = write_scene(dir, &s, name, &e);
            segments[i] = segments_json(&s);
            pdl_synth_free(&s);
        }
        if (r != PDL_OK) {
#pragma omp critical
            if (!failed++)
                first = e;
        }
    }
    if (failed) {
        for (int i = 0; i < n; i++)
            json_decref(segments[i]);
        free(segments);
        *err = first;
        return first.code;
    }

    json_t *images = json_array(), *annotations = json_array();
    for (int i = 0; i < n; i++) {
        char name[64], file[80];
        scene_name(name, sizeof name, seed, i);
        snprintf(file, sizeof file, "%s.png", name);
        /* String ids equal to the file stem, as Cityscapes panoptic uses, so
         * `panoptic predict` (which names images by their stem) matches them. */
        json_array_append_new(images, json_pack("{s:s, s:s, s:i, s:i}", "id", name, "file_name",
                                                file, "width", width, "height", height));
        json_array_append_new(annotations, json_pack("{s:s, s:s, s:o}", "image_id", name,
                                                     "file_name", file, "segments_info", segments[i]));
    }
    free(segments);
    json_t *root = json_pack("{s:o, s:o, s:o, s:{s:s, s:I}}", "images", images, "annotations",
                             annotations, "categories", categories_json(), "info", "description",
                             "panoptic synth", "seed", (json_int_t)seed);
    snprintf(sub, sizeof sub, "%s/panoptic.json", dir);
    st = pdl_atomic_write_json(sub, root, JSON_INDENT(1), err);
    json_decref(root);
    return st;
}
