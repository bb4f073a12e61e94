/* test_png_fast.c - the libdeflate PNG fast path against libpng.
 *
 * PNGs are encoded here with libpng, forcing each row filter, RGB and RGBA,
 * one or many IDAT chunks; the fast path must take them and give exactly the
 * pixels libpng's own decoder gives. Files it must leave to libpng
 * (interlaced, 16-bit, palette, grey, bad CRC, truncated, over the pixel
 * limit) must be refused, and pdl_image_decode must then still report libpng's
 * error for the broken ones.
 */
#include <criterion/criterion.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

typedef struct mem_png {
    uint8_t *data;
    size_t len, cap;
} mem_png;

static void mem_write(png_structp png, png_bytep src, size_t n)
{
    mem_png *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        m->cap = 2 * (m->len + n);
        m->data = realloc(m->data, m->cap);
        cr_assert_not_null(m->data);
    }
    memcpy(m->data + m->len, src, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

typedef struct encode_opts {
    int ctype, depth, filters, interlace;
    size_t zbuf; /* compression buffer size: small values give many IDATs */
} encode_opts;

/* Random samples in stretches of three kinds: flat, any value, and values
 * 0..3 (which make Paeth predictor ties common). */
static uint8_t *random_samples(int w, int h, int channels, int bytes, unsigned seed)
{
    size_t n = (size_t)w * h * channels * bytes;
    uint8_t *px = malloc(n);
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        int kind = (int)(i / 97 % 3);
        px[i] = kind == 0 ? (uint8_t)(i / 997) : kind == 1 ? (uint8_t)rand() : (uint8_t)(rand() & 3);
    }
    return px;
}

static mem_png encode(int w, int h, const uint8_t *px, const encode_opts *o)
{
    mem_png m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, o->depth, o->ctype, o->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (o->ctype == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < 256; i++)
            pal[i] = (png_color){(png_byte)i, (png_byte)(255 - i), (png_byte)(i * 7)};
        png_set_PLTE(png, info, pal, 256);
    }
    png_set_filter(png, 0, o->filters);
    if (o->zbuf)
        png_set_compression_buffer_size(png, o->zbuf);
    png_write_info(png, info);
    size_t stride = png_get_rowbytes(png, info);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < h; y++)
            png_write_row(png, px + (size_t)y * stride);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return m;
}

/* libpng's decode of the same bytes, as 8-bit RGB. It is asked for RGBA and
 * the alpha dropped: asked for RGB, the simplified API would composite. */
static uint8_t *libpng_rgb(const mem_png *m, int *w, int *h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_memory(&img, m->data, m->len), "%s", img.message);
    img.format = PNG_FORMAT_RGBA;
    uint8_t *rgba = malloc(PNG_IMAGE_SIZE(img));
    cr_assert(png_image_finish_read(&img, NULL, rgba, 0, NULL), "%s", img.message);
    *w = (int)img.width;
    *h = (int)img.height;
    size_t n = (size_t)img.width * img.height;
    uint8_t *rgb = malloc(3 * n);
    for (size_t i = 0; i < n; i++)
        memcpy(rgb + 3 * i, rgba + 4 * i, 3);
    free(rgba);
    return rgb;
}

static void expect_fast_equals_libpng(int ctype, int filters, size_t zbuf)
{
    int w = 37, h = 23, channels = ctype == PNG_COLOR_TYPE_RGB ? 3 : 4;
    uint8_t *px = random_samples(w, h, channels, 1, (unsigned)(filters * 31 + channels));
    encode_opts o = {ctype, 8, filters, PNG_INTERLACE_NONE, zbuf};
    mem_png m = encode(w, h, px, &o);
    int rw, rh;
    uint8_t *want = libpng_rgb(&m, &rw, &rh);
    pdl_image got = {0};
    cr_assert(pdl_png_decode_fast(m.data, m.len, PDL_IMAGE_MAX_PIXELS, &got),
              "fast path refused ctype %d filters %#x", ctype, filters);
    cr_assert_eq(got.width, rw);
    cr_assert_eq(got.height, rh);
    cr_assert_arr_eq(got.rgb, want, (size_t)w * h * 3, "ctype %d filters %#x", ctype, filters);
    pdl_image_free(&got);
    free(want);
    free(m.data);
    free(px);
}

