/* bench_report.c - writes `panoptic bench` results as CSV, JSON and SVG.
 *
 * JSON through jansson; CSV and SVG are plain text printed here. The SVG is a
 * self-contained line plot (no scripts, no external fonts) that any browser
 * opens: one polyline per device/precision, a labelled point per input size.
 * Each file goes through a temporary name (atomic_file.h).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "bench_report.h"

typedef pdl_status (*body_fn)(const pdl_bench_report *r, FILE *fp, pdl_error *err);

static pdl_status write_atomic(const pdl_bench_report *r, const char *path, body_fn body,
                               pdl_error *err)
{
    pdl_atomic_file af;
    pdl_status st = pdl_atomic_open(path, &af, err);
    if (st != PDL_OK)
        return st;
    st = body(r, af.fp, err);
    if (st == PDL_OK && ferror(af.fp))
        st = pdl_fail(err, PDL_ERR_IO, "%s: write failed", path);
    if (st != PDL_OK) {
        pdl_atomic_abort(&af);
        return st;
    }
    return pdl_atomic_commit(&af, err);
}

/* ---- CSV ------------------------------------------------------------------ */

static void csv_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static pdl_status csv_body(const pdl_bench_report *r, FILE *fp, pdl_error *err)
{
    (void)err;
    const pdl_bench_env *e = &r->env;
    fputs("device,device_desc,precision,size,images,warmup,runs", fp);
    for (int s = 0; s < PDL_BENCH_NSTAGES; s++)
        fprintf(fp, ",%s_p50_ms,%s_p90_ms,%s_p99_ms", pdl_bench_stage_names[s],
                pdl_bench_stage_names[s], pdl_bench_stage_names[s]);
    fputs(",images_per_s,peak_rss_mib,gflop,pq,sq,rq,cpu_model,threads,gpu,onednn,libpng,"
          "libjpeg_turbo,jansson,libdeflate,commit,date\n", fp);
    for (size_t i = 0; i < r->npoints; i++) {
        const pdl_bench_point *p = &r->points[i];
        csv_string(fp, p->device);
        fputc(',', fp);
        csv_string(fp, p->device_desc);
        fprintf(fp, ",%s,%d,%d,%d,%d", p->precision, p->size, p->images, p->warmup, p->runs);
        for (int s = 0; s < PDL_BENCH_NSTAGES; s++)
            fprintf(fp, ",%.4f,%.4f,%.4f", p->stage[s].p50, p->stage[s].p90, p->stage[s].p99);
        fprintf(fp, ",%.4f,%.1f,%.4f", p->images_per_s, p->peak_rss_mib, p->gflop);
        if (p->has_pq)
            fprintf(fp, ",%.6f,%.6f,%.6f,", p->pq, p->sq, p->rq);
        else
            fputs(",,,,", fp);
        csv_string(fp, e->cpu_model);
        fprintf(fp, ",%d,", e->threads);
        csv_string(fp, e->gpu);
        fprintf(fp, ",%s,%s,%s,%s,%s,%s,%s\n", e->onednn, e->libpng, e->libjpeg_turbo, e->jansson,
                e->libdeflate, e->commit, e->date);
    }
    return PDL_OK;
}

