/* pdl_half.h - IEEE binary16 storage for the FP16 path, usable from C (the
 * weights loader, tests), from C++ (the CPU executor of the kernels) and from
 * nvcc. pdl_half is a 16-bit pattern with __half's size and alignment, so an
 * array of it is an array of __half on the device. Conversions are exact
 * widening and round-to-nearest-even narrowing (overflow to infinity, NaN to
 * a quiet NaN), the same results as __half2float / __float2half_rn, written
 * with integer operations so that no compiler or FPU mode is involved.
 */
#ifndef PDL_HALF_H
#define PDL_HALF_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define PDL_HALF_HD __host__ __device__
#else
#define PDL_HALF_HD
#endif

typedef struct pdl_half {
    uint16_t bits;
} pdl_half;

/* Normal numbers re-bias the exponent (15 -> 127); subnormals are
 * mant x 2^-24, exact in float; exponent 31 is Inf/NaN (payload kept). */
static inline PDL_HALF_HD float pdl_half_bits_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        float f = (float)mant * 5.9604644775390625e-8f; /* 2^-24 */
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | (mant << 13);
    else
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Round to nearest, ties to even. Normal results: drop 13 mantissa bits,
 * adding 0xfff plus the lowest kept bit (a carry into the exponent is the
 * correct rounding up, up to infinity from 65520 on). Subnormal results
 * (|f| < 2^-14): shift the full significand right and round the same way. */
static inline PDL_HALF_HD uint16_t pdl_float_to_half_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x47800000u) /* >= 65536 (or Inf) */
        return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) { /* >= 2^-14: normal */
        uint32_t r = ax - (112u << 23);
        r += 0xfffu + ((r >> 13) & 1u);
        return (uint16_t)(sign | (r >> 13));
    }
    if (ax < 0x33000000u) /* below 2^-25: zero (2^-25 itself ties to even 0 below) */
        return sign;
    /* 2^-25 <= |f| < 2^-14: value = m x 2^(e - 150), result = m >> (126 - e) */
    uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u, shift = 126 - e;
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    q += rem > halfway || (rem == halfway && (q & 1u));
    return (uint16_t)(sign | q);
}

static inline PDL_HALF_HD float pdl_half_to_float(pdl_half h)
{
    return pdl_half_bits_to_float(h.bits);
}

static inline PDL_HALF_HD pdl_half pdl_float_to_half(float f)
{
    pdl_half h;
    h.bits = pdl_float_to_half_bits(f);
    return h;
}

#endif
