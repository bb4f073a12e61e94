/* rng.c - splitmix64 + xoshiro256** (public-domain algorithms by Vigna). */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void pdl_rng_seed(pdl_rng *r, uint64_t seed, uint64_t index)
{
    uint64_t x = seed ^ splitmix64(&index);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t pdl_rng_next(pdl_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double pdl_rng_uniform(pdl_rng *r)
{
    return (double)(pdl_rng_next(r) >> 11) * 0x1.0p-53;
}

double pdl_rng_range(pdl_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * pdl_rng_uniform(r);
}

int pdl_rng_int(pdl_rng *r, int lo, int hi)
{
    return lo + (int)(pdl_rng_uniform(r) * (double)(hi - lo + 1));
}

double pdl_rng_normal(pdl_rng *r)
{
    double u = 1.0 - pdl_rng_uniform(r); /* (0, 1]: log() stays finite */
    double v = pdl_rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}
