/* pq_image.h - one image's PQ matching; internal to pq.c and pq_image.c.
 *
 * pq.c parses the JSONs into these plain structs (sequentially: the jansson
 * tree is not shared between threads), and pq_image.c, running on any thread,
 * reads the two PNGs and turns them into a list of events (TP with its IoU, FP,
 * FN per category) that pq.c adds up in image order.
 */
#ifndef PDL_PQ_IMAGE_H
#define PDL_PQ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct pdl_pq_segment {
    uint32_t id;
    int32_t cat;  /* index into the ground truth's categories, -1 if not listed */
    int64_t area; /* ground truth: from the JSON; predictions: counted in the PNG */
    int iscrowd;  /* ground truth only */
} pdl_pq_segment;

typedef struct pdl_pq_image {
    char *name; /* the image id as text, for messages */
    char *gt_path, *pred_path;
    pdl_pq_segment *gt, *pred; /* in JSON order */
    size_t n_gt, n_pred;
} pdl_pq_image;

typedef enum pdl_pq_event_kind { PDL_PQ_TP, PDL_PQ_FP, PDL_PQ_FN } pdl_pq_event_kind;

typedef struct pdl_pq_event {
    int32_t cat;
    int32_t kind; /* pdl_pq_event_kind */
    double iou;   /* TP only */
} pdl_pq_event;

/* Per-thread working memory, reused from one image to the next. */
typedef struct pdl_pq_scratch pdl_pq_scratch;

pdl_pq_scratch *pdl_pq_scratch_new(size_t n_categories);
void pdl_pq_scratch_free(pdl_pq_scratch *s);

/* Matches one image. On success *events (malloc'ed, caller frees) holds the TPs
 * in panopticapi's order (by ground-truth id) followed by the FNs and FPs. */
pdl_status pdl_pq_match_image(const pdl_pq_image *img, pdl_pq_scratch *s, pdl_pq_event **events,
                              size_t *n_events, pdl_error *err);

#endif
