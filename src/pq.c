/* pq.c - PQ over a data set: reads the JSONs, pairs predictions with ground
 * truth by image_id, evaluates the images in parallel and adds them up.
 *
 * Memory stays bounded: images go through in chunks of a few per thread; the
 * JSON segments of a chunk are parsed on the calling thread (jansson trees are
 * not shared across threads), the PNGs are read and matched in parallel, and
 * the per-image events are merged in image order, so results do not depend on
 * the number of threads. The per-image matching is in pq_image.c.
 */
#include "pq.h"

#include <jansson.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pq_image.h"

#define IMAGES_PER_THREAD 16

typedef struct category_index {
    int64_t id;
    int32_t index;
} category_index;

/* One image: its ground-truth and prediction annotations and a text key made
 * from image_id ("i42" or "sname") so that ids of either JSON type compare. */
typedef struct keyed_ann {
    char *key;
    json_t *ann;
} keyed_ann;

typedef struct eval_ctx {
    const pdl_pq_options *opt;
    json_t *gt, *pred;
    category_index *cats; /* sorted by id */
    size_t n_cats;
    keyed_ann *gt_anns, *pred_anns; /* gt in file order; pred sorted by key */
    size_t n_gt_anns, n_pred_anns;
    pdl_pq_result *out;
} eval_ctx;

static pdl_status load_json(const char *path, json_t **out, pdl_error *err)
{
    struct stat sb;
    *out = NULL;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) /* a FIFO would block the read */
        return pdl_fail(err, PDL_ERR_IO, "%s: not a regular file", path);
    json_error_t jerr;
    *out = json_load_file(path, 0, &jerr);
    if (!*out && jerr.line < 1) /* not read at all: jansson's text says why */
        return pdl_fail(err, PDL_ERR_IO, "%s: %s", path, jerr.text);
    if (!*out)
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: line %d: %s", path, jerr.line, jerr.text);
    if (!json_is_object(*out) || !json_is_array(json_object_get(*out, "annotations")))
        return pdl_fail(err, PDL_ERR_FORMAT, "%s: no \"annotations\" array", path);
    return PDL_OK;
}

static int cmp_category(const void *a, const void *b)
{
    int64_t x = ((const category_index *)a)->id, y = ((const category_index *)b)->id;
    return (x > y) - (x < y);
}

static int32_t find_category(const eval_ctx *c, json_t *id)
{
    if (!json_is_integer(id))
        return -1;
    category_index key = {json_integer_value(id), 0};
    const category_index *hit = bsearch(&key, c->cats, c->n_cats, sizeof key, cmp_category);
    return hit ? hit->index : -1;
}

static pdl_status read_categories(eval_ctx *c, pdl_error *err)
{
    const char *path = c->opt->gt_json;
    json_t *cats = json_object_get(c->gt, "categories"); /* an array: load_ground_truth */
    size_t n = json_array_size(cats);
    pdl_pq_result *r = c->out;
    r->classes = calloc(n + 1, sizeof *r->classes);
    c->cats = malloc((n + 1) * sizeof *c->cats);
    if (!r->classes || !c->cats)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        json_t *cat = json_array_get(cats, i);
        json_t *id = json_object_get(cat, "id"), *isthing = json_object_get(cat, "isthing");
        json_t *name = json_object_get(cat, "name");
        if (!json_is_integer(id) || !json_is_integer(isthing))
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "%s: categories[%zu] needs an integer \"id\" and \"isthing\"", path, i);
        pdl_pq_class *k = &r->classes[r->n_classes++];
        k->category_id = json_integer_value(id);
        k->isthing = json_integer_value(isthing) == 1;
        k->name = strdup(json_is_string(name) ? json_string_value(name) : "");
        if (!k->name)
            return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
        c->cats[i] = (category_index){k->category_id, (int32_t)i};
    }
    c->n_cats = n;
    qsort(c->cats, n, sizeof *c->cats, cmp_category);
    for (size_t i = 1; i < n; i++)
        if (c->cats[i].id == c->cats[i - 1].id)
            return pdl_fail(err, PDL_ERR_FORMAT, "%s: category id %lld is listed twice", path,
                            (long long)c->cats[i].id);
    return PDL_OK;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const keyed_ann *)a)->key, ((const keyed_ann *)b)->key);
}

/* The image id as printed in messages: the string, or the number. */
static const char *display_id(const char *key)
{
    return key + 1;
}

