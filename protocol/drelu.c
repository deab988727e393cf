/* drelu.c — DReLU, the derivative of ReLU (SecureNN Algorithm 6): shares
 * of a over Z_2^64 to shares of 1 - MSB(a).
 *
 * c = 2a is never 2^64 - 1, so ShareConvert takes it to Z_(2^64 - 1), and
 * ComputeMSB gives MSB(c) = MSB(a) for -2^62 <= a < 2^62. ComputeMSB's
 * dealing (P2 -> P1, input-independent) travels with ShareConvert's round
 * 4 message, so the schedule is ShareConvert's 4 rounds then ComputeMSB's
 * rounds 1 (c exchange) to 3: 7 rounds, 392 bytes per element (SecureNN: 8
 * rounds, 664 bytes).
 */
#include "internal.h"

static trine_status_t drelu_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("drelu", t, 2, err);
    if (st != TRINE_OK)
        return st;
    msb_deal_t d;
    st = msb_deal_new(ctx, &d, x->size, err);
    if (st != TRINE_OK)
        return st;
    tensor_t *c = tensor_new_like(x);
    if (!c)
        st = trine_err_set(err, TRINE_ENOMEM, "drelu: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        st = tensor_scale(c, x, 2);
    if (st == TRINE_OK)
        st = sc_run(ctx, c, c, d.wire, d.wire_len, err);
    if (st == TRINE_OK)
        st = msb_finish(ctx, out, c, &d, err);
    if (st == TRINE_OK && !proto_is_helper(ctx))
        for (size_t i = 0; i < out->size; i++)
            out->data[i] = (ctx->role == PROTO_P0 ? 1 : 0) - out->data[i];
    tensor_destroy(&c);
    msb_deal_free(&d);
    return st;
}

trine_status_t proto_drelu(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_DRELU, err);
    if (st != TRINE_OK)
        return st;
    if (proto_ctx_fss(ctx, x->size))
        return proto_op_end(ctx, fss_drelu(ctx, out, x, err));
    if (proto_ctx_carry(ctx, x->size))
        return proto_op_end(ctx, carry_drelu(ctx, out, x, err));
    return proto_op_end(ctx, drelu_run(ctx, out, x, err));
}
