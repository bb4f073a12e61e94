/* postprocess.c - drives the post-processing kernels (kernels/pp_*.cu) on
 * either executor through the pdl_pp_kernels table.
 *
 * The heavy, per-pixel work runs in kernels; the driver does the small serial
 * steps on the host between launches: walking the 256-bin radix histograms of
 * the top-k select, sorting the <= top_k kept centers by raster index, the
 * per-instance vote (argmax of a [K][classes] histogram, ids per class) and the
 * stuff-area test, and assembling the segment list. Device buffers grow to the
 * largest size seen and are reused, so steady-state runs allocate nothing.
 */
#include "postprocess.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Centers the look-up grid of grouping has room for without growing. */
#define PP_GRID_LIST_K 256

typedef struct pp_buffer {
    void *p;
    size_t cap;
} pp_buffer;

enum {
    /* per output pixel */
    B_SEM, B_CTR, B_ROWMAX, B_CAND, B_INS, B_PAN,
    /* per output column */
    B_XTAP, B_XEND,
    /* per head cell */
    B_CELL_CLASSES, B_CELL_COUNT, B_LOGITS_LAST, B_WIN, B_TOP, B_SECOND, B_AMAX,
    /* per grid cell */
    B_GRID_LIST, B_GRID_N,
    /* small */
    B_COUNTERS, B_HIST, B_SEL, B_SEL_VALUE, B_CENTER_Y, B_CENTER_X, B_VOTE, B_STUFF_AREA,
    B_INS_VALUE, B_INS_CLASS, B_STUFF_VALUE, B_ISTHING, B_INS_AREA, B_INS_BOX, B_INS_PROB,
    B_STUFF_BOX,
    B_COUNT
};

struct pdl_pp_context {
    const pdl_pp_kernels *k;
    void *stream;
    pdl_pp_options opt;
    unsigned char isthing[PDL_PP_MAX_CLASSES];
    pp_buffer buf[B_COUNT];
    /* host side, sized for top_k and classes at init */
    int *sel;
    float *sel_value;
    float *center_y, *center_x;
    unsigned *vote, *stuff_area;
    int *ins_value, *ins_class, *stuff_value, *tracker;
    unsigned *ins_area;
    int *ins_box, *stuff_box;
    unsigned long long *ins_prob;
    pdl_pp_center *centers;
    pdl_pp_segment *segments;
    int32_t *pan; /* host copy of the map (executors with device memory) */
    size_t pan_cap;
};

void pdl_pp_options_default(pdl_pp_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->threshold = 0.1f;
    opt->nms_kernel = 7;
    opt->top_k = 200;
    opt->stuff_area = 2048;
    opt->label_divisor = 1000;
}

void pdl_pp_heads_strided(pdl_pp_heads *h, const float *semantic, const float *center,
                          const float *offset, int in_h, int in_w, int stride, int out_h, int out_w)
{
    h->semantic = semantic;
    h->center = center;
    h->offset = offset;
    h->in_h = in_h;
    h->in_w = in_w;
    h->resize_h = in_h * stride;
    h->resize_w = in_w * stride;
    h->out_h = out_h;
    h->out_w = out_w;
    h->offset_scale_y = (float)stride;
    h->offset_scale_x = (float)stride;
}

static pdl_status exec_fail(pdl_pp_context *c, int code, const char *what, pdl_error *err)
{
    return pdl_fail(err, PDL_ERR_DEVICE, "post-processing (%s executor): %s failed: %s", c->k->name,
                    what, c->k->error_string(code));
}

#define EXEC(call, what)                                                                           \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_)                                                                                   \
            return exec_fail(c, rc_, what, err);                                                   \
    } while (0)

/* Buffer `which` holds at least `bytes`; a failure names what it was for
 * (`use`: e.g. the output size) and how much it needed. */
