/* test_pq_rules.c - hand-built cases, one per panopticapi rule.
 *
 * Most images are one row of W = 200 pixels painted with intervals, so the
 * areas, intersections and IoUs can be worked out by hand in each test's
 * comment; the expected numbers come from those comments, not from the code.
 * Categories: 1 thing, 2 stuff, 3 thing, 4 stuff.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pq.h"

#define W 200
#define CATS                                                                                 \
    "[{\"id\":1,\"name\":\"one\",\"isthing\":1},{\"id\":2,\"name\":\"two\",\"isthing\":0}," \
    "{\"id\":3,\"name\":\"three\",\"isthing\":1},{\"id\":4,\"name\":\"four\",\"isthing\":0}]"

typedef struct pq_case {
    char root[64], gt_json[96], gt_dir[96], pred_json[96], pred_dir[96];
} pq_case;

static void case_init(pq_case *c)
{
    snprintf(c->root, sizeof c->root, "/tmp/pq_rules_XXXXXX");
    cr_assert_not_null(mkdtemp(c->root));
    snprintf(c->gt_json, sizeof c->gt_json, "%s/gt.json", c->root);
    snprintf(c->gt_dir, sizeof c->gt_dir, "%s/gt", c->root);
    snprintf(c->pred_json, sizeof c->pred_json, "%s/pred.json", c->root);
    snprintf(c->pred_dir, sizeof c->pred_dir, "%s/pred", c->root);
    cr_assert_eq(mkdir(c->gt_dir, 0755), 0);
    cr_assert_eq(mkdir(c->pred_dir, 0755), 0);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void case_free(pq_case *c)
{
    nftw(c->root, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_text(const char *path, const char *fmt, ...)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

/* Writes ids (w x h) as a panoptic PNG: R = id & 255, G = id >> 8 & 255, B = id >> 16. */
static void write_ids(const char *dir, const char *name, int w, int h, const uint32_t *ids)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++) {
        rgb[3 * i] = ids[i] & 255;
        rgb[3 * i + 1] = ids[i] >> 8 & 255;
        rgb[3 * i + 2] = ids[i] >> 16 & 255;
    }
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)w;
    png.height = (png_uint_32)h;
    png.format = PNG_FORMAT_RGB;
    cr_assert(png_image_write_to_file(&png, path, 0, rgb, 0, NULL), "%s", path);
    free(rgb);
}

static void paint(uint32_t *row, int from, int to, uint32_t id)
{
    for (int x = from; x < to; x++)
        row[x] = id;
}

/* One image "a.png" with image_id 1 on each side. */
static void one_image(pq_case *c, const uint32_t *gt, const char *gt_segs, const uint32_t *pred,
                      const char *pred_segs)
{
    write_ids(c->gt_dir, "a.png", W, 1, gt);
    write_ids(c->pred_dir, "a.png", W, 1, pred);
    write_text(c->gt_json,
               "{\"categories\":" CATS ",\"annotations\":[{\"image_id\":1,\"file_name\":\"a.png\","
               "\"segments_info\":[%s]}]}",
               gt_segs);
    write_text(c->pred_json,
               "{\"annotations\":[{\"image_id\":1,\"file_name\":\"a.png\",\"segments_info\":[%s]}]}",
               pred_segs);
}

static pdl_status case_eval(const pq_case *c, pdl_pq_result *r, pdl_error *err)
{
    pdl_pq_options opt = {c->gt_json, c->gt_dir, c->pred_json, c->pred_dir, 2};
    pdl_error_clear(err);
    return pdl_pq_evaluate(&opt, r, err);
}

