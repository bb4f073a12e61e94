/* test_image.c - PNG/JPEG decoding: every PNG colour type and bit depth
 * (exact pixels), JPEG within a stated tolerance, EXIF orientation against
 * PIL's answer (tests/ref/exif_orientation.txt), and bad input of every kind. */
#include <criterion/criterion.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "image_internal.h"
#include "support/tsup_image.h"

static uint8_t to8(uint16_t v, int depth)
{
    if (depth == 16)
        return (uint8_t)(v >> 8); /* high byte, as PIL does for 16-bit colour */
    if (depth < 8)
        return (uint8_t)(v * 255 / ((1 << depth) - 1)); /* bit replication == exact scaling */
    return (uint8_t)v;
}

/* Encodes a random PNG of the given kind, decodes it, compares every pixel
 * with the value computed from the samples. */
static void check_png(int ctype, int depth, bool interlaced, bool trns, int w, int h, uint64_t seed)
{
    int ch = tsup_img_png_channels(ctype);
    size_t n = (size_t)w * (size_t)h * (size_t)ch;
    uint16_t *samples = malloc(n * sizeof *samples);
    uint8_t palette[256 * 3], alpha[256];
    int npal = depth >= 8 ? 256 : 1 << depth;
    tsup_img_fill_random(palette, sizeof palette, seed + 1);
    tsup_img_fill_random(alpha, sizeof alpha, seed + 2);
    uint32_t max = ctype == PNG_COLOR_TYPE_PALETTE ? (uint32_t)npal : 1u << depth;
    for (size_t i = 0; i < n; i++)
        samples[i] = (uint16_t)(tsup_img_rand(&seed) % max);
    tsup_png_spec spec = {.w = w, .h = h, .color_type = ctype, .depth = depth,
                          .interlaced = interlaced, .samples = samples};
    if (ctype == PNG_COLOR_TYPE_PALETTE) {
        spec.palette = palette;
        spec.npalette = npal;
        if (trns) {
            spec.trns_alpha = alpha;
            spec.ntrns = npal > 1 ? npal / 2 : 1;
        }
    } else if (trns) { /* key colour = first pixel, so some pixels are "transparent" */
        spec.trns_color = true;
        for (int c = 0; c < ch; c++)
            spec.trns_value[c] = samples[c];
    }
    tsup_buf png = tsup_img_png(&spec);
    pdl_image img;
    pdl_error err;
    pdl_status st = pdl_image_decode(png.data, png.len, "t.png", &img, &err);
    cr_assert_eq(st, PDL_OK, "type %d depth %d: %s", ctype, depth, err.msg);
    cr_assert_eq(img.width, w);
    cr_assert_eq(img.height, h);
    for (size_t p = 0; p < (size_t)w * (size_t)h; p++) {
        uint8_t want[3];
        const uint16_t *s = samples + p * (size_t)ch;
        if (ctype == PNG_COLOR_TYPE_PALETTE)
            memcpy(want, palette + 3 * s[0], 3);
        else if (ch <= 2) /* grey, grey + alpha */
            want[0] = want[1] = want[2] = to8(s[0], depth);
        else
            for (int c = 0; c < 3; c++)
                want[c] = to8(s[c], depth);
        cr_assert_arr_eq(img.rgb + 3 * p, want, 3, "type %d depth %d interlaced %d trns %d %dx%d pixel %zu",
                         ctype, depth, interlaced, trns, w, h, p);
    }
    pdl_image_free(&img);
    cr_assert_null(img.rgb);
    free(png.data);
    free(samples);
}

Test(image, png_every_colour_type_and_depth_exact)
{
    static const struct {
        int ctype, depths[5], ndepths;
        bool has_trns;
    } kinds[] = {
        {PNG_COLOR_TYPE_GRAY, {1, 2, 4, 8, 16}, 5, true},
        {PNG_COLOR_TYPE_GRAY_ALPHA, {8, 16}, 2, false},
        {PNG_COLOR_TYPE_RGB, {8, 16}, 2, true},
        {PNG_COLOR_TYPE_RGB_ALPHA, {8, 16}, 2, false},
        {PNG_COLOR_TYPE_PALETTE, {1, 2, 4, 8}, 4, true},
    };
    static const int sizes[][2] = {{1, 1}, {13, 7}, {37, 29}, {3, 40}};
    uint64_t seed = 1;
    int cases = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int d = 0; d < kinds[k].ndepths; d++)
            for (int il = 0; il < 2; il++)
                for (int trns = 0; trns <= (int)kinds[k].has_trns; trns++)
                    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++, cases++)
                        check_png(kinds[k].ctype, kinds[k].depths[d], il, trns, sizes[s][0],
                                  sizes[s][1], seed++ * 7919);
    cr_assert_eq(cases, 26 * 2 * 4);
}

