/* input_list.c - builds the list of predict inputs (see input_list.h). */
#include "input_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "image.h"

void pdl_input_list_init(pdl_input_list *list)
{
    memset(list, 0, sizeof *list);
}

void pdl_input_list_free(pdl_input_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].path);
        free(list->items[i].relname);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* Drops the extension of the last path component: "a/b.png" -> "a/b". */
static char *strip_extension(const char *name)
{
    char *out = strdup(name);
    if (!out)
        return NULL;
    char *slash = strrchr(out, '/');
    char *dot = strrchr(out, '.');
    if (dot && dot > (slash ? slash + 1 : out))
        *dot = '\0';
    return out;
}

static pdl_status push(pdl_input_list *list, const char *path, const char *relname, pdl_error *err)
{
    if (list->count == list->capacity) {
        size_t cap = list->capacity ? list->capacity * 2 : 64;
        pdl_input *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory listing inputs", path);
        list->items = items;
        list->capacity = cap;
    }
    pdl_input *in = &list->items[list->count];
    in->path = strdup(path);
    in->relname = strip_extension(relname);
    if (!in->path || !in->relname) {
        free(in->path);
        free(in->relname);
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory listing inputs", path);
    }
    list->count++;
    return PDL_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool has_image_extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

/* Content decides, but a file named like an image is kept even when its
 * content is not one, so that a broken image fails with a message naming it
 * instead of disappearing from the run. */
static bool looks_like_image(const char *path)
{
    if (has_image_extension(path))
        return true;
    uint8_t head[16];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return pdl_image_sniff(head, n);
}

/* The folders a walk has entered, by identity: a symlink back into the tree
 * (to the folder itself or an ancestor) would otherwise be walked again and
 * again, listing the same images under ever longer names. */
typedef struct folder_set {
    struct folder_id {
        dev_t dev;
        ino_t ino;
    } *ids;
    size_t count, cap;
} folder_set;

/* 1 if the folder was new and is now recorded, 0 if seen before, -1 when out
 * of memory. */
static int folder_set_add(folder_set *set, const struct stat *sb)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->ids[i].dev == sb->st_dev && set->ids[i].ino == sb->st_ino)
            return 0;
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        struct folder_id *ids = realloc(set->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        set->ids = ids;
        set->cap = cap;
    }
    set->ids[set->count].dev = sb->st_dev;
    set->ids[set->count].ino = sb->st_ino;
    set->count++;
    return 1;
}

static pdl_status walk(pdl_input_list *list, const char *dir, size_t root_len, int depth,
                       folder_set *seen, pdl_error *err)
{
    if (depth > 64)
        return pdl_fail(err, PDL_ERR_LIMIT, "%s: folders nested more than 64 deep", dir);
    DIR *d = opendir(dir);
    if (!d)
        return pdl_fail(err, PDL_ERR_IO, "%s: cannot open folder (%s)", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    pdl_status st = PDL_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                st = pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory listing folder", dir);
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory listing folder", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (st == PDL_OK && n > 0) /* an empty folder has no array to sort */
        qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 0; i < n && st == PDL_OK; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        if (!path) {
            st = pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory listing folder", dir);
            break;
        }
        snprintf(path, len, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(path, &sb) != 0)
            list->skipped++; /* dangling link or raced deletion: not an image */
        else if (S_ISDIR(sb.st_mode)) {
            int fresh = list->skip_set && sb.st_dev == list->skip_dev && sb.st_ino == list->skip_ino
                            ? 0
                            : folder_set_add(seen, &sb);
            if (fresh < 0)
                st = pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory listing folder", dir);
            else if (fresh)
                st = walk(list, path, root_len, depth + 1, seen, err);
        }
        else if (S_ISREG(sb.st_mode) && looks_like_image(path))
            st = push(list, path, path + root_len, err);
        else
            list->skipped++;
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

pdl_status pdl_input_list_add(pdl_input_list *list, const char *path, pdl_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return push(list, path, strrchr(path, '/') ? strrchr(path, '/') + 1 : path, err);
    if (!S_ISDIR(sb.st_mode))
        return push(list, path, strrchr(path, '/') ? strrchr(path, '/') + 1 : path, err);
    size_t root_len = strlen(path);
    while (root_len > 1 && path[root_len - 1] == '/')
        root_len--;
    char *root = strndup(path, root_len);
    if (!root)
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    size_t images = list->count, skipped = list->skipped;
    folder_set seen = {NULL, 0, 0};
    pdl_status st = folder_set_add(&seen, &sb) < 0
                        ? pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path)
                        : walk(list, root, root_len + 1, 0, &seen, err);
    free(seen.ids);
    free(root);
    /* A folder named on the command line that holds no image is almost
     * always a wrong path: say so rather than finish with nothing done. */
    size_t others = list->skipped - skipped;
    if (st == PDL_OK && list->count == images)
        st = others ? pdl_fail(err, PDL_ERR_ARG,
                               "%s: no PNG or JPEG images in this folder (%zu other files)", path,
                               others)
                    : pdl_fail(err, PDL_ERR_ARG, "%s: no PNG or JPEG images in this folder (no files)",
                               path);
    return st;
}

void pdl_input_list_skip_folder(pdl_input_list *list, const char *path)
{
    struct stat sb;
    list->skip_set = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (list->skip_set) {
        list->skip_dev = sb.st_dev;
        list->skip_ino = sb.st_ino;
    }
}

pdl_status pdl_input_list_add_lines(pdl_input_list *list, FILE *stream, const char *source,
                                    pdl_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    pdl_status st = PDL_OK;
    long number = 0;
    while (st == PDL_OK && (len = getline(&line, &cap, stream)) != -1) {
        number++;
        /* a path cannot hold a NUL byte: this is binary data, not a list */
        if (memchr(line, '\0', (size_t)len)) {
            st = pdl_fail(err, PDL_ERR_FORMAT,
                          "%s: line %ld holds a NUL byte (expected one path per line)", source,
                          number);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len > 0)
            st = pdl_input_list_add(list, line, err);
    }
    if (st == PDL_OK && ferror(stream))
        st = pdl_fail(err, PDL_ERR_IO, "%s: read error", source);
    free(line);
    return st;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

void pdl_input_list_shard(pdl_input_list *list, unsigned index, unsigned count)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++) {
        pdl_input *in = &list->items[i];
        if (fnv1a(in->relname) % count == index) {
            list->items[kept++] = *in;
        } else {
            free(in->path);
            free(in->relname);
        }
    }
    list->count = kept;
}
