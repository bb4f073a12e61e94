/* cpu_arena.c - places the network's buffers in one arena by liveness.
 *
 * Each activation is needed from the step that writes it to the last step
 * that reads it. Placing the largest first, each at the lowest offset that
 * does not overlap a placed buffer alive at the same time, keeps the arena
 * close to the largest set of simultaneously live activations (typically the
 * two or three biggest), instead of their sum over the whole network.
 */
#include "cpu_internal.h"

#include <stdint.h>
#include <stdlib.h>

static size_t align_up(size_t n)
{
    return (n + PDL_CPU_ALIGN - 1) / PDL_CPU_ALIGN * PDL_CPU_ALIGN;
}

static int by_size_desc(const void *a, const void *b, void *blocks)
{
    const pdl_cpu_block *bl = blocks;
    size_t sa = bl[*(const int *)a].size, sb = bl[*(const int *)b].size;
    if (sa != sb)
        return sa < sb ? 1 : -1;
    return *(const int *)a - *(const int *)b;
}

static int by_offset(const void *a, const void *b, void *blocks)
{
    const pdl_cpu_block *bl = blocks;
    size_t oa = bl[*(const int *)a].offset, ob = bl[*(const int *)b].offset;
    return oa < ob ? -1 : oa > ob;
}

size_t pdl_cpu_place_blocks(pdl_cpu_block *blocks, int n)
{
    int *order = malloc(2 * (size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!order)
        return SIZE_MAX;
    int *live = order + n;
    for (int i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, by_size_desc, blocks);
    size_t arena = 0;
    for (int k = 0; k < n; k++) {
        pdl_cpu_block *b = &blocks[order[k]];
        int nlive = 0;
        for (int j = 0; j < k; j++) {
            const pdl_cpu_block *o = &blocks[order[j]];
            if (o->first <= b->last && b->first <= o->last)
                live[nlive++] = order[j];
        }
        qsort_r(live, (size_t)nlive, sizeof *live, by_offset, blocks);
        size_t offset = 0;
        for (int j = 0; j < nlive; j++) {
            const pdl_cpu_block *o = &blocks[live[j]];
            if (o->offset >= offset + b->size)
                break;
            size_t end = align_up(o->offset + o->size);
            offset = end > offset ? end : offset;
        }
        b->offset = offset;
        arena = offset + b->size > arena ? align_up(offset + b->size) : arena;
    }
    free(order);
    return arena;
}