/* Evaluates a case that must succeed for every image. */
static void eval_ok(const pq_case *c, pdl_pq_result *r)
{
    pdl_error err;
    cr_assert_eq(case_eval(c, r, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(r->n_failed, 0, "%s", r->n_failed ? r->failures[0] : "");
}

static const pdl_pq_class *cls(const pdl_pq_result *r, int64_t id)
{
    for (size_t i = 0; i < r->n_classes; i++)
        if (r->classes[i].category_id == id)
            return &r->classes[i];
    cr_assert_fail("no class %lld", (long long)id);
    return NULL;
}

static void expect_counts(const pdl_pq_result *r, int64_t id, int64_t tp, int64_t fp, int64_t fn)
{
    const pdl_pq_class *k = cls(r, id);
    cr_assert_eq(k->tp, tp, "class %lld tp %lld", (long long)id, (long long)k->tp);
    cr_assert_eq(k->fp, fp, "class %lld fp %lld", (long long)id, (long long)k->fp);
    cr_assert_eq(k->fn, fn, "class %lld fn %lld", (long long)id, (long long)k->fn);
}

#define SEG_GT(id, cat, area, crowd) \
    "{\"id\":" #id ",\"category_id\":" #cat ",\"area\":" #area ",\"iscrowd\":" #crowd "}"
#define SEG(id, cat) "{\"id\":" #id ",\"category_id\":" #cat "}"

/* GT A = [0,100) cat 1, B = [100,200) cat 2; prediction P = [0,k) cat 1,
 * Q = [k,200) cat 2. IoU(A,P) = k/100; IoU(B,Q) = 100/(200-k). */
static void split_at(int k, pdl_pq_result *r)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[W];
    paint(gt, 0, 100, 0x030201);
    paint(gt, 100, W, 0x0a0000);
    paint(pred, 0, k, 0x000500);
    paint(pred, k, W, 7);
    one_image(&c, gt, SEG_GT(197121, 1, 100, 0) "," SEG_GT(655360, 2, 100, 0), pred,
              SEG(1280, 1) "," SEG(7, 2));
    eval_ok(&c, r);
    case_free(&c);
}

Test(pq_rules, iou_exactly_half_is_not_a_match)
{
    pdl_pq_result r;
    split_at(50, &r);
    expect_counts(&r, 1, 0, 1, 1);
    expect_counts(&r, 2, 1, 0, 0);
    cr_assert_float_eq(cls(&r, 2)->iou, 100.0 / 150, 1e-15);
    cr_assert_float_eq(cls(&r, 1)->pq, 0.0, 1e-15);
    cr_assert_eq(r.all.n, 2);
    cr_assert_float_eq(r.all.pq, (100.0 / 150) / 2, 1e-15);
    cr_assert_float_eq(r.all.rq, 0.5, 1e-15); /* (0 + 1) / 2 */
    cr_assert_float_eq(r.all.sq, (100.0 / 150) / 2, 1e-15);
    pdl_pq_result_free(&r);
}

Test(pq_rules, iou_just_above_half_matches)
{
    pdl_pq_result r;
    split_at(51, &r);
    expect_counts(&r, 1, 1, 0, 0);
    expect_counts(&r, 2, 1, 0, 0);
    cr_assert_float_eq(cls(&r, 1)->iou, 0.51, 1e-15);
    cr_assert_float_eq(cls(&r, 2)->iou, 100.0 / 149, 1e-15);
    cr_assert_float_eq(r.all.pq, (0.51 + 100.0 / 149) / 2, 1e-15);
    cr_assert_float_eq(r.things.pq, 0.51, 1e-15);
    cr_assert_eq(r.things.n, 1);
    cr_assert_float_eq(r.stuff.sq, 100.0 / 149, 1e-15);
    cr_assert_float_eq(r.all.rq, 1.0, 1e-15);
    pdl_pq_result_free(&r);
}

/* The colour (R,G,B) = (1,2,3) is id 1 + 2*256 + 3*65536 = 197121, whatever the
 * PNG writer; checked by writing the bytes directly. */
Test(pq_rules, id_is_r_plus_256g_plus_65536b)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[W];
    paint(gt, 0, W, 197121);
    paint(pred, 0, W, 197121);
    one_image(&c, gt, SEG_GT(197121, 1, 200, 0), pred, SEG(197121, 1));
    char path[160];
    snprintf(path, sizeof path, "%s/a.png", c.pred_dir);
    uint8_t rgb[3 * W];
    for (int i = 0; i < W; i++) {
        rgb[3 * i] = 1;
        rgb[3 * i + 1] = 2;
        rgb[3 * i + 2] = 3;
    }
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = W;
    png.height = 1;
    png.format = PNG_FORMAT_RGB;
    cr_assert(png_image_write_to_file(&png, path, 0, rgb, 0, NULL));
    pdl_pq_result r;
    eval_ok(&c, &r);
    expect_counts(&r, 1, 1, 0, 0);
    cr_assert_float_eq(r.all.pq, 1.0, 1e-15);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* GT A = [0,100) cat 1, VOID [100,200); P = [0,150) cat 1: inter 100, P in VOID
 * 50, union = 150 + 100 - 100 - 50 = 100, IoU 1 (it would be 2/3 without the
 * VOID term). */
Test(pq_rules, void_pixels_leave_the_union)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W] = {0}, pred[W] = {0};
    paint(gt, 0, 100, 11);
    paint(pred, 0, 150, 21);
    one_image(&c, gt, SEG_GT(11, 1, 100, 0), pred, SEG(21, 1));
    pdl_pq_result r;
    eval_ok(&c, &r);
    expect_counts(&r, 1, 1, 0, 0);
    cr_assert_float_eq(cls(&r, 1)->iou, 1.0, 1e-15);
    cr_assert_float_eq(r.all.pq, 1.0, 1e-15);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* GT A = [0,100) cat 1, VOID [100,200). P = [0,40) cat 1: IoU 0.4, so FN A and
 * FP P. R = [40,200) cat 3: 100 of its 160 pixels are VOID (> half), not a FP,
 * so class 3 has no TP/FP/FN and is left out of the averages. */
