/* tsup_pp_hand.c - hand-built post-processing cases: the corners of the
 * semantics (no centers, ties, plateaus, top-k boundaries, offsets leaving the
 * image, ...). Heads are full size (stride 1) so each value sits exactly on
 * its pixel; every builder also records what the case must produce by
 * construction (checked against the reference in tests/test_kernels.c). */
#include <math.h>
#include <string.h>

#include "tsup_pp.h"

/* Full-size heads; class `background` wins everywhere, heatmap 0, offsets 0. */
static void flat(tsup_pp_case *c, int classes, int h, int w, int background)
{
    tsup_pp_case_alloc(c, classes, h, w, 1, h, w);
    size_t plane = (size_t)h * w;
    for (int k = 0; k < classes; k++)
        for (size_t p = 0; p < plane; p++)
            c->logits[k * plane + p] = k == background ? 4.0f : (float)(k % 3) * 0.5f - 1.0f;
    memset(c->center, 0, plane * sizeof(float));
    memset(c->offset, 0, 2 * plane * sizeof(float));
    c->opt.stuff_area = 1;
}

static void set_class(tsup_pp_case *c, int y, int x, int cls)
{
    size_t plane = (size_t)c->in_h * c->in_w, p = (size_t)y * c->in_w + x;
    c->logits[cls * plane + p] = 6.0f + 0.01f * (float)(x % 7);
}

/* A thing disc of class cls around (cy, cx) whose offsets point at the
 * center, with a Gaussian peak of height `peak` there. */
static long disc(tsup_pp_case *c, int cy, int cx, int radius, int cls, float peak)
{
    size_t plane = (size_t)c->in_h * c->in_w;
    long n = 0;
    for (int y = 0; y < c->in_h; y++)
        for (int x = 0; x < c->in_w; x++) {
            float dy = (float)(cy - y), dx = (float)(cx - x), d2 = dy * dy + dx * dx;
            size_t p = (size_t)y * c->in_w + x;
            c->center[p] += peak * expf(-d2 / (2.0f * 9.0f));
            if (d2 <= (float)(radius * radius)) {
                set_class(c, y, x, cls);
                c->offset[p] = dy;
                c->offset[plane + p] = dx;
                n++;
            }
        }
    return n;
}

static void no_centers(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 3, 40, 50, 1);
    c->isthing[0] = 1;
    disc(c, 20, 25, 8, 0, 0.0f);
    for (int p = 0; p < 40 * 50; p++)
        c->center[p] = 0.05f + 0.001f * (float)(p % 13); /* all below the threshold */
    e->centers = 0;
    e->instances = 0;
}

static void one_center(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 3, 40, 50, 1);
    c->isthing[0] = 1;
    e->first_area = disc(c, 20, 25, 8, 0, 0.9f);
    e->centers = 1;
    e->instances = 1;
}

static void all_stuff(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 3, 40, 50, 1);
    disc(c, 10, 10, 6, 0, 0.9f);
    disc(c, 30, 35, 6, 2, 0.8f);
    e->centers = 2;
    e->instances = 0;
}

static void all_void(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 3, 40, 50, 1);
    disc(c, 20, 20, 10, 2, 0.9f);
    c->opt.stuff_area = 40 * 50 + 1;
    e->centers = 1;
    e->instances = 0;
    e->all_void = 1;
}

static void heatmap_ties(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 2, 30, 40, 1);
    c->isthing[0] = 1;
    for (int y = 5; y < 25; y++)
        for (int x = 5; x < 35; x++)
            set_class(c, y, x, 0);
    c->center[10 * 40 + 10] = c->center[10 * 40 + 11] = 0.8f; /* equal maxima in one window */
    c->center[20 * 40 + 30] = 0.7f;
    e->centers = 3;
    e->instances = -1;
}

/* 300,300 equal values (all NMS survivors) and 50 higher spikes. */
static void plateau(tsup_pp_case *c, tsup_pp_expect *e, int exact)
{
    flat(c, 2, 500, 700, 1);
    c->isthing[0] = 1;
    for (int y = 429; y < 500; y++)
        for (int x = 0; x < 700; x++)
            set_class(c, y, x, 0);
    for (int p = 0; p < 429 * 700; p++)
        c->center[p] = 0.5f;
    for (int i = 0; i < 50; i++)
        c->center[(450 + 20 * (i / 25)) * 700 + 10 + 27 * (i % 25)] = 0.9f - 0.001f * (float)i;
    c->opt.exact_top_k = exact;
    e->centers = exact ? 200 : 50; /* Detectron2 keeps only values above the k-th (0.5) */
    e->instances = -1;
}

static void plateau_d2(tsup_pp_case *c, tsup_pp_expect *e)
{
    plateau(c, e, 0);
}

static void plateau_exact(tsup_pp_case *c, tsup_pp_expect *e)
{
    plateau(c, e, 1);
}

