/* select.c — SelectShare (SecureNN Algorithm 2): bit ? y : x as x + bit *
 * (y - x), one Beaver product. 1 round, 40 bytes per element (SecureNN: 2
 * rounds, 40 bytes).
 */
#include "internal.h"

static trine_status_t select_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *bit,
                                 const tensor_t *x, const tensor_t *y, trine_err_t *err)
{
    const tensor_t *t[] = {out, bit, x, y};
    trine_status_t st = proto_check_shapes("select", t, 4, err);
    if (st != TRINE_OK)
        return st;
    tensor_t *diff = tensor_new_like(x), *prod = tensor_new_like(x);
    if (!diff || !prod)
        st = trine_err_set(err, TRINE_ENOMEM, "select: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        st = tensor_sub(diff, y, x);
    if (st == TRINE_OK)
        st = proto_mul(ctx, prod, bit, diff, err);
    if (st == TRINE_OK)
        st = tensor_add(out, x, prod);
    tensor_destroy(&diff);
    tensor_destroy(&prod);
    return st;
}

trine_status_t proto_select(proto_ctx_t *ctx, tensor_t *out, const tensor_t *bit, const tensor_t *x,
                            const tensor_t *y, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_SELECT, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, select_run(ctx, out, bit, x, y, err));
}
