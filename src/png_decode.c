/* png_decode.c - PNG to 8-bit RGB with libpng, matching PIL's convert("RGB").
 *
 * libpng reports errors by longjmp. All state that must survive the jump
 * (the output image, the row pointers, the message) lives in a png_job owned
 * by the caller of the function that calls setjmp, so nothing depends on the
 * value of a local variable modified between setjmp and longjmp, and one
 * cleanup path frees everything on success and on every error.
 */
#include "image_internal.h"
#include "png_errors.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

/* Caps libpng's allocation for any single chunk (defence in depth: the
 * ancillary chunks that could be large are skipped anyway). */
#define PNG_CHUNK_MAX (8u << 20)

struct png_job {
    const uint8_t *buf;
    size_t len, pos;
    const char *name;
    uint64_t max_pixels;
    pdl_image *out;
    png_bytep *rows;
    char msg[PDL_PNG_MSG_SIZE];
};

static void read_mem(png_structp png, png_bytep dst, size_t n)
{
    struct png_job *job = png_get_io_ptr(png);
    if (n > job->len - job->pos)
        png_error(png, "unexpected end of file");
    memcpy(dst, job->buf + job->pos, n);
    job->pos += n;
}

/* Asks libpng for 8-bit RGB whatever the colour type and bit depth. tRNS is
 * expanded to alpha by the palette/expand transforms and stripped with it.
 * 16-bit samples keep their high byte, as PIL does for 16-bit colour PNGs
 * (for 16-bit grey PIL clips the value to 255, which we do not copy). */
static void set_transforms(png_structp png, png_infop info)
{
    int depth = png_get_bit_depth(png, info);
    int ctype = png_get_color_type(png, info);
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16)
        png_set_strip_16(png);
    if ((ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_strip_alpha(png);
    if (!(ctype & PNG_COLOR_MASK_COLOR))
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* Everything that can longjmp happens here; returns PDL_OK or the error. */
static pdl_status run(struct png_job *job, png_structp png, png_infop info, pdl_error *err)
{
    if (setjmp(png_jmpbuf(png)))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: corrupt or truncated PNG (%s)", job->name,
                        job->msg);
    png_set_read_fn(png, job, read_mem);
    /* Skip every ancillary chunk except tRNS (text, ICC profiles, ...): none
     * changes the RGB we return, and each is parsing work and attack surface. */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MAX);
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    pdl_status st = pdl_image_alloc(job->out, w, h, job->max_pixels, job->name, err);
    if (st != PDL_OK)
        return st;
    set_transforms(png, info);
    size_t stride = (size_t)w * 3;
    if (png_get_rowbytes(png, info) != stride)
        png_error(png, "unexpected row layout after transforms");

    job->rows = malloc((size_t)h * sizeof *job->rows);
    if (!job->rows)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory for row pointers", job->name);
    for (png_uint_32 y = 0; y < h; y++)
        job->rows[y] = job->out->rgb + (size_t)y * stride;
    png_read_image(png, job->rows);
    return PDL_OK;
}

pdl_status pdl_png_decode(const uint8_t *buf, size_t len, const char *name, uint64_t max_pixels,
                          pdl_image *out, pdl_error *err)
{
    if (pdl_png_decode_fast(buf, len, max_pixels, out))
        return PDL_OK;
    struct png_job job = {.buf = buf, .len = len, .name = name, .max_pixels = max_pixels,
                          .out = out};
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, job.msg, pdl_png_on_error, pdl_png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    pdl_status st = info ? run(&job, png, info, err)
                         : pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory for libpng", name);
    png_destroy_read_struct(&png, &info, NULL);
    free(job.rows);
    if (st != PDL_OK)
        pdl_image_free(out);
    return st;
}
