/* test_png_write.c - PNG writers and atomic files: round trips read back with
 * plain libpng (tsup_img_png_read_raw), and failures that must leave neither
 * PATH.tmp nor a changed PATH behind. */
#include <criterion/criterion.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "image.h"
#include "support/tsup_image.h"

static const int sizes[][2] = {{1, 1}, {29, 13}, {300, 7}, {64, 64}};

/* Mostly constant regions (like a label map) with random values sprinkled in. */
static void fill_labelish(uint8_t *p, size_t n, uint64_t seed)
{
    uint8_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t r = tsup_img_rand(&seed);
        if (r % 7 == 0)
            v = (uint8_t)(r >> 8);
        p[i] = v;
    }
}

static uint16_t *read_back(const char *path, int w, int h, int ctype, int depth)
{
    int rw, rh, rc, rd;
    uint16_t *s = NULL;
    cr_assert(tsup_img_png_read_raw(path, &rw, &rh, &rc, &rd, &s), "%s unreadable", path);
    cr_assert(rw == w && rh == h && rc == ctype && rd == depth, "%s: %dx%d type %d depth %d", path,
              rw, rh, rc, rd);
    return s;
}

static void assert_no_tmp(const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_not(tsup_img_exists(tmp), "%s left behind", tmp);
}

Test(png_write, round_trips_exact)
{
    char dir[64], path[128];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.png", dir);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        size_t n = (size_t)w * (size_t)h;
        pdl_error err;

        uint8_t *rgb = malloc(n * 3);
        fill_labelish(rgb, n * 3, 1 + s);
        cr_assert_eq(pdl_png_write_rgb8(path, w, h, rgb, &err), PDL_OK, "%s", err.msg);
        assert_no_tmp(path);
        uint16_t *back = read_back(path, w, h, PNG_COLOR_TYPE_RGB, 8);
        for (size_t i = 0; i < n * 3; i++)
            cr_assert_eq(back[i], rgb[i], "rgb8 %dx%d sample %zu", w, h, i);
        free(back);

        uint8_t *g8 = malloc(n);
        tsup_img_fill_random(g8, n, 10 + s);
        cr_assert_eq(pdl_png_write_gray8(path, w, h, g8, &err), PDL_OK, "%s", err.msg);
        back = read_back(path, w, h, PNG_COLOR_TYPE_GRAY, 8);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(back[i], g8[i], "gray8 %dx%d sample %zu", w, h, i);
        free(back);

        uint16_t *g16 = malloc(n * 2);
        tsup_img_fill_random((uint8_t *)g16, n * 2, 20 + s);
        cr_assert_eq(pdl_png_write_gray16(path, w, h, g16, &err), PDL_OK, "%s", err.msg);
        back = read_back(path, w, h, PNG_COLOR_TYPE_GRAY, 16);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(back[i], g16[i], "gray16 %dx%d sample %zu", w, h, i);
        free(back);
        assert_no_tmp(path);
        free(rgb);
        free(g8);
        free(g16);
    }
    tsup_img_rmtree(dir);
}

/* Our own decoder reads what our writer wrote (the pair predict relies on). */
Test(png_write, rgb8_decodes_with_pdl_image_load)
{
    char dir[64], path[128];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.png", dir);
    uint8_t rgb[31 * 17 * 3];
    tsup_img_fill_random(rgb, sizeof rgb, 3);
    pdl_error err;
    cr_assert_eq(pdl_png_write_rgb8(path, 31, 17, rgb, &err), PDL_OK);
    pdl_image img;
    cr_assert_eq(pdl_image_load(path, &img, &err), PDL_OK, "%s", err.msg);
    cr_assert(img.width == 31 && img.height == 17);
    cr_assert_arr_eq(img.rgb, rgb, sizeof rgb);
    pdl_image_free(&img);
    tsup_img_rmtree(dir);
}

static void write_marker_file(const char *path)
{
    tsup_img_write_file(path, "previous", 8);
}

static void assert_marker_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s vanished", path);
    char buf[16] = {0};
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    cr_assert(n == 8 && memcmp(buf, "previous", 8) == 0, "%s was changed", path);
}

