/* atomic_file.c - PATH.tmp + rename(); see atomic_file.h. */
#include "atomic_file.h"

#include <jansson.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void release(pdl_atomic_file *af)
{
    free(af->path);
    free(af->tmp_path);
    af->fp = NULL;
    af->path = af->tmp_path = NULL;
}

pdl_status pdl_atomic_open(const char *path, pdl_atomic_file *af, pdl_error *err)
{
    af->fp = NULL;
    size_t n = strlen(path);
    af->path = strdup(path);
    af->tmp_path = malloc(n + sizeof ".tmp");
    if (!af->path || !af->tmp_path) {
        release(af);
        return pdl_fail(err, PDL_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(af->tmp_path, path, n);
    memcpy(af->tmp_path + n, ".tmp", sizeof ".tmp");
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp) {
        pdl_status st = pdl_fail(err, PDL_ERR_IO, "%s: cannot create: %s", af->tmp_path,
                                 strerror(errno));
        release(af);
        return st;
    }
    return PDL_OK;
}

pdl_status pdl_atomic_commit(pdl_atomic_file *af, pdl_error *err)
{
    /* errno of the first failure; -1 for a stream error whose errno is gone */
    int failure = 0;
    if (fflush(af->fp) != 0)
        failure = errno;
    else if (ferror(af->fp))
        failure = -1;
    if (fclose(af->fp) != 0 && !failure)
        failure = errno;
    af->fp = NULL;
    pdl_status st = PDL_OK;
    if (failure)
        st = pdl_fail(err, PDL_ERR_IO, "%s: write failed: %s", af->tmp_path,
                      failure > 0 ? strerror(failure) : "stream error");
    else if (rename(af->tmp_path, af->path) != 0)
        st = pdl_fail(err, PDL_ERR_IO, "%s: cannot rename %s into place: %s", af->path,
                      af->tmp_path, strerror(errno));
    if (st != PDL_OK)
        unlink(af->tmp_path);
    release(af);
    return st;
}

void pdl_atomic_abort(pdl_atomic_file *af)
{
    if (af->fp) {
        fclose(af->fp);
        unlink(af->tmp_path);
    }
    release(af);
}

pdl_status pdl_atomic_write_json(const char *path, const json_t *value, size_t flags,
                                 pdl_error *err)
{
    pdl_atomic_file af;
    pdl_status st = pdl_atomic_open(path, &af, err);
    if (st != PDL_OK)
        return st;
    if (json_dumpf(value, af.fp, flags) != 0 || fputc('\n', af.fp) == EOF) {
        pdl_atomic_abort(&af);
        return pdl_fail(err, PDL_ERR_IO, "%s: write failed", path);
    }
    return pdl_atomic_commit(&af, err);
}
