/* cpu_weights.c - conv weights in oneDNN's preferred (blocked) layouts.
 *
 * A conv's weights are reordered from the model's OIHW (GOIHW for grouped
 * convs) the first time a plan asks for a layout, and kept for every later
 * plan that asks for the same one: plans for different image sizes share one
 * copy instead of each holding the whole network's weights.
 */
#include "cpu_internal.h"

#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>

static dnnl_memory_desc_t user_md(const pdl_conv *c)
{
    dnnl_memory_desc_t md;
    if (c->groups > 1) {
        dnnl_dims_t d = {c->groups, c->cout / c->groups, c->cin / c->groups, c->kernel, c->kernel};
        dnnl_memory_desc_init_by_tag(&md, 5, d, dnnl_f32, dnnl_goihw);
    } else {
        dnnl_dims_t d = {c->cout, c->cin, c->kernel, c->kernel};
        dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, dnnl_oihw);
    }
    return md;
}

static pdl_status reorder_into(pdl_cpu_shared *sh, const pdl_conv *c, pdl_cpu_weights *w,
                               pdl_error *err)
{
    dnnl_memory_desc_t src_md = user_md(c);
    dnnl_memory_t src = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    pdl_status st = pdl_cpu_reorder_pd(sh->engine, &src_md, &w->md, &pd, err);
    if (st != PDL_OK)
        return st;
    size_t scratch = pdl_cpu_scratch_size(pd);
    void *scratch_buf = scratch ? aligned_alloc(PDL_CPU_ALIGN, (scratch + PDL_CPU_ALIGN - 1) /
                                                                   PDL_CPU_ALIGN * PDL_CPU_ALIGN)
                                : NULL;
    dnnl_memory_t scratch_mem = NULL;
    const dnnl_memory_desc_t *scratch_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    dnnl_status_t s = scratch && !scratch_buf ? dnnl_out_of_memory : dnnl_success;
    if (s == dnnl_success && scratch)
        s = dnnl_memory_create(&scratch_mem, scratch_md, sh->engine, scratch_buf);
    if (s == dnnl_success)
        s = dnnl_memory_create(&src, &src_md, sh->engine, c->weight);
    if (s == dnnl_success)
        s = dnnl_primitive_create(&prim, pd);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, w->mem},
                                   {DNNL_ARG_SCRATCHPAD, scratch_mem}};
        s = dnnl_primitive_execute(prim, sh->stream, scratch ? 3 : 2, args);
    }
    if (s == dnnl_success)
        s = dnnl_stream_wait(sh->stream);
    if (s != dnnl_success)
        st = pdl_fail(err, PDL_ERR_DEVICE, "oneDNN: reordering %s.weight: %s", c->name,
                      dnnl_status2str(s));
    dnnl_primitive_destroy(prim);
    dnnl_memory_destroy(src);
    dnnl_memory_destroy(scratch_mem);
    dnnl_primitive_desc_destroy(pd);
    free(scratch_buf);
    return st;
}

pdl_status pdl_cpu_weights_get(pdl_cpu_shared *sh, int op, const dnnl_memory_desc_t *md,
                               dnnl_memory_t *mem, pdl_error *err)
{
    for (pdl_cpu_weights *w = sh->weights[op]; w; w = w->next)
        if (dnnl_memory_desc_equal(&w->md, md)) {
            *mem = w->mem;
            return PDL_OK;
        }
    const pdl_conv *c = &sh->model->ops[op].conv;
    size_t size = dnnl_memory_desc_get_size(md);
    pdl_cpu_weights *w = calloc(1, sizeof *w);
    if (w)
        w->buf = aligned_alloc(PDL_CPU_ALIGN, (size + PDL_CPU_ALIGN - 1) / PDL_CPU_ALIGN *
                                                  PDL_CPU_ALIGN);
    if (!w || !w->buf) {
        free(w);
        return pdl_fail(err, PDL_ERR_NOMEM, "%s.weight: out of memory", c->name);
    }
    w->md = *md;
    dnnl_status_t s = dnnl_memory_create(&w->mem, md, sh->engine, w->buf);
    pdl_status st = s == dnnl_success
                        ? reorder_into(sh, c, w, err)
                        : pdl_fail(err, PDL_ERR_DEVICE, "oneDNN: %s.weight memory: %s", c->name,
                                   dnnl_status2str(s));
    if (st != PDL_OK) {
        dnnl_memory_destroy(w->mem);
        free(w->buf);
        free(w);
        return st;
    }
    w->next = sh->weights[op];
    sh->weights[op] = w;
    sh->weight_bytes += size;
    *mem = w->mem;
    return PDL_OK;
}

void pdl_cpu_weights_free(pdl_cpu_shared *sh)
{
    for (int i = 0; sh->weights && i < sh->nweights; i++)
        while (sh->weights[i]) {
            pdl_cpu_weights *w = sh->weights[i];
            sh->weights[i] = w->next;
            dnnl_memory_destroy(w->mem);
            free(w->buf);
            free(w);
        }
    sh->weight_bytes = 0;
}