Test(png_fast, every_filter_rgb_and_rgba_matches_libpng)
{
    const int filters[] = {PNG_FILTER_NONE, PNG_FILTER_SUB, PNG_FILTER_UP, PNG_FILTER_AVG,
                           PNG_FILTER_PAETH, PNG_ALL_FILTERS};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        expect_fast_equals_libpng(PNG_COLOR_TYPE_RGB, filters[i], 0);
        expect_fast_equals_libpng(PNG_COLOR_TYPE_RGB_ALPHA, filters[i], 0);
    }
}

Test(png_fast, many_idat_chunks_match_libpng)
{
    expect_fast_equals_libpng(PNG_COLOR_TYPE_RGB, PNG_ALL_FILTERS, 64);
    expect_fast_equals_libpng(PNG_COLOR_TYPE_RGB_ALPHA, PNG_FILTER_PAETH, 100);
}

static mem_png encode_kind(int ctype, int depth, int interlace)
{
    int channels = ctype == PNG_COLOR_TYPE_RGB ? 3 : ctype == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : 1;
    uint8_t *px = random_samples(16, 9, channels, depth / 8, 5);
    encode_opts o = {ctype, depth, PNG_ALL_FILTERS, interlace, 0};
    mem_png m = encode(16, 9, px, &o);
    free(px);
    return m;
}

static void expect_refused(const mem_png *m, uint64_t max_pixels, const char *what)
{
    pdl_image out = {0};
    cr_assert_not(pdl_png_decode_fast(m->data, m->len, max_pixels, &out), "took %s", what);
    cr_assert_null(out.rgb);
}

Test(png_fast, other_kinds_are_left_to_libpng)
{
    mem_png m = encode_kind(PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7);
    expect_refused(&m, PDL_IMAGE_MAX_PIXELS, "interlaced");
    free(m.data);
    m = encode_kind(PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE);
    expect_refused(&m, PDL_IMAGE_MAX_PIXELS, "16-bit");
    free(m.data);
    m = encode_kind(PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE);
    expect_refused(&m, PDL_IMAGE_MAX_PIXELS, "palette");
    free(m.data);
    m = encode_kind(PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE);
    expect_refused(&m, PDL_IMAGE_MAX_PIXELS, "grey");
    free(m.data);
    m = encode_kind(PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE);
    expect_refused(&m, 16 * 9 - 1, "over the pixel limit");
    free(m.data);
}

/* Broken files: refused by the fast path, and pdl_image_decode still fails
 * with a format error naming the file (libpng's verdict). */
Test(png_fast, broken_files_fall_back_to_libpng_errors)
{
    for (int kind = 0; kind < 3; kind++) {
        mem_png m = encode_kind(PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE);
        const char *what = kind == 0 ? "bad IDAT CRC" : kind == 1 ? "truncated" : "bad IHDR";
        if (kind == 0)
            m.data[m.len - 12 - 8] ^= 0x55; /* last byte of the IDAT's data */
        else if (kind == 1)
            m.len -= 30;
        else
            m.data[8 + 8 + 8] = 7; /* bit depth 7 (CRC now wrong too) */
        expect_refused(&m, PDL_IMAGE_MAX_PIXELS, what);
        pdl_image out = {0};
        pdl_error err;
        cr_assert_neq(pdl_image_decode(m.data, m.len, "broken.png", &out, &err), PDL_OK, "%s", what);
        cr_assert(strstr(err.msg, "broken.png"), "%s: %s", what, err.msg);
        cr_assert_null(out.rgb);
        free(m.data);
    }
}
