/* exp.c — e^x on shares: a clamp, a Taylor polynomial of e^(x/32) and
 * five squarings (the limit form of CrypTen's exp, with a degree-6
 * polynomial in place of 1 + x/2^n so that 5 squarings suffice).
 *
 *   c = relu(x + 16) - 16          (x below -16 becomes -16: e^-16 is
 *                                   under one fixed-point step for f <= 22)
 *   y = c / 32                      (local shift: |y| <= 1/2 for x <= 16)
 *   p = sum_{k=0..6} y^k / k!       (powers in 3 rounds: y^2; y^3 and y^4;
 *                                   y^5 and y^6, each round one product
 *                                   of the batched pairs)
 *   e^x = p^32                      (5 squarings, one round each)
 *
 * Rounds: ReLU's 8 (DReLU 7 + select 1, relu.c), then 3 + 5 products of 1
 * round each: 16 rounds with local truncation; exact truncation (trunc.c,
 * the default) adds a round and 26 bytes for each of the 10 truncations:
 * 26 rounds. Bytes per element (all parties): the ReLU's 432, then 40 per
 * product (mul.c), 5 for the powers and 5 squarings: 832 bytes with local
 * truncation, 1143 exact (trine-bench-proto).
 *
 * Error, x <= 16: the polynomial's truncation is below y^7/7! e^y <= 2.7e-6
 * relative, times 32 after the squarings; each fixed-point product adds
 * up to a step, and each squaring doubles the relative error of its
 * input: about 32 * 2 * 2^-f / p relative, measured 0.0073 at f = 13
 * (8 times less at f = 16), plus one step absolute for the small values:
 * |err| <= 0.01 e^x + 2^-f (PROG_EXP_ERROR, tests/check_proto_fn.c).
 * Below -16 the result is e^-16 (1.1e-7), within one step of e^x. Above
 * 16 the squarings leave the range where truncation is exact: wrong, not
 * an error.
 */
#include "internal.h"

#include "tensor/fixed.h"

#include <stdlib.h>
#include <string.h>

#define EXP_FLOOR   16.0 /* the clamp: e^-16 */
#define EXP_SQUARES 5    /* p^(2^5) */
#define EXP_DEGREE  6

trine_status_t proto_mul_fixed(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                               const tensor_t *y, trine_err_t *err)
{
    trine_status_t st = proto_mul(ctx, out, x, y, err);
    return st == TRINE_OK ? proto_truncate(ctx, out, ctx->frac_bits, err) : st;
}

trine_status_t proto_affine(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, double a, double b,
                            trine_err_t *err)
{
    uint64_t ea, eb;
    if (fixed_encode(&ea, a, ctx->frac_bits) != TRINE_OK ||
        fixed_encode(&eb, b, ctx->frac_bits) != TRINE_OK)
        return trine_err_set(err, TRINE_ERANGE, "no %u-bit form of %g or %g", ctx->frac_bits, a, b);
    trine_status_t st = proto_mul_scalar(ctx, out, x, ea);
    if (st == TRINE_OK)
        st = proto_truncate(ctx, out, ctx->frac_bits, err);
    return st == TRINE_OK ? proto_add_scalar(ctx, out, out, eb) : st;
}

/* Three rounds: (y, y) -> y^2; (y^2, y) and (y^2, y^2) -> y^3, y^4;
 * (y^4, y) and (y^4, y^2) -> y^5, y^6. */
