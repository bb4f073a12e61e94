/* test_image_errors.c - bad input to the image decoder: truncation at every
 * cut point, corrupt bytes, empty/text/missing/directory paths, hostile
 * dimensions. Each must give a non-zero status and a one-line message that
 * names the file; no crash and no leak (make asan runs these too). */
#include <criterion/criterion.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "image.h"
#include "support/tsup_image.h"

static tsup_buf small_png(uint64_t seed)
{
    static uint16_t samples[23 * 11 * 3];
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        samples[i] = (uint16_t)(tsup_img_rand(&seed) & 255);
    tsup_png_spec spec = {.w = 23, .h = 11, .color_type = PNG_COLOR_TYPE_RGB, .depth = 8,
                          .samples = samples};
    return tsup_img_png(&spec);
}

static tsup_buf small_jpeg(uint64_t seed)
{
    uint8_t px[21 * 13 * 3];
    tsup_img_fill_random(px, sizeof px, seed);
    return tsup_img_jpeg(21, 13, 3, false, px, 90, NULL, 0);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The message must be one line naming the file. */
static void assert_error_shape(const pdl_error *err, const char *name)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", name);
    cr_assert(starts_with(err->msg, prefix), "message: %s", err->msg);
    cr_assert_null(strchr(err->msg, '\n'), "message: %s", err->msg);
}

/* A PNG cut anywhere before its final IEND chunk fails with the expected
 * message; cuts inside IEND decode (the image data is complete; PIL accepts
 * a missing IEND too) to the full image. */
Test(image_errors, png_truncated_at_every_cut)
{
    tsup_buf png = small_png(9);
    pdl_image full, img;
    pdl_error err;
    cr_assert_eq(pdl_image_decode(png.data, png.len, "cut.png", &full, &err), PDL_OK);
    for (size_t cut = 0; cut < png.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
        memcpy(copy, png.data, cut);
        pdl_status st = pdl_image_decode(copy, cut, "cut.png", &img, &err);
        if (cut >= png.len - 12) {
            cr_assert_eq(st, PDL_OK, "cut %zu: %s", cut, err.msg);
            cr_assert_arr_eq(img.rgb, full.rgb, 23 * 11 * 3);
            pdl_image_free(&img);
        } else {
            cr_assert_eq(st, PDL_ERR_FORMAT, "cut %zu of %zu", cut, png.len);
            cr_assert_null(img.rgb);
            const char *want = cut == 0  ? "cut.png: empty file"
                               : cut < 8 ? "cut.png: not a PNG or JPEG image"
                                         : "cut.png: corrupt or truncated PNG (";
            cr_assert(starts_with(err.msg, want), "cut %zu: %s", cut, err.msg);
        }
        free(copy);
    }
    pdl_image_free(&full);
    free(png.data);
}

/* Every byte after the signature up to IEND is covered by a chunk CRC (or is
 * a length or type that breaks the chunk structure), so any change fails. */
Test(image_errors, png_corrupt_byte_anywhere)
{
    tsup_buf png = small_png(10);
    uint64_t seed = 99;
    for (size_t pos = 8; pos < png.len - 12; pos++) {
        uint8_t *copy = malloc(png.len);
        memcpy(copy, png.data, png.len);
        copy[pos] ^= (uint8_t)(1 + tsup_img_rand(&seed) % 255);
        pdl_image img;
        pdl_error err;
        pdl_status st = pdl_image_decode(copy, png.len, "bad.png", &img, &err);
        cr_assert_neq(st, PDL_OK, "byte %zu changed, still decoded", pos);
        cr_assert_null(img.rgb);
        assert_error_shape(&err, "bad.png");
        free(copy);
    }
    free(png.data);
}

/* libjpeg runs out of data -> fatal for us. The last two bytes (EOI) may be
 * missing or not: either outcome is acceptable there. */
