/* backend_loader.c - picks the backend for --device and loads the CUDA one.
 *
 * libpanoptic_cuda.so is looked up in $PANOPTIC_CUDA_LIB, then beside the
 * running executable, then through the normal dlopen search path. Any failure
 * on the way (library missing, no driver, no device) becomes one error line;
 * with --device auto it becomes a note and the CPU is used.
 */
#include "backend.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CUDA_LIB_NAME "libpanoptic_cuda.so"

pdl_status pdl_device_parse(const char *text, pdl_device_request *out, pdl_error *err)
{
    out->index = 0;
    if (strcmp(text, "auto") == 0) {
        out->kind = PDL_DEVICE_AUTO;
        return PDL_OK;
    }
    if (strcmp(text, "cpu") == 0) {
        out->kind = PDL_DEVICE_CPU;
        return PDL_OK;
    }
    if (strncmp(text, "cuda", 4) == 0) {
        out->kind = PDL_DEVICE_CUDA;
        if (text[4] == '\0')
            return PDL_OK;
        if (text[4] == ':' && text[5] >= '0' && text[5] <= '9') {
            char *end;
            errno = 0;
            long n = strtol(text + 5, &end, 10);
            if (*end == '\0' && errno == 0 && n <= 1024) {
                out->index = (int)n;
                return PDL_OK;
            }
        }
    }
    return pdl_fail(err, PDL_ERR_ARG, "bad device '%s' (expected auto, cpu, cuda or cuda:N)", text);
}

static const char *const precision_names[] = {"fp32", "tf32", "fp16"};

pdl_status pdl_precision_parse(const char *text, pdl_precision *out, pdl_error *err)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(text, precision_names[i]) == 0) {
            *out = (pdl_precision)i;
            return PDL_OK;
        }
    return pdl_fail(err, PDL_ERR_ARG, "bad precision '%s' (expected fp32, tf32 or fp16)", text);
}

const char *pdl_precision_name(pdl_precision p)
{
    return (unsigned)p < 3 ? precision_names[p] : "?";
}

/* The library stays mapped after dlclose: the CUDA runtime, cuDNN and
 * cuBLASLt it pulls in are not meant to be unloaded and loaded again in one
 * process, which every engine close and open (predict --streams, the tests)
 * would otherwise do. */
#define CUDA_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)

static void *open_cuda_library(char *why, size_t why_size)
{
    const char *env = getenv("PANOPTIC_CUDA_LIB");
    if (env && *env) {
        void *h = dlopen(env, CUDA_DLOPEN_FLAGS);
        if (!h)
            snprintf(why, why_size, "%s", dlerror());
        return h;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        char path[PATH_MAX + sizeof CUDA_LIB_NAME];
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash ? slash - exe : 0), exe, CUDA_LIB_NAME);
        void *h = dlopen(path, CUDA_DLOPEN_FLAGS);
        if (h)
            return h;
    }
    void *h = dlopen(CUDA_LIB_NAME, CUDA_DLOPEN_FLAGS);
    if (!h)
        snprintf(why, why_size, "%s", dlerror());
    return h;
}

static pdl_status open_cuda(const pdl_device_request *req, pdl_backend *out, pdl_error *err)
{
    char why[400] = "";
    void *lib = open_cuda_library(why, sizeof why);
    if (!lib)
        return pdl_fail(err, PDL_ERR_DEVICE, "no usable CUDA device (cannot load %s: %s)",
                        CUDA_LIB_NAME, why);
    pdl_cuda_entry_fn entry;
    *(void **)&entry = dlsym(lib, PDL_CUDA_ENTRY_SYMBOL);
    if (!entry) {
        dlclose(lib);
        return pdl_fail(err, PDL_ERR_DEVICE, "no usable CUDA device (%s lacks %s)",
                        CUDA_LIB_NAME, PDL_CUDA_ENTRY_SYMBOL);
    }
    out->ops = entry();
    out->library = lib;
    pdl_status st = out->ops->open(req, &out->ctx, err);
    if (st != PDL_OK) {
        dlclose(lib);
        out->ops = NULL;
        out->library = NULL;
    }
    return st;
}

pdl_status pdl_backend_open(const pdl_device_request *req, pdl_backend *out,
                            char *fallback_note, size_t note_size, pdl_error *err)
{
    memset(out, 0, sizeof *out);
    if (fallback_note && note_size)
        fallback_note[0] = '\0';
    if (req->kind == PDL_DEVICE_CUDA)
        return open_cuda(req, out, err);
    if (req->kind == PDL_DEVICE_CPU && req->precision != PDL_PRECISION_FP32)
        return pdl_fail(err, PDL_ERR_ARG, "precision %s needs a CUDA device (the CPU backend is fp32)",
                        pdl_precision_name(req->precision));
    if (req->kind == PDL_DEVICE_AUTO) {
        pdl_error cuda_err;
        if (open_cuda(req, out, &cuda_err) == PDL_OK)
            return PDL_OK;
        if (fallback_note && note_size)
            snprintf(fallback_note, note_size, "using the CPU%s: %s",
                     req->precision != PDL_PRECISION_FP32 ? " in fp32" : "", cuda_err.msg);
    }
    out->ops = &pdl_cpu_backend_ops;
    return out->ops->open(req, &out->ctx, err);
}

void pdl_backend_close(pdl_backend *b)
{
    if (!b || !b->ops)
        return;
    b->ops->close(b->ctx);
    if (b->library)
        dlclose(b->library);
    memset(b, 0, sizeof *b);
}
