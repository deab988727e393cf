/* tanh.c — the hyperbolic tangent on shares, by its odd symmetry and one
 * exp of a non-positive argument, so that nothing leaves exp's range:
 *
 *   d = DReLU(x)                    (ring bits)
 *   a = d ? x : -x                  (|x|, one SelectShare)
 *   e = exp(-2a)                    (exp.c; e in (0, 1], e^-16 below -16)
 *   r = 1 / (1 + e)                 (1 + e in (1, 2]: Newton-Raphson from
 *                                   the linear guess 24/17 - 8/17 (1 + e),
 *                                   relative error 1/17, squared by each
 *                                   of 3 steps: 2^-33 before rounding)
 *   t = (1 - e) r                   (tanh |x|, one product)
 *   out = d ? t : -t                (one SelectShare)
 *
 * Rounds: DReLU's 7, select 1, exp's 16, Newton 3 x 2, the product 1,
 * select 1: 32 with local truncation; exact truncation (the default) adds
 * a round for each of 18 truncations: 50. Bytes per element (all
 * parties): DReLU 392, two selects, exp 832, 7 products of 40: about
 * 1600 local; 2103 measured with exact truncation (50 rounds,
 * tests/check_proto_fn.c's harness).
 *
 * Error (PROG_TANH_ERROR, tests/check_proto_fn.c): d tanh / de is
 * -2 / (1 + e)^2, so exp's relative error (PROG_EXP_ERROR) on e moves
 * tanh by at most 2 * 0.01 * max e / (1 + e)^2 = 0.005, plus a few steps
 * of rounding; exact for any x in the ring's comparison range (|x| <
 * 2^(62-f)).
 */
#include "internal.h"

#include "tensor/fixed.h"

#include <string.h>

#define TANH_NEWTON 3

/* out = 1 / z for z in [1, 2] (z is not kept). */
static trine_status_t tanh_recip12(proto_ctx_t *ctx, tensor_t *out, const tensor_t *z,
                                   tensor_t *y, tensor_t *g, trine_err_t *err)
{
    uint64_t two;
    if (fixed_encode(&two, 2.0, ctx->frac_bits) != TRINE_OK)
        return trine_err_set(err, TRINE_ERANGE, "tanh: no %u-bit 2", ctx->frac_bits);
    trine_status_t st = proto_affine(ctx, out, z, -8.0 / 17, 24.0 / 17, err);
    uint64_t add = ctx->role == PROTO_P0 ? two : 0;
    for (int k = 0; st == TRINE_OK && k < TANH_NEWTON; k++) {
        memcpy(y->data, out->data, y->size * sizeof *y->data);
        if ((st = proto_mul_fixed(ctx, g, z, y, err)) != TRINE_OK)
            break;
        for (size_t i = 0; i < g->size; i++) /* 2 - z y */
            g->data[i] = proto_is_helper(ctx) ? 0 : add - g->data[i];
        st = proto_mul_fixed(ctx, out, y, g, err);
    }
    return st;
}

static trine_status_t tanh_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                               trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("tanh", t, 2, err);
    if (st != TRINE_OK)
        return st;
    uint64_t one;
    if (fixed_encode(&one, 1.0, ctx->frac_bits) != TRINE_OK)
        return trine_err_set(err, TRINE_ERANGE, "tanh: no %u-bit 1", ctx->frac_bits);
    size_t n = x->size;
    tensor_t *d = tensor_new_like(x), *neg = tensor_new_like(x), *a = tensor_new_like(x);
    tensor_t *e = tensor_new_like(x), *r = tensor_new_like(x), *y = tensor_new_like(x);
    if (!d || !neg || !a || !e || !r || !y)
        st = trine_err_set(err, TRINE_ENOMEM, "tanh: no memory for %zu values", n);
    if (st == TRINE_OK)
        st = proto_drelu(ctx, d, x, err);
    for (size_t i = 0; st == TRINE_OK && i < n; i++)
        neg->data[i] = 0 - x->data[i];
    if (st == TRINE_OK)
        st = proto_select(ctx, a, d, neg, x, err);
    if (st == TRINE_OK)
        st = proto_mul_scalar(ctx, a, a, (uint64_t)-2);
    if (st == TRINE_OK)
        st = proto_exp(ctx, e, a, err);
    uint64_t add = ctx->role == PROTO_P0 ? one : 0;
    for (size_t i = 0; st == TRINE_OK && i < n; i++) { /* a = 1 + e, neg = 1 - e */
        a->data[i] = proto_is_helper(ctx) ? 0 : e->data[i] + add;
        neg->data[i] = proto_is_helper(ctx) ? 0 : add - e->data[i];
    }
    if (st == TRINE_OK)
        st = tanh_recip12(ctx, r, a, y, e, err);
    if (st == TRINE_OK)
        st = proto_mul_fixed(ctx, a, neg, r, err);
    for (size_t i = 0; st == TRINE_OK && i < n; i++)
        neg->data[i] = 0 - a->data[i];
    if (st == TRINE_OK)
        st = proto_select(ctx, out, d, neg, a, err);
    tensor_destroy(&d), tensor_destroy(&neg), tensor_destroy(&a);
    tensor_destroy(&e), tensor_destroy(&r), tensor_destroy(&y);
    return st;
}

trine_status_t proto_tanh(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_TANH, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, tanh_run(ctx, out, x, err));
}
