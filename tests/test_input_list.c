/* test_input_list.c - folder walking, content sniffing, stdin lists, shards. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input_list.h"

static char root[64];

static void write_bytes(const char *rel, const void *data, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    fwrite(data, 1, n, f);
    fclose(f);
}

static const unsigned char png_magic[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0};
static const unsigned char jpeg_magic[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16};

static void make_tree(void)
{
    strcpy(root, "/tmp/pdl_inputs_XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    char path[256];
    snprintf(path, sizeof path, "%s/b", root);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/a", root);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/a/deep", root);
    mkdir(path, 0777);
    write_bytes("z.png", png_magic, sizeof png_magic);
    write_bytes("b/photo.JPG", jpeg_magic, sizeof jpeg_magic);
    write_bytes("a/deep/x.png", png_magic, sizeof png_magic);
    write_bytes("a/renamed.txt", png_magic, sizeof png_magic); /* content decides */
    write_bytes("a/notes.png", "hello", 5);  /* kept by its name, to fail later by name */
    write_bytes("a/readme.md", "hello", 5);  /* neither name nor content: skipped */
    write_bytes("a/\xc3\xa9t\xc3\xa9.png", png_magic, sizeof png_magic);
}

static void remove_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(input_list, .init = make_tree, .fini = remove_tree);

Test(input_list, walks_sorted_and_sniffs_content)
{
    pdl_input_list list;
    pdl_input_list_init(&list);
    cr_assert_eq(pdl_input_list_add(&list, root, NULL), PDL_OK);
    const char *expect[] = {"a/deep/x", "a/notes", "a/renamed", "a/\xc3\xa9t\xc3\xa9", "b/photo", "z"};
    cr_assert_eq(list.count, 6);
    for (size_t i = 0; i < 6; i++)
        cr_assert_str_eq(list.items[i].relname, expect[i]);
    cr_assert_eq(list.skipped, 1);
    pdl_input_list_free(&list);
}

/* Listing `path` gives the six images of the tree, each once. */
static void expect_whole_tree(const char *path)
{
    pdl_input_list list;
    pdl_input_list_init(&list);
    cr_assert_eq(pdl_input_list_add(&list, path, NULL), PDL_OK);
    cr_assert_eq(list.count, 6, "%s: %zu images", path, list.count);
    cr_assert_str_eq(list.items[0].relname, "a/deep/x");
    pdl_input_list_free(&list);
}

Test(input_list, trailing_slash_gives_the_same_names)
{
    char path[128];
    snprintf(path, sizeof path, "%s//", root);
    expect_whole_tree(path);
}

/* Symlinks to the folder itself and to its parent add nothing: every image
 * is listed once, under its real place in the tree. */
Test(input_list, symlink_loops_are_walked_once)
{
    char path[256];
    snprintf(path, sizeof path, "%s/a/self", root);
    cr_assert_eq(symlink(".", path), 0);
    snprintf(path, sizeof path, "%s/a/deep/up", root);
    cr_assert_eq(symlink("..", path), 0);
    expect_whole_tree(root);
}

/* The output folder inside an input folder is not read as input. */
Test(input_list, skipped_folder_is_not_entered)
{
    char path[256];
    snprintf(path, sizeof path, "%s/a", root);
    pdl_input_list list;
    pdl_input_list_init(&list);
    pdl_input_list_skip_folder(&list, path);
    cr_assert_eq(pdl_input_list_add(&list, root, NULL), PDL_OK);
    cr_assert_eq(list.count, 2);
    cr_assert_str_eq(list.items[0].relname, "b/photo");
    cr_assert_str_eq(list.items[1].relname, "z");
    pdl_input_list_free(&list);
}

Test(input_list, explicit_files_are_kept_even_when_missing)
{
    pdl_input_list list;
    pdl_input_list_init(&list);
    cr_assert_eq(pdl_input_list_add(&list, "/nonexistent/dir/pic.jpeg", NULL), PDL_OK);
    cr_assert_eq(list.count, 1);
    cr_assert_str_eq(list.items[0].relname, "pic");
    pdl_input_list_free(&list);
}

Test(input_list, lines_from_a_stream)
{
    char text[512];
    snprintf(text, sizeof text, "%s/z.png\n\n%s/b\r\n", root, root);
    FILE *f = fmemopen(text, strlen(text), "r");
    pdl_input_list list;
    pdl_input_list_init(&list);
    cr_assert_eq(pdl_input_list_add_lines(&list, f, "stdin", NULL), PDL_OK);
    fclose(f);
    cr_assert_eq(list.count, 2);
    cr_assert_str_eq(list.items[0].relname, "z");
    cr_assert_str_eq(list.items[1].relname, "photo");
    pdl_input_list_free(&list);
}

/* Binary data piped in instead of a list is refused, naming the line. */
Test(input_list, a_nul_byte_is_not_a_path)
{
    char text[64] = "a.png\nb\0.png\n";
    FILE *f = fmemopen(text, 14, "r");
    pdl_input_list list;
    pdl_input_list_init(&list);
    pdl_error err;
    cr_assert_eq(pdl_input_list_add_lines(&list, f, "stdin", &err), PDL_ERR_FORMAT);
    fclose(f);
    cr_assert(strstr(err.msg, "stdin: line 2 holds a NUL byte"), "%s", err.msg);
    pdl_input_list_free(&list);
}

Test(input_list, shards_partition_the_list)
{
    enum { SHARDS = 3 };
    size_t total = 0;
    int hits[6] = {0};
    for (unsigned s = 0; s < SHARDS; s++) {
        pdl_input_list list;
        pdl_input_list_init(&list);
        cr_assert_eq(pdl_input_list_add(&list, root, NULL), PDL_OK);
        pdl_input_list_shard(&list, s, SHARDS);
        total += list.count;
        const char *names[] = {"a/deep/x", "a/notes", "a/renamed", "a/\xc3\xa9t\xc3\xa9", "b/photo", "z"};
        for (size_t i = 0; i < list.count; i++)
            for (int k = 0; k < 6; k++)
                hits[k] += strcmp(list.items[i].relname, names[k]) == 0;
        pdl_input_list_free(&list);
    }
    cr_assert_eq(total, 6);
    for (int k = 0; k < 6; k++)
        cr_assert_eq(hits[k], 1, "item %d in %d shards", k, hits[k]);
}

/* A folder without images (empty, or only other files, also in subfolders)
 * is an error that names it; the list keeps what it had. */
Test(input_list, folder_without_images_is_an_error)
{
    char path[256];
    snprintf(path, sizeof path, "%s/empty", root);
    cr_assert_eq(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/empty/sub", root);
    cr_assert_eq(mkdir(path, 0777), 0);
    write_bytes("empty/sub/readme.md", "hello", 5);
    pdl_input_list list;
    pdl_input_list_init(&list);
    cr_assert_eq(pdl_input_list_add(&list, root, NULL), PDL_OK);
    size_t before = list.count;
    pdl_error err;
    snprintf(path, sizeof path, "%s/empty", root);
    cr_assert_eq(pdl_input_list_add(&list, path, &err), PDL_ERR_ARG);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "no PNG or JPEG images") &&
                  strstr(err.msg, "(1 other files)"),
              "message: %s", err.msg);
    cr_assert_eq(list.count, before);
    pdl_input_list_free(&list);
}
