/* cpu_plan.c - turns the graph into oneDNN primitives for one input size and
 * batch (every tensor has N = batch, so each primitive runs the whole batch
 * in one call).
 *
 * Walking the ops in order, each op gets its primitive; each tensor takes the
 * layout its producer chose (blocked for convs), and a reorder step is
 * inserted only where a consumer wants another layout (in practice: the
 * plain input into the first conv). A residual conv writes into its residual's
 * buffer (the sum post-op adds what is there), so the add costs nothing. The
 * head outputs are reordered to plain NCHW at the end (asking the predictors
 * for plain output makes oneDNN fall back to a slower GEMM). Two ops run as
 * our own loops where oneDNN is slow (cpu_custom.c). Buffers are then
 * placed by liveness (cpu_arena.c). All of this happens once per size; running
 * only executes the recorded steps.
 */
#include "cpu_internal.h"

#include <limits.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>
#include <string.h>

static const pdl_stage head_outputs[3] = {PDL_STAGE_SEM_LOGITS, PDL_STAGE_CENTER,
                                          PDL_STAGE_OFFSET};

typedef struct builder {
    pdl_cpu_shared *sh;
    pdl_cpu_plan *p;
    int *last_read; /* per graph tensor: the last op reading it */
    pdl_error *err;
} builder;

static pdl_status dnnl_fail(pdl_error *err, dnnl_status_t s, const char *what)
{
    return pdl_fail(err, PDL_ERR_DEVICE, "oneDNN: %s: %s", what, dnnl_status2str(s));
}

static int new_block(pdl_cpu_plan *p, size_t size)
{
    p->blocks[p->nblocks] = (pdl_cpu_block){.size = size, .first = INT_MAX, .last = -1};
    return p->nblocks++;
}

/* Gives tensor t (a graph tensor or a new one when t < 0) layout md and a
 * buffer of its own; returns its id or -1 when out of memory. */
static int define_tensor(pdl_cpu_plan *p, int t, const dnnl_memory_desc_t *md, pdl_shape shape)
{
    if (t < 0) {
        if (p->ntensors == p->cap_tensors) {
            int cap = 2 * p->cap_tensors;
            pdl_cpu_tensor *n = realloc(p->t, (size_t)cap * sizeof *n);
            pdl_cpu_block *b = realloc(p->blocks, (size_t)cap * sizeof *b);
            if (n)
                p->t = n;
            if (b)
                p->blocks = b;
            if (!n || !b)
                return -1;
            p->cap_tensors = cap;
        }
        t = p->ntensors++;
    }
    p->t[t] = (pdl_cpu_tensor){.md = *md, .shape = shape, .producer = p->nsteps};
    p->t[t].block = new_block(p, dnnl_memory_desc_get_size(md));
    return t;
}

/* Records a step running pd's primitive (and destroys pd). args: n pairs of
 * (DNNL_ARG_*, tensor) with tensor -1 taking the next entry of fixed[]. */