Test(pq_rules, prediction_mostly_in_void_is_not_a_false_positive)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W] = {0}, pred[W];
    paint(gt, 0, 100, 11);
    paint(pred, 0, 40, 21);
    paint(pred, 40, W, 22);
    one_image(&c, gt, SEG_GT(11, 1, 100, 0), pred, SEG(21, 1) "," SEG(22, 3));
    pdl_pq_result r;
    eval_ok(&c, &r);
    expect_counts(&r, 1, 0, 1, 1);
    expect_counts(&r, 3, 0, 0, 0);
    cr_assert_eq(r.all.n, 1);
    cr_assert_eq(r.things.n, 1);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* GT A = [0,100) cat 1, VOID [100,200). P = [50,150) cat 3: exactly half VOID,
 * so it is a FP. Q = [0,50) cat 1: IoU 50/100 = 0.5, no match: FP, and A FN.
 * R = [150,200) cat 4: all VOID, ignored. */
Test(pq_rules, prediction_exactly_half_void_is_a_false_positive)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W] = {0}, pred[W];
    paint(gt, 0, 100, 11);
    paint(pred, 0, 50, 21);
    paint(pred, 50, 150, 22);
    paint(pred, 150, W, 23);
    one_image(&c, gt, SEG_GT(11, 1, 100, 0), pred, SEG(21, 1) "," SEG(22, 3) "," SEG(23, 4));
    pdl_pq_result r;
    eval_ok(&c, &r);
    expect_counts(&r, 1, 0, 1, 1);
    expect_counts(&r, 3, 0, 1, 0);
    expect_counts(&r, 4, 0, 0, 0);
    cr_assert_eq(r.all.n, 2);
    cr_assert_eq(r.stuff.n, 0);
    cr_assert_float_eq(r.stuff.pq, 0.0, 1e-15);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* GT crowd C = [0,100) cat 1, A = [100,150) cat 1, B = [150,200) cat 2.
 * P1 = [0,60) cat 1 sits on same-category crowd: never matched, not a FP.
 * P2 = [60,100) cat 2 sits on crowd of another category: FP of class 2.
 * Q = [100,150) cat 1 and R = [150,200) cat 2 match exactly. The crowd is no FN. */
