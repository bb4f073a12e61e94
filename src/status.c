/* status.c - names for status codes and the pdl_fail() helper. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const status_names[PDL_STATUS_COUNT] = {
    [PDL_OK] = "ok",
    [PDL_ERR_IO] = "io error",
    [PDL_ERR_FORMAT] = "format error",
    [PDL_ERR_UNSUPPORTED] = "unsupported",
    [PDL_ERR_LIMIT] = "limit exceeded",
    [PDL_ERR_NOMEM] = "out of memory",
    [PDL_ERR_ARG] = "invalid argument",
    [PDL_ERR_MODEL] = "model error",
    [PDL_ERR_DEVICE] = "device error",
};

const char *pdl_status_name(pdl_status code)
{
    if ((unsigned)code >= PDL_STATUS_COUNT)
        return "unknown status";
    return status_names[code];
}

pdl_status pdl_fail(pdl_error *err, pdl_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* Messages quote file contents (tensor names, JSON near an error), so
         * control characters are masked to keep every message on one line. */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
        err->code = code;
    }
    return code;
}

void pdl_error_clear(pdl_error *err)
{
    if (err) {
        err->code = PDL_OK;
        err->msg[0] = '\0';
    }
}