static pdl_status add_step(builder *b, dnnl_primitive_desc_t pd, int n, const int *kinds,
                           const int *tensors, dnnl_memory_t *fixed, const bool *own)
{
    pdl_cpu_plan *p = b->p;
    if (p->nsteps == p->cap_steps) {
        int cap = 2 * p->cap_steps;
        pdl_cpu_step *s = realloc(p->steps, (size_t)cap * sizeof *s);
        if (!s) {
            dnnl_primitive_desc_destroy(pd);
            return pdl_fail(b->err, PDL_ERR_NOMEM, "cpu plan: out of memory");
        }
        p->steps = s;
        p->cap_steps = cap;
    }
    pdl_cpu_step *s = &p->steps[p->nsteps];
    memset(s, 0, sizeof *s);
    s->nargs = n;
    for (int i = 0, f = 0; i < n; i++) {
        s->kind[i] = kinds[i];
        s->tensor[i] = tensors[i];
        if (tensors[i] < 0) {
            s->fixed[i] = fixed[f];
            s->own[i] = own && own[f];
            f++;
        }
    }
    /* the step now owns its fixed memories whatever happens next; no pd: our own op */
    size_t scratch = pd ? pdl_cpu_scratch_size(pd) : 0;
    dnnl_status_t st = pd ? dnnl_primitive_create(&s->prim, pd) : dnnl_success;
    if (st == dnnl_success && scratch) {
        s->scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        st = dnnl_memory_create(&s->scratch, &s->scratch_md, b->sh->engine, DNNL_MEMORY_NONE);
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    p->nsteps++;
    if (st != dnnl_success)
        return dnnl_fail(b->err, st, "creating a primitive");
    p->scratch_bytes = scratch > p->scratch_bytes ? scratch : p->scratch_bytes;
    for (int i = 0; i < n; i++)
        if (tensors[i] >= 0 && p->t[tensors[i]].block >= 0) {
            pdl_cpu_block *blk = &p->blocks[p->t[tensors[i]].block];
            int at = p->nsteps - 1;
            blk->first = at < blk->first ? at : blk->first;
            blk->last = at > blk->last ? at : blk->last;
        }
    return PDL_OK;
}

static const dnnl_memory_desc_t *query(dnnl_primitive_desc_t pd, dnnl_query_t what, int i)
{
    return dnnl_primitive_desc_query_md(pd, what, i);
}

/* A copy of tensor `src` in layout md: into tensor `dst` when dst >= 0, else
 * into a new tensor. Returns the tensor or -1 on failure. */
static int reorder(builder *b, int src, const dnnl_memory_desc_t *md, int dst, pdl_status *st)
{
    pdl_cpu_plan *p = b->p;
    dnnl_primitive_desc_t pd;
    *st = pdl_cpu_reorder_pd(b->sh->engine, &p->t[src].md, md, &pd, b->err);
    if (*st != PDL_OK)
        return -1;
    if (dst < 0 && (dst = define_tensor(p, -1, md, p->t[src].shape)) < 0) {
        dnnl_primitive_desc_destroy(pd);
        *st = pdl_fail(b->err, PDL_ERR_NOMEM, "cpu plan: out of memory");
        return -1;
    }
    p->nreorders++;
    int kinds[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, tensors[2] = {src, dst};
    *st = add_step(b, pd, 2, kinds, tensors, NULL, NULL);
    return *st == PDL_OK ? dst : -1;
}

/* Tensor t in layout md, reordered when it has another one. */
static int as_layout(builder *b, int t, const dnnl_memory_desc_t *md, pdl_status *st)
{
    *st = PDL_OK;
    return dnnl_memory_desc_equal(&b->p->t[t].md, md) ? t : reorder(b, t, md, -1, st);
}

static dnnl_memory_desc_t nhwc_md(int batch, pdl_shape s)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t d = {batch, s.c, s.h, s.w};
    dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, dnnl_nhwc);
    return md;
}

static bool is_nhwc(const pdl_cpu_plan *p, const pdl_cpu_tensor *t)
{
    dnnl_memory_desc_t md = nhwc_md(p->batch, t->shape);
    return dnnl_memory_desc_equal(&t->md, &md);
}

/* Depthwise convs oneDNN has no depthwise kernel for (it says so in the
 * implementation name) run as our own NHWC loop. */
static bool own_depthwise(const builder *b, const pdl_op *op, const_dnnl_primitive_desc_t pd)
{
    const pdl_conv *c = &op->conv;
    const char *impl = NULL;
    if (c->groups != c->cin || c->cin != c->cout || c->stride != 1 || c->residual >= 0 ||
        !is_nhwc(b->p, &b->p->t[op->in[0]]))
        return false;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success)
        return false;
    return !strstr(impl, "dw");
}

