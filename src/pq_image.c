/* pq_image.c - one image's PQ matching, as panopticapi's pq_compute_single_core.
 *
 * Instead of numpy's np.unique over gt_id * 2^24 + pred_id, the pixel pairs go
 * into a small open-addressing hash table keyed by (gt_id << 24 | pred_id);
 * runs of equal pairs (the common case in panoptic maps) cost one comparison a
 * pixel. The distinct pairs are then sorted, which is exactly np.unique's
 * order, so the true positives are visited (and their IoUs summed) in the
 * order panopticapi visits them.
 */
#include "pq_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define EMPTY_KEY UINT64_MAX

struct pdl_pq_scratch {
    uint64_t *keys, *counts; /* the pair histogram; EMPTY_KEY marks a free slot */
    size_t cap, used;
    int64_t *crowd_of_cat; /* per category: the last crowd gt id of this image, or -1 */
};

typedef struct pair_count {
    uint64_t key;
    int64_t count;
} pair_count;

typedef struct id_index {
    uint32_t id, index;
} id_index;

pdl_pq_scratch *pdl_pq_scratch_new(size_t n_categories)
{
    pdl_pq_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->crowd_of_cat = malloc((n_categories + 1) * sizeof *s->crowd_of_cat);
    if (!s->crowd_of_cat) {
        free(s);
        return NULL;
    }
    for (size_t c = 0; c < n_categories; c++)
        s->crowd_of_cat[c] = -1;
    return s;
}

void pdl_pq_scratch_free(pdl_pq_scratch *s)
{
    if (!s)
        return;
    free(s->keys);
    free(s->counts);
    free(s->crowd_of_cat);
    free(s);
}

static size_t slot_of(const pdl_pq_scratch *s, uint64_t key)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (s->cap - 1);
    while (s->keys[i] != EMPTY_KEY && s->keys[i] != key)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static int hist_reserve(pdl_pq_scratch *s, size_t cap)
{
    uint64_t *old_keys = s->keys, *old_counts = s->counts;
    size_t old_cap = s->cap;
    s->keys = malloc(cap * sizeof *s->keys);
    s->counts = malloc(cap * sizeof *s->counts);
    if (!s->keys || !s->counts) {
        free(s->keys);
        free(s->counts);
        s->keys = old_keys;
        s->counts = old_counts;
        return -1;
    }
    s->cap = cap;
    memset(s->keys, 0xff, cap * sizeof *s->keys);
    for (size_t i = 0; i < old_cap; i++)
        if (old_keys[i] != EMPTY_KEY) {
            size_t j = slot_of(s, old_keys[i]);
            s->keys[j] = old_keys[i];
            s->counts[j] = old_counts[i];
        }
    free(old_keys);
    free(old_counts);
    return 0;
}

static int hist_add(pdl_pq_scratch *s, uint64_t key, uint64_t n)
{
    if (2 * (s->used + 1) > s->cap && hist_reserve(s, s->cap ? 2 * s->cap : 1024) != 0)
        return -1;
    size_t i = slot_of(s, key);
    if (s->keys[i] == EMPTY_KEY) {
        s->keys[i] = key;
        s->counts[i] = 0;
        s->used++;
    }
    s->counts[i] += n;
    return 0;
}

static int64_t hist_get(const pdl_pq_scratch *s, uint64_t key)
{
    size_t i = slot_of(s, key);
    return s->keys[i] == key ? (int64_t)s->counts[i] : 0;
}

static int hist_pixels(pdl_pq_scratch *s, const uint8_t *gt, const uint8_t *pred, size_t n)
{
    if (s->used) {
        memset(s->keys, 0xff, s->cap * sizeof *s->keys);
        s->used = 0;
    }
    uint64_t last = EMPTY_KEY, run = 0;
    for (size_t i = 0; i < n; i++, gt += 3, pred += 3) {
        uint64_t g = (uint32_t)gt[0] | (uint32_t)gt[1] << 8 | (uint32_t)gt[2] << 16;
        uint64_t p = (uint32_t)pred[0] | (uint32_t)pred[1] << 8 | (uint32_t)pred[2] << 16;
        uint64_t key = g << 24 | p;
        if (key == last) {
            run++;
            continue;
        }
        if (run && hist_add(s, last, run) != 0)
            return -1;
        last = key;
        run = 1;
    }
    return run ? hist_add(s, last, run) : 0;
}

static int cmp_pair(const void *a, const void *b)
{
    uint64_t x = ((const pair_count *)a)->key, y = ((const pair_count *)b)->key;
    return (x > y) - (x < y);
}

static int cmp_id(const void *a, const void *b)
{
    uint32_t x = ((const id_index *)a)->id, y = ((const id_index *)b)->id;
    return (x > y) - (x < y);
}

/* Fills order with segs' (id, index) sorted by id; returns the first
 * duplicated id, or 0 when all are distinct (0 is never a segment id). */
