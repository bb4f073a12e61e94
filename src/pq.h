/* pq.h - panoptic quality (PQ, SQ, RQ) with COCO panopticapi's exact rules.
 *
 * The inputs are two COCO-panoptic data sets (a JSON with "annotations" and, for
 * the ground truth, "categories"; one PNG per image whose colour R + 256 G +
 * 65536 B is the segment id, 0 = VOID). The rules are those of panopticapi's
 * pq_compute.py: predictions are paired with ground truth by image_id; every
 * non-zero id of a prediction PNG must be in its JSON and the other way round;
 * a prediction and a ground-truth segment of the same category match when
 * IoU = inter / (pred + gt - inter - |pred in VOID|) > 0.5, with ground-truth
 * areas taken from the ground-truth JSON and prediction areas counted in the
 * PNG; crowd ground truth never matches; an unmatched prediction is a false
 * positive unless more than half of it lies in VOID or in the (last listed)
 * crowd segment of its category; averages run over the classes with
 * TP + FP + FN > 0. Ground-truth PNG ids are not checked against the JSON
 * (panopticapi does not either: unknown ones are simply never matched).
 *
 * Where panopticapi would crash or silently pick one of two readings, we say
 * so instead: a segment id listed twice in one image's JSON, an id outside
 * 1..2^24-1, or a ground-truth segment without integer "area" and "iscrowd"
 * makes that image fail; a duplicated image_id fails the whole run; a group
 * with no counted class (n = 0) averages to 0 rather than dividing by zero.
 *
 * Images are evaluated in parallel, a bounded number at a time, and merged in
 * image order, so the numbers do not depend on the thread count. An image that
 * cannot be evaluated (missing file, ids that disagree with the JSON, ...) is
 * recorded in the result's failure list and left out; the others still count.
 */
#ifndef PDL_PQ_H
#define PDL_PQ_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct pdl_pq_class {
    int64_t category_id;
    char *name;        /* "" when the category has no name */
    int isthing;
    double iou;        /* sum of the IoUs of the true positives */
    int64_t tp, fp, fn;
    double pq, sq, rq; /* 0 when tp + fp + fn == 0 */
} pdl_pq_class;

/* An average over a group of classes (All, Things, Stuff). */
typedef struct pdl_pq_group {
    double pq, sq, rq; /* 0 when n == 0 */
    int n;             /* classes with tp + fp + fn > 0 */
    int64_t tp, fp, fn;
} pdl_pq_group;

typedef struct pdl_pq_result {
    pdl_pq_group all, things, stuff;
    pdl_pq_class *classes; /* in the order of the ground truth's "categories" */
    size_t n_classes;
    size_t n_images;       /* images evaluated */
    char **failures;       /* one line per image left out, in image order */
    size_t n_failed;
} pdl_pq_result;

typedef struct pdl_pq_options {
    const char *gt_json, *gt_dir;
    const char *pred_json, *pred_dir;
    int threads; /* <= 0: OpenMP's default */
} pdl_pq_options;

/* Evaluates every ground-truth image. Returns an error (and fills nothing) when
 * a JSON cannot be read or is malformed, a directory is missing, or an image id
 * is duplicated; per-image problems only land in out->failures. */
pdl_status pdl_pq_evaluate(const pdl_pq_options *opt, pdl_pq_result *out, pdl_error *err);

/* The checks of pdl_pq_evaluate that need no predictions: gt_dir is a
 * directory and gt_json parses, has "categories" and at least one image.
 * For callers that evaluate only after long work (bench). */
pdl_status pdl_pq_check_ground_truth(const char *gt_json, const char *gt_dir, pdl_error *err);

void pdl_pq_result_free(pdl_pq_result *r);

/* Writes every number of r as JSON to path (through a temporary file that is
 * renamed when complete). */
pdl_status pdl_pq_write_json(const pdl_pq_result *r, const char *path, pdl_error *err);

#endif