static pdl_status plan_own_depthwise(builder *b, const pdl_op *op, const pdl_shape *shapes)
{
    const pdl_conv *c = &op->conv;
    pdl_cpu_plan *p = b->p;
    size_t taps = (size_t)c->kernel * c->kernel;
    float *aux = malloc((taps + 1) * c->cout * sizeof *aux);
    dnnl_memory_desc_t md = nhwc_md(p->batch, shapes[op->out]);
    if (!aux || define_tensor(p, op->out, &md, shapes[op->out]) < 0) {
        free(aux);
        return pdl_fail(b->err, PDL_ERR_NOMEM, "cpu plan: out of memory");
    }
    for (int ch = 0; ch < c->cout; ch++) {
        for (size_t t = 0; t < taps; t++)
            aux[t * c->cout + ch] = c->weight[ch * taps + t];
        aux[taps * c->cout + ch] = c->bias[ch];
    }
    int kinds[2] = {DNNL_ARG_SRC, DNNL_ARG_DST}, tensors[2] = {op->in[0], op->out};
    pdl_status st = add_step(b, NULL, 2, kinds, tensors, NULL, NULL);
    if (st != PDL_OK) {
        free(aux);
        return st;
    }
    pdl_cpu_step *s = &p->steps[p->nsteps - 1];
    s->custom = PDL_CPU_DEPTHWISE;
    s->param[0] = c->kernel;
    s->param[1] = c->dilation;
    s->param[2] = c->relu;
    s->aux = aux;
    return PDL_OK;
}

/* A sliding (not global) ASPP pooling over an NHWC map: our box filter. */
static pdl_status plan_box_filter(builder *b, const pdl_op *op, const pdl_shape *shapes,
                                  const int k[2])
{
    pdl_cpu_plan *p = b->p;
    pdl_shape in = shapes[op->in[0]], rows = {in.c, in.h, shapes[op->out].w};
    dnnl_memory_desc_t out_md = nhwc_md(p->batch, shapes[op->out]);
    dnnl_memory_desc_t rows_md = nhwc_md(1, rows); /* scratch, reused image by image */
    int scratch = define_tensor(p, -1, &rows_md, rows);
    if (scratch < 0 || define_tensor(p, op->out, &out_md, shapes[op->out]) < 0)
        return pdl_fail(b->err, PDL_ERR_NOMEM, "cpu plan: out of memory");
    int kinds[3] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WORKSPACE};
    int tensors[3] = {op->in[0], op->out, scratch};
    pdl_status st = add_step(b, NULL, 3, kinds, tensors, NULL, NULL);
    if (st == PDL_OK) {
        pdl_cpu_step *s = &p->steps[p->nsteps - 1];
        s->custom = PDL_CPU_BOX;
        s->param[0] = k[0];
        s->param[1] = k[1];
    }
    return st;
}

