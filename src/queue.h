/* queue.h - a bounded, closable FIFO of pointers between pipeline stages.
 *
 * Bounded so that a fast stage (decode) cannot run ahead of a slow one
 * (network) and fill memory on a large folder; closable so that consumers see
 * the end of the stream once every producer is done.
 */
#ifndef PDL_QUEUE_H
#define PDL_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pdl_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    void **items;
    size_t capacity, head, count;
    bool closed;
} pdl_queue;

bool pdl_queue_init(pdl_queue *q, size_t capacity);
void pdl_queue_destroy(pdl_queue *q);
/* Blocks while full. Returns false (and does not take the item) if closed. */
bool pdl_queue_push(pdl_queue *q, void *item);
/* Blocks while empty and open. Returns NULL once closed and drained. */
void *pdl_queue_pop(pdl_queue *q);
/* No more pushes; wakes every waiter. */
void pdl_queue_close(pdl_queue *q);

#endif
