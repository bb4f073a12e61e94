/* backend_cpu.c - the CPU backend: the network on oneDNN (plans in
 * cpu_plan.c), OpenMP threads as requested.
 *
 * Plans are cached by (batch, padded input size), least recently used out
 * first, so a folder of same-sized images plans once per batch size and a
 * folder alternating between a few sizes does not re-plan either. All plans share one activation arena and
 * one scratchpad, sized for the largest plan, and one copy of the weights.
 */
#include "backend.h"
#include "cpu_internal.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* room for a few sizes, each with a full and a short last batch */
#define PLAN_CACHE 8

typedef struct cpu_context {
    int threads;
    pdl_cpu_shared sh;
    pdl_cpu_plan *plans[PLAN_CACHE];
    unsigned long last_use[PLAN_CACHE];
    unsigned long clock;
    pdl_cpu_plan *current;
    int batch, height, width; /* of the last prepare (height x width: the crop) */
    int plans_built;
    float *full;       /* the x4 outputs */
    size_t full_floats;
} cpu_context;

static pdl_status cpu_open(const pdl_device_request *req, void **ctx, pdl_error *err)
{
    cpu_context *c = calloc(1, sizeof *c);
    if (!c)
        return pdl_fail(err, PDL_ERR_NOMEM, "cpu backend: out of memory");
    c->threads = req->threads > 0 ? req->threads : omp_get_num_procs();
    dnnl_status_t s = dnnl_engine_create(&c->sh.engine, dnnl_cpu, 0);
    if (s == dnnl_success)
        s = dnnl_stream_create(&c->sh.stream, c->sh.engine, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        if (c->sh.engine)
            dnnl_engine_destroy(c->sh.engine);
        free(c);
        return pdl_fail(err, PDL_ERR_DEVICE, "oneDNN: cannot create the CPU engine: %s",
                        dnnl_status2str(s));
    }
    *ctx = c;
    return PDL_OK;
}

/* Forgets every plan and weight copy (on close, or when the model changes). */
static void drop_model(cpu_context *c)
{
    for (int i = 0; i < PLAN_CACHE; i++) {
        pdl_cpu_plan_free(c->plans[i]);
        c->plans[i] = NULL;
    }
    c->current = NULL;
    pdl_cpu_weights_free(&c->sh);
    free(c->sh.weights);
    c->sh.weights = NULL;
    c->sh.model = NULL;
}

static void cpu_close(void *ctx)
{
    cpu_context *c = ctx;
    if (!c)
        return;
    drop_model(c);
    free(c->sh.arena);
    free(c->sh.scratch);
    free(c->full);
    dnnl_stream_destroy(c->sh.stream);
    dnnl_engine_destroy(c->sh.engine);
    free(c);
}

static void cpu_describe(void *ctx, char *buf, size_t size)
{
    const cpu_context *c = ctx;
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, size, "cpu (oneDNN %d.%d.%d, %d threads)", v->major, v->minor, v->patch,
             c->threads);
}

/* Grows *buf to at least `need` bytes (contents not kept). */
static pdl_status grow(void **buf, size_t *size, size_t need, unsigned *generation,
                       pdl_error *err)
{
    if (need <= *size)
        return PDL_OK;
    free(*buf);
    *size = 0;
    *buf = aligned_alloc(PDL_CPU_ALIGN, (need + PDL_CPU_ALIGN - 1) / PDL_CPU_ALIGN * PDL_CPU_ALIGN);
    (*generation)++;
    if (!*buf)
        return pdl_fail(err, PDL_ERR_NOMEM, "cpu backend: out of memory for %zu MB of buffers",
                        need >> 20);
    *size = need;
    return PDL_OK;
}

static pdl_status use_model(cpu_context *c, const pdl_model *model, pdl_error *err)
{
    if (c->sh.model == model && c->sh.model_id == model->id)
        return PDL_OK;
    drop_model(c);
    c->sh.weights = calloc((size_t)model->nops, sizeof *c->sh.weights);
    if (!c->sh.weights)
        return pdl_fail(err, PDL_ERR_NOMEM, "cpu backend: out of memory");
    c->sh.nweights = model->nops;
    c->sh.model = model;
    c->sh.model_id = model->id;
    return PDL_OK;
}

static bool plan_is(const pdl_cpu_plan *p, int batch, int hp, int wp)
{
    return p && p->batch == batch && p->hp == hp && p->wp == wp;
}

/* The plan for (batch, hp, wp), else an empty slot, else the least recently used. */
static int find_slot(const cpu_context *c, int batch, int hp, int wp)
{
    for (int i = 0; i < PLAN_CACHE; i++)
        if (plan_is(c->plans[i], batch, hp, wp))
            return i;
    int victim = 0;
    for (int i = 0; i < PLAN_CACHE; i++) {
        if (!c->plans[i])
            return i;
        if (c->last_use[i] < c->last_use[victim])
            victim = i;
    }
    return victim;
}

