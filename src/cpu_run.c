/* cpu_run.c - executes a plan: points its memories at the shared arena and
 * scratchpad (only when those moved since the plan last ran), runs the steps
 * on the stream and hands out the head outputs, and on request every stage
 * converted to plain NCHW right after the step that wrote it (later steps may
 * reuse its buffer). Plain NCHW keeps each image of a batch contiguous, so
 * image i's outputs are slices of the batch's; our own ops take one image at
 * a time (NHWC: image i starts at i * h * w * c).
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
    total *= (size_t)p->batch;
    p->dump_buf = malloc(total * sizeof(float));
    if (!p->dump_buf)
        return pdl_fail(err, PDL_ERR_NOMEM, "stage tensors: out of memory (%zu floats)", total);
    float *next = p->dump_buf;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++) {
        pdl_status st = check(dnnl_memory_set_data_handle(p->dump_mem[s], next), "stage", err);
        if (st != PDL_OK)
            return st;
        next += (size_t)p->batch * shape_floats(p->t[m->stage_tensor[s]].shape);
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
    size_t in_floats = shape_floats(in), out_floats = shape_floats(p->t[s->tensor[1]].shape);
    for (int n = 0; n < p->batch; n++) {
        const float *x = (const float *)data_of(p, s, 0) + n * in_floats;
        float *y = (float *)data_of(p, s, 1) + n * out_floats;
        if (s->custom == PDL_CPU_DEPTHWISE) {
            int k = s->param[0], dil = s->param[1];
            pdl_cpu_depthwise_nhwc(x, in.h, in.w, in.c, s->aux, s->aux + (size_t)k * k * in.c,
                                   k, dil, dil * (k - 1) / 2, s->param[2], y);
        } else {
            /* the row sums are scratch: one image's worth, reused */
            pdl_cpu_box_filter_nhwc(x, in.h, in.w, in.c, s->param[0], s->param[1],
                                    data_of(p, s, 2), y);
        }
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
    size_t plane = (size_t)s4.h * s4.w;
    for (int n = 0; n < p->batch; n++) {
        pdl_head_outputs *o = &out[n];
        o->h4 = s4.h;
        o->w4 = s4.w;
        o->num_classes = s4.c;
        o->sem_logits = heads[PDL_STAGE_SEM_LOGITS] + n * s4.c * plane;
        o->center = heads[PDL_STAGE_CENTER] + n * plane;
        o->offset = heads[PDL_STAGE_OFFSET] + n * 2 * plane;
        const float *next = p->dump_buf;
        for (int s = 0; s < PDL_STAGE_GRAPH_COUNT && stages; s++) {
            pdl_shape sh_ = p->t[m->stage_tensor[s]].shape;
            o->stages[s] = (pdl_stage_tensor){true, sh_.c, sh_.h, sh_.w,
                                              next + n * shape_floats(sh_)};
            next += (size_t)p->batch * shape_floats(sh_);
        }
    }
    return PDL_OK;
}
