/* sigmoid.c — SecureML's piecewise-linear sigmoid, clip(x + 1/2, 0, 1), in
 * fixed point: with b1 = DReLU(x + 1/2) and b2 = DReLU(x - 1/2),
 *     sigmoid(x) = b1 (x + 1/2) - b2 (x - 1/2),
 * which is 0, x + 1/2 or 1 exactly. Both DReLUs run as one batch and both
 * products as one: 7 + 1 = 8 rounds, 2 * 392 + 2 * 40 = 864 bytes per
 * element (2 * 664 + 2 * 40 = 1408 with SecureNN's building blocks).
 */
#include "internal.h"

static trine_status_t sigmoid_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                  trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("sigmoid", t, 2, err);
    if (st != TRINE_OK)
        return st;
    size_t n = x->size;
    uint64_t half = ctx->frac_bits ? (uint64_t)1 << (ctx->frac_bits - 1) : 0;
    tensor_t *v = tensor_new_1d(2 * n), *b = tensor_new_1d(2 * n), *prod = tensor_new_1d(2 * n);
    if (!v || !b || !prod)
        st = trine_err_set(err, TRINE_ENOMEM, "sigmoid: no memory for %zu values", n);
    if (st == TRINE_OK) {
        uint64_t add = ctx->role == PROTO_P0 ? half : 0;
        for (size_t i = 0; i < n; i++) {
            v->data[i] = x->data[i] + add;
            v->data[n + i] = x->data[i] - add;
        }
        st = proto_drelu(ctx, b, v, err);
    }
    if (st == TRINE_OK)
        st = proto_mul(ctx, prod, b, v, err);
    for (size_t i = 0; st == TRINE_OK && i < n; i++)
        out->data[i] = prod->data[i] - prod->data[n + i];
    tensor_destroy(&v), tensor_destroy(&b), tensor_destroy(&prod);
    return st;
}

trine_status_t proto_sigmoid(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_SIGMOID, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, sigmoid_run(ctx, out, x, err));
}