Test(image_errors, jpeg_truncated_at_every_cut)
{
    tsup_buf jpg = small_jpeg(12);
    for (size_t cut = 0; cut < jpg.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, jpg.data, cut);
        pdl_image img;
        pdl_error err;
        pdl_status st = pdl_image_decode(copy, cut, "cut.jpg", &img, &err);
        if (cut < jpg.len - 2) {
            cr_assert_eq(st, PDL_ERR_FORMAT, "cut %zu of %zu decoded", cut, jpg.len);
            cr_assert_null(img.rgb);
            const char *want = cut == 0  ? "cut.jpg: empty file"
                               : cut < 3 ? "cut.jpg: not a PNG or JPEG image"
                                         : "cut.jpg: corrupt or truncated JPEG (";
            cr_assert(starts_with(err.msg, want), "cut %zu: %s", cut, err.msg);
        } else if (st == PDL_OK) {
            pdl_image_free(&img);
        }
        free(copy);
    }
    free(jpg.data);
}

/* JPEG has no checksums and libjpeg decodes much damage to wrong pixels, as
 * PIL does; what must hold is: no crash, no leak, a sane result or an error
 * that names the file. */
Test(image_errors, jpeg_corrupt_bytes_no_crash)
{
    tsup_buf jpg = small_jpeg(13);
    uint64_t seed = 7;
    int failed = 0;
    for (int round = 0; round < 600; round++) {
        uint8_t *copy = malloc(jpg.len);
        memcpy(copy, jpg.data, jpg.len);
        int flips = 1 + (int)(tsup_img_rand(&seed) % 4);
        for (int f = 0; f < flips; f++)
            copy[3 + tsup_img_rand(&seed) % (jpg.len - 3)] ^= (uint8_t)(1 + tsup_img_rand(&seed) % 255);
        pdl_image img;
        pdl_error err;
        pdl_status st = pdl_image_decode(copy, jpg.len, "bad.jpg", &img, &err);
        if (st == PDL_OK) {
            cr_assert(img.width > 0 && img.height > 0 && img.rgb);
            pdl_image_free(&img);
        } else {
            failed++;
            cr_assert_null(img.rgb);
            assert_error_shape(&err, "bad.jpg");
        }
        free(copy);
    }
    cr_assert_gt(failed, 0, "600 damaged JPEGs and not one error: damage is not reaching the decoder");
    free(jpg.data);
}

