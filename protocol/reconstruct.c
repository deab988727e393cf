/* reconstruct.c — opening a shared tensor (SecureNN's Reconst).
 *
 * To both compute parties: round 1, P0 -> P1 x0 and P1 -> P0 x1 at once;
 * 2 words per element. To one party: the holder(s) of the missing
 * share(s) send to it in one round: 1 word per element to P0 or P1, 2 to P2.
 */
#include "internal.h"

trine_status_t proto_reconstruct(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                 trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_RECONSTRUCT, err);
    if (st != TRINE_OK)
        return st;
    st = proto_check_shapes("reconstruct", t, 2, err);
    if (st != TRINE_OK || proto_is_helper(ctx)) {
        if (st == TRINE_OK)
            proto_zero(out);
        return proto_op_end(ctx, st);
    }
    tensor_t *other = tensor_new_like(x);
    if (!other)
        return proto_op_end(ctx, trine_err_set(err, TRINE_ENOMEM, "reconstruct: no memory"));
    size_t bytes = x->size * sizeof *x->data;
    st = proto_send(ctx, proto_other(ctx), x->data, bytes, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), other->data, bytes, err);
    if (st == TRINE_OK)
        st = tensor_add(out, x, other);
    tensor_destroy(&other);
    return proto_op_end(ctx, st);
}

trine_status_t proto_reconstruct_to(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                    proto_party_t to, trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_RECONSTRUCT, err);
    if (st != TRINE_OK)
        return st;
    st = proto_check_shapes("reconstruct", t, 2, err);
    if (st == TRINE_OK && to > PROTO_P2)
        st = trine_err_set(err, TRINE_EINVAL, "reconstruct: no party %d", (int)to);
    if (st != TRINE_OK)
        return proto_op_end(ctx, st);
    size_t bytes = x->size * sizeof *x->data;
    if (ctx->role != to) {
        proto_zero(out);
        if (!proto_is_helper(ctx))
            st = proto_send(ctx, to, x->data, bytes, err);
        return proto_op_end(ctx, st);
    }
    tensor_t *other = tensor_new_like(x);
    if (!other)
        return proto_op_end(ctx, trine_err_set(err, TRINE_ENOMEM, "reconstruct: no memory"));
    if (proto_is_helper(ctx)) { /* both shares arrive */
        st = proto_recv(ctx, PROTO_P0, out->data, bytes, err);
        if (st == TRINE_OK)
            st = proto_recv(ctx, PROTO_P1, other->data, bytes, err);
        if (st == TRINE_OK)
            st = tensor_add(out, out, other);
    } else {
        st = proto_recv(ctx, proto_other(ctx), other->data, bytes, err);
        if (st == TRINE_OK)
            st = tensor_add(out, x, other);
    }
    tensor_destroy(&other);
    return proto_op_end(ctx, st);
}