static pdl_status plan_conv(builder *b, int index, const pdl_shape *shapes)
{
    const pdl_model *m = b->sh->model;
    const pdl_op *op = &m->ops[index];
    const pdl_conv *c = &op->conv;
    pdl_cpu_plan *p = b->p;
    dnnl_primitive_desc_t pd;
    pdl_status st =
        pdl_cpu_conv_pd(b->sh->engine, c, p->batch, shapes[op->in[0]], shapes[op->out], &pd,
                        b->err);
    if (st != PDL_OK)
        return st;
    if (own_depthwise(b, op, pd)) {
        dnnl_primitive_desc_destroy(pd);
        return plan_own_depthwise(b, op, shapes);
    }
    int src = as_layout(b, op->in[0], query(pd, dnnl_query_src_md, 0), &st);
    dnnl_memory_t fixed[2] = {NULL, NULL};
    if (st == PDL_OK)
        st = pdl_cpu_weights_get(b->sh, index, query(pd, dnnl_query_weights_md, 0), &fixed[0],
                                 b->err);
    if (st == PDL_OK) {
        dnnl_status_t s = dnnl_memory_create(&fixed[1], query(pd, dnnl_query_weights_md, 1),
                                             b->sh->engine, c->bias);
        if (s != dnnl_success)
            st = dnnl_fail(b->err, s, c->name);
    }
    const dnnl_memory_desc_t *dst_md = query(pd, dnnl_query_dst_md, 0);
    int r = c->residual;
    if (st == PDL_OK && r >= 0 && r != op->in[0] && b->last_read[r] == index &&
        p->t[r].block >= 0 && dnnl_memory_desc_equal(&p->t[r].md, dst_md)) {
        /* write over the residual, which nothing reads afterwards */
        p->t[op->out] = p->t[r];
        p->t[op->out].producer = p->nsteps;
    } else if (st == PDL_OK) {
        if (define_tensor(p, op->out, dst_md, shapes[op->out]) < 0)
            st = pdl_fail(b->err, PDL_ERR_NOMEM, "cpu plan: out of memory");
        if (st == PDL_OK && r >= 0 && reorder(b, r, dst_md, op->out, &st) >= 0)
            p->t[op->out].producer = p->nsteps;
    }
    if (st != PDL_OK) {
        dnnl_memory_destroy(fixed[1]);
        dnnl_primitive_desc_destroy(pd);
        return st;
    }
    int kinds[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST};
    int tensors[4] = {src, -1, -1, op->out};
    bool own[2] = {false, true};
    return add_step(b, pd, 4, kinds, tensors, fixed, own);
}

/* Pooling, resampling and concat: primitives that take their inputs' layouts. */
static pdl_status plan_layout_op(builder *b, int index, const pdl_shape *shapes)
{
    const pdl_op *op = &b->sh->model->ops[index];
    pdl_cpu_plan *p = b->p;
    dnnl_engine_t eng = b->sh->engine;
    const dnnl_memory_desc_t *src = &p->t[op->in[0]].md;
    pdl_shape in = shapes[op->in[0]], out = shapes[op->out];
    dnnl_primitive_desc_t pd;
    pdl_status st;
    int kinds[PDL_MAX_OP_INPUTS + 1], tensors[PDL_MAX_OP_INPUTS + 1];
    int n = op->nin + 1;
    for (int i = 0; i < op->nin; i++) {
        kinds[i] = op->kind == PDL_OP_CONCAT ? DNNL_ARG_MULTIPLE_SRC + i : DNNL_ARG_SRC;
        tensors[i] = op->in[i];
    }
    if (op->kind == PDL_OP_MAXPOOL) {
        st = pdl_cpu_pool_pd(eng, true, src, out, op->kernel, op->stride, op->pad, &pd, b->err);
    } else if (op->kind == PDL_OP_AVGPOOL) {
        /* the kernel clamped per dimension; {0, 0} (global) is the whole map */
        int k[2] = {op->kernel[0] > 0 && op->kernel[0] < in.h ? op->kernel[0] : in.h,
                    op->kernel[1] > 0 && op->kernel[1] < in.w ? op->kernel[1] : in.w};
        if ((k[0] < in.h || k[1] < in.w) && is_nhwc(p, &p->t[op->in[0]]))
            return plan_box_filter(b, op, shapes, k);
        st = pdl_cpu_pool_pd(eng, false, src, out, k, 1, 0, &pd, b->err);
    } else if (op->kind == PDL_OP_RESIZE) {
        st = pdl_cpu_resize_pd(eng, src, out, &pd, b->err);
    } else {
        dnnl_memory_desc_t srcs[PDL_MAX_OP_INPUTS];
        for (int i = 0; i < op->nin; i++)
            srcs[i] = p->t[op->in[i]].md;
        st = pdl_cpu_concat_pd(eng, op->nin, srcs, &pd, b->err);
    }
    if (st != PDL_OK)
        return st;
    if (define_tensor(p, op->out, query(pd, dnnl_query_dst_md, 0), out) < 0) {
        dnnl_primitive_desc_destroy(pd);
        return pdl_fail(b->err, PDL_ERR_NOMEM, "cpu plan: out of memory");
    }
    kinds[n - 1] = DNNL_ARG_DST;
    tensors[n - 1] = op->out;
    return add_step(b, pd, n, kinds, tensors, NULL, NULL);
}