static pdl_status key_annotations(const char *path, json_t *root, keyed_ann **out, size_t *n_out,
                                  pdl_error *err)
{
    json_t *anns = json_object_get(root, "annotations");
    size_t n = json_array_size(anns);
    keyed_ann *v = calloc(n + 1, sizeof *v);
    if (!v)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    *out = v;
    for (size_t i = 0; i < n; i++) {
        json_t *ann = json_array_get(anns, i), *id = json_object_get(ann, "image_id");
        if (!json_is_string(json_object_get(ann, "file_name")) ||
            !json_is_array(json_object_get(ann, "segments_info")))
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "%s: annotations[%zu] needs \"file_name\" and \"segments_info\"", path, i);
        int len;
        if (json_is_integer(id))
            len = asprintf(&v[i].key, "i%lld", (long long)json_integer_value(id));
        else if (json_is_string(id))
            len = asprintf(&v[i].key, "s%s", json_string_value(id));
        else
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "%s: annotations[%zu] needs an integer or string \"image_id\"", path, i);
        if (len < 0) {
            v[i].key = NULL;
            return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
        }
        v[i].ann = ann;
        *n_out = i + 1;
    }
    return PDL_OK;
}

/* Copies v into sorted (which may be v itself), sorts it by image id and
 * rejects duplicated ids. */
static pdl_status check_unique(const char *path, const keyed_ann *v, size_t n, keyed_ann *sorted,
                               pdl_error *err)
{
    if (sorted != v)
        memcpy(sorted, v, n * sizeof *v);
    qsort(sorted, n, sizeof *sorted, cmp_key);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i].key, sorted[i - 1].key) == 0)
            return pdl_fail(err, PDL_ERR_FORMAT, "%s: image_id %s is listed twice", path,
                            display_id(sorted[i].key));
    return PDL_OK;
}

static pdl_status check_dir(const char *dir, pdl_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return pdl_fail(err, PDL_ERR_IO, "%s: not a directory", dir);
    return PDL_OK;
}

/* Loads the ground truth into *gt after the checks that need no
 * predictions (see pdl_pq_check_ground_truth). */
static pdl_status load_ground_truth(const char *gt_json, const char *gt_dir, json_t **gt,
                                    pdl_error *err)
{
    pdl_status st = check_dir(gt_dir, err);
    if (st == PDL_OK)
        st = load_json(gt_json, gt, err);
    if (st == PDL_OK && !json_is_array(json_object_get(*gt, "categories")))
        st = pdl_fail(err, PDL_ERR_FORMAT, "%s: no \"categories\" array", gt_json);
    if (st == PDL_OK && json_array_size(json_object_get(*gt, "annotations")) == 0)
        st = pdl_fail(err, PDL_ERR_FORMAT, "%s: \"annotations\" is empty: no image to evaluate",
                      gt_json);
    return st;
}

pdl_status pdl_pq_check_ground_truth(const char *gt_json, const char *gt_dir, pdl_error *err)
{
    json_t *gt = NULL;
    pdl_status st = load_ground_truth(gt_json, gt_dir, &gt, err);
    json_decref(gt);
    return st;
}

static pdl_status prepare(eval_ctx *c, pdl_error *err)
{
    const pdl_pq_options *o = c->opt;
    pdl_status st = load_ground_truth(o->gt_json, o->gt_dir, &c->gt, err);
    if (st == PDL_OK)
        st = check_dir(o->pred_dir, err);
    if (st == PDL_OK)
        st = load_json(o->pred_json, &c->pred, err);
    if (st == PDL_OK)
        st = read_categories(c, err);
    if (st == PDL_OK)
        st = key_annotations(o->gt_json, c->gt, &c->gt_anns, &c->n_gt_anns, err);
    if (st == PDL_OK)
        st = key_annotations(o->pred_json, c->pred, &c->pred_anns, &c->n_pred_anns, err);
    if (st != PDL_OK)
        return st;
    keyed_ann *sorted = malloc((c->n_gt_anns + 1) * sizeof *sorted);
    if (!sorted)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", o->gt_json);
    st = check_unique(o->gt_json, c->gt_anns, c->n_gt_anns, sorted, err);
    free(sorted);
    if (st == PDL_OK)
        st = check_unique(o->pred_json, c->pred_anns, c->n_pred_anns, c->pred_anns, err);
    return st;
}

static int64_t int_or(json_t *o, const char *key, int64_t fallback)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

