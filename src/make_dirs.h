/* make_dirs.h - create a folder and its missing parents, like `mkdir -p`. */
#ifndef PDL_MAKE_DIRS_H
#define PDL_MAKE_DIRS_H

#include "status.h"

/* Creates PATH and every missing parent. Succeeds when PATH already is a
 * folder; fails naming the first component that cannot be created or exists
 * as something other than a folder. */
pdl_status pdl_make_dirs(const char *path, pdl_error *err);

/* Creates the folders leading to the file PATH (everything before its last
 * '/'); nothing when PATH has no '/'. */
pdl_status pdl_make_parent_dirs(const char *path, pdl_error *err);

#endif
