/* vis.h - a picture of a panoptic map for people to look at.
 *
 * Each segment is blended over the image in its class colour; instances of
 * one class get different shades so neighbours stay apart; segment borders
 * are drawn as thin white lines; void is left as the image, dimmed.
 */
#ifndef PDL_VIS_H
#define PDL_VIS_H

#include <stdbool.h>
#include <stdint.h>

/* The colour of a segment: its class colour, shaded by instance number (0 for
 * stuff) so same-class instances differ. */
void pdl_vis_segment_colour(const uint8_t class_colour[3], int instance, uint8_t out[3]);

/* rgb: the image (w x h x 3); segment: per pixel a segment index or -1 for
 * void; colours: per segment. Writes w x h x 3 to out. */
void pdl_vis_render(const uint8_t *rgb, int w, int h, const int32_t *segment,
                    const uint8_t (*colours)[3], uint8_t *out);

#endif
