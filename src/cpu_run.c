/* cpu_run.c - executes a plan: points its memories at the shared arena and
 * scratchpad (only when those moved since the plan last ran), runs the steps
 * on the stream and hands out the head outputs, and on request every stage
 * converted to plain NCHW right after the step that wrote it (later steps may
 * reuse its buffer).
 */
#include "cpu_internal.h"

#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>

static pdl_status check(dnnl_status_t s, const char *what, pdl_error *err)
{
    return s == dnnl_success ? PDL_OK
                             : pdl_fail(err, PDL_ERR_DEVICE, "oneDNN: %s: %s", what,
                                        dnnl_status2str(s));
}

static pdl_status bind(pdl_cpu_plan *p, const pdl_cpu_shared *sh, pdl_error *err)
{
    if (p->bound && p->bound_generation == sh->generation)
        return PDL_OK;
    dnnl_status_t s = dnnl_success;
    for (int i = 1; i < p->ntensors && s == dnnl_success; i++)
        s = dnnl_memory_set_data_handle(p->t[i].mem,
                                        (char *)sh->arena + p->blocks[p->t[i].block].offset);
    for (int i = 0; i < p->nsteps && s == dnnl_success; i++)
        if (p->steps[i].scratch)
            s = dnnl_memory_set_data_handle(p->steps[i].scratch, sh->scratch);
    p->bound = s == dnnl_success;
    p->bound_generation = sh->generation;
    return check(s, "binding buffers", err);
}

static size_t shape_floats(pdl_shape s)
{
    return (size_t)s.c * s.h * s.w;
}

/* Points every stage's dump memory at its part of one buffer. */
static pdl_status bind_dumps(pdl_cpu_plan *p, const pdl_model *m, pdl_error *err)
{
    if (p->dump_buf)
        return PDL_OK;
    size_t total = 0;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++)
        total += shape_floats(p->t[m->stage_tensor[s]].shape);
    p->dump_buf = malloc(total * sizeof(float));
    if (!p->dump_buf)
        return pdl_fail(err, PDL_ERR_NOMEM, "stage tensors: out of memory (%zu floats)", total);
    float *next = p->dump_buf;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++) {
        pdl_status st = check(dnnl_memory_set_data_handle(p->dump_mem[s], next), "stage", err);
        if (st != PDL_OK)
            return st;
        next += shape_floats(p->t[m->stage_tensor[s]].shape);
    }
    return PDL_OK;
}

/* Copies out the stages written by step `step` (-1: the input). */
static pdl_status dump_stages(pdl_cpu_plan *p, const pdl_cpu_shared *sh, int step, pdl_error *err)
{
    const pdl_model *m = sh->model;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++) {
        int t = m->stage_tensor[s];
        if (p->t[t].producer != step)
            continue;
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, p->t[t].mem}, {DNNL_ARG_TO, p->dump_mem[s]}};
        pdl_status st = check(dnnl_primitive_execute(p->dump[s], sh->stream, 2, args),
                              pdl_stage_name(s), err);
        if (st != PDL_OK)
            return st;
    }
    return PDL_OK;
}

static void *data_of(const pdl_cpu_plan *p, const pdl_cpu_step *s, int arg)
{
    void *ptr = NULL;
    dnnl_memory_get_data_handle(p->t[s->tensor[arg]].mem, &ptr);
    return ptr;
}

/* One of our own ops (cpu_custom.c), after every queued primitive is done. */
static pdl_status run_custom(const pdl_cpu_plan *p, const pdl_cpu_shared *sh,
                             const pdl_cpu_step *s, pdl_error *err)
{
    pdl_status st = check(dnnl_stream_wait(sh->stream), "running the network", err);
    if (st != PDL_OK)
        return st;
    pdl_shape in = p->t[s->tensor[0]].shape;
    const float *x = data_of(p, s, 0);
    float *y = data_of(p, s, 1);
    if (s->custom == PDL_CPU_DEPTHWISE) {
        int k = s->param[0], dil = s->param[1];
        pdl_cpu_depthwise_nhwc(x, in.h, in.w, in.c, s->aux, s->aux + (size_t)k * k * in.c, k,
                               dil, dil * (k - 1) / 2, s->param[2], y);
    } else {
        pdl_cpu_box_filter_nhwc(x, in.h, in.w, in.c, s->param[0], s->param[1], data_of(p, s, 2),
                                y);
    }
    return PDL_OK;
}

pdl_status pdl_cpu_plan_run(pdl_cpu_plan *p, pdl_cpu_shared *sh, const float *input,
                            unsigned flags, pdl_head_outputs *out, pdl_error *err)
{
    const pdl_model *m = sh->model;
    bool stages = flags & PDL_RUN_STAGES;
    pdl_status st = bind(p, sh, err);
    if (st == PDL_OK)
        st = check(dnnl_memory_set_data_handle(p->t[0].mem, (void *)input), "input", err);
    if (st == PDL_OK && stages)
        st = bind_dumps(p, m, err);
    if (st == PDL_OK && stages)
        st = dump_stages(p, sh, -1, err);
    for (int i = 0; i < p->nsteps && st == PDL_OK; i++) {
        pdl_cpu_step *s = &p->steps[i];
        if (s->custom != PDL_CPU_ONEDNN)
            st = run_custom(p, sh, s, err);
        else
            st = check(dnnl_primitive_execute(s->prim, sh->stream,
                                              s->nargs + (s->scratch != NULL), s->args),
                       "running the network", err);
        if (st == PDL_OK && stages)
            st = dump_stages(p, sh, i, err);
    }
    if (st == PDL_OK)
        st = check(dnnl_stream_wait(sh->stream), "running the network", err);
    if (st != PDL_OK)
        return st;
    const float *heads[PDL_STAGE_GRAPH_COUNT] = {0};
    static const pdl_stage outs[3] = {PDL_STAGE_SEM_LOGITS, PDL_STAGE_CENTER, PDL_STAGE_OFFSET};
    for (int i = 0; i < 3; i++) {
        const pdl_cpu_tensor *t = &p->t[p->out_tensor[outs[i]]];
        heads[outs[i]] = (const float *)((const char *)sh->arena + p->blocks[t->block].offset);
    }
    pdl_shape s4 = p->t[p->out_tensor[PDL_STAGE_SEM_LOGITS]].shape;
    out->h4 = s4.h;
    out->w4 = s4.w;
    out->num_classes = s4.c;
    out->sem_logits = heads[PDL_STAGE_SEM_LOGITS];
    out->center = heads[PDL_STAGE_CENTER];
    out->offset = heads[PDL_STAGE_OFFSET];
    const float *next = p->dump_buf;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT && stages; s++) {
        pdl_shape sh_ = p->t[m->stage_tensor[s]].shape;
        out->stages[s] = (pdl_stage_tensor){true, sh_.c, sh_.h, sh_.w, next};
        next += shape_floats(sh_);
    }
    return PDL_OK;
}