pdl_status pdl_bench_write_csv(const pdl_bench_report *r, const char *path, pdl_error *err)
{
    return write_atomic(r, path, csv_body, err);
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *env_json(const pdl_bench_env *e)
{
    return json_pack("{s:s, s:i, s:i, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s}", "cpu_model",
                     e->cpu_model, "cpus_online", e->cpus_online, "threads", e->threads, "gpu",
                     e->gpu, "gpu_note", e->gpu_note, "libraries", "onednn", e->onednn, "libpng",
                     e->libpng, "libjpeg_turbo", e->libjpeg_turbo, "jansson", e->jansson,
                     "libdeflate", e->libdeflate, "commit", e->commit, "date", e->date);
}

static json_t *point_json(const pdl_bench_point *p)
{
    json_t *stages = json_object();
    for (int s = 0; s < PDL_BENCH_NSTAGES; s++) {
        const pdl_bench_percentiles *q = &p->stage[s];
        json_object_set_new(stages, pdl_bench_stage_names[s],
                            json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "p50", q->p50, "p90", q->p90,
                                      "p99", q->p99, "mean", q->mean, "min", q->min, "max", q->max));
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:o, s:f, s:f, s:f}", "device",
                          p->device, "device_desc", p->device_desc, "precision", p->precision,
                          "size", p->size, "images", p->images, "warmup", p->warmup, "runs", p->runs,
                          "ms", stages, "images_per_s", p->images_per_s, "peak_rss_mib",
                          p->peak_rss_mib, "gflop", p->gflop);
    json_object_set_new(o, "pq", p->has_pq ? json_pack("{s:f, s:f, s:f, s:i}", "pq", p->pq, "sq",
                                                       p->sq, "rq", p->rq, "images", p->pq_images)
                                           : json_null());
    const pdl_backend_stats *b = &p->backend;
    const double mib = 1.0 / (1 << 20);
    json_object_set_new(
        o, "backend",
        json_pack("{s:i, s:i, s:f, s:f, s:f, s:i, s:i, s:s}", "plans_built", b->plans_built,
                  "plans_cached", b->plans_cached, "activations_mib", (double)b->arena_bytes * mib,
                  "weights_mib", (double)b->weight_bytes * mib, "scratch_mib",
                  (double)b->scratch_bytes * mib, "graph_launches", b->graph_launches, "gemm_convs",
                  b->gemm_convs, "note", b->note));
    return o;
}

static pdl_status json_body(const pdl_bench_report *r, FILE *fp, pdl_error *err)
{
    json_t *points = json_array(), *skipped = json_array();
    for (size_t i = 0; i < r->npoints; i++)
        json_array_append_new(points, point_json(&r->points[i]));
    for (size_t i = 0; i < r->nskipped; i++)
        json_array_append_new(skipped, json_string(r->skipped[i]));
    json_t *root = json_pack(
        "{s:s, s:s?, s:s?, s:s, s:s, s:o, s:o, s:o}", "model", r->model, "data", r->data, "gt_json",
        r->gt_json, "percentiles", "nearest rank over the timed runs",
        "peak_rss_note", "peak resident set of the whole process so far (getrusage ru_maxrss)",
        "environment", env_json(&r->env), "points", points, "skipped", skipped);
    int rc = root ? json_dumpf(root, fp, JSON_INDENT(2)) : -1;
    json_decref(root);
    if (rc != 0)
        return pdl_fail(err, PDL_ERR_IO, "bench report: cannot write JSON");
    fputc('\n', fp);
    return PDL_OK;
}

pdl_status pdl_bench_write_json(const pdl_bench_report *r, const char *path, pdl_error *err)
{
    return write_atomic(r, path, json_body, err);
}

/* ---- SVG ------------------------------------------------------------------ */

enum { SVG_W = 720, SVG_H = 480, LEFT = 80, RIGHT = 170, TOP = 64, BOTTOM = 60 };

typedef struct axis {
    double lo, hi, step;
} axis;

/* Round limits and a 1/2/5 x 10^k step giving about five ticks. */
static axis nice_axis(double lo, double hi)
{
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / 5, mag = pow(10, floor(log10(raw))), step = mag;
    if (raw / mag > 5)
        step = 10 * mag;
    else if (raw / mag > 2)
        step = 5 * mag;
    else if (raw / mag > 1)
        step = 2 * mag;
    axis a = {floor(lo / step) * step, ceil(hi / step) * step, step};
    return a;
}

static double px(const axis *a, double v, double from, double to)
{
    return from + (v - a->lo) / (a->hi - a->lo) * (to - from);
}

static void xml_text(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, fp);
        }
    }
}

static void point_xy(const pdl_bench_report *r, const pdl_bench_point *p, double *x, double *y)
{
    if (r->gt_json) {
        *x = p->stage[PDL_BENCH_TOTAL].p50;
        *y = 100 * p->pq;
    } else {
        *x = p->size;
        *y = p->images_per_s;
    }
}

static bool same_series(const pdl_bench_point *a, const pdl_bench_point *b)
{
    return strcmp(a->device, b->device) == 0 && strcmp(a->precision, b->precision) == 0;
}

