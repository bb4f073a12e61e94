/* rng.h - a small deterministic generator (splitmix64 seeding xoshiro256**).
 *
 * Synthetic data must be identical for a seed on every machine and at every
 * thread count, so each image gets its own stream derived from (seed, index)
 * instead of sharing one sequential generator.
 */
#ifndef PDL_RNG_H
#define PDL_RNG_H

#include <stdint.h>

typedef struct pdl_rng {
    uint64_t s[4];
} pdl_rng;

/* Seeds the stream for item `index` of the run seeded with `seed`. */
void pdl_rng_seed(pdl_rng *r, uint64_t seed, uint64_t index);
uint64_t pdl_rng_next(pdl_rng *r);
/* Uniform in [0, 1). */
double pdl_rng_uniform(pdl_rng *r);
/* Uniform in [lo, hi). */
double pdl_rng_range(pdl_rng *r, double lo, double hi);
/* Uniform integer in [lo, hi] (inclusive). */
int pdl_rng_int(pdl_rng *r, int lo, int hi);
/* Standard normal (Box-Muller). */
double pdl_rng_normal(pdl_rng *r);

#endif
