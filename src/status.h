/* status.h - error codes and the error record every fallible function fills.
 *
 * Library functions never print and never exit: they return a pdl_status and,
 * on failure, leave a one-line message in a pdl_error that names the file (or
 * tensor, or option) and the problem. Only cli/ decides what to print and which
 * exit code to use.
 */
#ifndef PDL_STATUS_H
#define PDL_STATUS_H

#include <stddef.h>

typedef enum pdl_status {
    PDL_OK = 0,
    PDL_ERR_IO,          /* a file could not be opened, read, written or renamed */
    PDL_ERR_FORMAT,      /* a file's contents are malformed or truncated */
    PDL_ERR_UNSUPPORTED, /* well-formed but not something we handle (CMYK JPEG, BF8, ...) */
    PDL_ERR_LIMIT,       /* a size limit was exceeded (pixels, header length, ...) */
    PDL_ERR_NOMEM,       /* an allocation failed */
    PDL_ERR_ARG,         /* a caller or user passed an invalid value */
    PDL_ERR_MODEL,       /* weights and configuration disagree */
    PDL_ERR_DEVICE,      /* a compute device or its library failed */
    PDL_STATUS_COUNT
} pdl_status;

#define PDL_ERROR_MSG_MAX 2048 /* room for two long paths and the cause */

typedef struct pdl_error {
    pdl_status code;
    char msg[PDL_ERROR_MSG_MAX];
} pdl_error;

/* A short, stable name for a status ("io error", "format error", ...). */
const char *pdl_status_name(pdl_status code);

/* Records code and a printf-style message in err (which may be NULL) and
 * returns code, so a failure reads `return pdl_fail(err, PDL_ERR_IO, ...)`. */
pdl_status pdl_fail(pdl_error *err, pdl_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to PDL_OK with an empty message. */
void pdl_error_clear(pdl_error *err);

#endif
