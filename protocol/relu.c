/* relu.c — ReLU (SecureNN Algorithm 7): DReLU(x), then one Beaver product
 * DReLU(x) * x. 7 + 1 = 8 rounds, 392 + 40 = 432 bytes per element
 * (SecureNN: 10 rounds, 704 bytes). Under protocol fss, relu_fss.c's one
 * round, under carry relu_carry.c's four; both also take a truncation
 * before the ReLU into those rounds.
 */
#include "internal.h"

#include "tensor/fixed.h"

static trine_status_t relu_run(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                               trine_err_t *err)
{
    const tensor_t *t[] = {out, x, dout ? dout : x};
    trine_status_t st = proto_check_shapes("relu", t, 3, err);
    if (st != TRINE_OK)
        return st;
    tensor_t *bit = dout ? dout : tensor_new_like(x);
    if (!bit)
        return trine_err_set(err, TRINE_ENOMEM, "relu: no memory for %zu values", x->size);
    st = proto_drelu(ctx, bit, x, err);
    if (st == TRINE_OK)
        st = proto_mul(ctx, out, bit, x, err);
    if (!dout)
        tensor_destroy(&bit);
    return st;
}

trine_status_t proto_relu(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                          trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_RELU, err);
    if (st != TRINE_OK)
        return st;
    if (proto_ctx_fss(ctx, x->size))
        return proto_op_end(ctx, fss_relu(ctx, out, dout, x, err));
    if (proto_ctx_carry(ctx, x->size))
        return proto_op_end(ctx, carry_relu(ctx, out, dout, x, err));
    return proto_op_end(ctx, relu_run(ctx, out, dout, x, err));
}

trine_status_t proto_relu_trunc(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                                unsigned bits, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_RELU, err);
    if (st != TRINE_OK)
        return st;
    bool fused = ctx->trunc == PROTO_TRUNC_EXACT && bits >= 1 && bits <= FIXED_FRAC_BITS_MAX;
    if (fused && proto_ctx_fss(ctx, x->size))
        return proto_op_end(ctx, fss_relu_trunc(ctx, out, dout, x, bits, err));
    if (fused && proto_ctx_carry(ctx, x->size))
        return proto_op_end(ctx, carry_relu_trunc(ctx, out, dout, x, bits, err));
    tensor_t *t = tensor_copy(x);
    st = t ? proto_truncate(ctx, t, bits, err)
           : trine_err_set(err, TRINE_ENOMEM, "relu: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        st = proto_relu(ctx, out, dout, t, err);
    tensor_destroy(&t);
    return proto_op_end(ctx, st);
}
