/* input_list.h - the list of images a `predict` run works on.
 *
 * Inputs are files, folders (walked recursively, entries sorted bytewise so
 * the order is the same on every machine) or lines read from a stream (the
 * `-` argument). Folder entries are kept when their first bytes are a PNG or
 * JPEG signature, or when they are named .png/.jpg/.jpeg (so a broken image
 * is reported rather than silently dropped); other files are counted as
 * skipped. Each image keeps
 * a relative name under which its outputs are written, so the output tree
 * mirrors the input tree.
 */
#ifndef PDL_INPUT_LIST_H
#define PDL_INPUT_LIST_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "status.h"

typedef struct pdl_input {
    char *path;     /* as given or found */
    char *relname;  /* output name without extension, e.g. "city/a" for city/a.png */
} pdl_input;

typedef struct pdl_input_list {
    pdl_input *items;
    size_t count, capacity;
    size_t skipped; /* non-image files found in folders */
    /* a folder that walks never enter (see pdl_input_list_skip_folder) */
    int skip_set;
    dev_t skip_dev;
    ino_t skip_ino;
} pdl_input_list;

void pdl_input_list_init(pdl_input_list *list);
void pdl_input_list_free(pdl_input_list *list);

/* Adds a file or (recursively) a folder. A file given explicitly is kept even
 * if it is not an image, so that it fails later with a message naming it; a
 * folder without any image is an error (PDL_ERR_ARG) naming it. */
pdl_status pdl_input_list_add(pdl_input_list *list, const char *path, pdl_error *err);

/* Folder walks will not enter `path` (when it exists): the output folder,
 * which may sit inside an input folder, is never read as input. Folders are
 * also entered at most once per walk, so symlinks back into the tree add
 * nothing. */
void pdl_input_list_skip_folder(pdl_input_list *list, const char *path);

/* Adds one path per non-empty line of `stream` (`source` names it in errors). */
pdl_status pdl_input_list_add_lines(pdl_input_list *list, FILE *stream, const char *source,
                                    pdl_error *err);

/* Keeps only the items of shard `index` of `count`, chosen by a hash of the
 * relative name, so a shard's members do not depend on the other inputs. */
void pdl_input_list_shard(pdl_input_list *list, unsigned index, unsigned count);

#endif
