/* image_decode.c - the public entry points of image decoding: read a file,
 * pick the decoder by magic bytes, enforce the size limit.
 *
 * The format is decided by content only, so a JPEG named x.png still decodes
 * and a text file named x.jpg gets "not a PNG or JPEG image".
 */
#include "image_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Larger files cannot hold an image within PDL_IMAGE_MAX_PIXELS in any sane encoding. */
#define MAX_FILE_BYTES ((uint64_t)2 << 30)

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_magic[3] = {0xff, 0xd8, 0xff};

static bool is_png(const uint8_t *buf, size_t len)
{
    return len >= sizeof png_magic && memcmp(buf, png_magic, sizeof png_magic) == 0;
}

static bool is_jpeg(const uint8_t *buf, size_t len)
{
    return len >= sizeof jpeg_magic && memcmp(buf, jpeg_magic, sizeof jpeg_magic) == 0;
}

bool pdl_image_sniff(const uint8_t *buf, size_t len)
{
    return buf && (is_png(buf, len) || is_jpeg(buf, len));
}

pdl_status pdl_image_alloc(pdl_image *img, uint64_t w, uint64_t h, uint64_t max_pixels,
                           const char *name, pdl_error *err)
{
    if (w == 0 || h == 0)
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: image has zero width or height", name);
    /* w and h come from 32-bit header fields, so w * h cannot overflow 64 bits. */
    if (w > UINT32_MAX || h > UINT32_MAX || w * h > max_pixels)
        return pdl_fail(err, PDL_ERR_LIMIT, "%s: image is %llux%llu, more than %llu pixels", name,
                        (unsigned long long)w, (unsigned long long)h,
                        (unsigned long long)max_pixels);
    if (w * h > SIZE_MAX / 3 || w > INT32_MAX || h > INT32_MAX)
        return pdl_fail(err, PDL_ERR_LIMIT, "%s: image is %llux%llu, too large for this machine",
                        name, (unsigned long long)w, (unsigned long long)h);
    img->rgb = malloc((size_t)(w * h * 3));
    if (!img->rgb)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory for a %llux%llu image", name,
                        (unsigned long long)w, (unsigned long long)h);
    img->width = (int)w;
    img->height = (int)h;
    return PDL_OK;
}

void pdl_image_free(pdl_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

pdl_status pdl_image_decode_limited(const uint8_t *buf, size_t len, const char *name,
                                    uint64_t max_pixels, pdl_image *out, pdl_error *err)
{
    out->width = out->height = 0;
    out->rgb = NULL;
    if (max_pixels > PDL_IMAGE_MAX_PIXELS)
        max_pixels = PDL_IMAGE_MAX_PIXELS;
    if (len == 0)
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: empty file", name);
    pdl_status st;
    if (is_png(buf, len))
        st = pdl_png_decode(buf, len, name, max_pixels, out, err);
    else if (is_jpeg(buf, len))
        st = pdl_jpeg_decode(buf, len, name, max_pixels, out, err);
    else
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: not a PNG or JPEG image", name);
    if (st != PDL_OK)
        pdl_image_free(out);
    return st;
}

pdl_status pdl_image_decode(const uint8_t *buf, size_t len, const char *name, pdl_image *out,
                            pdl_error *err)
{
    return pdl_image_decode_limited(buf, len, name, PDL_IMAGE_MAX_PIXELS, out, err);
}

/* Reads all of fd into a fresh buffer of exactly size bytes. */
static pdl_status read_all(int fd, const char *path, uint8_t *buf, size_t size, pdl_error *err)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return pdl_fail(err, PDL_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        if (n == 0)
            return pdl_fail(err, PDL_ERR_IO, "%s: file shrank while being read", path);
        got += (size_t)n;
    }
    return PDL_OK;
}

pdl_status pdl_image_load(const char *path, pdl_image *out, pdl_error *err)
{
    out->width = out->height = 0;
    out->rgb = NULL;
    /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer before
     * the regular-file test below could refuse it (no effect on files). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return pdl_fail(err, PDL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    pdl_status st = PDL_OK;
    if (fstat(fd, &sb) != 0)
        st = pdl_fail(err, PDL_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = pdl_fail(err, PDL_ERR_IO, "%s: is a directory", path);
    else if (!S_ISREG(sb.st_mode))
        st = pdl_fail(err, PDL_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)sb.st_size > MAX_FILE_BYTES)
        st = pdl_fail(err, PDL_ERR_LIMIT, "%s: file is %lld bytes, more than %llu", path,
                      (long long)sb.st_size, (unsigned long long)MAX_FILE_BYTES);
    if (st != PDL_OK) {
        close(fd);
        return st;
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    st = read_all(fd, path, buf, size, err);
    close(fd);
    if (st == PDL_OK)
        st = pdl_image_decode(buf, size, path, out, err);
    free(buf);
    return st;
}