/* Head outputs in plain NCHW, alive to the end; a dump reorder per stage. */
static pdl_status plan_outputs(builder *b)
{
    pdl_cpu_plan *p = b->p;
    const pdl_model *m = b->sh->model;
    pdl_status st = PDL_OK;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++)
        p->out_tensor[s] = m->stage_tensor[s];
    for (int i = 0; i < 3 && st == PDL_OK; i++) {
        int t = m->stage_tensor[head_outputs[i]];
        dnnl_memory_desc_t plain = pdl_cpu_plain_md(p->batch, p->t[t].shape);
        p->out_tensor[head_outputs[i]] = as_layout(b, t, &plain, &st);
    }
    for (int i = 0; i < 3 && st == PDL_OK; i++)
        p->blocks[p->t[p->out_tensor[head_outputs[i]]].block].last = INT_MAX;
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT && st == PDL_OK; s++) {
        const pdl_cpu_tensor *t = &p->t[m->stage_tensor[s]];
        dnnl_memory_desc_t plain = pdl_cpu_plain_md(p->batch, t->shape);
        dnnl_primitive_desc_t pd;
        st = pdl_cpu_reorder_pd(b->sh->engine, &t->md, &plain, &pd, b->err);
        if (st != PDL_OK)
            break;
        if (pdl_cpu_scratch_size(pd) > 0)
            st = pdl_fail(b->err, PDL_ERR_DEVICE, "oneDNN: a stage reorder wants a scratchpad");
        dnnl_status_t s1 = st == PDL_OK ? dnnl_primitive_create(&p->dump[s], pd) : dnnl_success;
        if (s1 == dnnl_success && st == PDL_OK)
            s1 = dnnl_memory_create(&p->dump_mem[s], &plain, b->sh->engine, DNNL_MEMORY_NONE);
        dnnl_primitive_desc_destroy(pd);
        if (s1 != dnnl_success)
            st = dnnl_fail(b->err, s1, "stage reorder");
    }
    return st;
}

static pdl_status make_memories(builder *b)
{
    pdl_cpu_plan *p = b->p;
    size_t arena = pdl_cpu_place_blocks(p->blocks, p->nblocks);
    if (arena == (size_t)-1)
        return pdl_fail(b->err, PDL_ERR_NOMEM, "cpu plan: out of memory");
    p->arena_bytes = arena;
    for (int i = 0; i < p->nsteps; i++) {
        size_t live = 0;
        for (int j = 0; j < p->nblocks; j++)
            live += p->blocks[j].first <= i && i <= p->blocks[j].last ? p->blocks[j].size : 0;
        p->live_bytes = live > p->live_bytes ? live : p->live_bytes;
    }
    for (int i = 0; i < p->ntensors; i++) {
        dnnl_status_t s = dnnl_memory_create(&p->t[i].mem, &p->t[i].md, b->sh->engine,
                                             DNNL_MEMORY_NONE);
        if (s != dnnl_success)
            return dnnl_fail(b->err, s, "activation memory");
    }
    for (int i = 0; i < p->nsteps; i++) {
        pdl_cpu_step *s = &p->steps[i];
        for (int a = 0; a < s->nargs; a++)
            s->args[a] = (dnnl_exec_arg_t){s->kind[a],
                                           s->tensor[a] >= 0 ? p->t[s->tensor[a]].mem
                                                             : s->fixed[a]};
        if (s->scratch)
            s->args[s->nargs] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    }
    return PDL_OK;
}