Test(png_write, bad_arguments_touch_nothing)
{
    char dir[64], path[128];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.png", dir);
    write_marker_file(path);
    uint8_t px[4] = {1, 2, 3, 4};
    pdl_error err;
    cr_assert_eq(pdl_png_write_gray8(path, 0, 4, px, &err), PDL_ERR_ARG);
    cr_assert(strstr(err.msg, "out.png: cannot write a 0x4 image"), "%s", err.msg);
    cr_assert_eq(pdl_png_write_rgb8(path, 2, -1, px, &err), PDL_ERR_ARG);
    cr_assert_eq(pdl_png_write_gray16(path, 1, 1, NULL, &err), PDL_ERR_ARG);
    assert_marker_file(path);
    assert_no_tmp(path);
    tsup_img_rmtree(dir);
}

Test(png_write, missing_directory_fails_cleanly)
{
    char dir[64], path[160];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/no/such/dir/out.png", dir);
    uint8_t px[3] = {9, 9, 9};
    pdl_error err;
    cr_assert_eq(pdl_png_write_rgb8(path, 1, 1, px, &err), PDL_ERR_IO);
    cr_assert(strstr(err.msg, "out.png.tmp: cannot create") && strchr(err.msg, '\n') == NULL,
              "%s", err.msg);
    tsup_img_rmtree(dir);
}

/* rename() onto a non-empty directory fails after the PNG is complete. */
Test(png_write, rename_failure_removes_tmp)
{
    char dir[64], path[128], inner[160];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.png", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(inner, sizeof inner, "%s/keep", path);
    write_marker_file(inner);
    uint8_t px[6 * 5];
    tsup_img_fill_random(px, sizeof px, 4);
    pdl_error err;
    cr_assert_eq(pdl_png_write_gray8(path, 6, 5, px, &err), PDL_ERR_IO);
    cr_assert(strstr(err.msg, "cannot rename"), "%s", err.msg);
    assert_no_tmp(path);
    assert_marker_file(inner);
    tsup_img_rmtree(dir);
}

/* A file-size limit makes the disk "full" half-way through the PNG (random
 * pixels do not compress): the error surfaces in libpng's write callback or
 * at the final flush; either way PATH keeps its old content and no tmp stays. */
Test(png_write, disk_full_mid_write_keeps_old_file)
{
    char dir[64], path[128];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.png", dir);
    write_marker_file(path);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, small = {20000, 20000};
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    enum { W = 200, H = 150 };
    uint8_t *rgb = malloc(W * H * 3);
    tsup_img_fill_random(rgb, W * H * 3, 5);
    pdl_error err;
    pdl_status st = pdl_png_write_rgb8(path, W, H, rgb, &err);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(st, PDL_ERR_IO);
    cr_assert(strstr(err.msg, "out.png"), "%s", err.msg);
    assert_marker_file(path);
    assert_no_tmp(path);
    /* the small-buffer case: fails only when stdio flushes at commit */
    small.rlim_cur = 10;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    uint8_t px[3] = {1, 2, 3};
    st = pdl_png_write_rgb8(path, 1, 1, px, &err);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(st, PDL_ERR_IO);
    cr_assert(strstr(err.msg, "write failed"), "%s", err.msg);
    assert_marker_file(path);
    assert_no_tmp(path);
    free(rgb);
    tsup_img_rmtree(dir);
}

Test(atomic_file, commit_and_abort)
{
    char dir[64], path[128];
    tsup_img_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.json", dir);
    pdl_atomic_file af;
    pdl_error err;
    cr_assert_eq(pdl_atomic_open(path, &af, &err), PDL_OK);
    fputs("{\"partial\":", af.fp);
    cr_assert_not(tsup_img_exists(path), "PATH visible before commit");
    pdl_atomic_abort(&af);
    pdl_atomic_abort(&af); /* harmless on a released af */
    cr_assert_not(tsup_img_exists(path));
    assert_no_tmp(path);

    cr_assert_eq(pdl_atomic_open(path, &af, &err), PDL_OK);
    fputs("previous", af.fp);
    cr_assert_eq(pdl_atomic_commit(&af, &err), PDL_OK, "%s", err.msg);
    cr_assert_null(af.fp);
    assert_marker_file(path);
    assert_no_tmp(path);
    tsup_img_rmtree(dir);
}
