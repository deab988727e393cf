/* matmul.c — matrix multiplication of shares (SecureNN Algorithm 1).
 *
 * For op(A) m x n and op(B) n x v: round 1, P2 -> P1 the correction C1
 * (mv words); P0 <-> P1 the masked A - U and B - V (mn + nv words each
 * way). P0's triple and every mask come from the seeds shared with P2, as
 * in SecureNN's PRF variant. 1 round, (2mn + 2nv + mv) * 8 bytes; SecureNN:
 * 2 rounds, the same bytes. With B masked once (mask.c) the nv terms go:
 * (2mn + mv) * 8 bytes.
 */
#include "beaver.h"

typedef struct {
    gemm_trans_t ta, tb;
} matmul_arg_t;

static trine_status_t matmul_map(const void *arg, tensor_t *out, const tensor_t *a,
                                 const tensor_t *b)
{
    const matmul_arg_t *m = arg;
    return tensor_matmul(out, a, m->ta, b, m->tb);
}

/* The product's shape rule, checked before any message is sent. */
static trine_status_t matmul_check(const tensor_t *out, int a_ndim, const size_t *as,
                                   gemm_trans_t ta, int b_ndim, const size_t *bs, gemm_trans_t tb,
                                   trine_err_t *err)
{
    if (out->ndim != 2 || a_ndim != 2 || b_ndim != 2)
        return trine_err_set(err, TRINE_ESHAPE, "matmul: operands must be 2-D");
    size_t m = ta ? as[1] : as[0], n = ta ? as[0] : as[1];
    size_t n2 = tb ? bs[1] : bs[0], v = tb ? bs[0] : bs[1];
    if (n != n2 || out->shape[0] != m || out->shape[1] != v)
        return trine_err_set(err, TRINE_ESHAPE, "matmul: %zu x %zu times %zu x %zu into %zu x %zu",
                             m, n, n2, v, out->shape[0], out->shape[1]);
    return TRINE_OK;
}

trine_status_t proto_matmul(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a, gemm_trans_t ta,
                            const tensor_t *b, gemm_trans_t tb, trine_err_t *err)
{
    matmul_arg_t arg = {ta, tb};
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_MATMUL, err);
    if (st != TRINE_OK)
        return st;
    st = matmul_check(out, a->ndim, a->shape, ta, b->ndim, b->shape, tb, err);
    if (st == TRINE_OK)
        st = beaver_product(ctx, out, matmul_map, &arg, (beaver_operand_t){.x = a},
                            (beaver_operand_t){.x = b}, err);
    return proto_op_end(ctx, st);
}

trine_status_t proto_matmul_masked(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a,
                                   gemm_trans_t ta, const proto_masked_t *w, gemm_trans_t tb,
                                   trine_err_t *err)
{
    matmul_arg_t arg = {ta, tb};
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_MATMUL_MASKED, err);
    if (st != TRINE_OK)
        return st;
    st = matmul_check(out, a->ndim, a->shape, ta, w->mask->ndim, w->mask->shape, tb, err);
    if (st == TRINE_OK)
        st = beaver_product(ctx, out, matmul_map, &arg, (beaver_operand_t){.x = a},
                            (beaver_operand_t){.masked = w}, err);
    return proto_op_end(ctx, st);
}