static uint8_t *random_pixels(int w, int h, int ch, uint64_t seed)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * (size_t)ch);
    tsup_img_fill_random(px, (size_t)w * (size_t)h * (size_t)ch, seed);
    return px;
}

/* Largest and mean absolute difference between two byte arrays. */
static void diff_stats(const uint8_t *a, const uint8_t *b, size_t n, int *max, double *mean)
{
    long sum = 0;
    *max = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        sum += d;
        if (d > *max)
            *max = d;
    }
    *mean = (double)sum / (double)n;
}

/* Quality 100 with 4:4:4 sampling: quantisation steps are 1, so what remains
 * is DCT rounding and the YCbCr round trip. On these random pixels (the worst
 * case) libjpeg-turbo 2.1.5 gave at most 4 levels off, mean 0.49 (RGB) and
 * 1 / 0.10 (grey); the bounds leave a little room for other builds. A swapped
 * channel, a wrong stride or a shifted row gives errors near 85 on average. */
#define JPEG_MAX_ABS_ERR 6
#define JPEG_MEAN_ABS_ERR 1.0

Test(image, jpeg_rgb_and_grey_within_tolerance)
{
    static const int sizes[][2] = {{1, 1}, {17, 9}, {64, 48}, {5, 70}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ch = 1; ch <= 3; ch += 2) {
            int w = sizes[s][0], h = sizes[s][1];
            uint8_t *px = random_pixels(w, h, ch, 100 + s * 3 + (size_t)ch);
            tsup_buf jpg = tsup_img_jpeg(w, h, ch, false, px, 100, NULL, 0);
            pdl_image img;
            pdl_error err;
            cr_assert_eq(pdl_image_decode(jpg.data, jpg.len, "t.jpg", &img, &err), PDL_OK, "%s",
                         err.msg);
            cr_assert_eq(img.width, w);
            cr_assert_eq(img.height, h);
            size_t np = (size_t)w * (size_t)h;
            uint8_t *want = malloc(np * 3);
            for (size_t p = 0; p < np; p++)
                for (int c = 0; c < 3; c++)
                    want[3 * p + (size_t)c] = px[p * (size_t)ch + (ch == 3 ? (size_t)c : 0)];
            int max;
            double mean;
            diff_stats(img.rgb, want, np * 3, &max, &mean);
            cr_assert(max <= JPEG_MAX_ABS_ERR && mean <= JPEG_MEAN_ABS_ERR,
                      "%dx%d ch %d: max %d mean %.3f", w, h, ch, max, mean);
            if (ch == 1) /* grey must come out as three equal channels */
                for (size_t p = 0; p < np; p++)
                    cr_assert(img.rgb[3 * p] == img.rgb[3 * p + 1] &&
                              img.rgb[3 * p] == img.rgb[3 * p + 2]);
            pdl_image_free(&img);
            free(want);
            free(px);
            free(jpg.data);
        }
}

Test(image, cmyk_and_ycck_jpeg_refused)
{
    for (int ycck = 0; ycck < 2; ycck++) {
        uint8_t *px = random_pixels(8, 8, 4, 7);
        tsup_buf jpg = tsup_img_jpeg(8, 8, 4, ycck, px, 90, NULL, 0);
        pdl_image img = {1, 1, NULL};
        pdl_error err;
        cr_assert_eq(pdl_image_decode(jpg.data, jpg.len, "c.jpg", &img, &err), PDL_ERR_UNSUPPORTED);
        cr_assert_str_eq(err.msg, "c.jpg: CMYK JPEG is not supported");
        cr_assert(img.rgb == NULL && img.width == 0 && img.height == 0);
        free(px);
        free(jpg.data);
    }
}

