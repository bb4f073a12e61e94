/* jpeg_decode.c - JPEG to 8-bit RGB with libjpeg-turbo, then EXIF orientation.
 *
 * libjpeg reports fatal errors through error_exit, which must not return: we
 * longjmp back. As in png_decode.c, all state that must survive the jump lives
 * in a jpeg_job owned by the caller of the setjmp function, and a single
 * cleanup path runs on success and on every error.
 *
 * libjpeg treats running out of data as a warning and pads the image with
 * grey; we make that warning fatal, so a truncated file is an error (as in
 * PIL) rather than a silently half-grey image. Other corrupt-data warnings
 * are tolerated, as PIL tolerates them. Default decoder settings (islow DCT,
 * fancy upsampling) are PIL's, so pixels match Detectron2's reader.
 */
#include "image_internal.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/* A progressive JPEG with thousands of tiny scans costs minutes to decode;
 * libjpeg-turbo's own tools refuse more than 500 (TJFLAG_LIMITSCANS). */
#define MAX_SCANS 500

struct jpeg_job {
    struct jpeg_error_mgr jerr; /* first: error_exit casts cinfo->err back to the job */
    struct jpeg_progress_mgr progress;
    struct jpeg_decompress_struct cinfo;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
    const char *name;
    uint64_t max_pixels;
    pdl_image *out;
};

static void on_error_exit(j_common_ptr cinfo)
{
    struct jpeg_job *job = (struct jpeg_job *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, job->msg);
    longjmp(job->jmp, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        on_error_exit(cinfo);
    if (level < 0)
        cinfo->err->num_warnings++;
}

static void on_output_message(j_common_ptr cinfo)
{
    (void)cinfo; /* library code never prints */
}

static void on_progress(j_common_ptr cinfo)
{
    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > MAX_SCANS) {
        struct jpeg_job *job = (struct jpeg_job *)cinfo->err;
        snprintf(job->msg, sizeof job->msg, "more than %d scans", MAX_SCANS);
        longjmp(job->jmp, 1);
    }
}

/* The orientation from the first APP1 segment holding EXIF data, else 0. */
static int exif_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return pdl_exif_orientation(m->data, m->data_length);
    return 0;
}

/* Everything that can longjmp happens here; returns PDL_OK or the error. */
static pdl_status run(struct jpeg_job *job, const uint8_t *buf, size_t len, pdl_error *err)
{
    j_decompress_ptr cinfo = &job->cinfo;
    if (setjmp(job->jmp))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: corrupt or truncated JPEG (%s)", job->name,
                        job->msg);
    jpeg_create_decompress(cinfo);
    cinfo->progress = &job->progress;
    /* Bounds libjpeg's own buffers (whole-image coefficients of progressive
     * files: 6 bytes per pixel plus block padding); beyond it, it fails. */
    uint64_t mem = job->max_pixels * 8 + (64u << 20);
    cinfo->mem->max_memory_to_use = mem > LONG_MAX ? LONG_MAX : (long)mem;
    jpeg_mem_src(cinfo, buf, (unsigned long)len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(cinfo, TRUE);

    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
        return pdl_fail(err, PDL_ERR_UNSUPPORTED, "%s: CMYK JPEG is not supported", job->name);
    if (cinfo->num_components != 1 && cinfo->num_components != 3)
        return pdl_fail(err, PDL_ERR_UNSUPPORTED, "%s: JPEG with %d colour components is not supported",
                        job->name, cinfo->num_components);
    pdl_status st = pdl_image_alloc(job->out, cinfo->image_width, cinfo->image_height,
                                    job->max_pixels, job->name, err);
    if (st != PDL_OK)
        return st;
    cinfo->out_color_space = JCS_RGB;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_width != cinfo->image_width || cinfo->output_height != cinfo->image_height ||
        cinfo->output_components != 3)
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: unexpected JPEG output layout", job->name);
    size_t stride = (size_t)cinfo->output_width * 3;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = job->out->rgb + (size_t)cinfo->output_scanline * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    return pdl_image_orient(job->out, exif_orientation(cinfo), job->name, err);
}

pdl_status pdl_jpeg_decode(const uint8_t *buf, size_t len, const char *name, uint64_t max_pixels,
                           pdl_image *out, pdl_error *err)
{
    struct jpeg_job job;
    memset(&job, 0, sizeof job);
    job.name = name;
    job.max_pixels = max_pixels;
    job.out = out;
    job.cinfo.err = jpeg_std_error(&job.jerr);
    job.jerr.error_exit = on_error_exit;
    job.jerr.emit_message = on_emit_message;
    job.jerr.output_message = on_output_message;
    job.progress.progress_monitor = on_progress;
    pdl_status st = run(&job, buf, len, err);
    /* Safe also when creation failed half-way: it frees only what exists. */
    jpeg_destroy_decompress(&job.cinfo);
    if (st != PDL_OK)
        pdl_image_free(out);
    return st;
}