static pdl_status ensure(pdl_pp_context *c, int which, size_t bytes, const char *use,
                         pdl_error *err)
{
    pp_buffer *b = &c->buf[which];
    if (b->cap >= bytes && b->p)
        return PDL_OK;
    if (b->p)
        c->k->release(b->p);
    b->p = NULL;
    b->cap = 0;
    int rc = c->k->alloc(&b->p, bytes);
    if (rc) {
        b->p = NULL;
        return pdl_fail(err, PDL_ERR_NOMEM,
                        "post-processing (%s executor): allocating %zu MB for %s failed: %s",
                        c->k->name, (bytes + (1u << 20) - 1) >> 20, use, c->k->error_string(rc));
    }
    b->cap = bytes;
    return PDL_OK;
}

#define P(which) (c->buf[which].p)

static pdl_status check_options(const pdl_pp_options *o, pdl_error *err)
{
    if (o->classes < 1 || o->classes > PDL_PP_MAX_CLASSES || !o->isthing)
        return pdl_fail(err, PDL_ERR_ARG, "post-processing: %d classes (need 1..%d and thing flags)",
                        o->classes, PDL_PP_MAX_CLASSES);
    if (o->nms_kernel < 1 || o->nms_kernel > PDL_PP_MAX_NMS || o->nms_kernel % 2 == 0)
        return pdl_fail(err, PDL_ERR_ARG, "post-processing: NMS kernel %d (need odd, 1..%d)",
                        o->nms_kernel, PDL_PP_MAX_NMS);
    if (o->top_k < 1 || o->top_k > PDL_PP_MAX_TOP_K)
        return pdl_fail(err, PDL_ERR_ARG, "post-processing: top-k %d (need 1..%d)", o->top_k,
                        PDL_PP_MAX_TOP_K);
    if (o->stuff_area < 0)
        return pdl_fail(err, PDL_ERR_ARG, "post-processing: stuff area %d is negative",
                        o->stuff_area);
    if (o->label_divisor < 1 ||
        (int64_t)(o->classes - 1) * o->label_divisor + o->top_k > INT32_MAX ||
        o->label_divisor <= o->top_k)
        return pdl_fail(err, PDL_ERR_ARG,
                        "post-processing: top-k %d needs a label divisor above it, and the "
                        "model's is %d (for %d classes within int32); lower --top-k",
                        o->top_k, o->label_divisor, o->classes);
    if (!(o->threshold == o->threshold))
        return pdl_fail(err, PDL_ERR_ARG, "post-processing: threshold is NaN");
    return PDL_OK;
}