trine_status_t proto_powers6(proto_ctx_t *ctx, uint64_t *pw, size_t n, trine_err_t *err)
{
    static const int left[3][2] = {{1, 0}, {2, 2}, {4, 4}}, right[3][2] = {{1, 0}, {1, 2}, {1, 2}};
    static const int first[3] = {2, 3, 5};
    trine_status_t st = TRINE_OK;
    for (int round = 0; st == TRINE_OK && round < 3; round++) {
        size_t pairs = round ? 2 : 1;
        tensor_t *a = tensor_new_1d(pairs * n), *b = tensor_new_1d(pairs * n),
                 *r = tensor_new_1d(pairs * n);
        st = a && b && r ? TRINE_OK : trine_err_set(err, TRINE_ENOMEM, "powers: no memory");
        for (size_t q = 0; st == TRINE_OK && q < pairs; q++) {
            memcpy(a->data + q * n, pw + (size_t)left[round][q] * n, n * sizeof *pw);
            memcpy(b->data + q * n, pw + (size_t)right[round][q] * n, n * sizeof *pw);
        }
        if (st == TRINE_OK)
            st = proto_mul_fixed(ctx, r, a, b, err);
        if (st == TRINE_OK)
            memcpy(pw + (size_t)first[round] * n, r->data, pairs * n * sizeof *pw);
        tensor_destroy(&a), tensor_destroy(&b), tensor_destroy(&r);
    }
    return st;
}

static trine_status_t exp_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("exp", t, 2, err);
    if (st != TRINE_OK)
        return st;
    unsigned f = ctx->frac_bits;
    uint64_t floor_enc, coef[EXP_DEGREE + 1];
    double fact = 1;
    for (int k = 0; k <= EXP_DEGREE; k++) {
        fact *= k ? k : 1;
        if (fixed_encode(&coef[k], 1.0 / fact, f) != TRINE_OK)
            return trine_err_set(err, TRINE_ERANGE, "exp: no %u-bit coefficients", f);
    }
    if (fixed_encode(&floor_enc, EXP_FLOOR, f) != TRINE_OK || f < EXP_SQUARES)
        return trine_err_set(err, TRINE_ERANGE, "exp: %u fraction bits: needs at least %d", f,
                             EXP_SQUARES);
    size_t n = x->size;
    tensor_t *c = tensor_new_like(x);
    uint64_t *pw = calloc((EXP_DEGREE + 1) * n, sizeof *pw);
    if (!c || !pw)
        st = trine_err_set(err, TRINE_ENOMEM, "exp: no memory for %zu values", n);
    tensor_t *shifted = tensor_new_like(x);
    if (st == TRINE_OK && !shifted)
        st = trine_err_set(err, TRINE_ENOMEM, "exp: no memory for %zu values", n);
    if (st == TRINE_OK && (st = proto_add_scalar(ctx, shifted, x, floor_enc)) == TRINE_OK)
        st = proto_relu(ctx, c, NULL, shifted, err);
    tensor_destroy(&shifted);
    if (st == TRINE_OK) {
        uint64_t sub = ctx->role == PROTO_P0 ? floor_enc : 0;
        for (size_t i = 0; i < n; i++)
            c->data[i] = proto_is_helper(ctx) ? 0 : c->data[i] - sub;
        st = proto_truncate(ctx, c, EXP_SQUARES, err);
    }
    if (st == TRINE_OK) {
        memcpy(pw + n, c->data, n * sizeof *pw);
        st = proto_powers6(ctx, pw, n, err);
    }
    if (st == TRINE_OK) {
        /* sum_k coef_k y^k at 2f bits, truncated once; the constant 1 after */
        for (size_t i = 0; i < n; i++) {
            uint64_t s = 0;
            for (int k = 1; k <= EXP_DEGREE; k++)
                s += coef[k] * pw[(size_t)k * n + i];
            out->data[i] = s;
        }
        st = proto_truncate(ctx, out, f, err);
    }
    if (st == TRINE_OK)
        st = proto_add_scalar(ctx, out, out, coef[0]);
    for (int k = 0; st == TRINE_OK && k < EXP_SQUARES; k++) {
        memcpy(c->data, out->data, n * sizeof *c->data);
        st = proto_mul_fixed(ctx, out, c, c, err);
    }
    tensor_destroy(&c);
    free(pw);
    return st;
}

trine_status_t proto_exp(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_EXP, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, exp_run(ctx, out, x, err));
}
