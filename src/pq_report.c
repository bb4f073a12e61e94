/* pq_report.c - writes a PQ result as JSON, every number included.
 *
 * Layout: {"images", "failed_images", "failures": [...], "All"/"Things"/"Stuff":
 * {pq, sq, rq, n, tp, fp, fn}, "per_class": [{category_id, name, isthing, pq,
 * sq, rq, iou, tp, fp, fn, n}]} with PQ/SQ/RQ as fractions (not x100); a
 * class's n is 1 when it counts in the averages (tp + fp + fn > 0). Reals are
 * printed with 17 significant digits so they read back bit-exact. The file is
 * written under a temporary name and renamed, so readers never see half of it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "pq.h"

static int set_new(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

static json_t *group_json(const pdl_pq_group *g)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = set_new(o, "pq", json_real(g->pq)) | set_new(o, "sq", json_real(g->sq)) |
              set_new(o, "rq", json_real(g->rq)) | set_new(o, "n", json_integer(g->n)) |
              set_new(o, "tp", json_integer(g->tp)) | set_new(o, "fp", json_integer(g->fp)) |
              set_new(o, "fn", json_integer(g->fn));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *class_json(const pdl_pq_class *k)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int counted = k->tp + k->fp + k->fn > 0;
    int bad = set_new(o, "category_id", json_integer(k->category_id)) |
              set_new(o, "name", json_string(k->name)) | set_new(o, "isthing", json_integer(k->isthing)) |
              set_new(o, "pq", json_real(k->pq)) | set_new(o, "sq", json_real(k->sq)) |
              set_new(o, "rq", json_real(k->rq)) | set_new(o, "iou", json_real(k->iou)) |
              set_new(o, "tp", json_integer(k->tp)) | set_new(o, "fp", json_integer(k->fp)) |
              set_new(o, "fn", json_integer(k->fn)) | set_new(o, "n", json_integer(counted));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *result_json(const pdl_pq_result *r)
{
    json_t *root = json_object(), *classes = json_array(), *failures = json_array();
    int bad = !root || !classes || !failures;
    for (size_t i = 0; !bad && i < r->n_classes; i++)
        bad = json_array_append_new(classes, class_json(&r->classes[i])) != 0;
    for (size_t i = 0; !bad && i < r->n_failed; i++)
        bad = json_array_append_new(failures, json_string(r->failures[i])) != 0;
    if (!bad)
        bad = set_new(root, "images", json_integer((json_int_t)r->n_images)) |
              set_new(root, "failed_images", json_integer((json_int_t)r->n_failed)) |
              set_new(root, "failures", json_incref(failures)) | set_new(root, "All", group_json(&r->all)) |
              set_new(root, "Things", group_json(&r->things)) |
              set_new(root, "Stuff", group_json(&r->stuff)) |
              set_new(root, "per_class", json_incref(classes));
    json_decref(classes);
    json_decref(failures);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

pdl_status pdl_pq_write_json(const pdl_pq_result *r, const char *path, pdl_error *err)
{
    json_t *root = result_json(r);
    if (!root)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    pdl_status st = pdl_atomic_write_json(path, root, JSON_INDENT(2) | JSON_REAL_PRECISION(17), err);
    json_decref(root);
    return st;
}
