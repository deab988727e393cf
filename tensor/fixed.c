/* fixed.c — fixed-point encode, decode and local share truncation. */
#include "fixed.h"

#include <math.h>

/* 2^63 as a double: the first scaled value that no longer fits int64. */
#define FIXED_TWO_63 9223372036854775808.0

double fixed_max(unsigned frac_bits)
{
    /* Doubles near 2^63 are 2^10 apart, so the largest one below 2^63 is
     * 2^63 - 2^10; scaling by a power of two is exact. */
    return ldexp(FIXED_TWO_63 - 1024.0, -(int)frac_bits);
}

trine_status_t fixed_encode(uint64_t *out, double x, unsigned frac_bits)
{
    if (frac_bits > FIXED_FRAC_BITS_MAX)
        return TRINE_EINVAL;
    if (!isfinite(x))
        return TRINE_ERANGE;
    double r = round(ldexp(x, (int)frac_bits));
    if (r < -FIXED_TWO_63 || r >= FIXED_TWO_63)
        return TRINE_ERANGE;
    *out = (uint64_t)(int64_t)r;
    return TRINE_OK;
}

trine_status_t fixed_encode_array(uint64_t *out, const double *x, size_t n, unsigned frac_bits,
                                  trine_err_t *err)
{
    return fixed_encode_piece(out, x, n, 0, frac_bits, err);
}

trine_status_t fixed_encode_piece(uint64_t *out, const double *x, size_t n, size_t first,
                                  unsigned frac_bits, trine_err_t *err)
{
    const int64_t lim = (int64_t)1 << FIXED_SHARE_BITS;
    for (size_t i = 0; i < n; i++) {
        trine_status_t st = fixed_encode(&out[i], x[i], frac_bits);
        if (st == TRINE_EINVAL)
            return trine_err_set(err, st, "frac_bits %u is above the maximum %d", frac_bits,
                                 FIXED_FRAC_BITS_MAX);
        if (st == TRINE_OK && ((int64_t)out[i] < -lim || (int64_t)out[i] >= lim))
            st = TRINE_ERANGE;
        if (st != TRINE_OK)
            return trine_err_set(err, st,
                                 "element %zu is %.17g, beyond the range of shared values with "
                                 "%u fraction bits: |x| < 2^%d = %g, where comparisons are exact",
                                 first + i, x[i], frac_bits, FIXED_SHARE_BITS - (int)frac_bits,
                                 ldexp(1.0, FIXED_SHARE_BITS - (int)frac_bits));
    }
    return TRINE_OK;
}

double fixed_decode(uint64_t v, unsigned frac_bits)
{
    return ldexp((double)(int64_t)v, -(int)frac_bits);
}

void fixed_decode_array(double *out, const uint64_t *v, size_t n, unsigned frac_bits)
{
    double step = ldexp(1.0, -(int)frac_bits);
    for (size_t i = 0; i < n; i++)
        out[i] = (double)(int64_t)v[i] * step;
}

size_t fixed_count_edge(const uint64_t *v, size_t n, size_t *first)
{
    const int64_t lim = (int64_t)1 << FIXED_SHARE_BITS;
    size_t count = 0;
    *first = n;
    for (size_t i = 0; i < n; i++)
        if ((int64_t)v[i] < -lim || (int64_t)v[i] >= lim) {
            if (count++ == 0)
                *first = i;
        }
    return count;
}

trine_status_t fixed_truncate_share(tensor_t *t, unsigned frac_bits, fixed_share_t party)
{
    if (frac_bits > FIXED_FRAC_BITS_MAX)
        return TRINE_EINVAL;
    uint64_t *x = t->data;
    if (party == FIXED_SHARE_P0) {
        for (size_t i = 0; i < t->size; i++)
            x[i] = (uint64_t)((int64_t)x[i] >> frac_bits);
    } else {
        for (size_t i = 0; i < t->size; i++)
            x[i] = -(uint64_t)((int64_t)-x[i] >> frac_bits);
    }
    return TRINE_OK;
}
