/* synth.h - procedural panoptic scenes (COCO-panoptic ground truth).
 *
 * The bundled demo model is trained and evaluated on these, and tests use them
 * as realistic inputs. A scene is a few "stuff" regions (sky, ground, water,
 * wall) with irregular boundaries and class-specific textures, covered by
 * "thing" instances (disc, box, triangle, ring, blob) of varied size, colour,
 * texture and rotation, with occlusions, touching same-class instances,
 * occasional crowd regions, blur and noise. Shape, not colour, tells the thing
 * classes apart. Scene `index` of run `seed` is a pure function of (seed,
 * index, size), so datasets are reproducible and can be generated in parallel.
 *
 * Split convention: seeds 0..999 are for training, seeds >= 1000 for evaluation.
 */
#ifndef PDL_SYNTH_H
#define PDL_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

#define PDL_SYNTH_NUM_CLASSES 9
#define PDL_SYNTH_MAX_SEGMENTS 64
#define PDL_SYNTH_FIRST_EVAL_SEED 1000

typedef struct pdl_synth_class {
    int id;
    const char *name;
    bool isthing;
    uint8_t color[3];
} pdl_synth_class;

extern const pdl_synth_class pdl_synth_classes[PDL_SYNTH_NUM_CLASSES];

typedef struct pdl_synth_segment {
    uint32_t id;      /* panoptic id: category * 1000 + instance (stuff: instance 0) */
    int category_id;
    bool iscrowd;
    int64_t area;
    int bbox[4];      /* x, y, width, height */
} pdl_synth_segment;

typedef struct pdl_synth_scene {
    int width, height;
    uint8_t *rgb;     /* width * height * 3 */
    uint32_t *ids;    /* panoptic id per pixel, 0 = void */
    int nsegments;
    pdl_synth_segment segments[PDL_SYNTH_MAX_SEGMENTS];
} pdl_synth_scene;

pdl_status pdl_synth_render(int width, int height, uint64_t seed, uint64_t index,
                            pdl_synth_scene *out, pdl_error *err);
void pdl_synth_free(pdl_synth_scene *scene);

/* Writes N scenes to DIR: images/NAME.png, panoptic/NAME.png (id = R + 256 G
 * + 256^2 B) and panoptic.json (images, annotations, categories), each file
 * written to a temporary name and renamed when complete. */
pdl_status pdl_synth_write_dataset(const char *dir, int n, uint64_t seed, int width, int height,
                                   pdl_error *err);

#endif
