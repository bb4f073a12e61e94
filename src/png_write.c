/* png_write.c - PNG encoders for the outputs (panoptic RGB ids, 8/16-bit grey
 * label maps, colour overlays), written atomically through atomic_file.h.
 *
 * Settings: the "Up" filter with zlib's Z_RLE strategy at level 1. Label maps
 * are large constant regions: Up turns vertically repeated rows into zeros and
 * RLE codes the runs. On a 2048x1024 RGB map with 60 Voronoi segments this
 * took 12 ms for 48 KB, against 38 ms / 69 KB for libpng's default adaptive
 * filtering at level 1 and 21 ms / 32 KB at level 5; on a noisy photo-like
 * overlay it was also the fastest filtered choice (56 ms, 3.0 MB vs 127 ms,
 * 3.5 MB). As in png_decode.c, state that must survive libpng's longjmp lives
 * in a job owned by the caller of the setjmp function.
 */
#include "atomic_file.h"
#include "image.h"
#include "png_errors.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct png_wjob {
    const char *path;
    png_uint_32 w, h;
    int color_type, bit_depth;
    size_t stride;
    const uint8_t *px;
    png_bytep *rows;
    char msg[PDL_PNG_MSG_SIZE];
};

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Everything that can longjmp happens here; returns PDL_OK or the error. */
static pdl_status run(struct png_wjob *job, png_structp png, png_infop info, FILE *fp,
                      pdl_error *err)
{
    if (setjmp(png_jmpbuf(png)))
        return pdl_fail(err, PDL_ERR_IO, "%s: cannot write PNG (%s)", job->path, job->msg);
    png_init_io(png, fp);
    png_set_IHDR(png, info, job->w, job->h, job->bit_depth, job->color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_UP);
    png_set_compression_level(png, 1);
    png_set_compression_strategy(png, Z_RLE);
    png_write_info(png, info);
    if (job->bit_depth == 16 && host_is_little_endian())
        png_set_swap(png); /* PNG stores 16-bit samples big-endian */
    job->rows = malloc((size_t)job->h * sizeof *job->rows);
    if (!job->rows)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory for row pointers", job->path);
    for (png_uint_32 y = 0; y < job->h; y++)
        job->rows[y] = (png_bytep)(job->px + (size_t)y * job->stride);
    png_write_image(png, job->rows);
    png_write_end(png, NULL);
    return PDL_OK;
}

static pdl_status write_png(const char *path, int w, int h, int color_type, int bit_depth,
                            size_t bytes_per_px, const void *px, pdl_error *err)
{
    if (w <= 0 || h <= 0 || !px)
        return pdl_fail(err, PDL_ERR_ARG, "%s: cannot write a %dx%d image", path, w, h);
    /* PNG allows 2^31-1 per side; the row size must also fit size_t. */
    if ((uint64_t)w * bytes_per_px > SIZE_MAX / (uint64_t)h)
        return pdl_fail(err, PDL_ERR_LIMIT, "%s: image %dx%d is too large", path, w, h);
    struct png_wjob job = {.path = path, .w = (png_uint_32)w, .h = (png_uint_32)h,
                           .color_type = color_type, .bit_depth = bit_depth,
                           .stride = (size_t)w * bytes_per_px, .px = px};
    pdl_atomic_file af;
    pdl_status st = pdl_atomic_open(path, &af, err);
    if (st != PDL_OK)
        return st;
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, job.msg, pdl_png_on_error, pdl_png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    st = info ? run(&job, png, info, af.fp, err)
              : pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory for libpng", path);
    png_destroy_write_struct(&png, &info);
    free(job.rows);
    if (st != PDL_OK) {
        pdl_atomic_abort(&af);
        return st;
    }
    return pdl_atomic_commit(&af, err);
}

pdl_status pdl_png_write_rgb8(const char *path, int w, int h, const uint8_t *rgb, pdl_error *err)
{
    return write_png(path, w, h, PNG_COLOR_TYPE_RGB, 8, 3, rgb, err);
}

pdl_status pdl_png_write_gray8(const char *path, int w, int h, const uint8_t *px, pdl_error *err)
{
    return write_png(path, w, h, PNG_COLOR_TYPE_GRAY, 8, 1, px, err);
}

pdl_status pdl_png_write_gray16(const char *path, int w, int h, const uint16_t *px, pdl_error *err)
{
    return write_png(path, w, h, PNG_COLOR_TYPE_GRAY, 16, 2, px, err);
}