static pdl_status cpu_prepare(void *ctx, const pdl_model *model, int batch, int height,
                              int width, pdl_error *err)
{
    cpu_context *c = ctx;
    if (height < 1 || width < 1)
        return pdl_fail(err, PDL_ERR_ARG, "cpu backend: bad image size %dx%d", width, height);
    if (batch < 1 || batch > PDL_MAX_BATCH)
        return pdl_fail(err, PDL_ERR_ARG, "cpu backend: bad batch size %d (1..%d)", batch,
                        PDL_MAX_BATCH);
    omp_set_num_threads(c->threads);
    pdl_status st = use_model(c, model, err);
    if (st != PDL_OK)
        return st;
    int hp, wp;
    pdl_model_input_size(&model->config, height, width, &hp, &wp);
    int slot = find_slot(c, batch, hp, wp);
    if (!plan_is(c->plans[slot], batch, hp, wp)) {
        pdl_cpu_plan_free(c->plans[slot]);
        c->plans[slot] = NULL;
        c->current = NULL;
        st = pdl_cpu_plan_create(&c->sh, batch, hp, wp, &c->plans[slot], err);
        if (st != PDL_OK)
            return st;
        c->plans_built++;
    }
    pdl_cpu_plan *p = c->plans[slot];
    st = grow(&c->sh.arena, &c->sh.arena_size, p->arena_bytes, &c->sh.generation, err);
    if (st == PDL_OK)
        st = grow(&c->sh.scratch, &c->sh.scratch_size, p->scratch_bytes, &c->sh.generation, err);
    if (st != PDL_OK)
        return st;
    c->last_use[slot] = ++c->clock;
    c->current = p;
    c->batch = batch;
    c->height = height;
    c->width = width;
    return PDL_OK;
}

/* The x4 outputs of every image of the batch, one after the other. */
static pdl_status upsample_outputs(cpu_context *c, pdl_head_outputs *outs, pdl_error *err)
{
    if (outs->height > 4 * outs->h4 || outs->width > 4 * outs->w4)
        return pdl_fail(err, PDL_ERR_ARG, "cpu backend: heads at %dx%d cannot cover %dx%d",
                        outs->w4, outs->h4, outs->width, outs->height);
    size_t plane = (size_t)outs->height * outs->width;
    size_t per_image = (size_t)(outs->num_classes + 3) * plane;
    size_t need = (size_t)c->batch * per_image;
    if (need > c->full_floats) {
        free(c->full);
        c->full_floats = 0;
        c->full = malloc(need * sizeof *c->full);
        if (!c->full)
            return pdl_fail(err, PDL_ERR_NOMEM, "cpu backend: out of memory for %dx%d outputs",
                            outs->width, outs->height);
        c->full_floats = need;
    }
    pdl_status st = PDL_OK;
    for (int n = 0; n < c->batch && st == PDL_OK; n++)
        st = pdl_heads_upsample_full(&outs[n], c->full + n * per_image, err);
    return st;
}

static pdl_status cpu_run(void *ctx, const void *input, unsigned flags, pdl_head_outputs *out,
                          pdl_error *err)
{
    cpu_context *c = ctx;
    if (!c->current)
        return pdl_fail(err, PDL_ERR_ARG, "cpu backend: run without a successful prepare");
    memset(out, 0, (size_t)c->batch * sizeof *out);
    for (int n = 0; n < c->batch; n++) {
        out[n].height = c->height;
        out[n].width = c->width;
    }
    omp_set_num_threads(c->threads);
    if (flags & PDL_RUN_STAGES)
        flags |= PDL_RUN_FULL;
    pdl_status st = pdl_cpu_plan_run(c->current, &c->sh, input, flags, out, err);
    if (st == PDL_OK && (flags & PDL_RUN_FULL))
        st = upsample_outputs(c, out, err);
    for (int n = 0; n < c->batch && st == PDL_OK && (flags & PDL_RUN_STAGES); n++) {
        pdl_head_outputs *o = &out[n];
        const float *up[3] = {o->sem_logits_up, o->center_up, o->offset_up};
        const int ch[3] = {o->num_classes, 1, 2};
        for (int i = 0; i < 3; i++)
            o->stages[PDL_STAGE_SEM_LOGITS_UP + i] =
                (pdl_stage_tensor){true, ch[i], o->height, o->width, up[i]};
    }
    return st;
}

/* Host memory is this executor's memory: PDL_RUN_DEVICE changes nothing. */
static const pdl_pp_kernels *cpu_pp_executor(void *ctx, void **stream)
{
    (void)ctx;
    *stream = NULL;
    return pdl_cpu_pp_executor();
}

static void cpu_stats(void *ctx, pdl_backend_stats *out)
{
    const cpu_context *c = ctx;
    memset(out, 0, sizeof *out);
    out->plans_built = c->plans_built;
    for (int i = 0; i < PLAN_CACHE; i++)
        out->plans_cached += c->plans[i] != NULL;
    if (c->current) {
        out->reorders = c->current->nreorders;
        for (int i = 0; i < c->current->nsteps; i++)
            out->own_ops += c->current->steps[i].custom != PDL_CPU_ONEDNN;
        out->arena_bytes = c->current->arena_bytes;
        out->live_bytes = c->current->live_bytes;
    }
    out->scratch_bytes = c->sh.scratch_size;
    out->weight_bytes = c->sh.weight_bytes;
    out->output_bytes = c->full_floats * sizeof(float);
}

const pdl_backend_ops pdl_cpu_backend_ops = {
    .name = "cpu",
    .open = cpu_open,
    .close = cpu_close,
    .describe = cpu_describe,
    .prepare = cpu_prepare,
    .run = cpu_run,
    .stats = cpu_stats,
    .input_format = PDL_INPUT_F32_PLANAR,
    .pp_executor = cpu_pp_executor,
};