Test(pq_rules, crowd_is_never_matched_and_absorbs_same_category_predictions)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[W];
    paint(gt, 0, 100, 5);
    paint(gt, 100, 150, 6);
    paint(gt, 150, W, 7);
    paint(pred, 0, 60, 31);
    paint(pred, 60, 100, 32);
    paint(pred, 100, 150, 33);
    paint(pred, 150, W, 34);
    one_image(&c, gt, SEG_GT(5, 1, 100, 1) "," SEG_GT(6, 1, 50, 0) "," SEG_GT(7, 2, 50, 0), pred,
              SEG(31, 1) "," SEG(32, 2) "," SEG(33, 1) "," SEG(34, 2));
    pdl_pq_result r;
    eval_ok(&c, &r);
    expect_counts(&r, 1, 1, 0, 0);
    expect_counts(&r, 2, 1, 1, 0);
    cr_assert_float_eq(cls(&r, 2)->pq, 1.0 / 1.5, 1e-15);
    cr_assert_float_eq(cls(&r, 2)->sq, 1.0, 1e-15);
    cr_assert_float_eq(r.all.pq, (1.0 + 1.0 / 1.5) / 2, 1e-15);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* A prediction identical to a crowd region is still not matched (crowd is
 * skipped even at IoU 1). */
Test(pq_rules, crowd_is_skipped_even_when_identical)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[W];
    paint(gt, 0, W, 5);
    paint(pred, 0, W, 9);
    one_image(&c, gt, SEG_GT(5, 3, 200, 1), pred, SEG(9, 3));
    pdl_pq_result r;
    eval_ok(&c, &r);
    expect_counts(&r, 3, 0, 0, 0);
    cr_assert_eq(r.all.n, 0);
    cr_assert_float_eq(r.all.pq, 0.0, 1e-15);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* Two crowd segments of category 1, C1 = [0,50) then C2 = [50,100) in the JSON;
 * panopticapi keeps only the last listed one per category. P = [0,100) cat 1
 * overlaps C2 by 50 of 100 pixels: not more than half, so it is a FP (with
 * both crowds it would be all of it). Then with C2 = [50,200) and P = [0,200),
 * P overlaps the last crowd by 150/200 and is ignored. */
Test(pq_rules, only_the_last_crowd_of_a_category_counts)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[W];
    paint(gt, 0, 50, 5);
    paint(gt, 50, 100, 6);
    paint(gt, 100, W, 7);
    paint(pred, 0, 100, 31);
    paint(pred, 100, W, 32);
    one_image(&c, gt, SEG_GT(5, 1, 50, 1) "," SEG_GT(6, 1, 50, 1) "," SEG_GT(7, 2, 100, 0), pred,
              SEG(31, 1) "," SEG(32, 2));
    pdl_pq_result r;
    eval_ok(&c, &r);
    expect_counts(&r, 1, 0, 1, 0);
    expect_counts(&r, 2, 1, 0, 0);
    pdl_pq_result_free(&r);
    case_free(&c);

    case_init(&c);
    paint(gt, 50, W, 6);
    paint(pred, 0, W, 31);
    one_image(&c, gt, SEG_GT(5, 1, 50, 1) "," SEG_GT(6, 1, 150, 1), pred, SEG(31, 1));
    eval_ok(&c, &r);
    expect_counts(&r, 1, 0, 0, 0);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* Class 1 matched exactly; class 2 only in GT (FN); class 3 only in the
 * prediction (FP); class 4 nowhere (not averaged). Things = {1, 3}: PQ (1+0)/2;
 * Stuff = {2}: PQ 0; All: 1/3. */