static uint32_t sort_ids(const pdl_pq_segment *segs, size_t n, id_index *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = (id_index){segs[i].id, (uint32_t)i};
    qsort(order, n, sizeof *order, cmp_id);
    for (size_t i = 1; i < n; i++)
        if (order[i].id == order[i - 1].id)
            return order[i].id;
    return 0;
}

/* The index of the segment with this id, or -1. */
static int64_t find_id(const id_index *order, size_t n, uint32_t id)
{
    id_index key = {id, 0};
    const id_index *hit = bsearch(&key, order, n, sizeof *order, cmp_id);
    return hit ? (int64_t)hit->index : -1;
}

typedef struct event_list {
    pdl_pq_event *v;
    size_t n, cap;
} event_list;

static int push_event(event_list *e, int32_t cat, pdl_pq_event_kind kind, double iou)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        pdl_pq_event *v = realloc(e->v, cap * sizeof *v);
        if (!v)
            return -1;
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = (pdl_pq_event){cat, kind, iou};
    return 0;
}

/* Working arrays of one image, freed together. */
typedef struct image_work {
    pdl_image gt_png, pred_png;
    pair_count *pairs;
    size_t n_pairs;
    id_index *gt_order, *pred_order;
    int64_t *pred_area, *pred_void;
    unsigned char *gt_matched, *pred_matched;
    event_list events;
} image_work;

static void work_free(image_work *w)
{
    pdl_image_free(&w->gt_png);
    pdl_image_free(&w->pred_png);
    free(w->pairs);
    free(w->gt_order);
    free(w->pred_order);
    free(w->pred_area);
    free(w->pred_void);
    free(w->gt_matched);
    free(w->pred_matched);
    free(w->events.v);
}

static pdl_status nomem(const pdl_pq_image *img, pdl_error *err)
{
    return pdl_fail(err, PDL_ERR_NOMEM, "image %s: out of memory", img->name);
}

/* Reads both PNGs and fills w->pairs with the sorted (gt << 24 | pred) counts. */
static pdl_status count_pairs(const pdl_pq_image *img, pdl_pq_scratch *s, image_work *w,
                              pdl_error *err)
{
    pdl_status st = pdl_image_load(img->gt_path, &w->gt_png, err);
    if (st == PDL_OK)
        st = pdl_image_load(img->pred_path, &w->pred_png, err);
    if (st != PDL_OK) {
        char msg[PDL_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return pdl_fail(err, st, "image %s: %s", img->name, msg);
    }
    if (w->gt_png.width != w->pred_png.width || w->gt_png.height != w->pred_png.height)
        return pdl_fail(err, PDL_ERR_FORMAT, "image %s: prediction %s is %dx%d, ground truth is %dx%d",
                        img->name, img->pred_path, w->pred_png.width, w->pred_png.height,
                        w->gt_png.width, w->gt_png.height);
    size_t n = (size_t)w->gt_png.width * w->gt_png.height;
    if (hist_pixels(s, w->gt_png.rgb, w->pred_png.rgb, n) != 0)
        return nomem(img, err);
    w->pairs = malloc((s->used + 1) * sizeof *w->pairs);
    if (!w->pairs)
        return nomem(img, err);
    for (size_t i = 0; i < s->cap; i++)
        if (s->keys[i] != EMPTY_KEY)
            w->pairs[w->n_pairs++] = (pair_count){s->keys[i], (int64_t)s->counts[i]};
    qsort(w->pairs, w->n_pairs, sizeof *w->pairs, cmp_pair);
    return PDL_OK;
}

/* panopticapi's sanity checks: PNG and JSON ids agree, categories are known.
 * Also counts each prediction's area and its overlap with VOID. */
static pdl_status check_predictions(const pdl_pq_image *img, image_work *w, pdl_error *err)
{
    for (size_t i = 0; i < w->n_pairs; i++) {
        uint32_t g = (uint32_t)(w->pairs[i].key >> 24), p = (uint32_t)(w->pairs[i].key & 0xffffff);
        if (p == 0)
            continue;
        int64_t k = find_id(w->pred_order, img->n_pred, p);
        if (k < 0)
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "image %s: segment id %u is in %s but not in the predictions JSON",
                            img->name, p, img->pred_path);
        w->pred_area[k] += w->pairs[i].count;
        if (g == 0)
            w->pred_void[k] += w->pairs[i].count;
    }
    for (size_t k = 0; k < img->n_pred; k++) {
        if (w->pred_area[k] == 0)
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "image %s: segment id %u is in the predictions JSON but not in %s",
                            img->name, img->pred[k].id, img->pred_path);
        if (img->pred[k].cat < 0)
            return pdl_fail(err, PDL_ERR_FORMAT, "image %s: prediction segment id %u has an unknown category_id",
                            img->name, img->pred[k].id);
    }
    return PDL_OK;
}

