/* fixed.h — fixed-point encoding of reals in Z_2^64 (DESIGN section 4).
 *
 * A real x is held as the two's complement integer round(x * 2^f) for
 * f = frac_bits fractional bits (trine's default 13, SecureNN's choice).
 * Encoding never wraps: NaN, infinities and values whose scaled integer
 * does not fit int64 are errors. Values to be shared are held to the
 * tighter range where comparisons on shares are exact (protocol/proto.h):
 * scaled integers in [-2^62, 2^62), reals |x| < 2^(62-f).
 *
 * Local truncation (SecureML) divides a shared value by 2^f without talking:
 * party 0 shifts its share arithmetically, party 1 negates, shifts and
 * negates back. For a shared x with |x| < 2^k (as an integer) and a uniform
 * share, the two results add up to floor(x / 2^f) or one more, except with
 * probability at most 2^(k+1-64) (the shares straddle the wrap-around).
 */
#ifndef TRINE_FIXED_H
#define TRINE_FIXED_H

#include "status.h"
#include "tensor.h"

#include <stddef.h>
#include <stdint.h>

#define FIXED_FRAC_BITS_DEFAULT 13
#define FIXED_FRAC_BITS_MAX     62
/* Shared values are below 2^FIXED_SHARE_BITS in magnitude as integers. */
#define FIXED_SHARE_BITS 62

/* Which rule of the local truncation a share follows. */
typedef enum { FIXED_SHARE_P0 = 0, FIXED_SHARE_P1 = 1 } fixed_share_t;

/* The largest double that encodes with frac_bits: the last double whose
 * scaled, rounded value is below 2^63. The smallest is -2^(63-f). */
double fixed_max(unsigned frac_bits);

/* One value: *out = round(x * 2^frac_bits), ties away from zero. Returns
 * TRINE_ERANGE for NaN, infinities and values beyond the range above, and
 * TRINE_EINVAL for frac_bits > FIXED_FRAC_BITS_MAX. */
TRINE_NODISCARD trine_status_t fixed_encode(uint64_t *out, double x, unsigned frac_bits);

/* n values to be shared: as fixed_encode, and TRINE_ERANGE also for values
 * whose scaled integer lies outside [-2^62, 2^62) (|x| < 2^(62-f), where
 * comparisons are exact). On failure err names the first bad element's
 * index, its value and the limit, and out is left partly written. */
TRINE_NODISCARD trine_status_t fixed_encode_array(uint64_t *out, const double *x, size_t n,
                                                  unsigned frac_bits, trine_err_t *err);

/* fixed_encode_array for a piece of a larger array whose element first is
 * x[0]: err names the bad element by its index in the whole array. */
TRINE_NODISCARD trine_status_t fixed_encode_piece(uint64_t *out, const double *x, size_t n,
                                                  size_t first, unsigned frac_bits,
                                                  trine_err_t *err);

/* The real a ring element stands for: (int64_t)v / 2^frac_bits. */
double fixed_decode(uint64_t v, unsigned frac_bits);

/* n values; frac_bits must be at most FIXED_FRAC_BITS_MAX. */
void fixed_decode_array(double *out, const uint64_t *v, size_t n, unsigned frac_bits);

/* Revealed values at the ring's edge: ring elements outside [-2^62, 2^62),
 * beyond anything a client can share and where comparisons fail, which
 * arise only by wrapping or overflow. Returns how many of the n there are;
 * *first receives the index of the first (n when there is none). */
size_t fixed_count_edge(const uint64_t *v, size_t n, size_t *first);

/* Divides the share t by 2^frac_bits in place by party's rule (above). */
TRINE_NODISCARD trine_status_t fixed_truncate_share(tensor_t *t, unsigned frac_bits,
                                                    fixed_share_t party);

#endif