static pdl_status parse_segments(const eval_ctx *c, const pdl_pq_image *img, json_t *ann, int is_gt,
                                 pdl_pq_segment **out, size_t *n_out, pdl_error *err)
{
    const char *which = is_gt ? "ground-truth" : "predictions";
    json_t *list = json_object_get(ann, "segments_info");
    size_t n = json_array_size(list);
    pdl_pq_segment *v = calloc(n + 1, sizeof *v);
    if (!v)
        return pdl_fail(err, PDL_ERR_NOMEM, "image %s: out of memory", img->name);
    *out = v;
    *n_out = n;
    for (size_t i = 0; i < n; i++) {
        json_t *seg = json_array_get(list, i);
        int64_t id = int_or(seg, "id", -1);
        if (id <= 0 || id > 0xffffff)
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "image %s: %s segments_info[%zu]: \"id\" must be an integer in 1..16777215",
                            img->name, which, i);
        if (!json_is_integer(json_object_get(seg, "category_id")))
            return pdl_fail(err, PDL_ERR_FORMAT, "image %s: %s segment id %lld has no integer \"category_id\"",
                            img->name, which, (long long)id);
        v[i].id = (uint32_t)id;
        v[i].cat = find_category(c, json_object_get(seg, "category_id"));
        if (!is_gt)
            continue;
        v[i].area = int_or(seg, "area", -1);
        v[i].iscrowd = (int)int_or(seg, "iscrowd", -1);
        if (v[i].area < 0 || v[i].iscrowd < 0)
            return pdl_fail(err, PDL_ERR_FORMAT,
                            "image %s: ground-truth segment id %lld needs integer \"area\" and \"iscrowd\"",
                            img->name, (long long)id);
    }
    return PDL_OK;
}

static void image_free(pdl_pq_image *img)
{
    free(img->name);
    free(img->gt_path);
    free(img->pred_path);
    free(img->gt);
    free(img->pred);
    memset(img, 0, sizeof *img);
}

static char *join_path(const char *dir, const char *file)
{
    char *p;
    return asprintf(&p, "%s/%s", dir, file) < 0 ? NULL : p;
}

/* Fills img from the annotations of ground-truth image i (sequential part). */
static pdl_status prepare_image(const eval_ctx *c, size_t i, pdl_pq_image *img, pdl_error *err)
{
    keyed_ann *g = &c->gt_anns[i];
    img->name = strdup(display_id(g->key));
    if (!img->name)
        return pdl_fail(err, PDL_ERR_NOMEM, "out of memory");
    keyed_ann *p = bsearch(g, c->pred_anns, c->n_pred_anns, sizeof *g, cmp_key);
    if (!p)
        return pdl_fail(err, PDL_ERR_FORMAT, "image %s: no prediction in %s", img->name,
                        c->opt->pred_json);
    img->gt_path = join_path(c->opt->gt_dir, json_string_value(json_object_get(g->ann, "file_name")));
    img->pred_path = join_path(c->opt->pred_dir, json_string_value(json_object_get(p->ann, "file_name")));
    if (!img->gt_path || !img->pred_path)
        return pdl_fail(err, PDL_ERR_NOMEM, "image %s: out of memory", img->name);
    pdl_status st = parse_segments(c, img, g->ann, 1, &img->gt, &img->n_gt, err);
    if (st == PDL_OK)
        st = parse_segments(c, img, p->ann, 0, &img->pred, &img->n_pred, err);
    return st;
}

typedef struct image_slot {
    pdl_pq_image img;
    pdl_error err;
    pdl_pq_event *events;
    size_t n_events;
} image_slot;

static pdl_status merge(pdl_pq_result *r, image_slot *s)
{
    if (s->err.code != PDL_OK) {
        char *msg = strdup(s->err.msg);
        char **f = realloc(r->failures, (r->n_failed + 1) * sizeof *f);
        if (!msg || !f) {
            free(msg);
            if (f)
                r->failures = f;
            return PDL_ERR_NOMEM;
        }
        r->failures = f;
        r->failures[r->n_failed++] = msg;
        return PDL_OK;
    }
    for (size_t i = 0; i < s->n_events; i++) {
        pdl_pq_class *k = &r->classes[s->events[i].cat];
        switch (s->events[i].kind) {
        case PDL_PQ_TP:
            k->tp++;
            k->iou += s->events[i].iou;
            break;
        case PDL_PQ_FP:
            k->fp++;
            break;
        default:
            k->fn++;
        }
    }
    r->n_images++;
    return PDL_OK;
}

