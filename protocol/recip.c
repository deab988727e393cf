/* recip.c — 1 / x on shares by Newton-Raphson from CrypTen's initial
 * guess: y_0 = 3 e^(1/2 - x) + 0.003, then RECIP_ITERS times
 * y <- y (2 - x y), which squares the relative error e = 1 - x y each
 * step (e' = e^2) once |e| < 1, that is once 0 < y < 2 / x.
 *
 * The guess lies in (0, 2/x) for x in [1/64, 600]: for x near 600 it is
 * 0.003 (e_0 = -0.8), for x = 1/64 it is 4.9 (e_0 = 0.92, 0.92^(2^12)
 * vanishes). Rounds: exp's 16 (exp.c) and 2 per iteration (x y, then
 * y (2 - x y)): 16 + 2 * 12 = 40 with local truncation, 76 with exact
 * truncation (a round per truncation); bytes per element: exp's 832 and
 * 40 per product, 24 products: 1792 local, 2779 exact (trine-bench-proto).
 *
 * Error for x in [1/64, 512] (PROG_RECIP_ERROR, tests/check_proto_fn.c):
 * after convergence each step adds the rounding of two products:
 * |err| <= 0.002 / x + 2 * 2^-f; measured at f = 13: 0.0011 relative up
 * to x = 16, one step beyond. Outside the range the result is wrong, not
 * an error (x <= 0 never converges).
 */
#include "internal.h"

#include "tensor/fixed.h"

#include <string.h>

#define RECIP_ITERS 12

static trine_status_t recip_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("recip", t, 2, err);
    if (st != TRINE_OK)
        return st;
    uint64_t two;
    if (fixed_encode(&two, 2.0, ctx->frac_bits) != TRINE_OK)
        return trine_err_set(err, TRINE_ERANGE, "recip: no %u-bit 2", ctx->frac_bits);
    tensor_t *g = tensor_new_like(x), *xy = tensor_new_like(x), *y = tensor_new_like(x);
    if (!g || !xy || !y)
        st = trine_err_set(err, TRINE_ENOMEM, "recip: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        st = proto_affine(ctx, g, x, -1.0, 0.5, err);
    if (st == TRINE_OK)
        st = proto_exp(ctx, xy, g, err);
    if (st == TRINE_OK)
        st = proto_affine(ctx, out, xy, 3.0, 0.003, err);
    for (int k = 0; st == TRINE_OK && k < RECIP_ITERS; k++) {
        memcpy(y->data, out->data, y->size * sizeof *y->data);
        if ((st = proto_mul_fixed(ctx, xy, x, y, err)) != TRINE_OK)
            break;
        uint64_t add = ctx->role == PROTO_P0 ? two : 0; /* 2 - x y */
        for (size_t i = 0; i < g->size; i++)
            g->data[i] = proto_is_helper(ctx) ? 0 : add - xy->data[i];
        st = proto_mul_fixed(ctx, out, y, g, err);
    }
    tensor_destroy(&g), tensor_destroy(&xy), tensor_destroy(&y);
    return st;
}

trine_status_t proto_recip(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_RECIP, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, recip_run(ctx, out, x, err));
}
