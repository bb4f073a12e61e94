/* backend_cpu.c - the CPU backend: oneDNN for the network, the CPU executor of
 * kernels/ for post-processing. */
#include "backend.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct cpu_context {
    int threads;
} cpu_context;

static pdl_status cpu_open(const pdl_device_request *req, void **ctx, pdl_error *err)
{
    cpu_context *c = calloc(1, sizeof *c);
    if (!c)
        return pdl_fail(err, PDL_ERR_NOMEM, "cpu backend: out of memory");
    c->threads = req->threads > 0 ? req->threads : omp_get_num_procs();
    *ctx = c;
    return PDL_OK;
}

static void cpu_close(void *ctx)
{
    free(ctx);
}

static void cpu_describe(void *ctx, char *buf, size_t size)
{
    const cpu_context *c = ctx;
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, size, "cpu (oneDNN %d.%d.%d, %d threads)", v->major, v->minor, v->patch,
             c->threads);
}

const pdl_backend_ops pdl_cpu_backend_ops = {
    .name = "cpu",
    .open = cpu_open,
    .close = cpu_close,
    .describe = cpu_describe,
};