pdl_status pdl_pp_init(pdl_pp_context **out, const pdl_pp_kernels *exec, void *stream,
                       const pdl_pp_options *opt, pdl_error *err)
{
    *out = NULL;
    pdl_status st = check_options(opt, err);
    if (st != PDL_OK)
        return st;
    char why[256] = "";
    if (!exec->available(why, sizeof why))
        return pdl_fail(err, PDL_ERR_DEVICE, "post-processing: %s executor unavailable: %s",
                        exec->name, why);
    pdl_pp_context *c = calloc(1, sizeof *c);
    if (!c)
        return pdl_fail(err, PDL_ERR_NOMEM, "post-processing: out of memory");
    c->k = exec;
    c->stream = stream;
    c->opt = *opt;
    memcpy(c->isthing, opt->isthing, (size_t)opt->classes);
    c->opt.isthing = c->isthing;
    size_t k = (size_t)opt->top_k, n = (size_t)opt->classes;
    c->sel = malloc(k * sizeof *c->sel);
    c->sel_value = malloc(k * sizeof *c->sel_value);
    c->center_y = malloc(k * sizeof *c->center_y);
    c->center_x = malloc(k * sizeof *c->center_x);
    c->vote = malloc(k * n * sizeof *c->vote);
    c->stuff_area = malloc(n * sizeof *c->stuff_area);
    c->ins_value = malloc((k + 1) * sizeof *c->ins_value);
    c->ins_class = malloc((k + 1) * sizeof *c->ins_class);
    c->stuff_value = malloc(n * sizeof *c->stuff_value);
    c->tracker = malloc(n * sizeof *c->tracker);
    c->ins_area = malloc((k + 1) * sizeof *c->ins_area);
    c->ins_box = malloc((k + 1) * 4 * sizeof *c->ins_box);
    c->stuff_box = malloc(n * 4 * sizeof *c->stuff_box);
    c->ins_prob = malloc((k + 1) * sizeof *c->ins_prob);
    c->centers = malloc(k * sizeof *c->centers);
    c->segments = malloc((k + n) * sizeof *c->segments);
    if (!c->sel || !c->sel_value || !c->center_y || !c->center_x || !c->vote || !c->stuff_area ||
        !c->ins_value || !c->ins_class || !c->stuff_value || !c->tracker || !c->ins_area ||
        !c->ins_box || !c->stuff_box || !c->ins_prob || !c->centers || !c->segments) {
        pdl_pp_free(c);
        return pdl_fail(err, PDL_ERR_NOMEM, "post-processing: out of memory");
    }
    static const size_t small[][2] = {
        {B_COUNTERS, 2 * sizeof(unsigned)}, {B_HIST, 256 * sizeof(unsigned)},
    };
    for (size_t i = 0; i < sizeof small / sizeof small[0] && st == PDL_OK; i++)
        st = ensure(c, (int)small[i][0], small[i][1], "its counters", err);
    const size_t per_k[][2] = {
        {B_SEL, k * sizeof(int)},          {B_SEL_VALUE, k * sizeof(float)},
        {B_CENTER_Y, k * sizeof(float)},   {B_CENTER_X, k * sizeof(float)},
        {B_VOTE, k * n * sizeof(unsigned)}, {B_STUFF_AREA, n * sizeof(unsigned)},
        {B_INS_VALUE, (k + 1) * sizeof(int)}, {B_INS_CLASS, (k + 1) * sizeof(int)},
        {B_STUFF_VALUE, n * sizeof(int)},  {B_ISTHING, n},
        {B_INS_AREA, (k + 1) * sizeof(unsigned)}, {B_INS_BOX, (k + 1) * 4 * sizeof(int)},
        {B_INS_PROB, (k + 1) * sizeof(unsigned long long)}, {B_STUFF_BOX, n * 4 * sizeof(int)},
    };
    for (size_t i = 0; i < sizeof per_k / sizeof per_k[0] && st == PDL_OK; i++)
        st = ensure(c, (int)per_k[i][0], per_k[i][1], "its per-instance tables", err);
    if (st == PDL_OK) {
        int rc = exec->upload(P(B_ISTHING), c->isthing, n, stream);
        if (rc)
            st = exec_fail(c, rc, "upload", err);
    }
    if (st != PDL_OK) {
        pdl_pp_free(c);
        return st;
    }
    *out = c;
    return PDL_OK;
}

void pdl_pp_free(pdl_pp_context *c)
{
    if (!c)
        return;
    for (int i = 0; i < B_COUNT; i++)
        if (c->buf[i].p)
            c->k->release(c->buf[i].p);
    free(c->sel);
    free(c->sel_value);
    free(c->center_y);
    free(c->center_x);
    free(c->vote);
    free(c->stuff_area);
    free(c->ins_value);
    free(c->ins_class);
    free(c->stuff_value);
    free(c->tracker);
    free(c->ins_area);
    free(c->ins_box);
    free(c->stuff_box);
    free(c->ins_prob);
    free(c->centers);
    free(c->segments);
    free(c->pan);
    free(c);
}

static pdl_status check_heads(const pdl_pp_heads *h, pdl_error *err)
{
    if (!h->semantic || !h->center || !h->offset)
        return pdl_fail(err, PDL_ERR_ARG, "post-processing: a head tensor is missing");
    if (h->in_h < 1 || h->in_w < 1 || h->resize_h < 1 || h->resize_w < 1 || h->out_h < 1 ||
        h->out_w < 1 || h->out_h > h->resize_h || h->out_w > h->resize_w)
        return pdl_fail(err, PDL_ERR_ARG,
                        "post-processing: bad sizes (heads %dx%d, resized %dx%d, output %dx%d)",
                        h->in_h, h->in_w, h->resize_h, h->resize_w, h->out_h, h->out_w);
    if ((int64_t)h->out_h * h->out_w > INT_MAX / 4 || (int64_t)h->in_h * h->in_w > INT_MAX / 4)
        return pdl_fail(err, PDL_ERR_LIMIT, "post-processing: output %dx%d is too large", h->out_h,
                        h->out_w);
    return PDL_OK;
}

