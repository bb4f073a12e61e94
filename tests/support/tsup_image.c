/* tsup_image.c - test-image generators and file helpers; see tsup_image.h.
 * Encoding goes straight through libpng/libjpeg so the tests do not depend on
 * the code they check. Any library failure aborts the test via cr_assert. */
#include "tsup_image.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

uint32_t tsup_img_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

void tsup_img_fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)tsup_img_rand(&seed);
}

int tsup_img_png_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return 2;
    case PNG_COLOR_TYPE_RGB:
        return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA:
        return 4;
    default:
        return 1;
    }
}

static void mem_write(png_structp png, png_bytep data, size_t n)
{
    tsup_buf *b = png_get_io_ptr(png);
    b->data = realloc(b->data, b->len + n);
    cr_assert_not_null(b->data);
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* Packs one row of samples into PNG's byte layout (sub-byte depths MSB first,
 * 16-bit big-endian). */
static void pack_row(const tsup_png_spec *s, const uint16_t *src, uint8_t *dst, size_t n)
{
    if (s->depth == 16) {
        for (size_t i = 0; i < n; i++) {
            dst[2 * i] = (uint8_t)(src[i] >> 8);
            dst[2 * i + 1] = (uint8_t)src[i];
        }
    } else if (s->depth == 8) {
        for (size_t i = 0; i < n; i++)
            dst[i] = (uint8_t)src[i];
    } else {
        int per_byte = 8 / s->depth;
        memset(dst, 0, (n + (size_t)per_byte - 1) / (size_t)per_byte);
        for (size_t i = 0; i < n; i++)
            dst[i / (size_t)per_byte] |=
                (uint8_t)(src[i] << (8 - s->depth * (int)(i % (size_t)per_byte + 1)));
    }
}

tsup_buf tsup_img_png(const tsup_png_spec *s)
{
    tsup_buf out = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    cr_assert(!setjmp(png_jmpbuf(png)), "libpng failed while writing a test PNG");
    png_set_write_fn(png, &out, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth, s->color_type,
                 s->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette) {
        png_color pal[256];
        for (int i = 0; i < s->npalette; i++)
            pal[i] = (png_color){s->palette[3 * i], s->palette[3 * i + 1], s->palette[3 * i + 2]};
        png_set_PLTE(png, info, pal, s->npalette);
    }
    if (s->trns_alpha)
        png_set_tRNS(png, info, s->trns_alpha, s->ntrns, NULL);
    if (s->trns_color) {
        png_color_16 c = {0, s->trns_value[0], s->trns_value[1], s->trns_value[2],
                          s->trns_value[0]};
        png_set_tRNS(png, info, NULL, 0, &c);
    }
    png_write_info(png, info);
    size_t per_row = (size_t)s->w * (size_t)tsup_img_png_channels(s->color_type);
    size_t row_bytes = png_get_rowbytes(png, info);
    uint8_t *rows = calloc((size_t)s->h, row_bytes);
    png_bytep *ptrs = malloc((size_t)s->h * sizeof *ptrs);
    cr_assert(rows && ptrs);
    for (int y = 0; y < s->h; y++) {
        ptrs[y] = rows + (size_t)y * row_bytes;
        pack_row(s, s->samples + (size_t)y * per_row, ptrs[y], per_row);
    }
    if (s->interlaced)
        png_set_interlace_handling(png);
    png_write_image(png, ptrs);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(ptrs);
    return out;
}

tsup_buf tsup_img_jpeg(int w, int h, int components, bool ycck, const uint8_t *px, int quality,
                       const uint8_t *app1, size_t app1_len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr); /* default error_exit exits: fine in a test process */
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    jpeg_mem_dest(&c, &mem, &mem_len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    if (components == 4 && ycck)
        jpeg_set_colorspace(&c, JCS_YCCK);
    for (int i = 0; i < c.num_components; i++)
        c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (app1)
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned int)app1_len);
    size_t stride = (size_t)w * (size_t)components;
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + c.next_scanline * stride);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    tsup_buf out = {malloc(mem_len), mem_len};
    cr_assert_not_null(out.data);
    memcpy(out.data, mem, mem_len);
    free(mem);
    return out;
}

static void put16(uint8_t *p, unsigned v, bool be)
{
    p[be ? 0 : 1] = (uint8_t)(v >> 8);
    p[be ? 1 : 0] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v, bool be)
{
    for (int i = 0; i < 4; i++)
        p[be ? i : 3 - i] = (uint8_t)(v >> (24 - 8 * i));
}

size_t tsup_img_exif_app1(uint8_t *out, int orientation, bool be)
{
    memcpy(out, "Exif\0\0", 6);
    uint8_t *t = out + 6; /* TIFF header; offsets below are relative to it */
    t[0] = t[1] = be ? 'M' : 'I';
    put16(t + 2, 42, be);
    put32(t + 4, 8, be);  /* IFD0 offset */
    put16(t + 8, 1, be);  /* one entry */
    put16(t + 10, 0x0112, be);
    put16(t + 12, 3, be); /* SHORT */
    put32(t + 14, 1, be); /* count */
    put16(t + 18, (unsigned)orientation, be);
    put16(t + 20, 0, be);  /* padding of the 4-byte value field */
    put32(t + 22, 0, be);  /* no next IFD */
    return 6 + 26;
}

bool tsup_img_png_read_raw(const char *path, int *w, int *h, int *color_type, int *depth,
                           uint16_t **samples)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    uint8_t *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        fclose(fp);
        return false;
    }
    png_init_io(png, fp);
    png_read_info(png, info);
    *w = (int)png_get_image_width(png, info);
    *h = (int)png_get_image_height(png, info);
    *color_type = png_get_color_type(png, info);
    *depth = png_get_bit_depth(png, info);
    size_t rb = png_get_rowbytes(png, info);
    rows = malloc((size_t)*h * rb);
    cr_assert_not_null(rows);
    for (int y = 0; y < *h; y++)
        png_read_row(png, rows + (size_t)y * rb, NULL);
    size_t n = (size_t)*w * (size_t)*h * (size_t)tsup_img_png_channels(*color_type);
    *samples = malloc(n * sizeof **samples);
    cr_assert_not_null(*samples);
    size_t per_row = n / (size_t)*h;
    for (int y = 0; y < *h; y++)
        for (size_t i = 0; i < per_row; i++) {
            const uint8_t *r = rows + (size_t)y * rb;
            (*samples)[(size_t)y * per_row + i] =
                *depth == 16 ? (uint16_t)(r[2 * i] << 8 | r[2 * i + 1]) : r[i];
        }
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    fclose(fp);
    return true;
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

void tsup_img_png_fix_crc(uint8_t *png, size_t off)
{
    uint32_t len = (uint32_t)png[off] << 24 | png[off + 1] << 16 | png[off + 2] << 8 | png[off + 3];
    put32(png + off + 8 + len, crc32_png(png + off + 4, 4 + (size_t)len), true);
}

void tsup_img_tmpdir(char *dir, size_t size)
{
    cr_assert(size >= 32);
    snprintf(dir, size, "/tmp/pdl-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tsup_img_rmtree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tsup_img_write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp, "%s", path);
    cr_assert_eq(fwrite(data, 1, len, fp), len);
    cr_assert_eq(fclose(fp), 0);
}

bool tsup_img_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}
