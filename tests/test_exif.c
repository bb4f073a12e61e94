/* test_exif.c - EXIF orientation against PIL. tests/ref/exif_orientation.txt
 * (written by tests/ref/exif_orientation.py with PIL, using Detectron2's
 * orientation -> transpose table) says, for each orientation and two image
 * sizes, which source pixel lands at each output pixel. We check
 * pdl_image_orient directly and full JPEG decodes with an EXIF APP1 segment in
 * both byte orders. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"
#include "support/tsup_image.h"

#define REF_PATH "tests/ref/exif_orientation.txt"

typedef struct exif_case {
    int w, h, orientation, out_w, out_h;
    int *src; /* out_w * out_h source indices */
} exif_case;

/* Reads all cases; returns their number (16 expected: 2 sizes x 8). */
static int read_cases(exif_case *cases, int max)
{
    FILE *fp = fopen(REF_PATH, "r");
    cr_assert_not_null(fp, "cannot open %s (run tests from the repository root)", REF_PATH);
    int n = 0;
    exif_case c;
    while (n < max && fscanf(fp, "%d %d %d %d %d", &c.w, &c.h, &c.orientation, &c.out_w, &c.out_h) == 5) {
        c.src = malloc((size_t)c.out_w * (size_t)c.out_h * sizeof *c.src);
        for (int i = 0; i < c.out_w * c.out_h; i++)
            cr_assert_eq(fscanf(fp, "%d", &c.src[i]), 1);
        cases[n++] = c;
    }
    fclose(fp);
    return n;
}

static void free_cases(exif_case *cases, int n)
{
    for (int i = 0; i < n; i++)
        free(cases[i].src);
}

/* out must equal in permuted as the reference case says. */
static void assert_permuted(const pdl_image *in, const pdl_image *out, const exif_case *c,
                            const char *what)
{
    cr_assert_eq(out->width, c->out_w, "%s orientation %d", what, c->orientation);
    cr_assert_eq(out->height, c->out_h, "%s orientation %d", what, c->orientation);
    for (int i = 0; i < c->out_w * c->out_h; i++)
        cr_assert_arr_eq(out->rgb + 3 * i, in->rgb + 3 * c->src[i], 3,
                         "%s %dx%d orientation %d output pixel %d", what, c->w, c->h,
                         c->orientation, i);
}

Test(exif, orient_matches_pil)
{
    exif_case cases[32];
    int n = read_cases(cases, 32);
    cr_assert_eq(n, 16);
    for (int k = 0; k < n; k++) {
        size_t bytes = (size_t)cases[k].w * (size_t)cases[k].h * 3;
        pdl_image src = {cases[k].w, cases[k].h, malloc(bytes)};
        tsup_img_fill_random(src.rgb, bytes, 40 + (uint64_t)k);
        pdl_image img = {src.width, src.height, malloc(bytes)};
        memcpy(img.rgb, src.rgb, bytes);
        cr_assert_eq(pdl_image_orient(&img, cases[k].orientation, "o", NULL), PDL_OK);
        assert_permuted(&src, &img, &cases[k], "orient");
        pdl_image_free(&img);
        pdl_image_free(&src);
    }
    free_cases(cases, n);
}

static pdl_image decode_or_fail(const tsup_buf *b)
{
    pdl_image img;
    pdl_error err;
    cr_assert_eq(pdl_image_decode(b->data, b->len, "e.jpg", &img, &err), PDL_OK, "%s", err.msg);
    return img;
}

/* The JPEG with an orientation tag decodes to the untagged JPEG's pixels,
 * permuted as PIL permutes them: both hold the same compressed data. */
Test(exif, jpeg_orientation_matches_pil)
{
    exif_case cases[32];
    int n = read_cases(cases, 32);
    for (int k = 0; k < n; k++)
        for (int be = 0; be < 2; be++) {
            exif_case *c = &cases[k];
            size_t bytes = (size_t)c->w * (size_t)c->h * 3;
            uint8_t *px = malloc(bytes), app1[32];
            tsup_img_fill_random(px, bytes, 77 + (uint64_t)k);
            size_t app1_len = tsup_img_exif_app1(app1, c->orientation, be);
            cr_assert_eq(pdl_exif_orientation(app1, app1_len), c->orientation);
            tsup_buf plain = tsup_img_jpeg(c->w, c->h, 3, false, px, 90, NULL, 0);
            tsup_buf tagged = tsup_img_jpeg(c->w, c->h, 3, false, px, 90, app1, app1_len);
            pdl_image base = decode_or_fail(&plain), img = decode_or_fail(&tagged);
            assert_permuted(&base, &img, c, be ? "jpeg MM" : "jpeg II");
            pdl_image_free(&base);
            pdl_image_free(&img);
            free(plain.data);
            free(tagged.data);
            free(px);
        }
    free_cases(cases, n);
}

/* Orientation values outside 1..8 and unreadable EXIF leave the image alone,
 * as Detectron2 does (no transpose method / getexif() failure). */
Test(exif, invalid_or_unreadable_exif_ignored)
{
    uint8_t px[7 * 5 * 3];
    tsup_img_fill_random(px, sizeof px, 3);
    tsup_buf plain = tsup_img_jpeg(7, 5, 3, false, px, 90, NULL, 0);
    pdl_image base = decode_or_fail(&plain);

    uint8_t app1s[6][40];
    size_t lens[6];
    lens[0] = tsup_img_exif_app1(app1s[0], 0, true);
    lens[1] = tsup_img_exif_app1(app1s[1], 9, false);
    lens[2] = tsup_img_exif_app1(app1s[2], 0x0106, true); /* 6 in the wrong byte order */
    memcpy(app1s[3], "Exif\0\0garbage-not-a-tiff-header!", lens[3] = 32);
    tsup_img_exif_app1(app1s[4], 6, true);
    lens[4] = 6 + 16; /* segment ends inside the Orientation entry */
    memcpy(app1s[5], "http://ns.adobe.com/xap/1.0/\0<x/>", lens[5] = 34); /* XMP, not EXIF */
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(pdl_exif_orientation(app1s[i], lens[i]), 0, "case %d", i);
        tsup_buf tagged = tsup_img_jpeg(7, 5, 3, false, px, 90, app1s[i], lens[i]);
        pdl_image img = decode_or_fail(&tagged);
        cr_assert(img.width == 7 && img.height == 5, "case %d", i);
        cr_assert_arr_eq(img.rgb, base.rgb, sizeof px, "case %d", i);
        pdl_image_free(&img);
        free(tagged.data);
    }
    cr_assert_eq(pdl_exif_orientation(NULL, 0), 0);
    cr_assert_eq(pdl_exif_orientation(app1s[0], 3), 0);
    pdl_image_free(&base);
    free(plain.data);
}