Test(pq_rules, classes_only_in_gt_or_only_in_prediction)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[W];
    paint(gt, 0, 100, 1);
    paint(gt, 100, W, 2);
    paint(pred, 0, 100, 3);
    paint(pred, 100, W, 4);
    one_image(&c, gt, SEG_GT(1, 1, 100, 0) "," SEG_GT(2, 2, 100, 0), pred, SEG(3, 1) "," SEG(4, 3));
    pdl_pq_result r;
    eval_ok(&c, &r);
    expect_counts(&r, 1, 1, 0, 0);
    expect_counts(&r, 2, 0, 0, 1);
    expect_counts(&r, 3, 0, 1, 0);
    expect_counts(&r, 4, 0, 0, 0);
    cr_assert_eq(r.all.n, 3);
    cr_assert_float_eq(r.all.pq, 1.0 / 3, 1e-15);
    cr_assert_float_eq(r.all.rq, 1.0 / 3, 1e-15);
    cr_assert_eq(r.things.n, 2);
    cr_assert_float_eq(r.things.pq, 0.5, 1e-15);
    cr_assert_eq(r.stuff.n, 1);
    cr_assert_float_eq(r.stuff.pq, 0.0, 1e-15);
    cr_assert_eq(r.all.tp, 1);
    cr_assert_eq(r.all.fp, 1);
    cr_assert_eq(r.all.fn, 1);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* Ground-truth areas come from the JSON (as in panopticapi): A has 100 pixels
 * but claims 120, so an exact prediction scores 100 / (100 + 120 - 100). */
Test(pq_rules, ground_truth_area_comes_from_the_json)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[W];
    paint(gt, 0, 100, 1);
    paint(gt, 100, W, 2);
    paint(pred, 0, 100, 3);
    paint(pred, 100, W, 4);
    one_image(&c, gt, SEG_GT(1, 1, 120, 0) "," SEG_GT(2, 2, 100, 0), pred, SEG(3, 1) "," SEG(4, 2));
    pdl_pq_result r;
    eval_ok(&c, &r);
    cr_assert_float_eq(cls(&r, 1)->iou, 100.0 / 120, 1e-15);
    cr_assert_float_eq(cls(&r, 2)->iou, 1.0, 1e-15);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* Two images; image 2 is broken in the way given, image 1 is fine (an exact
 * match of class 1) and must still count. */
