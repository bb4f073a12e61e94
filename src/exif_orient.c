/* exif_orient.c - EXIF Orientation, read with libexif and applied exactly as
 * Detectron2's _apply_exif_orientation does (PIL Image.transpose):
 *   2 FLIP_LEFT_RIGHT  3 ROTATE_180  4 FLIP_TOP_BOTTOM  5 TRANSPOSE
 *   6 ROTATE_270 (90 degrees clockwise)  7 TRANSVERSE  8 ROTATE_90 (counter-clockwise)
 * Each is "maybe swap the axes, then maybe mirror the source x and/or y"; the
 * table below was checked against PIL by tests/ref/exif_orientation.py.
 * Unreadable EXIF is ignored, as Detectron2 ignores getexif() failures.
 */
#include "image_internal.h"

#include <libexif/exif-data.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int pdl_exif_orientation(const uint8_t *app1, size_t len)
{
    if (!app1 || len < 6 || len > UINT32_MAX)
        return 0;
    ExifData *ed = exif_data_new();
    if (!ed)
        return 0;
    /* Read what is there; do not let libexif "repair" the data, which would
     * add default tags the file does not have. */
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_set_option(ed, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
    exif_data_load_data(ed, app1, (unsigned int)len);
    int orientation = 0;
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->components >= 1 && e->data) {
        ExifByteOrder order = exif_data_get_byte_order(ed);
        if (e->format == EXIF_FORMAT_SHORT && e->size >= 2)
            orientation = exif_get_short(e->data, order);
        else if (e->format == EXIF_FORMAT_LONG && e->size >= 4)
            orientation = (int)(exif_get_long(e->data, order) & 0xffff);
    }
    exif_data_unref(ed);
    return orientation >= 1 && orientation <= 8 ? orientation : 0;
}

/* Output pixel (x, y) takes source pixel (sx, sy) with sx = swap ? y : x,
 * sy = swap ? x : y, then sx mirrored if flip_x, sy mirrored if flip_y. */
static const struct {
    bool swap, flip_x, flip_y;
} orient_maps[9] = {
    [2] = {false, true, false}, [3] = {false, true, true}, [4] = {false, false, true},
    [5] = {true, false, false}, [6] = {true, false, true}, [7] = {true, true, true},
    [8] = {true, true, false},
};

pdl_status pdl_image_orient(pdl_image *img, int orientation, const char *name, pdl_error *err)
{
    if (orientation < 2 || orientation > 8)
        return PDL_OK;
    bool swap = orient_maps[orientation].swap;
    bool flip_x = orient_maps[orientation].flip_x, flip_y = orient_maps[orientation].flip_y;
    size_t w = (size_t)img->width, h = (size_t)img->height;
    size_t ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *dst = malloc(w * h * 3); /* same size as the source, already checked */
    if (!dst)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory applying EXIF orientation", name);
    for (size_t y = 0; y < oh; y++) {
        uint8_t *d = dst + y * ow * 3;
        for (size_t x = 0; x < ow; x++) {
            size_t sx = swap ? y : x, sy = swap ? x : y;
            if (flip_x)
                sx = w - 1 - sx;
            if (flip_y)
                sy = h - 1 - sy;
            memcpy(d + x * 3, img->rgb + (sy * w + sx) * 3, 3);
        }
    }
    free(img->rgb);
    img->rgb = dst;
    img->width = (int)ow;
    img->height = (int)oh;
    return PDL_OK;
}
