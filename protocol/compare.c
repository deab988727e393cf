/* compare.c — comparisons of shared tensors, with each other or with a
 * public tensor, as one DReLU of a difference:
 *   x >= y = DReLU(x - y)        x <  y = 1 - DReLU(x - y)
 *   x <= y = DReLU(y - x)        x >  y = 1 - DReLU(y - x)
 * Exact for |x - y| < 2^62. 7 rounds, 392 bytes per element.
 */
#include "internal.h"

/* diff holds x - y; the result is DReLU of diff or of -diff, maybe negated. */
static trine_status_t compare_diff(proto_ctx_t *ctx, tensor_t *out, tensor_t *diff, proto_cmp_t cmp,
                                   trine_err_t *err)
{
    bool swap = cmp == PROTO_CMP_LE || cmp == PROTO_CMP_GT;
    bool negate = cmp == PROTO_CMP_LT || cmp == PROTO_CMP_GT;
    trine_status_t st = swap ? tensor_neg(diff, diff) : TRINE_OK;
    if (st == TRINE_OK)
        st = proto_drelu(ctx, out, diff, err);
    if (st == TRINE_OK && negate && !proto_is_helper(ctx))
        for (size_t i = 0; i < out->size; i++)
            out->data[i] = (ctx->role == PROTO_P0 ? 1 : 0) - out->data[i];
    return st;
}

static trine_status_t compare_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                  const tensor_t *y, bool public_y, proto_cmp_t cmp,
                                  trine_err_t *err)
{
    const tensor_t *t[] = {out, x, y};
    trine_status_t st = proto_check_shapes("compare", t, 3, err);
    if (st == TRINE_OK && cmp > PROTO_CMP_LT)
        st = trine_err_set(err, TRINE_EINVAL, "compare: no comparison %d", (int)cmp);
    if (st != TRINE_OK)
        return st;
    tensor_t *diff = tensor_new_like(x);
    if (!diff)
        return trine_err_set(err, TRINE_ENOMEM, "compare: no memory for %zu values", x->size);
    st = public_y ? proto_sub_public(ctx, diff, x, y) : tensor_sub(diff, x, y);
    if (st == TRINE_OK)
        st = compare_diff(ctx, out, diff, cmp, err);
    tensor_destroy(&diff);
    return st;
}

trine_status_t proto_compare(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, const tensor_t *y,
                             proto_cmp_t cmp, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_COMPARE, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, compare_run(ctx, out, x, y, false, cmp, err));
}

trine_status_t proto_compare_public(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                    const tensor_t *pub, proto_cmp_t cmp, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_COMPARE, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, compare_run(ctx, out, x, pub, true, cmp, err));
}