static void expect_second_image_fails(const char *pred_segs2, const uint32_t *pred2, const char *what)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[W];
    paint(gt, 0, W, 1);
    paint(pred, 0, W, 2);
    write_ids(c.gt_dir, "a.png", W, 1, gt);
    write_ids(c.gt_dir, "b.png", W, 1, gt);
    write_ids(c.pred_dir, "a.png", W, 1, pred);
    if (pred2)
        write_ids(c.pred_dir, "b.png", W, 1, pred2);
    write_text(c.gt_json,
               "{\"categories\":" CATS ",\"annotations\":["
               "{\"image_id\":1,\"file_name\":\"a.png\",\"segments_info\":[" SEG_GT(1, 1, 200, 0) "]},"
               "{\"image_id\":\"two\",\"file_name\":\"b.png\",\"segments_info\":[" SEG_GT(1, 1, 200, 0) "]}]}");
    write_text(c.pred_json,
               "{\"annotations\":[{\"image_id\":\"two\",\"file_name\":\"b.png\",\"segments_info\":[%s]},"
               "{\"image_id\":1,\"file_name\":\"a.png\",\"segments_info\":[" SEG(2, 1) "]}]}",
               pred_segs2);
    pdl_pq_result r;
    pdl_error err;
    cr_assert_eq(case_eval(&c, &r, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(r.n_failed, 1, "%s: expected one failed image", what);
    cr_assert_eq(r.n_images, 1);
    cr_assert(strstr(r.failures[0], "image two"), "%s: %s", what, r.failures[0]);
    cr_assert(strstr(r.failures[0], what), "expected '%s' in: %s", what, r.failures[0]);
    expect_counts(&r, 1, 1, 0, 0);
    cr_assert_float_eq(r.all.pq, 1.0, 1e-15);
    pdl_pq_result_free(&r);
    case_free(&c);
}

Test(pq_rules, png_id_missing_from_json_fails_that_image)
{
    uint32_t pred2[W];
    paint(pred2, 0, 100, 2);
    paint(pred2, 100, W, 0x123456);
    expect_second_image_fails(SEG(2, 1), pred2, "segment id 1193046 is in");
}

Test(pq_rules, json_id_missing_from_png_fails_that_image)
{
    uint32_t pred2[W];
    paint(pred2, 0, W, 2);
    expect_second_image_fails(SEG(2, 1) "," SEG(77, 3), pred2, "segment id 77 is in the predictions JSON but not in");
}

Test(pq_rules, unknown_category_fails_that_image)
{
    uint32_t pred2[W];
    paint(pred2, 0, W, 2);
    expect_second_image_fails(SEG(2, 99), pred2, "unknown category_id");
}

Test(pq_rules, missing_prediction_png_fails_that_image)
{
    expect_second_image_fails(SEG(2, 1), NULL, "/pred/b.png: cannot open");
}

Test(pq_rules, duplicate_segment_id_fails_that_image)
{
    uint32_t pred2[W];
    paint(pred2, 0, W, 2);
    expect_second_image_fails(SEG(2, 1) "," SEG(2, 3), pred2, "segment id 2 is listed twice");
}

Test(pq_rules, size_mismatch_fails_that_image)
{
    pq_case c;
    case_init(&c);
    uint32_t gt[W], pred[2 * W];
    paint(gt, 0, W, 1);
    paint(pred, 0, 2 * W, 2);
    one_image(&c, gt, SEG_GT(1, 1, 200, 0), pred, SEG(2, 1));
    write_ids(c.pred_dir, "a.png", W, 2, pred);
    pdl_pq_result r;
    pdl_error err;
    cr_assert_eq(case_eval(&c, &r, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(r.n_failed, 1);
    cr_assert(strstr(r.failures[0], "is 200x2, ground truth is 200x1"), "%s", r.failures[0]);
    pdl_pq_result_free(&r);
    case_free(&c);
}

Test(pq_rules, ground_truth_image_without_prediction_fails_that_image)
{
    pq_case c;
    case_init(&c);
    uint32_t ids[W];
    paint(ids, 0, W, 1);
    write_ids(c.gt_dir, "a.png", W, 1, ids);
    write_ids(c.pred_dir, "a.png", W, 1, ids);
    write_text(c.gt_json, "{\"categories\":" CATS ",\"annotations\":["
                          "{\"image_id\":1,\"file_name\":\"a.png\",\"segments_info\":[" SEG_GT(1, 1, 200, 0) "]},"
                          "{\"image_id\":\"1\",\"file_name\":\"a.png\",\"segments_info\":[]}]}");
    write_text(c.pred_json, "{\"annotations\":[{\"image_id\":1,\"file_name\":\"a.png\",\"segments_info\":["
                            SEG(1, 1) "]}]}");
    pdl_pq_result r;
    pdl_error err;
    cr_assert_eq(case_eval(&c, &r, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(r.n_images, 1);
    cr_assert_eq(r.n_failed, 1);
    cr_assert(strstr(r.failures[0], "image 1: no prediction in"), "%s", r.failures[0]);
    pdl_pq_result_free(&r);
    case_free(&c);
}

/* Whole-run errors: nothing is evaluated and the message names the culprit. */
static void expect_fatal(const char *gt_json, const char *pred_json, int drop_dir, const char *what)
{
    pq_case c;
    case_init(&c);
    uint32_t ids[W];
    paint(ids, 0, W, 1);
    write_ids(c.gt_dir, "a.png", W, 1, ids);
    write_ids(c.pred_dir, "a.png", W, 1, ids);
    if (gt_json)
        write_text(c.gt_json, "%s", gt_json);
    if (pred_json)
        write_text(c.pred_json, "%s", pred_json);
    if (drop_dir) {
        char path[160];
        snprintf(path, sizeof path, "%s/a.png", c.pred_dir);
        remove(path);
        rmdir(c.pred_dir);
    }
    pdl_pq_result r;
    pdl_error err;
    cr_assert_neq(case_eval(&c, &r, &err), PDL_OK, "%s: expected a failure", what);
    cr_assert(strstr(err.msg, what), "expected '%s' in: %s", what, err.msg);
    cr_assert_eq(r.n_classes, 0);
    case_free(&c);
}

#define GOOD_GT                                                                                 \
    "{\"categories\":" CATS ",\"annotations\":[{\"image_id\":1,\"file_name\":\"a.png\","     \
    "\"segments_info\":[" SEG_GT(1, 1, 200, 0) "]}]}"
#define GOOD_PRED \
    "{\"annotations\":[{\"image_id\":1,\"file_name\":\"a.png\",\"segments_info\":[" SEG(1, 1) "]}]}"

Test(pq_rules, duplicate_image_ids_are_an_error)
{
    expect_fatal(GOOD_GT,
                 "{\"annotations\":[{\"image_id\":1,\"file_name\":\"a.png\",\"segments_info\":[]},"
                 "{\"image_id\":1,\"file_name\":\"a.png\",\"segments_info\":[]}]}",
                 0, "pred.json: image_id 1 is listed twice");
    expect_fatal("{\"categories\":" CATS ",\"annotations\":["
                 "{\"image_id\":\"x\",\"file_name\":\"a.png\",\"segments_info\":[]},"
                 "{\"image_id\":\"x\",\"file_name\":\"a.png\",\"segments_info\":[]}]}",
                 GOOD_PRED, 0, "gt.json: image_id x is listed twice");
}

Test(pq_rules, missing_or_malformed_inputs_are_an_error)
{
    expect_fatal(NULL, GOOD_PRED, 0, "gt.json: unable to open");
    expect_fatal(GOOD_GT, "{\"annotations\": [", 0, "pred.json: line");
    expect_fatal(GOOD_GT, "{\"images\": []}", 0, "pred.json: no \"annotations\" array");
    expect_fatal("{\"annotations\":[]}", GOOD_PRED, 0, "gt.json: no \"categories\" array");
    expect_fatal("{\"categories\":" CATS ",\"annotations\":[]}", GOOD_PRED, 0,
                 "gt.json: \"annotations\" is empty: no image to evaluate");
    expect_fatal(GOOD_GT, GOOD_PRED, 1, "/pred: not a directory");
    expect_fatal("{\"categories\":[{\"id\":1}],\"annotations\":[{\"image_id\":1,"
                 "\"file_name\":\"a.png\",\"segments_info\":[]}]}",
                 GOOD_PRED, 0,
                 "categories[0] needs an integer \"id\" and \"isthing\"");
    expect_fatal(GOOD_GT, "{\"annotations\":[{\"image_id\":1.5,\"file_name\":\"a.png\",\"segments_info\":[]}]}",
                 0, "annotations[0] needs an integer or string \"image_id\"");
}

Test(pq_rules, corrupt_png_fails_that_image)
{
    pq_case c;
    case_init(&c);
    uint32_t ids[W];
    paint(ids, 0, W, 1);
    one_image(&c, ids, SEG_GT(1, 1, 200, 0), ids, SEG(1, 1));
    char path[160];
    snprintf(path, sizeof path, "%s/a.png", c.gt_dir);
    cr_assert_eq(truncate(path, 40), 0);
    pdl_pq_result r;
    pdl_error err;
    cr_assert_eq(case_eval(&c, &r, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(r.n_failed, 1);
    cr_assert(strstr(r.failures[0], "gt/a.png"), "%s", r.failures[0]);
    pdl_pq_result_free(&r);
    case_free(&c);
}

Test(pq_rules, segment_id_zero_in_json_fails_that_image)
{
    uint32_t pred2[W];
    paint(pred2, 0, W, 2);
    expect_second_image_fails(SEG(2, 1) "," SEG(0, 1), pred2, "\"id\" must be an integer in 1..16777215");
}

Test(pq_rules, ground_truth_segment_without_iscrowd_fails_that_image)
{
    pq_case c;
    case_init(&c);
    uint32_t ids[W];
    paint(ids, 0, W, 1);
    one_image(&c, ids, "{\"id\":1,\"category_id\":1,\"area\":200}", ids, SEG(1, 1));
    pdl_pq_result r;
    pdl_error err;
    cr_assert_eq(case_eval(&c, &r, &err), PDL_OK, "%s", err.msg);
    cr_assert_eq(r.n_failed, 1);
    cr_assert_eq(r.n_images, 0);
    cr_assert(strstr(r.failures[0], "image 1: ground-truth segment id 1 needs integer \"area\" and \"iscrowd\""),
              "%s", r.failures[0]);
    pdl_pq_result_free(&r);
    case_free(&c);
}