static pdl_status run_images(eval_ctx *c, pdl_error *err)
{
    int threads = c->opt->threads > 0 ? c->opt->threads : omp_get_max_threads();
    size_t chunk = (size_t)threads * IMAGES_PER_THREAD;
    image_slot *slots = calloc(chunk, sizeof *slots);
    pdl_pq_scratch **scratch = calloc((size_t)threads, sizeof *scratch);
    pdl_status st = slots && scratch ? PDL_OK : PDL_ERR_NOMEM;
    for (int t = 0; t < threads && st == PDL_OK; t++)
        if (!(scratch[t] = pdl_pq_scratch_new(c->n_cats)))
            st = PDL_ERR_NOMEM;
    for (size_t start = 0; start < c->n_gt_anns && st == PDL_OK; start += chunk) {
        size_t n = c->n_gt_anns - start < chunk ? c->n_gt_anns - start : chunk;
        for (size_t i = 0; i < n; i++) {
            pdl_error_clear(&slots[i].err);
            prepare_image(c, start + i, &slots[i].img, &slots[i].err);
        }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t i = 0; i < n; i++)
            if (slots[i].err.code == PDL_OK)
                pdl_pq_match_image(&slots[i].img, scratch[omp_get_thread_num()], &slots[i].events,
                                   &slots[i].n_events, &slots[i].err);
        for (size_t i = 0; i < n; i++) {
            if (st == PDL_OK)
                st = merge(c->out, &slots[i]);
            image_free(&slots[i].img);
            free(slots[i].events);
            slots[i].events = NULL;
            slots[i].n_events = 0;
        }
    }
    for (int t = 0; scratch && t < threads; t++)
        pdl_pq_scratch_free(scratch[t]);
    free(scratch);
    free(slots);
    return st == PDL_OK ? PDL_OK : pdl_fail(err, st, "%s: out of memory", c->opt->gt_json);
}

/* panopticapi's PQStat.pq_average, in categories order. */
static void average(pdl_pq_result *r, int isthing, pdl_pq_group *g)
{
    memset(g, 0, sizeof *g);
    for (size_t i = 0; i < r->n_classes; i++) {
        const pdl_pq_class *k = &r->classes[i];
        if ((isthing >= 0 && k->isthing != isthing) || k->tp + k->fp + k->fn == 0)
            continue;
        g->n++;
        g->pq += k->pq;
        g->sq += k->sq;
        g->rq += k->rq;
        g->tp += k->tp;
        g->fp += k->fp;
        g->fn += k->fn;
    }
    if (g->n) {
        g->pq /= g->n;
        g->sq /= g->n;
        g->rq /= g->n;
    }
}

static void summarize(pdl_pq_result *r)
{
    for (size_t i = 0; i < r->n_classes; i++) {
        pdl_pq_class *k = &r->classes[i];
        if (k->tp + k->fp + k->fn == 0)
            continue;
        double denom = (double)k->tp + 0.5 * (double)k->fp + 0.5 * (double)k->fn;
        k->pq = k->iou / denom;
        k->sq = k->tp ? k->iou / (double)k->tp : 0.0;
        k->rq = (double)k->tp / denom;
    }
    average(r, -1, &r->all);
    average(r, 1, &r->things);
    average(r, 0, &r->stuff);
}

pdl_status pdl_pq_evaluate(const pdl_pq_options *opt, pdl_pq_result *out, pdl_error *err)
{
    memset(out, 0, sizeof *out);
    eval_ctx c;
    memset(&c, 0, sizeof c);
    c.opt = opt;
    c.out = out;
    pdl_status st = prepare(&c, err);
    if (st == PDL_OK)
        st = run_images(&c, err);
    if (st == PDL_OK)
        summarize(out);
    else
        pdl_pq_result_free(out);
    for (size_t i = 0; i < c.n_gt_anns; i++)
        free(c.gt_anns[i].key);
    free(c.gt_anns);
    for (size_t i = 0; i < c.n_pred_anns; i++)
        free(c.pred_anns[i].key);
    free(c.pred_anns);
    free(c.cats);
    json_decref(c.gt);
    json_decref(c.pred);
    return st;
}

void pdl_pq_result_free(pdl_pq_result *r)
{
    for (size_t i = 0; i < r->n_classes; i++)
        free(r->classes[i].name);
    free(r->classes);
    for (size_t i = 0; i < r->n_failed; i++)
        free(r->failures[i]);
    free(r->failures);
    memset(r, 0, sizeof *r);
}