static pdl_status match_pairs(const pdl_pq_image *img, image_work *w, pdl_error *err)
{
    for (size_t i = 0; i < w->n_pairs; i++) {
        uint32_t g = (uint32_t)(w->pairs[i].key >> 24), p = (uint32_t)(w->pairs[i].key & 0xffffff);
        int64_t gi = find_id(w->gt_order, img->n_gt, g);
        int64_t pi = p ? find_id(w->pred_order, img->n_pred, p) : -1;
        if (gi < 0 || pi < 0)
            continue;
        const pdl_pq_segment *gs = &img->gt[gi];
        if (gs->iscrowd == 1 || gs->cat != img->pred[pi].cat)
            continue;
        int64_t inter = w->pairs[i].count;
        int64_t uni = w->pred_area[pi] + gs->area - inter - w->pred_void[pi];
        if (uni <= 0)
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "image %s: ground-truth segment id %u: its JSON area %lld is smaller than its pixels",
                            img->name, g, (long long)gs->area);
        double iou = (double)inter / (double)uni;
        if (iou > 0.5) {
            if (push_event(&w->events, gs->cat, PDL_PQ_TP, iou) != 0)
                return nomem(img, err);
            w->gt_matched[gi] = 1;
            w->pred_matched[pi] = 1;
        }
    }
    return PDL_OK;
}

/* Unmatched ground truth: crowd is remembered per category (the last listed
 * wins, as in panopticapi's dict), the rest are false negatives. Unmatched
 * predictions are false positives unless mostly VOID or same-category crowd. */
static pdl_status count_misses(const pdl_pq_image *img, pdl_pq_scratch *s, image_work *w,
                               pdl_error *err)
{
    pdl_status st = PDL_OK;
    for (size_t i = 0; i < img->n_gt && st == PDL_OK; i++) {
        const pdl_pq_segment *gs = &img->gt[i];
        if (w->gt_matched[i] || gs->cat < 0)
            continue;
        if (gs->iscrowd == 1)
            s->crowd_of_cat[gs->cat] = gs->id;
        else if (push_event(&w->events, gs->cat, PDL_PQ_FN, 0) != 0)
            st = nomem(img, err);
    }
    for (size_t k = 0; k < img->n_pred && st == PDL_OK; k++) {
        const pdl_pq_segment *ps = &img->pred[k];
        if (w->pred_matched[k])
            continue;
        int64_t ignored = w->pred_void[k];
        int64_t crowd = s->crowd_of_cat[ps->cat];
        if (crowd >= 0)
            ignored += hist_get(s, (uint64_t)crowd << 24 | ps->id);
        if ((double)ignored / (double)w->pred_area[k] > 0.5)
            continue;
        if (push_event(&w->events, ps->cat, PDL_PQ_FP, 0) != 0)
            st = nomem(img, err);
    }
    for (size_t i = 0; i < img->n_gt; i++)
        if (img->gt[i].cat >= 0)
            s->crowd_of_cat[img->gt[i].cat] = -1;
    return st;
}

static pdl_status match_image(const pdl_pq_image *img, pdl_pq_scratch *s, image_work *w,
                              pdl_error *err)
{
    size_t ng = img->n_gt, np = img->n_pred;
    w->gt_order = malloc((ng + 1) * sizeof *w->gt_order);
    w->pred_order = malloc((np + 1) * sizeof *w->pred_order);
    w->pred_area = calloc(np + 1, sizeof *w->pred_area);
    w->pred_void = calloc(np + 1, sizeof *w->pred_void);
    w->gt_matched = calloc(ng + 1, 1);
    w->pred_matched = calloc(np + 1, 1);
    if (!w->gt_order || !w->pred_order || !w->pred_area || !w->pred_void || !w->gt_matched ||
        !w->pred_matched)
        return nomem(img, err);
    uint32_t dup = sort_ids(img->gt, ng, w->gt_order);
    if (dup)
        return pdl_fail(err, PDL_ERR_FORMAT, "image %s: segment id %u is listed twice in the ground-truth JSON",
                        img->name, dup);
    dup = sort_ids(img->pred, np, w->pred_order);
    if (dup)
        return pdl_fail(err, PDL_ERR_FORMAT, "image %s: segment id %u is listed twice in the predictions JSON",
                        img->name, dup);
    pdl_status st = count_pairs(img, s, w, err);
    if (st == PDL_OK)
        st = check_predictions(img, w, err);
    if (st == PDL_OK)
        st = match_pairs(img, w, err);
    if (st == PDL_OK)
        st = count_misses(img, s, w, err);
    return st;
}

pdl_status pdl_pq_match_image(const pdl_pq_image *img, pdl_pq_scratch *s, pdl_pq_event **events,
                              size_t *n_events, pdl_error *err)
{
    image_work w;
    memset(&w, 0, sizeof w);
    pdl_status st = match_image(img, s, &w, err);
    if (st == PDL_OK) {
        *events = w.events.v;
        *n_events = w.events.n;
        w.events.v = NULL;
    }
    work_free(&w);
    return st;
}