static pdl_status ensure_sizes(pdl_pp_context *c, const pdl_pp_heads *h, int grid_cells,
                               pdl_error *err)
{
    size_t n = (size_t)h->out_h * h->out_w, cells = (size_t)h->in_h * h->in_w;
    char use[96];
    snprintf(use, sizeof use, "a %dx%d output from %dx%d heads", h->out_w, h->out_h, h->in_w,
             h->in_h);
    const size_t need[][2] = {
        {B_SEM, n},
        {B_CTR, n * sizeof(float)},
        {B_ROWMAX, n * sizeof(float)},
        {B_CAND, n * sizeof(int)},
        {B_INS, n * sizeof(unsigned short)},
        {B_PAN, n * sizeof(int32_t)},
        {B_XTAP, (size_t)h->out_w * sizeof(pdl_axis_tap)},
        {B_XEND, (size_t)h->out_w * sizeof(int)},
        {B_CELL_CLASSES, cells * (size_t)c->opt.classes},
        {B_CELL_COUNT, cells},
        {B_LOGITS_LAST, cells * (size_t)PDL_PP_PADDED(c->opt.classes) * sizeof(float)},
        {B_WIN, cells},
        {B_TOP, cells * sizeof(float)},
        {B_SECOND, cells * sizeof(float)},
        {B_AMAX, cells * sizeof(float)},
        {B_GRID_N, (size_t)grid_cells * sizeof(unsigned short)},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        pdl_status st = ensure(c, (int)need[i][0], need[i][1], use, err);
        if (st != PDL_OK)
            return st;
    }
    if (!c->k->host_memory && c->pan_cap < n) {
        free(c->pan);
        c->pan = malloc(n * sizeof *c->pan);
        c->pan_cap = c->pan ? n : 0;
        if (!c->pan)
            return pdl_fail(err, PDL_ERR_NOMEM, "post-processing: out of memory");
    }
    return PDL_OK;
}

/* A value below the threshold by more than bilinear interpolation can add in
 * rounding (a few ulps of the taps' magnitude): when all four taps of a cell
 * are below it, so is every pixel sampled between them. */
static float clearly_below(float threshold)
{
    return (float)((double)threshold - fabs((double)threshold) * 0x1p-18 - 0x1p-100);
}

static int cmp_raster(const void *a, const void *b)
{
    const pdl_pp_center *p = a, *q = b;
    if (p->y != q->y)
        return (p->y > q->y) - (p->y < q->y);
    return (p->x > q->x) - (p->x < q->x);
}

