/* division.c — fixed-point division (SecureNN Algorithm 8) as restoring
 * long division, one quotient bit per step from the most significant.
 *
 * Remainder R starts at x. For the int_bits integer positions k (high to
 * low) the step compares R with y 2^k; for each of the f fractional ones R
 * is doubled first and compared with y. A step is b = DReLU(R - T) and one
 * Beaver product R -= b T; the quotient gains b 2^(position) locally (b
 * times a public power of two), where SecureNN spends a second SelectShare.
 * No truncation is involved, so the result is exactly floor(x 2^f / y).
 * (int_bits + f) steps of 7 + 1 rounds and 392 + 40 bytes per element
 * (SecureNN: 10 rounds and 704 bytes per quotient bit).
 */
#include "internal.h"

static trine_status_t div_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, const tensor_t *y,
                              unsigned int_bits, trine_err_t *err)
{
    const tensor_t *t[] = {out, x, y};
    trine_status_t st = proto_check_shapes("div", t, 3, err);
    if (st == TRINE_OK && int_bits + ctx->frac_bits > 61)
        st = trine_err_set(err, TRINE_EINVAL, "div: %u integer bits leave no room", int_bits);
    if (st != TRINE_OK)
        return st;
    tensor_t *r = tensor_copy(x), *ty = tensor_new_like(x), *diff = tensor_new_like(x);
    tensor_t *b = tensor_new_like(x), *sub = tensor_new_like(x);
    if (!r || !ty || !diff || !b || !sub)
        st = trine_err_set(err, TRINE_ENOMEM, "div: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        proto_zero(out);
    int steps = (int)(int_bits + ctx->frac_bits);
    for (int s = 0; st == TRINE_OK && s < steps; s++) {
        int pos = (int)int_bits - 1 - s; /* >= 0: compare with y 2^pos; < 0: double R */
        if (pos >= 0)
            st = tensor_scale(ty, y, (uint64_t)1 << pos);
        else
            st = tensor_scale(r, r, 2);
        const tensor_t *target = pos >= 0 ? ty : y;
        if (st == TRINE_OK)
            st = tensor_sub(diff, r, target);
        if (st == TRINE_OK)
            st = proto_drelu(ctx, b, diff, err);
        if (st == TRINE_OK)
            st = proto_mul(ctx, sub, b, target, err);
        if (st == TRINE_OK)
            st = tensor_sub(r, r, sub);
        uint64_t weight = (uint64_t)1 << (pos + (int)ctx->frac_bits);
        for (size_t i = 0; st == TRINE_OK && i < out->size; i++)
            out->data[i] += weight * b->data[i];
    }
    tensor_destroy(&r), tensor_destroy(&ty), tensor_destroy(&diff), tensor_destroy(&b);
    tensor_destroy(&sub);
    return st;
}

trine_status_t proto_div(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, const tensor_t *y,
                         unsigned int_bits, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_DIV, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, div_run(ctx, out, x, y, int_bits, err));
}
