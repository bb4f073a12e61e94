/* backend.h - a compute backend is a table of functions plus a context (ggml's
 * pattern). The CPU backend is linked in; the CUDA backend lives in
 * libpanoptic_cuda.so and is loaded with dlopen only when asked for, so the
 * executable starts on machines without CUDA.
 */
#ifndef PDL_BACKEND_H
#define PDL_BACKEND_H

#include <stddef.h>

#include "status.h"

typedef enum pdl_device_kind { PDL_DEVICE_AUTO, PDL_DEVICE_CPU, PDL_DEVICE_CUDA } pdl_device_kind;

typedef struct pdl_device_request {
    pdl_device_kind kind;
    int index;   /* CUDA device ordinal */
    int threads; /* CPU threads; 0 = all cores */
} pdl_device_request;

typedef struct pdl_backend_ops {
    const char *name; /* "cpu", "cuda" */
    pdl_status (*open)(const pdl_device_request *req, void **ctx, pdl_error *err);
    void (*close)(void *ctx);
    /* One line naming the device, e.g. "cpu (oneDNN 2.6.3, 2 threads)". */
    void (*describe)(void *ctx, char *buf, size_t size);
} pdl_backend_ops;

typedef struct pdl_backend {
    const pdl_backend_ops *ops;
    void *ctx;
    void *library; /* dlopen handle of libpanoptic_cuda.so, or NULL */
} pdl_backend;

/* Symbol libpanoptic_cuda.so exports; returns its ops table. */
#define PDL_CUDA_ENTRY_SYMBOL "pdl_cuda_backend_ops"
typedef const pdl_backend_ops *(*pdl_cuda_entry_fn)(void);

/* Parses "auto", "cpu", "cuda" or "cuda:N". */
pdl_status pdl_device_parse(const char *text, pdl_device_request *out, pdl_error *err);

/* Opens the requested backend. With PDL_DEVICE_AUTO a CUDA failure falls back to
 * the CPU and the reason is left in `fallback_note` (empty when none). */
pdl_status pdl_backend_open(const pdl_device_request *req, pdl_backend *out,
                            char *fallback_note, size_t note_size, pdl_error *err);
void pdl_backend_close(pdl_backend *b);

extern const pdl_backend_ops pdl_cpu_backend_ops;

#endif
