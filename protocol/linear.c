/* linear.c — local operations on shares with public values: no messages.
 * A public addend is added by P0 alone so that the shares still sum to the
 * right value; products with public values scale both shares. */
#include "internal.h"

trine_status_t proto_add_public(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                const tensor_t *pub)
{
    if (ctx->role == PROTO_P0)
        return tensor_add(out, x, pub);
    if (!tensor_same_shape(out, x) || !tensor_same_shape(x, pub))
        return TRINE_ESHAPE;
    if (proto_is_helper(ctx))
        proto_zero(out);
    else if (out != x)
        for (size_t i = 0; i < x->size; i++)
            out->data[i] = x->data[i];
    return TRINE_OK;
}

trine_status_t proto_sub_public(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                const tensor_t *pub)
{
    if (ctx->role == PROTO_P0)
        return tensor_sub(out, x, pub);
    return proto_add_public(ctx, out, x, pub);
}

trine_status_t proto_public_sub(proto_ctx_t *ctx, tensor_t *out, const tensor_t *pub,
                                const tensor_t *x)
{
    if (ctx->role == PROTO_P0)
        return tensor_sub(out, pub, x);
    if (!tensor_same_shape(out, x) || !tensor_same_shape(x, pub))
        return TRINE_ESHAPE;
    if (proto_is_helper(ctx))
        proto_zero(out);
    else
        for (size_t i = 0; i < x->size; i++)
            out->data[i] = -x->data[i];
    return TRINE_OK;
}

trine_status_t proto_add_scalar(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, uint64_t c)
{
    if (!tensor_same_shape(out, x))
        return TRINE_ESHAPE;
    uint64_t add = ctx->role == PROTO_P0 ? c : 0;
    for (size_t i = 0; i < x->size; i++)
        out->data[i] = proto_is_helper(ctx) ? 0 : x->data[i] + add;
    return TRINE_OK;
}

trine_status_t proto_mul_scalar(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, uint64_t s)
{
    return tensor_scale(out, x, proto_is_helper(ctx) ? 0 : s);
}

trine_status_t proto_mul_public(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                const tensor_t *pub)
{
    trine_status_t st = tensor_mul(out, x, pub);
    if (st == TRINE_OK && proto_is_helper(ctx))
        proto_zero(out);
    return st;
}

trine_status_t proto_share_public(proto_ctx_t *ctx, tensor_t *out, const tensor_t *pub)
{
    if (!tensor_same_shape(out, pub))
        return TRINE_ESHAPE;
    for (size_t i = 0; i < out->size; i++)
        out->data[i] = ctx->role == PROTO_P0 ? pub->data[i] : 0;
    return TRINE_OK;
}

void proto_fill_public(proto_ctx_t *ctx, tensor_t *out, uint64_t c)
{
    for (size_t i = 0; i < out->size; i++)
        out->data[i] = ctx->role == PROTO_P0 ? c : 0;
}
