/* mul.c — elementwise multiplication of shares (SecureNN Algorithm 1 with
 * 1 x 1 matrices, batched over every element).
 *
 * Round 1: P2 -> P1 the triple correction C1 (1 word per element); P0 <->
 * P1 the masked X - U and Y - V (2 words each way). P0's triple and both
 * parties' masks come from the seeds shared with P2. 1 round, 5 words
 * (40 bytes) per element; SecureNN: 2 rounds, 40 bytes.
 */
#include "beaver.h"

static trine_status_t mul_map(const void *arg, tensor_t *out, const tensor_t *a, const tensor_t *b)
{
    (void)arg;
    return tensor_mul(out, a, b);
}

trine_status_t proto_mul(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, const tensor_t *y,
                         trine_err_t *err)
{
    const tensor_t *t[] = {out, x, y};
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_MUL, err);
    if (st != TRINE_OK)
        return st;
    st = proto_check_shapes("mul", t, 3, err);
    if (st == TRINE_OK)
        st = beaver_product(ctx, out, mul_map, NULL, (beaver_operand_t){.x = x},
                            (beaver_operand_t){.x = y}, err);
    return proto_op_end(ctx, st);
}