/* Stages 2-3: NMS, top-k; fills c->centers and the device center arrays. */
static pdl_status find_centers(pdl_pp_context *c, const pdl_pp_map *m, int *count, pdl_error *err)
{
    unsigned counters[2];
    /* The column pass's scratch is the panoptic map's buffer, unused until
     * painting. */
    pdl_pp_nms_args na = {m->out_h, m->out_w, c->opt.nms_kernel, P(B_CTR), P(B_ROWMAX),
                          P(B_PAN), P(B_CAND), P(B_COUNTERS)};
    EXEC(c->k->zero(P(B_COUNTERS), sizeof counters, c->stream), "clear");
    EXEC(c->k->nms_rows(&na, c->stream), "nms_rows");
    EXEC(c->k->nms_cols(&na, c->stream), "nms_cols");
    EXEC(c->k->download(counters, P(B_COUNTERS), sizeof counters, c->stream), "download");
    long peaks = counters[0];
    *count = 0;
    if (peaks == 0)
        return PDL_OK;

    pdl_pp_topk_args ta;
    memset(&ta, 0, sizeof ta);
    ta.cand = P(B_CAND);
    ta.count = peaks;
    ta.ctr = P(B_CTR);
    ta.hist = P(B_HIST);
    ta.value_only = !c->opt.exact_top_k;
    ta.sel = P(B_SEL);
    ta.sel_value = P(B_SEL_VALUE);
    ta.sel_count = (unsigned *)P(B_COUNTERS) + 1;
    long k = c->opt.top_k;
    /* Detectron2 drops everything not above the k-th value, so its rule
     * needs the select as soon as there are k peaks; exactly-k only beyond k. */
    if (ta.value_only ? peaks >= k : peaks > k) {
        unsigned hist[256];
        unsigned long long prefix = 0;
        long need = k;
        for (int shift = 56; shift >= (ta.value_only ? 32 : 0); shift -= 8) {
            ta.shift = shift;
            ta.prefix = prefix;
            EXEC(c->k->zero(P(B_HIST), sizeof hist, c->stream), "clear");
            EXEC(c->k->topk_hist(&ta, c->stream), "topk_hist");
            EXEC(c->k->download(hist, P(B_HIST), sizeof hist, c->stream), "download");
            int d = 255;
            while (d > 0 && hist[d] < need)
                need -= hist[d--];
            prefix |= (unsigned long long)d << shift;
        }
        ta.bound = prefix;
    }
    EXEC(c->k->topk_select(&ta, c->stream), "topk_select");
    EXEC(c->k->download(counters, P(B_COUNTERS), sizeof counters, c->stream), "download");
    int kept = (int)counters[1];
    EXEC(c->k->download(c->sel, P(B_SEL), (size_t)kept * sizeof(int), c->stream), "download");
    EXEC(c->k->download(c->sel_value, P(B_SEL_VALUE), (size_t)kept * sizeof(float), c->stream),
         "download");
    for (int i = 0; i < kept; i++) {
        c->centers[i].y = c->sel[i] / m->out_w;
        c->centers[i].x = c->sel[i] % m->out_w;
        c->centers[i].objectness = c->sel_value[i];
    }
    qsort(c->centers, (size_t)kept, sizeof *c->centers, cmp_raster);
    for (int i = 0; i < kept; i++) {
        c->center_y[i] = (float)c->centers[i].y;
        c->center_x[i] = (float)c->centers[i].x;
    }
    EXEC(c->k->upload(P(B_CENTER_Y), c->center_y, (size_t)kept * sizeof(float), c->stream),
         "upload");
    EXEC(c->k->upload(P(B_CENTER_X), c->center_x, (size_t)kept * sizeof(float), c->stream),
         "upload");
    *count = kept;
    return PDL_OK;
}

/* Stage 5 on the host: each instance's class is the first maximum of its
 * histogram; ids are numbered per class in instance order; instances without
 * pixels are dropped. Stage 6: stuff classes below stuff_area become void. */
static void vote(pdl_pp_context *c, int centers)
{
    int n = c->opt.classes, div = c->opt.label_divisor;
    memset(c->tracker, 0, (size_t)n * sizeof *c->tracker);
    c->ins_value[0] = -1;
    c->ins_class[0] = 0;
    for (int i = 0; i < centers; i++) {
        const unsigned *h = c->vote + (size_t)i * n;
        int best = 0;
        for (int k = 1; k < n; k++)
            if (h[k] > h[best])
                best = k;
        c->ins_value[i + 1] = h[best] ? best * div + ++c->tracker[best] : -1;
        c->ins_class[i + 1] = best;
    }
    for (int k = 0; k < n; k++)
        c->stuff_value[k] = !c->isthing[k] && c->stuff_area[k] > 0 &&
                                    c->stuff_area[k] >= (unsigned)c->opt.stuff_area
                                ? k * div
                                : -1;
}

static void init_boxes(int *box, int count)
{
    for (int i = 0; i < count; i++) {
        box[4 * i] = box[4 * i + 1] = INT_MAX;
        box[4 * i + 2] = box[4 * i + 3] = -1;
    }
}

static void set_box(pdl_pp_segment *s, const int *box)
{
    s->bbox[0] = box[0];
    s->bbox[1] = box[1];
    s->bbox[2] = box[2] - box[0] + 1;
    s->bbox[3] = box[3] - box[1] + 1;
}