Test(image_errors, bad_paths)
{
    char dir[64], path[128];
    tsup_img_tmpdir(dir, sizeof dir);
    pdl_image img;
    pdl_error err;

    snprintf(path, sizeof path, "%s/empty.png", dir);
    tsup_img_write_file(path, "", 0);
    cr_assert_eq(pdl_image_load(path, &img, &err), PDL_ERR_FORMAT);
    cr_assert(strstr(err.msg, "empty.png: empty file"), "%s", err.msg);

    snprintf(path, sizeof path, "%s/notes.jpg", dir);
    const char *text = "these are not the pixels you are looking for\n";
    tsup_img_write_file(path, text, strlen(text));
    cr_assert_eq(pdl_image_load(path, &img, &err), PDL_ERR_FORMAT);
    cr_assert(strstr(err.msg, "notes.jpg: not a PNG or JPEG image"), "%s", err.msg);

    snprintf(path, sizeof path, "%s/missing.png", dir);
    cr_assert_eq(pdl_image_load(path, &img, &err), PDL_ERR_IO);
    cr_assert(starts_with(err.msg, path) && strstr(err.msg, "No such file"), "%s", err.msg);

    cr_assert_eq(pdl_image_load(dir, &img, &err), PDL_ERR_IO);
    cr_assert(starts_with(err.msg, dir) && strstr(err.msg, "is a directory"), "%s", err.msg);
    cr_assert_null(img.rgb);

    /* a FIFO with no writer: refused at once, not waited on */
    snprintf(path, sizeof path, "%s/pipe.png", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    cr_assert_eq(pdl_image_load(path, &img, &err), PDL_ERR_IO);
    cr_assert(starts_with(err.msg, path) && strstr(err.msg, "not a regular file"), "%s", err.msg);
    tsup_img_rmtree(dir);
}

/* Without ASan (whose shadow memory needs a huge address space), cap this
 * process's address space so that allocating before checking the size would
 * show up as PDL_ERR_NOMEM instead of PDL_ERR_LIMIT. */
static void cap_address_space(void)
{
#ifndef __SANITIZE_ADDRESS__
    struct rlimit rl = {(rlim_t)2 << 30, (rlim_t)2 << 30};
    cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A valid small PNG whose IHDR (CRC fixed up) claims w x h. */
static tsup_buf png_claiming(uint32_t w, uint32_t h)
{
    tsup_buf png = small_png(14);
    put_be32(png.data + 16, w);
    put_be32(png.data + 20, h);
    tsup_img_png_fix_crc(png.data, 8);
    return png;
}

Test(image_errors, png_huge_dimensions_refused_before_allocating)
{
    cap_address_space();
    tsup_buf png = png_claiming(70000, 70000);
    pdl_image img;
    pdl_error err;
    cr_assert_eq(pdl_image_decode(png.data, png.len, "huge.png", &img, &err), PDL_ERR_LIMIT,
                 "%s", err.msg);
    cr_assert_str_eq(err.msg, "huge.png: image is 70000x70000, more than 268435456 pixels");
    free(png.data);

    png = png_claiming(16384, 16385); /* one row past 2^28 */
    cr_assert_eq(pdl_image_decode(png.data, png.len, "edge.png", &img, &err), PDL_ERR_LIMIT);
    free(png.data);
}

Test(image_errors, png_zero_width_refused)
{
    tsup_buf png = png_claiming(0, 11);
    pdl_image img;
    pdl_error err;
    cr_assert_eq(pdl_image_decode(png.data, png.len, "zero.png", &img, &err), PDL_ERR_FORMAT);
    cr_assert(starts_with(err.msg, "zero.png: corrupt or truncated PNG ("), "%s", err.msg);
    free(png.data);
}

/* Offset of the baseline SOF0 segment's marker in a JPEG we produced. */
static size_t find_sof0(const tsup_buf *jpg)
{
    size_t pos = 2;
    while (pos + 4 < jpg->len && jpg->data[pos] == 0xff) {
        if (jpg->data[pos + 1] == 0xc0)
            return pos;
        pos += 2 + (size_t)(jpg->data[pos + 2] << 8 | jpg->data[pos + 3]);
    }
    cr_assert_fail("no SOF0 in test JPEG");
    return 0;
}

static tsup_buf jpeg_claiming(unsigned w, unsigned h)
{
    tsup_buf jpg = small_jpeg(15);
    size_t sof = find_sof0(&jpg);
    jpg.data[sof + 5] = (uint8_t)(h >> 8);
    jpg.data[sof + 6] = (uint8_t)h;
    jpg.data[sof + 7] = (uint8_t)(w >> 8);
    jpg.data[sof + 8] = (uint8_t)w;
    return jpg;
}

Test(image_errors, jpeg_huge_and_zero_dimensions)
{
    cap_address_space();
    tsup_buf jpg = jpeg_claiming(65000, 65000);
    pdl_image img;
    pdl_error err;
    cr_assert_eq(pdl_image_decode(jpg.data, jpg.len, "huge.jpg", &img, &err), PDL_ERR_LIMIT, "%s",
                 err.msg);
    cr_assert_str_eq(err.msg, "huge.jpg: image is 65000x65000, more than 268435456 pixels");
    free(jpg.data);

    jpg = jpeg_claiming(21, 0);
    cr_assert_neq(pdl_image_decode(jpg.data, jpg.len, "zero.jpg", &img, &err), PDL_OK);
    assert_error_shape(&err, "zero.jpg");
    cr_assert_null(img.rgb);
    free(jpg.data);
}
