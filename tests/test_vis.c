/* test_vis.c - overlay: blending, void dimming, borders, instance shades. */
#include <criterion/criterion.h>
#include <string.h>

#include "vis.h"

Test(vis, blends_dims_and_draws_borders)
{
    enum { W = 4, H = 3 };
    uint8_t rgb[W * H * 3], out[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        rgb[i] = (uint8_t)(40 + 13 * i % 200);
    /* Segment 0 on the left two columns, void on the right two. */
    int32_t seg[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            seg[y * W + x] = x < 2 ? 0 : -1;
    const uint8_t colours[1][3] = {{200, 10, 90}};
    pdl_vis_render(rgb, W, H, seg, colours, out);
    for (int y = 0; y < H; y++) {
        for (int c = 0; c < 3; c++) {
            int i0 = (y * W + 0) * 3 + c, i1 = (y * W + 1) * 3 + c;
            int i2 = (y * W + 2) * 3 + c, i3 = (y * W + 3) * 3 + c;
            cr_assert_eq(out[i0], (rgb[i0] * 2 + colours[0][c] * 3) / 5);
            cr_assert_eq(out[i1], 255, "border at x=1 (segment ends)");
            cr_assert_eq(out[i2], rgb[i2] / 2, "void dimmed");
            cr_assert_eq(out[i3], rgb[i3] / 2);
        }
    }
}

Test(vis, instances_of_a_class_get_distinct_shades)
{
    const uint8_t base[3] = {120, 130, 140};
    uint8_t shades[11][3];
    for (int k = 0; k < 11; k++)
        pdl_vis_segment_colour(base, k, shades[k]);
    cr_assert_eq(memcmp(shades[0], base, 3), 0, "stuff keeps the class colour");
    for (int a = 0; a < 11; a++)
        for (int b = a + 1; b < 11; b++)
            cr_assert_neq(memcmp(shades[a], shades[b], 3), 0, "instances %d and %d share a colour", a, b);
}
