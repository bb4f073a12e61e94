/* test_queue.c - the bounded queue: FIFO order, bound, close, many threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "queue.h"

Test(queue, fifo_order_and_close)
{
    pdl_queue q;
    cr_assert(pdl_queue_init(&q, 3));
    for (intptr_t i = 1; i <= 3; i++)
        cr_assert(pdl_queue_push(&q, (void *)i));
    cr_assert_eq((intptr_t)pdl_queue_pop(&q), 1);
    cr_assert(pdl_queue_push(&q, (void *)4));
    pdl_queue_close(&q);
    cr_assert_not(pdl_queue_push(&q, (void *)5), "push after close must fail");
    for (intptr_t i = 2; i <= 4; i++)
        cr_assert_eq((intptr_t)pdl_queue_pop(&q), i);
    cr_assert_null(pdl_queue_pop(&q));
    pdl_queue_destroy(&q);
}

enum { PRODUCERS = 3, PER_PRODUCER = 2000 };

static void *produce(void *arg)
{
    pdl_queue *q = arg;
    for (intptr_t i = 1; i <= PER_PRODUCER; i++)
        pdl_queue_push(q, (void *)i);
    return NULL;
}

Test(queue, concurrent_producers_and_consumer_lose_nothing)
{
    pdl_queue q;
    cr_assert(pdl_queue_init(&q, 4));
    pthread_t t[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, produce, &q);
    int64_t sum = 0, count = 0;
    while (count < PRODUCERS * PER_PRODUCER) {
        sum += (intptr_t)pdl_queue_pop(&q);
        count++;
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(sum, (int64_t)PRODUCERS * PER_PRODUCER * (PER_PRODUCER + 1) / 2);
    pdl_queue_close(&q);
    cr_assert_null(pdl_queue_pop(&q));
    pdl_queue_destroy(&q);
}
