/* test_prediction.c - the files of one image: the writer makes exactly the
 * files pdl_prediction_files lists, and a failure part-way leaves none of
 * them behind. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prediction.h"
#include "support/tsup_image.h"

static pdl_config cfg;
static int32_t segment_of[6] = {0, 0, -1, 1, 1, 1};
static pdl_segment segments[2] = {{0, 1, 2, {0, 0, 2, 1}, 0.9f}, {1, 0, 3, {0, 1, 3, 1}, 1.0f}};
static const uint8_t rgb[6 * 3] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const pdl_prediction pred = {3, 2, segment_of, 2, 2, segments};
static const pdl_output_options all = {true, true, true};

static void setup(void)
{
    cfg.num_classes = 2;
    cfg.classes[0] = (pdl_class_info){1, "disc", true, {200, 0, 0}};
    cfg.classes[1] = (pdl_class_info){2, "sky", false, {0, 0, 200}};
}

TestSuite(prediction, .init = setup);

static int exists(const char *base, const char *suffix)
{
    char path[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s%s", base, suffix);
    return stat(path, &sb) == 0;
}

Test(prediction, writes_the_listed_files)
{
    char dir[64], base[128];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(base, sizeof base, "%s/x", dir);
    pdl_error err;
    cr_assert_eq(pdl_prediction_write(&pred, &cfg, rgb, base, "x", &all, &err), PDL_OK, "%s",
                 err.msg);
    const char *suffix[PDL_PREDICTION_FILES];
    int n = pdl_prediction_files(&all, suffix);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(suffix[n - 1], ".json", "the JSON must come last");
    for (int k = 0; k < n; k++)
        cr_assert(exists(base, suffix[k]), "%s%s missing", base, suffix[k]);
    const pdl_output_options none = {false, false, false};
    cr_assert_eq(pdl_prediction_files(&none, suffix), 2);
    tsup_img_rmtree(dir);
}

/* The instance map cannot be put in place (a folder has its name): the
 * panoptic and semantic maps written before it are removed again. */
Test(prediction, a_failure_leaves_no_new_file)
{
    char dir[64], base[128], blocker[160];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(base, sizeof base, "%s/x", dir);
    snprintf(blocker, sizeof blocker, "%s_ins.png", base);
    cr_assert_eq(mkdir(blocker, 0700), 0);
    pdl_error err;
    cr_assert_neq(pdl_prediction_write(&pred, &cfg, rgb, base, "x", &all, &err), PDL_OK);
    cr_assert(strstr(err.msg, "x_ins.png"), "%s", err.msg);
    cr_assert(!exists(base, ".png") && !exists(base, "_sem.png") && !exists(base, ".json") &&
                  !exists(base, "_vis.png"),
              "a failed image left files");
    rmdir(blocker);
    tsup_img_rmtree(dir);
}

/* Over a complete earlier set: once a new map has replaced an old one, the
 * old JSON (the mark of a complete set) goes as well. */
Test(prediction, a_failure_over_an_earlier_set_leaves_it_incomplete)
{
    char dir[64], base[128], blocker[160];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(base, sizeof base, "%s/x", dir);
    const pdl_output_options maps_only = {true, false, false};
    pdl_error err;
    cr_assert_eq(pdl_prediction_write(&pred, &cfg, rgb, base, "x", &maps_only, &err), PDL_OK);
    cr_assert(exists(base, ".json"));
    snprintf(blocker, sizeof blocker, "%s_ins.png", base);
    cr_assert_eq(mkdir(blocker, 0700), 0);
    cr_assert_neq(pdl_prediction_write(&pred, &cfg, rgb, base, "x", &all, &err), PDL_OK);
    cr_assert(!exists(base, ".json") && !exists(base, ".png") && !exists(base, "_sem.png"),
              "a half-replaced set kept its JSON");
    rmdir(blocker);
    tsup_img_rmtree(dir);
}