static void peaks(tsup_pp_case *c, int count, int exact)
{
    flat(c, 2, 30, 120, 0);
    c->isthing[0] = 1;
    c->opt.top_k = 5;
    c->opt.exact_top_k = exact;
    for (int i = 0; i < count; i++)
        c->center[15 * 120 + 5 + 18 * i] = 0.3f + 0.1f * (float)i;
}

static void exactly_k(tsup_pp_case *c, tsup_pp_expect *e)
{
    peaks(c, 5, 0);
    e->centers = 4; /* Detectron2's k - 1 */
    e->instances = 4;
}

static void k_plus_1(tsup_pp_case *c, tsup_pp_expect *e)
{
    peaks(c, 6, 0);
    e->centers = 4;
    e->instances = 4;
}

static void exactly_k_exact(tsup_pp_case *c, tsup_pp_expect *e)
{
    peaks(c, 5, 1);
    e->centers = 5;
    e->instances = 5;
}

static void k_plus_1_exact(tsup_pp_case *c, tsup_pp_expect *e)
{
    peaks(c, 6, 1);
    e->centers = 5;
    e->instances = 5;
}

static void offsets_outside(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 3, 60, 80, 2);
    c->isthing[0] = c->isthing[1] = 1;
    disc(c, 5, 5, 4, 0, 0.9f);
    disc(c, 54, 74, 4, 1, 0.8f);
    disc(c, 30, 40, 12, 0, 0.7f);
    size_t plane = 60 * 80;
    for (int y = 20; y < 40; y++)
        for (int x = 30; x < 50; x++) {
            c->offset[y * 80 + x] = (y % 2 ? 500.0f : -700.0f) + (float)x;
            c->offset[plane + y * 80 + x] = (x % 3 ? -900.0f : 800.0f) - (float)y;
        }
    e->centers = 3;
    e->instances = -1;
}

static void empty_classes(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 6, 50, 60, 1);
    c->isthing[0] = c->isthing[2] = c->isthing[4] = 1;
    size_t plane = 50 * 60;
    for (size_t p = 0; p < plane; p++)
        c->logits[2 * plane + p] = c->logits[4 * plane + p] = -10.0f;
    disc(c, 15, 15, 7, 0, 0.9f);
    disc(c, 35, 40, 9, 0, 0.6f);
    for (int y = 30; y < 50; y++)
        for (int x = 0; x < 20; x++)
            set_class(c, y, x, 3);
    e->centers = 2;
    e->instances = 2;
    e->absent_class_a = 2;
    e->absent_class_b = 4;
}

static void one_center_claims_all(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 2, 64, 96, 0);
    c->isthing[0] = 1;
    disc(c, 31, 47, 0, 0, 0.95f);
    size_t plane = 64 * 96;
    uint64_t s = 5;
    for (size_t p = 0; p < 2 * plane; p++)
        c->offset[p] = (float)(tsup_pp_uniform(&s) * 200.0 - 100.0);
    e->centers = 1;
    e->instances = 1;
    e->first_area = 64 * 96;
}

static void tiny_image(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 2, 3, 4, 1);
    c->isthing[0] = 1;
    c->opt.nms_kernel = 3;
    set_class(c, 0, 0, 0);
    set_class(c, 2, 3, 0);
    c->center[0] = 0.6f;
    c->center[2 * 4 + 3] = 0.7f;
    e->centers = 2; /* fewer pixels than top_k: Detectron2's topk would fail */
    e->instances = 2;
}

static void one_pixel(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 2, 1, 1, 0);
    c->isthing[0] = 1;
    c->center[0] = 0.4f;
    e->centers = 1;
    e->instances = 1;
    e->first_area = 1;
}

/* Equidistant pixels go to the lower instance id; a 2:2 vote to the smaller class. */
static void tie_rules(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 3, 21, 31, 2);
    c->isthing[0] = c->isthing[1] = 1;
    c->center[10 * 31 + 5] = 0.9f;
    c->center[10 * 31 + 25] = 0.8f;
    for (int x = 13; x <= 17; x++)
        set_class(c, 10, x, x == 13 ? 1 : 0); /* x = 15 is equidistant, offsets 0 */
    set_class(c, 0, 0, 1);
    c->offset[0] = 10.0f;
    c->offset[21 * 31] = 5.0f;
    e->centers = 2;
    e->instances = 2;
}

static void nms_41(tsup_pp_case *c, tsup_pp_expect *e)
{
    tsup_pp_case_random(c, 6, 257, 300, 4, 25, 0.06, 21);
    c->opt.nms_kernel = 41;
    e->centers = -1;
    e->instances = -1;
}

/* Isolated single-pixel peaks (3% of pixels): many windows whose maximum
 * lies just beyond the block or element of the NMS passes that owns them. */