Test(image, format_by_content_not_name)
{
    char dir[64], path[128];
    tsup_img_tmpdir(dir, sizeof dir);
    uint8_t *px = random_pixels(9, 4, 3, 11);
    tsup_buf jpg = tsup_img_jpeg(9, 4, 3, false, px, 95, NULL, 0);
    snprintf(path, sizeof path, "%s/really_a_jpeg.png", dir);
    tsup_img_write_file(path, jpg.data, jpg.len);
    pdl_image img;
    pdl_error err;
    cr_assert_eq(pdl_image_load(path, &img, &err), PDL_OK, "%s", err.msg);
    cr_assert(img.width == 9 && img.height == 4);
    pdl_image_free(&img);
    pdl_image_free(&img); /* freeing twice is harmless */
    tsup_img_rmtree(dir);
    free(px);
    free(jpg.data);
}

Test(image, sniff)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jpg[3] = {0xff, 0xd8, 0xff};
    cr_assert(pdl_image_sniff(png, 8));
    cr_assert_not(pdl_image_sniff(png, 7));
    cr_assert(pdl_image_sniff(jpg, 3));
    cr_assert_not(pdl_image_sniff(jpg, 2));
    cr_assert_not(pdl_image_sniff((const uint8_t *)"GIF89a..", 8));
    cr_assert_not(pdl_image_sniff((const uint8_t *)"\xff\xd8\x00", 3));
    cr_assert_not(pdl_image_sniff(NULL, 0));
}

Test(image, pixel_limit_boundary)
{
    uint16_t samples[10 * 10 * 3];
    uint64_t seed = 5;
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        samples[i] = (uint16_t)(tsup_img_rand(&seed) & 255);
    tsup_png_spec spec = {.w = 10, .h = 10, .color_type = PNG_COLOR_TYPE_RGB, .depth = 8,
                          .samples = samples};
    tsup_buf png = tsup_img_png(&spec);
    pdl_image img;
    pdl_error err;
    cr_assert_eq(pdl_image_decode_limited(png.data, png.len, "l.png", 100, &img, &err), PDL_OK);
    pdl_image_free(&img);
    cr_assert_eq(pdl_image_decode_limited(png.data, png.len, "l.png", 99, &img, &err), PDL_ERR_LIMIT);
    cr_assert_str_eq(err.msg, "l.png: image is 10x10, more than 99 pixels");
    cr_assert_null(img.rgb);
    free(png.data);
}

/* Files decoded by Detectron2's reader (PIL + _apply_exif_orientation +
 * convert("RGB")), written by tests/ref/pil_decode.py. PIL uses the same
 * libjpeg-turbo with the same defaults, so even 4:2:0, 4:2:2, progressive and
 * EXIF-rotated JPEGs must match exactly. */
Test(image, matches_detectron2_reader)
{
    static const char *names[] = {"q85_420.jpg", "q75_progressive.jpg", "q90_422.jpg", "grey.jpg",
                                  "orient8.jpg", "palette.png", "rgba.png"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256], ref_path[260];
        snprintf(path, sizeof path, "tests/ref/pil_decode/%s", names[i]);
        snprintf(ref_path, sizeof ref_path, "%s.rgb", path);
        FILE *fp = fopen(ref_path, "rb");
        cr_assert_not_null(fp, "%s (run tests from the repository root)", ref_path);
        int w, h;
        cr_assert_eq(fscanf(fp, "%d %d", &w, &h), 2);
        cr_assert_eq(fgetc(fp), '\n');
        size_t n = (size_t)w * (size_t)h * 3;
        uint8_t *want = malloc(n);
        cr_assert_eq(fread(want, 1, n, fp), n, "%s short", ref_path);
        fclose(fp);
        pdl_image img;
        pdl_error err;
        cr_assert_eq(pdl_image_load(path, &img, &err), PDL_OK, "%s", err.msg);
        cr_assert(img.width == w && img.height == h, "%s: %dx%d, PIL %dx%d", names[i], img.width,
                  img.height, w, h);
        int max;
        double mean;
        diff_stats(img.rgb, want, n, &max, &mean);
        cr_assert_eq(max, 0, "%s: max diff %d, mean %.3f", names[i], max, mean);
        pdl_image_free(&img);
        free(want);
    }
}
