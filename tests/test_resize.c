/* test_resize.c - our bilinear resize against Pillow's output, bit for bit, and
 * Detectron2's ResizeShortestEdge shapes (references: tests/ref/pil_resize.py). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "resize.h"

#define REF "tests/ref/pil_resize/"

static void check_case(const char *name)
{
    char path[256];
    pdl_image in, want;
    pdl_error err;
    snprintf(path, sizeof path, REF "%s_in.png", name);
    cr_assert_eq(pdl_image_load(path, &in, &err), PDL_OK, "%s", err.msg);
    snprintf(path, sizeof path, REF "%s_out.png", name);
    cr_assert_eq(pdl_image_load(path, &want, &err), PDL_OK, "%s", err.msg);
    size_t n = (size_t)want.width * want.height * 3;
    uint8_t *got = malloc(n);
    cr_assert_eq(pdl_resize_rgb8(in.rgb, in.width, in.height, got, want.width, want.height, &err),
                 PDL_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(got[i], want.rgb[i], "%s: byte %zu (x %zu, y %zu, c %zu): got %d, Pillow %d",
                     name, i, i / 3 % want.width, i / 3 / want.width, i % 3, got[i], want.rgb[i]);
    free(got);
    pdl_image_free(&in);
    pdl_image_free(&want);
}

Test(resize, matches_pillow_exactly)
{
    const char *cases[] = {"down2x", "down_odd", "down_big", "up_odd", "mixed",
                           "width_only", "height_only", "to_one", "from_one"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(cases[i]);
}

Test(resize, same_size_is_a_copy)
{
    uint8_t src[5 * 4 * 3], dst[5 * 4 * 3];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 37 + 11);
    cr_assert_eq(pdl_resize_rgb8(src, 5, 4, dst, 5, 4, NULL), PDL_OK);
    cr_assert_eq(memcmp(src, dst, sizeof src), 0);
}

Test(resize, refuses_empty_sizes)
{
    uint8_t px[3] = {1, 2, 3};
    pdl_error err;
    cr_assert_eq(pdl_resize_rgb8(px, 1, 1, px, 0, 1, &err), PDL_ERR_ARG);
}

Test(resize, shortest_edge_shapes_match_detectron2)
{
    FILE *f = fopen(REF "shapes.txt", "r");
    cr_assert_not_null(f);
    int h, w, s, m, eh, ew, rows = 0;
    while (fscanf(f, "%d %d %d %d %d %d", &h, &w, &s, &m, &eh, &ew) == 6) {
        int oh, ow;
        pdl_resize_shortest_edge_shape(h, w, s, m, &oh, &ow);
        /* where Detectron2 rounds a side to 0 (and then fails), one pixel */
        eh = eh ? eh : 1;
        ew = ew ? ew : 1;
        cr_assert(oh == eh && ow == ew, "%dx%d (%d, %d): got %dx%d, want %dx%d", h, w, s, m, oh, ow,
                  eh, ew);
        rows++;
    }
    fclose(f);
    cr_assert_gt(rows, 10);
    int oh, ow;
    pdl_resize_shortest_edge_shape(300, 200, 0, 0, &oh, &ow);
    cr_assert(oh == 300 && ow == 200);
    pdl_resize_shortest_edge_shape(1, 200, 8, 8, &oh, &ow);
    cr_assert(oh == 1 && ow == 8, "got %dx%d", oh, ow);
}
