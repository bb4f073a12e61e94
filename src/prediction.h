/* prediction.h - one image's panoptic result, and writing it to disk.
 *
 * The map holds, per pixel of the original image, the index of its segment
 * in `segments` or -1 for void. Segment ids written to the PNG are index + 1,
 * so the COCO-panoptic PNG (id = R + 256 G + 256^2 B, 0 = void) and the
 * segments JSON agree by construction.
 */
#ifndef PDL_PREDICTION_H
#define PDL_PREDICTION_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "status.h"

typedef struct pdl_segment {
    int class_index;  /* into config.classes */
    int instance;     /* 1.. per class for things, 0 for stuff */
    int64_t area;
    int bbox[4];      /* x, y, width, height */
    float score;      /* things: objectness x mean class probability; stuff: mean class probability */
} pdl_segment;

typedef struct pdl_prediction {
    int width, height;
    int32_t *segment_of;  /* width * height */
    int nsegments, capacity;
    pdl_segment *segments;
} pdl_prediction;

typedef struct pdl_output_options {
    bool semantic;  /* NAME_sem.png: class index per pixel (255/65535 = void) */
    bool instance;  /* NAME_ins.png: 16-bit instance number per pixel (0 = stuff or void) */
    bool vis;       /* NAME_vis.png: overlay for people */
} pdl_output_options;

void pdl_prediction_free(pdl_prediction *p);

/* The most files one image can have. */
#define PDL_PREDICTION_FILES 5

/* The suffixes of the files pdl_prediction_write makes for BASE under `opt`,
 * in writing order (".png", the requested extras, ".json" last); returns how
 * many. */
int pdl_prediction_files(const pdl_output_options *opt, const char *suffix[PDL_PREDICTION_FILES]);

/* Writes BASE.png, the requested extras, and last BASE.json (so a present
 * JSON means the image is complete, which --resume relies on); on failure
 * the files it had written are removed again. `rgb` is the original image,
 * needed for --vis. `image_id` goes into the JSON. */
pdl_status pdl_prediction_write(const pdl_prediction *p, const pdl_config *cfg, const uint8_t *rgb,
                                const char *base, const char *image_id,
                                const pdl_output_options *opt, pdl_error *err);

/* The per-image JSON object (COCO-panoptic annotation plus names, isthing
 * and scores); the caller owns the reference. */
struct json_t *pdl_prediction_json(const pdl_prediction *p, const pdl_config *cfg,
                                   const char *file_name, const char *image_id);

#endif
