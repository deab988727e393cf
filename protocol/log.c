/* log.c — the natural logarithm on shares, for x in [2^lo / sqrt 2,
 * 2^hi / sqrt 2): range reduction by comparisons with public powers of
 * two, then a polynomial on [1/sqrt 2, sqrt 2).
 *
 *   b_j = DReLU(x - 2^j / sqrt 2)  for j = lo+1 .. hi-1, all in one batched
 *                                   DReLU (ring bits; monotone in j)
 *   m   = lo + sum_j b_j            (x in [2^m / sqrt 2, 2^m sqrt 2))
 *   s   = 2^-lo - sum_j b_j 2^-j    (= 2^-m: local, bits times public
 *                                   constants at f + hi - 1 bits, exact)
 *   t   = x s - 1                   (one product; t in [-0.293, 0.415))
 *   ln x = m ln 2 + sum_{k=1..6} c_k t^k   (the powers in three rounds,
 *                                   proto_powers6; c_k a least-squares fit
 *                                   of ln(1 + t) on [-0.313, 0.419])
 *
 * Rounds: DReLU's 7, the product x s, the powers' 3: 11 with local
 * truncation; exact truncation (the default) adds a round for x s, one per
 * round of powers and one for the sum: 16 (measured). Bytes per element
 * (all parties): (hi - lo - 1) DReLUs (392 each, drelu.c), then 6
 * products of 40: 392 (hi - lo - 1) + 240 with local truncation; the
 * default range for programs (PROG_LOG), lo = -10, hi = 20, is 28 DReLUs:
 * 11792 bytes measured with exact truncation (tests/check_proto_fn.c's
 * harness). Needs hi <= 62 - 2f (x s below 2^62).
 *
 * Error (PROG_LOG_ERROR, tests/check_proto_fn.c): the polynomial is within
 * 2.3e-6 of ln(1 + t) on its interval; x s is rounded to a step (relative
 * 2^-f / 0.707 on t), each power and the sum add about a step, and m ln 2
 * is added at 2f bits before the sum's truncation: about 4 steps in all,
 * measured 3.2 at f = 13 (3.9e-4) over [2^-10, 2^20). Outside the range the result is wrong, not an error: below it
 * m stays lo and t leaves the polynomial's interval.
 */
#include "internal.h"

#include "tensor/fixed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_DEGREE 6
#define LOG_SQRT1_2 0.70710678118654752440
#define LOG_LN2     0.69314718055994530942

static const double log_coef[LOG_DEGREE + 1] = {
    0.0,
    1.0000240354450485,
    -0.49983750728421084,
    0.33173688780197286,
    -0.2544167942319271,
    0.22842270785117863,
    -0.15123579518007693,
};

/* The bits b_j into bits (t n words, t = hi - lo - 1 thresholds). */
static trine_status_t log_bits(proto_ctx_t *ctx, tensor_t *bits, const tensor_t *x, int lo,
                               int hi, trine_err_t *err)
{
    size_t n = x->size;
    for (int j = lo + 1; j < hi; j++) {
        uint64_t c;
        if (fixed_encode(&c, ldexp(LOG_SQRT1_2, j), ctx->frac_bits) != TRINE_OK)
            return trine_err_set(err, TRINE_ERANGE, "log: no %u-bit form of 2^%d", ctx->frac_bits,
                                 j);
        uint64_t sub = ctx->role == PROTO_P0 ? c : 0;
        uint64_t *row = bits->data + (size_t)(j - lo - 1) * n;
        for (size_t i = 0; i < n; i++)
            row[i] = proto_is_helper(ctx) ? 0 : x->data[i] - sub;
    }
    return proto_drelu(ctx, bits, bits, err);
}

