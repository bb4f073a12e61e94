/* atomic_file.h - write PATH by writing PATH.tmp and renaming it when complete.
 *
 * rename() within one directory is atomic, so readers (and --resume) see
 * either the old PATH, no PATH, or the complete new file, never a partial one.
 * No fsync: outputs are reproducible, and a crash only costs a rerun.
 */
#ifndef PDL_ATOMIC_FILE_H
#define PDL_ATOMIC_FILE_H

#include <stdio.h>

#include "status.h"

typedef struct pdl_atomic_file {
    FILE *fp;       /* write here, then commit or abort */
    char *path;     /* final name */
    char *tmp_path; /* path + ".tmp" */
} pdl_atomic_file;

/* Creates PATH.tmp for writing. On failure af is cleared and nothing exists. */
pdl_status pdl_atomic_open(const char *path, pdl_atomic_file *af, pdl_error *err);

/* Flushes, closes and renames PATH.tmp to PATH. On failure PATH.tmp is removed
 * and PATH is as it was. Either way af is released. */
pdl_status pdl_atomic_commit(pdl_atomic_file *af, pdl_error *err);

/* Closes and removes PATH.tmp, leaving PATH as it was; safe on a released af. */
void pdl_atomic_abort(pdl_atomic_file *af);

/* Writes a jansson value (json_dumpf flags) followed by a newline to PATH
 * through PATH.tmp. */
struct json_t;
pdl_status pdl_atomic_write_json(const char *path, const struct json_t *value, size_t flags,
                                 pdl_error *err);

#endif
