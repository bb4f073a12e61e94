#include "make_dirs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

static pdl_status make_one(const char *path, pdl_error *err)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return pdl_fail(err, PDL_ERR_IO, "%s: cannot create folder (%s)", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return pdl_fail(err, PDL_ERR_IO, "%s: exists and is not a folder", path);
    return PDL_OK;
}

/* Creates the first LEN bytes of PATH as a folder, parents first. */
static pdl_status make_prefix(const char *path, size_t len, pdl_error *err)
{
    char buf[PATH_MAX];
    if (len == 0)
        return PDL_OK;
    if (len >= sizeof buf)
        return pdl_fail(err, PDL_ERR_IO, "%.64s...: path too long", path);
    memcpy(buf, path, len);
    buf[len] = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        pdl_status st = make_one(buf, err);
        *p = '/';
        if (st != PDL_OK)
            return st;
    }
    return make_one(buf, err);
}

pdl_status pdl_make_dirs(const char *path, pdl_error *err)
{
    return make_prefix(path, strlen(path), err);
}

pdl_status pdl_make_parent_dirs(const char *path, pdl_error *err)
{
    const char *slash = strrchr(path, '/');
    return slash ? make_prefix(path, (size_t)(slash - path), err) : PDL_OK;
}