static void draw_axes(FILE *fp, const axis *ax, const axis *ay, const char *xlabel, const char *ylabel)
{
    int x0 = LEFT, x1 = SVG_W - RIGHT, y0 = SVG_H - BOTTOM, y1 = TOP;
    fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            x0, y1, x1 - x0, y0 - y1);
    for (double v = ax->lo; v <= ax->hi + ax->step / 2; v += ax->step) {
        double x = px(ax, v, x0, x1);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", x, y1, x, y0);
        fprintf(fp, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", x, y0 + 18, v);
    }
    for (double v = ay->lo; v <= ay->hi + ay->step / 2; v += ay->step) {
        double y = px(ay, v, y0, y1);
        fprintf(fp, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, y, x1, y);
        fprintf(fp, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", x0 - 6, y + 4, v);
    }
    fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (x0 + x1) / 2, SVG_H - 15,
            xlabel);
    fprintf(fp, "<text transform=\"translate(20 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            (y0 + y1) / 2, ylabel);
}

static pdl_status svg_body(const pdl_bench_report *r, FILE *fp, pdl_error *err)
{
    (void)err;
    static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    double xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    for (size_t i = 0; i < r->npoints; i++) {
        double x, y;
        point_xy(r, &r->points[i], &x, &y);
        xmin = i ? fmin(xmin, x) : x;
        xmax = i ? fmax(xmax, x) : x;
        ymin = i ? fmin(ymin, y) : y;
        ymax = i ? fmax(ymax, y) : y;
    }
    axis ax = nice_axis(xmin, xmax), ay = nice_axis(r->gt_json ? 0 : fmin(0, ymin), ymax);
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
                "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    fputs("<text x=\"360\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">", fp);
    fputs(r->gt_json ? "PQ against latency (p50 total ms per image; points: input short edge)"
                     : "images/s against input size (no ground truth given, so no PQ)", fp);
    fputs("</text>\n<text x=\"360\" y=\"40\" text-anchor=\"middle\" font-size=\"10\">", fp);
    xml_text(fp, r->env.cpu_model);
    fprintf(fp, ", %d threads; GPU: ", r->env.threads);
    xml_text(fp, r->env.gpu);
    fprintf(fp, "; %s</text>\n", r->env.date);
    draw_axes(fp, &ax, &ay, r->gt_json ? "latency per image, p50 of total (ms)" : "input short edge (pixels)",
              r->gt_json ? "PQ (%)" : "images/s");
    int x0 = LEFT, x1 = SVG_W - RIGHT, y0 = SVG_H - BOTTOM, y1 = TOP, series = 0;
    for (size_t i = 0; i < r->npoints; i++) {
        bool first = true;
        for (size_t k = 0; k < i && first; k++)
            first = !same_series(&r->points[k], &r->points[i]);
        if (!first)
            continue;
        const char *colour = colours[series % (sizeof colours / sizeof colours[0])];
        fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour);
        for (size_t k = i; k < r->npoints; k++) {
            double x, y;
            if (!same_series(&r->points[k], &r->points[i]))
                continue;
            point_xy(r, &r->points[k], &x, &y);
            fprintf(fp, "%.1f,%.1f ", px(&ax, x, x0, x1), px(&ay, y, y0, y1));
        }
        fputs("\"/>\n", fp);
        for (size_t k = i; k < r->npoints; k++) {
            double x, y;
            if (!same_series(&r->points[k], &r->points[i]))
                continue;
            point_xy(r, &r->points[k], &x, &y);
            double sx = px(&ax, x, x0, x1), sy = px(&ay, y, y0, y1);
            fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", sx, sy, colour);
            fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%d</text>\n", sx + 6, sy - 6,
                    r->points[k].size);
        }
        fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>\n", x1 + 12,
                y1 + 10 + 20 * series, colour);
        fprintf(fp, "<text x=\"%d\" y=\"%d\">", x1 + 32, y1 + 16 + 20 * series);
        xml_text(fp, r->points[i].device);
        fprintf(fp, " %s</text>\n", r->points[i].precision);
        series++;
    }
    fputs("</svg>\n", fp);
    return PDL_OK;
}

pdl_status pdl_bench_write_svg(const pdl_bench_report *r, const char *path, pdl_error *err)
{
    return write_atomic(r, path, svg_body, err);
}