static pdl_status init_plan(pdl_cpu_plan *p, const pdl_model *m, int batch, int hp, int wp,
                            pdl_error *err)
{
    p->batch = batch;
    p->hp = hp;
    p->wp = wp;
    p->cap_tensors = 2 * m->ntensors + 8;
    p->cap_steps = 2 * m->nops + 8;
    p->t = calloc((size_t)p->cap_tensors, sizeof *p->t);
    p->blocks = calloc((size_t)p->cap_tensors, sizeof *p->blocks);
    p->steps = calloc((size_t)p->cap_steps, sizeof *p->steps);
    if (!p->t || !p->blocks || !p->steps)
        return pdl_fail(err, PDL_ERR_NOMEM, "cpu plan: out of memory");
    p->ntensors = m->ntensors;
    return PDL_OK;
}

static void find_last_reads(const pdl_model *m, int *last_read)
{
    for (int t = 0; t < m->ntensors; t++)
        last_read[t] = -1;
    for (int i = 0; i < m->nops; i++) {
        const pdl_op *op = &m->ops[i];
        for (int j = 0; j < op->nin; j++)
            last_read[op->in[j]] = i;
        if (op->kind == PDL_OP_CONV && op->conv.residual >= 0)
            last_read[op->conv.residual] = i;
    }
}

pdl_status pdl_cpu_plan_create(pdl_cpu_shared *sh, int batch, int hp, int wp, pdl_cpu_plan **out,
                               pdl_error *err)
{
    const pdl_model *m = sh->model;
    pdl_cpu_plan *p = calloc(1, sizeof *p);
    pdl_shape *shapes = malloc((size_t)m->ntensors * sizeof *shapes);
    int *last_read = malloc((size_t)m->ntensors * sizeof *last_read);
    pdl_status st = p && shapes && last_read
                        ? init_plan(p, m, batch, hp, wp, err)
                        : pdl_fail(err, PDL_ERR_NOMEM, "cpu plan: out of memory");
    if (st == PDL_OK)
        st = pdl_model_shapes(m, hp, wp, shapes, err);
    builder b = {.sh = sh, .p = p, .last_read = last_read, .err = err};
    if (st == PDL_OK) {
        /* the caller's input, plain NCHW, outside the arena */
        p->t[0] = (pdl_cpu_tensor){.md = pdl_cpu_plain_md(batch, shapes[0]), .shape = shapes[0],
                                   .block = -1, .producer = -1};
        find_last_reads(m, last_read);
    }
    for (int i = 0; i < m->nops && st == PDL_OK; i++)
        st = m->ops[i].kind == PDL_OP_CONV ? plan_conv(&b, i, shapes)
                                           : plan_layout_op(&b, i, shapes);
    if (st == PDL_OK)
        st = plan_outputs(&b);
    if (st == PDL_OK)
        st = make_memories(&b);
    free(shapes);
    free(last_read);
    if (st != PDL_OK) {
        pdl_cpu_plan_free(p);
        return st;
    }
    *out = p;
    return PDL_OK;
}

void pdl_cpu_plan_free(pdl_cpu_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nsteps; i++) {
        pdl_cpu_step *s = &p->steps[i];
        dnnl_primitive_destroy(s->prim);
        dnnl_memory_destroy(s->scratch);
        free(s->aux);
        for (int a = 0; a < s->nargs; a++)
            if (s->own[a])
                dnnl_memory_destroy(s->fixed[a]);
    }
    for (int i = 0; p->t && i < p->ntensors; i++)
        dnnl_memory_destroy(p->t[i].mem);
    for (int s = 0; s < PDL_STAGE_GRAPH_COUNT; s++) {
        dnnl_primitive_destroy(p->dump[s]);
        dnnl_memory_destroy(p->dump_mem[s]);
    }
    free(p->dump_buf);
    free(p->t);
    free(p->blocks);
    free(p->steps);
    free(p);
}