static int collect_segments(pdl_pp_context *c, int centers)
{
    int count = 0;
    for (int i = 1; i <= centers; i++) {
        if (c->ins_value[i] < 0)
            continue;
        pdl_pp_segment *s = &c->segments[count++];
        s->id = c->ins_value[i];
        s->category = c->ins_class[i];
        s->isthing = 1;
        s->area = c->ins_area[i];
        set_box(s, c->ins_box + 4 * i);
        double mean = (double)c->ins_prob[i] / 4294967296.0 / (double)c->ins_area[i];
        s->score = (float)(c->centers[i - 1].objectness * mean);
    }
    for (int k = 0; k < c->opt.classes; k++) {
        if (c->stuff_value[k] < 0)
            continue;
        pdl_pp_segment *s = &c->segments[count++];
        s->id = c->stuff_value[k];
        s->category = k;
        s->isthing = 0;
        s->area = c->stuff_area[k];
        set_box(s, c->stuff_box + 4 * k);
        s->score = 1.0f;
    }
    return count;
}

pdl_status pdl_pp_run(pdl_pp_context *c, const pdl_pp_heads *h, pdl_pp_result *out,
                      pdl_error *err)
{
    memset(out, 0, sizeof *out);
    pdl_status st = check_heads(h, err);
    if (st != PDL_OK)
        return st;
    int grid_h = (h->out_h + PDL_PP_GRID - 1) / PDL_PP_GRID;
    int grid_w = (h->out_w + PDL_PP_GRID - 1) / PDL_PP_GRID;
    st = ensure_sizes(c, h, grid_h * grid_w, err);
    if (st != PDL_OK)
        return st;
    int classes = c->opt.classes;
    size_t npix = (size_t)h->out_h * h->out_w;
    pdl_pp_map m = {h->in_h,
                    h->in_w,
                    h->out_h,
                    h->out_w,
                    (float)h->in_h / (float)h->resize_h,
                    (float)h->in_w / (float)h->resize_w,
                    h->offset_scale_y,
                    h->offset_scale_x};

    pdl_pp_axis_args xa = {m, P(B_XTAP), P(B_XEND)};
    EXEC(c->k->axis_taps(&xa, c->stream), "axis_taps");

    /* Stage 1. Class lists per head cell pay off only when the heads are
     * upsampled (each cell then serves several output pixels). */
    int use_cells = (int64_t)h->in_h * h->in_w * 4 <= (int64_t)npix;
    if (use_cells) {
        pdl_pp_cells_args ca = {h->in_h,    h->in_w,          classes,        h->semantic,
                                P(B_LOGITS_LAST), P(B_WIN),   P(B_TOP),       P(B_SECOND),
                                P(B_AMAX),  P(B_CELL_CLASSES), P(B_CELL_COUNT)};
        EXEC(c->k->semantic_heads(&ca, c->stream), "semantic_heads");
        EXEC(c->k->semantic_cells(&ca, c->stream), "semantic_cells");
    }
    pdl_pp_semantic_args sa = {m,
                               classes,
                               c->opt.threshold,
                               clearly_below(c->opt.threshold),
                               P(B_XTAP),
                               P(B_XEND),
                               h->semantic,
                               h->center,
                               P(B_ISTHING),
                               use_cells ? P(B_CELL_CLASSES) : NULL,
                               use_cells ? P(B_CELL_COUNT) : NULL,
                               P(B_SEM),
                               P(B_CTR)};
    EXEC(c->k->semantic(&sa, c->stream), "semantic");

    int centers = 0;
    st = find_centers(c, &m, &centers, err);
    if (st != PDL_OK)
        return st;

    /* Stages 4-5: grouping and histograms. The per-cell center lists hold
     * room for top_k centers up to PP_GRID_LIST_K, so images of one size
     * allocate nothing after the first; beyond that, for the centers found
     * (top_k 65535 would take 268 MB at 1024 x 2048). */
    size_t list_k = centers > PP_GRID_LIST_K ? (size_t)centers
                    : c->opt.top_k < PP_GRID_LIST_K ? (size_t)c->opt.top_k
                                                     : PP_GRID_LIST_K;
    st = ensure(c, B_GRID_LIST,
                (size_t)grid_h * (size_t)grid_w * list_k * sizeof(unsigned short),
                "the center look-up grid", err);
    if (st != PDL_OK)
        return st;
    size_t vote_bytes = (size_t)centers * classes * sizeof(unsigned);
    EXEC(c->k->zero(P(B_VOTE), vote_bytes, c->stream), "clear");
    EXEC(c->k->zero(P(B_STUFF_AREA), classes * sizeof(unsigned), c->stream), "clear");
    pdl_pp_group_args ga = {m,           classes,        centers,        P(B_XTAP),    h->offset,
                            P(B_SEM),    P(B_ISTHING),   P(B_CENTER_Y),  P(B_CENTER_X),
                            grid_h,      grid_w,         P(B_GRID_LIST), P(B_GRID_N),
                            P(B_INS),    P(B_VOTE),      P(B_STUFF_AREA)};
    if (centers > 0)
        EXEC(c->k->group_cells(&ga, c->stream), "group_cells");
    EXEC(c->k->group(&ga, c->stream), "group");
    EXEC(c->k->download(c->vote, P(B_VOTE), vote_bytes, c->stream), "download");
    EXEC(c->k->download(c->stuff_area, P(B_STUFF_AREA), classes * sizeof(unsigned), c->stream),
         "download");
    vote(c, centers);

    /* Stages 6-7: paint and per-segment statistics. */
    size_t k1 = (size_t)centers + 1;
    init_boxes(c->ins_box, (int)k1);
    init_boxes(c->stuff_box, classes);
    EXEC(c->k->upload(P(B_INS_VALUE), c->ins_value, k1 * sizeof(int), c->stream), "upload");
    EXEC(c->k->upload(P(B_INS_CLASS), c->ins_class, k1 * sizeof(int), c->stream), "upload");
    EXEC(c->k->upload(P(B_STUFF_VALUE), c->stuff_value, classes * sizeof(int), c->stream),
         "upload");
    EXEC(c->k->upload(P(B_INS_BOX), c->ins_box, k1 * 4 * sizeof(int), c->stream), "upload");
    EXEC(c->k->upload(P(B_STUFF_BOX), c->stuff_box, classes * 4 * sizeof(int), c->stream),
         "upload");
    EXEC(c->k->zero(P(B_INS_AREA), k1 * sizeof(unsigned), c->stream), "clear");
    EXEC(c->k->zero(P(B_INS_PROB), k1 * sizeof(unsigned long long), c->stream), "clear");
    pdl_pp_paint_args pa = {m,
                            classes,
                            P(B_XTAP),
                            use_cells ? NULL : h->semantic,
                            P(B_LOGITS_LAST),
                            P(B_SEM),
                            P(B_INS),
                            P(B_INS_VALUE),
                            P(B_INS_CLASS),
                            P(B_STUFF_VALUE),
                            P(B_PAN),
                            P(B_INS_AREA),
                            P(B_INS_BOX),
                            P(B_INS_PROB),
                            P(B_STUFF_BOX)};
    EXEC(c->k->paint(&pa, c->stream), "paint");
    EXEC(c->k->download(c->ins_area, P(B_INS_AREA), k1 * sizeof(unsigned), c->stream), "download");
    EXEC(c->k->download(c->ins_box, P(B_INS_BOX), k1 * 4 * sizeof(int), c->stream), "download");
    EXEC(c->k->download(c->ins_prob, P(B_INS_PROB), k1 * sizeof(unsigned long long), c->stream),
         "download");
    EXEC(c->k->download(c->stuff_box, P(B_STUFF_BOX), classes * 4 * sizeof(int), c->stream),
         "download");
    if (!c->k->host_memory)
        EXEC(c->k->download(c->pan, P(B_PAN), npix * sizeof(int32_t), c->stream), "download");

    out->height = h->out_h;
    out->width = h->out_w;
    out->panoptic = c->k->host_memory ? P(B_PAN) : c->pan;
    out->centers = c->centers;
    out->center_count = centers;
    out->segments = c->segments;
    out->segment_count = collect_segments(c, centers);
    return PDL_OK;
}