static trine_status_t log_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, int lo, int hi,
                              trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("log", t, 2, err);
    if (st != TRINE_OK)
        return st;
    unsigned f = ctx->frac_bits;
    /* x s is a value below 2 at 2f + hi - 1 bits: below 2^62 */
    int top = 62 - 2 * (int)f < PROTO_LOG_SPAN ? 62 - 2 * (int)f : PROTO_LOG_SPAN;
    if (lo >= hi || hi - lo > PROTO_LOG_SPAN || lo < 1 - (int)f || hi > top)
        return trine_err_set(err, TRINE_ERANGE,
                             "log: range 2^%d to 2^%d: needs %d <= lo < hi <= %d, hi - lo <= %d",
                             lo, hi, 1 - (int)f, top, PROTO_LOG_SPAN);
    /* s = 2^-m at f + e bits, so that 2^-(hi-1) is exact */
    unsigned e = hi > 1 ? (unsigned)(hi - 1) : 0;
    uint64_t coef[LOG_DEGREE + 1], pj[PROTO_LOG_SPAN], ln2, lo_ln2, scale_lo, one;
    bool ok = fixed_encode(&ln2, LOG_LN2, 2 * f) == TRINE_OK && /* added before the sum's */
              fixed_encode(&lo_ln2, lo * LOG_LN2, 2 * f) == TRINE_OK && /* truncation */
              fixed_encode(&scale_lo, ldexp(1, -lo), f + e) == TRINE_OK &&
              fixed_encode(&one, 1.0, f) == TRINE_OK;
    for (int k = 0; ok && k <= LOG_DEGREE; k++)
        ok = fixed_encode(&coef[k], log_coef[k], f) == TRINE_OK;
    for (int j = lo + 1; ok && j < hi; j++)
        ok = fixed_encode(&pj[j - lo - 1], ldexp(1, -j), f + e) == TRINE_OK;
    if (!ok)
        return trine_err_set(err, TRINE_ERANGE, "log: no %u-bit constants for 2^%d to 2^%d", f,
                             lo, hi);
    size_t n = x->size, nt = (size_t)(hi - lo - 1);
    tensor_t *bits = nt ? tensor_new_1d(nt * n) : NULL, *s = tensor_new_like(x);
    tensor_t *xs = tensor_new_like(x);
    uint64_t *pw = calloc((LOG_DEGREE + 1) * n, sizeof *pw);
    if ((nt && !bits) || !s || !xs || !pw)
        st = trine_err_set(err, TRINE_ENOMEM, "log: no memory for %zu values", n);
    if (st == TRINE_OK && nt)
        st = log_bits(ctx, bits, x, lo, hi, err);
    bool p0 = ctx->role == PROTO_P0, helper = proto_is_helper(ctx);
    for (size_t i = 0; st == TRINE_OK && i < n; i++) {
        uint64_t sc = p0 ? scale_lo : 0, lm = p0 ? lo_ln2 : 0;
        for (size_t k = 0; k < nt; k++) {
            uint64_t b = bits->data[k * n + i];
            sc -= b * pj[k];
            lm += b * ln2;
        }
        s->data[i] = helper ? 0 : sc;
        out->data[i] = helper ? 0 : lm;
    }
    if (st == TRINE_OK && (st = proto_mul(ctx, xs, x, s, err)) == TRINE_OK)
        st = proto_truncate(ctx, xs, f + e, err);
    if (st == TRINE_OK) {
        uint64_t sub = p0 ? one : 0;
        for (size_t i = 0; i < n; i++)
            pw[n + i] = helper ? 0 : xs->data[i] - sub;
        st = proto_powers6(ctx, pw, n, err);
    }
    if (st == TRINE_OK) {
        for (size_t i = 0; i < n; i++) {
            uint64_t sum = 0;
            for (int k = 1; k <= LOG_DEGREE; k++)
                sum += coef[k] * pw[(size_t)k * n + i];
            xs->data[i] = sum + out->data[i];
        }
        st = proto_truncate(ctx, xs, f, err);
    }
    if (st == TRINE_OK)
        memcpy(out->data, xs->data, n * sizeof *out->data);
    tensor_destroy(&bits), tensor_destroy(&s), tensor_destroy(&xs);
    free(pw);
    return st;
}

trine_status_t proto_log(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, int lo, int hi,
                         trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_LOG, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, log_run(ctx, out, x, lo, hi, err));
}
