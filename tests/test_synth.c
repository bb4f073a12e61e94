/* test_synth.c - procedural scenes: determinism, ground truth consistent with
 * its segment list (recounted independently here), class coverage. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <stdio.h>

#include "image.h"
#include "synth.h"

static const pdl_synth_class *class_by_id(int id)
{
    for (int i = 0; i < PDL_SYNTH_NUM_CLASSES; i++)
        if (pdl_synth_classes[i].id == id)
            return &pdl_synth_classes[i];
    return NULL;
}

Test(synth, same_seed_same_scene_other_seed_other_scene)
{
    pdl_synth_scene a, b, c;
    cr_assert_eq(pdl_synth_render(96, 64, 7, 3, &a, NULL), PDL_OK);
    cr_assert_eq(pdl_synth_render(96, 64, 7, 3, &b, NULL), PDL_OK);
    cr_assert_eq(pdl_synth_render(96, 64, 8, 3, &c, NULL), PDL_OK);
    cr_assert_eq(memcmp(a.rgb, b.rgb, 96 * 64 * 3), 0);
    cr_assert_eq(memcmp(a.ids, b.ids, 96 * 64 * 4), 0);
    cr_assert_neq(memcmp(a.rgb, c.rgb, 96 * 64 * 3), 0);
    pdl_synth_free(&a);
    pdl_synth_free(&b);
    pdl_synth_free(&c);
}

Test(synth, segments_match_the_id_map)
{
    for (uint64_t index = 0; index < 12; index++) {
        pdl_synth_scene s;
        int w = 131, h = 77;
        cr_assert_eq(pdl_synth_render(w, h, 1, index, &s, NULL), PDL_OK);
        int64_t total = 0;
        for (int k = 0; k < s.nsegments; k++) {
            const pdl_synth_segment *seg = &s.segments[k];
            const pdl_synth_class *cls = class_by_id(seg->category_id);
            cr_assert_not_null(cls, "segment %u has unknown category %d", seg->id, seg->category_id);
            cr_assert(!seg->iscrowd || cls->isthing, "crowd segment of a stuff class");
            for (int j = 0; j < k; j++)
                cr_assert_neq(s.segments[j].id, seg->id, "duplicate segment id");
            int64_t area = 0;
            int x0 = w, y0 = h, x1 = -1, y1 = -1;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    if (s.ids[y * w + x] == seg->id) {
                        area++;
                        x0 = x < x0 ? x : x0;
                        y0 = y < y0 ? y : y0;
                        x1 = x > x1 ? x : x1;
                        y1 = y > y1 ? y : y1;
                    }
            cr_assert_gt(area, 0);
            cr_assert_eq(area, seg->area, "segment %u area", seg->id);
            cr_assert_eq(seg->bbox[0], x0);
            cr_assert_eq(seg->bbox[1], y0);
            cr_assert_eq(seg->bbox[2], x1 - x0 + 1);
            cr_assert_eq(seg->bbox[3], y1 - y0 + 1);
            total += area;
        }
        /* Every pixel belongs to a listed segment (synthetic scenes have no void). */
        cr_assert_eq(total, (int64_t)w * h);
        pdl_synth_free(&s);
    }
}

Test(synth, scenes_cover_every_class_and_varied_sizes)
{
    int seen[PDL_SYNTH_NUM_CLASSES + 1] = {0};
    int64_t smallest = INT64_MAX, largest = 0;
    bool crowd = false;
    for (uint64_t index = 0; index < 40; index++) {
        pdl_synth_scene s;
        cr_assert_eq(pdl_synth_render(128, 128, 1000, index, &s, NULL), PDL_OK);
        for (int k = 0; k < s.nsegments; k++) {
            const pdl_synth_segment *seg = &s.segments[k];
            seen[seg->category_id]++;
            crowd |= seg->iscrowd;
            if (class_by_id(seg->category_id)->isthing && !seg->iscrowd) {
                smallest = seg->area < smallest ? seg->area : smallest;
                largest = seg->area > largest ? seg->area : largest;
            }
        }
        pdl_synth_free(&s);
    }
    for (int c = 1; c <= PDL_SYNTH_NUM_CLASSES; c++)
        cr_assert_gt(seen[c], 0, "class %d never appears", c);
    cr_assert(crowd, "no crowd region in 40 scenes");
    cr_assert_lt(smallest, 100, "no small instance");
    cr_assert_gt(largest, 1000, "no large instance");
}

Test(synth, refuses_bad_sizes)
{
    pdl_synth_scene s;
    pdl_error err;
    cr_assert_eq(pdl_synth_render(4, 64, 0, 0, &s, &err), PDL_ERR_ARG);
    cr_assert(strstr(err.msg, "4x64") || strstr(err.msg, "64"), "%s", err.msg);
    cr_assert_eq(pdl_synth_render(64, 100000, 0, 0, &s, &err), PDL_ERR_ARG);
}

/* The written dataset must be what panopticapi expects: every PNG id listed in
 * segments_info with its area, and nothing listed that is not in the PNG. */
Test(synth, written_dataset_is_valid_coco_panoptic)
{
    char dir[] = "/tmp/pdl_synth_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    pdl_error err;
    cr_assert_eq(pdl_synth_write_dataset(dir, 6, 1001, 80, 60, &err), PDL_OK, "%s", err.msg);
    char path[512];
    snprintf(path, sizeof path, "%s/panoptic.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    cr_assert_not_null(root, "%s", jerr.text);
    json_t *anns = json_object_get(root, "annotations");
    cr_assert_eq(json_array_size(anns), 6);
    cr_assert_eq(json_array_size(json_object_get(root, "categories")), PDL_SYNTH_NUM_CLASSES);
    size_t i;
    json_t *ann;
    json_array_foreach(anns, i, ann) {
        snprintf(path, sizeof path, "%s/panoptic/%s", dir,
                 json_string_value(json_object_get(ann, "file_name")));
        pdl_image png;
        cr_assert_eq(pdl_image_load(path, &png, &err), PDL_OK, "%s", err.msg);
        cr_assert_eq(png.width, 80);
        cr_assert_eq(png.height, 60);
        json_t *segs = json_object_get(ann, "segments_info");
        size_t k;
        json_t *seg;
        int64_t listed = 0;
        json_array_foreach(segs, k, seg) {
            uint32_t id = (uint32_t)json_integer_value(json_object_get(seg, "id"));
            int64_t area = 0;
            for (int p = 0; p < 80 * 60; p++) {
                const uint8_t *c = png.rgb + 3 * p;
                area += (uint32_t)(c[0] + 256 * c[1] + 65536 * c[2]) == id;
            }
            cr_assert_gt(area, 0, "segment %u not in the PNG", id);
            cr_assert_eq(area, json_integer_value(json_object_get(seg, "area")));
            listed += area;
        }
        cr_assert_eq(listed, 80 * 60, "PNG has ids not listed in segments_info");
        pdl_image_free(&png);
        snprintf(path, sizeof path, "%s/images/%s", dir,
                 json_string_value(json_object_get(ann, "file_name")));
        cr_assert_eq(pdl_image_load(path, &png, &err), PDL_OK, "%s", err.msg);
        pdl_image_free(&png);
    }
    json_decref(root);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