static void sparse_peaks(tsup_pp_case *c, tsup_pp_expect *e)
{
    flat(c, 2, 64, 300, 1);
    c->isthing[0] = 1;
    uint64_t s = 77;
    for (int p = 0; p < 64 * 300; p++) {
        set_class(c, p / 300, p % 300, 0);
        if (tsup_pp_uniform(&s) < 0.03)
            c->center[p] = (float)(0.2 + 0.7 * tsup_pp_uniform(&s));
    }
    c->opt.top_k = 900;
    e->centers = -1;
    e->instances = -1;
}

/* A window wider than one element of the row pass (64 starts). */
static void nms_101(tsup_pp_case *c, tsup_pp_expect *e)
{
    tsup_pp_case_random(c, 5, 90, 230, 2, 14, 0.05, 33);
    c->opt.nms_kernel = 101;
    e->centers = -1;
    e->instances = -1;
}

/* Upsampled heads whose center values sit at the threshold and within a few
 * ulps either side of it (and at 2^-17..2^-19 below), so that cells just
 * below it take the fast path of semantic while their neighbours blend to
 * exactly the threshold or one ulp above. */
static void threshold_edge(tsup_pp_case *c, tsup_pp_expect *e)
{
    tsup_pp_case_random(c, 5, 61, 97, 4, 6, 0.05, 41);
    float t = c->opt.threshold;
    const float near[] = {t,
                          nextafterf(t, 0.0f),
                          nextafterf(t, 1.0f),
                          nextafterf(nextafterf(t, 0.0f), 0.0f),
                          t * (1.0f - 0x1p-17f),
                          t * (1.0f - 0x1p-18f),
                          t * (1.0f - 0x1p-19f),
                          2.0f * t};
    size_t plane = (size_t)c->in_h * c->in_w;
    uint64_t s = 7;
    for (size_t p = 0; p < plane; p++)
        c->center[p] = near[tsup_pp_rng(&s) % (sizeof near / sizeof near[0])];
    e->centers = -1;
    e->instances = -1;
}

/* Classes 1 and 2 have equal logits everywhere, and class 3 too on the
 * left half: the first maximum, class 1, must win every pixel (all stuff).
 * At stride 1 every class is sampled at every pixel; at stride 4 the cells
 * list the tied classes. */
static void semantic_ties(tsup_pp_case *c, tsup_pp_expect *e, int stride)
{
    int h = 40, w = 52;
    tsup_pp_case_alloc(c, 4, h / stride, w / stride, stride, h, w);
    size_t plane = (size_t)c->in_h * c->in_w;
    uint64_t s = 9;
    for (size_t p = 0; p < plane; p++) {
        float v = 1.0f + 2.0f * (float)tsup_pp_uniform(&s);
        c->logits[p] = v - 0.25f;
        c->logits[plane + p] = c->logits[2 * plane + p] = v;
        c->logits[3 * plane + p] = (int)(p % (size_t)c->in_w) < c->in_w / 2 ? v : v - 1.0f;
    }
    memset(c->center, 0, plane * sizeof(float));
    memset(c->offset, 0, 2 * plane * sizeof(float));
    c->opt.stuff_area = 1;
    e->centers = 0;
    e->instances = 0;
    e->absent_class_a = 2;
    e->absent_class_b = 3;
}

static void semantic_ties_full(tsup_pp_case *c, tsup_pp_expect *e)
{
    semantic_ties(c, e, 1);
}

static void semantic_ties_x4(tsup_pp_case *c, tsup_pp_expect *e)
{
    semantic_ties(c, e, 4);
}

const tsup_pp_hand_case tsup_pp_hand_cases[] = {
    {"no_centers", no_centers},
    {"one_center", one_center},
    {"all_stuff", all_stuff},
    {"all_void", all_void},
    {"heatmap_ties", heatmap_ties},
    {"plateau_d2", plateau_d2},
    {"plateau_exact", plateau_exact},
    {"exactly_k", exactly_k},
    {"k_plus_1", k_plus_1},
    {"exactly_k_exact", exactly_k_exact},
    {"k_plus_1_exact", k_plus_1_exact},
    {"offsets_outside", offsets_outside},
    {"empty_classes", empty_classes},
    {"one_center_claims_all", one_center_claims_all},
    {"tiny_image", tiny_image},
    {"one_pixel", one_pixel},
    {"tie_rules", tie_rules},
    {"nms_41", nms_41},
    {"nms_101", nms_101},
    {"sparse_peaks", sparse_peaks},
    {"threshold_edge", threshold_edge},
    {"semantic_ties_full", semantic_ties_full},
    {"semantic_ties_x4", semantic_ties_x4},
};
const int tsup_pp_hand_case_count = sizeof tsup_pp_hand_cases / sizeof tsup_pp_hand_cases[0];
