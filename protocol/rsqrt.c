/* rsqrt.c — 1 / sqrt(x) on shares by Newton-Raphson from CrypTen's
 * initial guess y_0 = 2.2 e^(-(x/2 + 0.2)) + 0.2 - x/1024, then
 * RSQRT_ITERS times y <- y (3 - x y^2) / 2: with e = 1 - x y^2 the step
 * gives e' = (3/4) e^2 + e^3/4, and while y is far below 1/sqrt(x) it
 * multiplies y by about 3/2.
 *
 * The guess is positive and below sqrt(3/x) for x in [1/256, 128]:
 * from x = 1/256 (y_0 = 2, the root 16: three growing steps) to x = 128
 * (y_0 = 0.075, the root 0.088). Rounds: exp's 16 (exp.c) and 3 per
 * iteration (x y; x y^2; y (3 - x y^2) / 2): 16 + 3 * 10 = 46 with local
 * truncation, 89 exact; bytes per element: exp's 832 and 40 per product,
 * 30 products: 2032 local, 3201 exact (trine-bench-proto).
 *
 * Error for x in [1/256, 128] (PROG_RSQRT_ERROR, tests/check_proto_fn.c):
 * the rounding of three products per step: |err| <= 0.002 x^-1/2 + 4 *
 * 2^-f; measured at f = 13: 0.0007 relative, at most 6.4 steps. Outside
 * the range the result is wrong, not an error.
 */
#include "internal.h"

#include "tensor/fixed.h"

#include <string.h>

#define RSQRT_ITERS 10

static trine_status_t rsqrt_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("rsqrt", t, 2, err);
    if (st != TRINE_OK)
        return st;
    uint64_t three;
    if (fixed_encode(&three, 3.0, ctx->frac_bits) != TRINE_OK)
        return trine_err_set(err, TRINE_ERANGE, "rsqrt: no %u-bit 3", ctx->frac_bits);
    tensor_t *g = tensor_new_like(x), *e = tensor_new_like(x), *y = tensor_new_like(x);
    tensor_t *lin = tensor_new_like(x);
    if (!g || !e || !y || !lin)
        st = trine_err_set(err, TRINE_ENOMEM, "rsqrt: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        st = proto_affine(ctx, g, x, -0.5, -0.2, err);
    if (st == TRINE_OK)
        st = proto_exp(ctx, e, g, err);
    if (st == TRINE_OK)
        st = proto_affine(ctx, out, e, 2.2, 0.2, err);
    if (st == TRINE_OK)
        st = proto_affine(ctx, lin, x, -1.0 / 1024, 0.0, err);
    if (st == TRINE_OK)
        st = tensor_add(out, out, lin);
    for (int k = 0; st == TRINE_OK && k < RSQRT_ITERS; k++) {
        memcpy(y->data, out->data, y->size * sizeof *y->data);
        /* x y first: y^2 of a small y keeps few significant bits */
        if ((st = proto_mul_fixed(ctx, g, x, y, err)) != TRINE_OK ||
            (st = proto_mul_fixed(ctx, e, g, y, err)) != TRINE_OK)
            break;
        uint64_t add = ctx->role == PROTO_P0 ? three : 0; /* 3 - x y^2 */
        for (size_t i = 0; i < g->size; i++)
            g->data[i] = proto_is_helper(ctx) ? 0 : add - e->data[i];
        if ((st = proto_mul(ctx, out, y, g, err)) == TRINE_OK)
            st = proto_truncate(ctx, out, ctx->frac_bits + 1, err);
    }
    tensor_destroy(&g), tensor_destroy(&e), tensor_destroy(&y), tensor_destroy(&lin);
    return st;
}

trine_status_t proto_rsqrt(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_RSQRT, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, rsqrt_run(ctx, out, x, err));
}
