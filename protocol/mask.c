/* mask.c — mask-once operands (DESIGN section 5): a fixed operand W such
 * as a model's weights gets one mask B for good, dealt like a triple's V
 * (P0's and P1's shares from the seeds they share with P2, P2 keeping the
 * sum), and W - B is opened once. Every later product with W draws a fresh
 * U and C = f(U, B) and opens only the other operand.
 *
 * Round 1: P0 <-> P1 their W_j - B_j: 1 round, 2|W| words. Reusing B is
 * safe because each product's C and U are fresh: P1's correction C - C0
 * stays uniform, and W - B is opened exactly once.
 */
#include "beaver.h"

#include "tensor/tensor.h"

#include <stdlib.h>
#include <string.h>

void proto_masked_destroy(proto_masked_t **m)
{
    if (!m || !*m)
        return;
    tensor_destroy(&(*m)->share); /* each wipes */
    tensor_destroy(&(*m)->mask);
    tensor_destroy(&(*m)->open);
    free(*m);
    *m = NULL;
}

int proto_masked_shape(const proto_masked_t *m, size_t shape[TENSOR_MAX_DIMS])
{
    memcpy(shape, m->mask->shape, sizeof m->mask->shape);
    return m->mask->ndim;
}

uint64_t proto_masked_bytes(const proto_masked_t *m)
{
    uint64_t words = m->mask->size;
    if (m->share)
        words += m->share->size + m->open->size;
    return words * sizeof *m->mask->data;
}

static trine_status_t masked_open(proto_ctx_t *ctx, proto_masked_t *m, const tensor_t *w,
                                  trine_err_t *err)
{
    trine_status_t st = beaver_draw_mask(ctx, m->mask);
    if (st != TRINE_OK || proto_is_helper(ctx))
        return st == TRINE_OK ? st : trine_err_set(err, st, "mask: no memory");
    st = tensor_sub(m->open, w, m->mask);
    size_t bytes = w->size * sizeof *w->data;
    if (st == TRINE_OK)
        st = proto_send(ctx, proto_other(ctx), m->open->data, bytes, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), m->share->data, bytes, err);
    if (st == TRINE_OK) /* share temporarily held the peer's half */
        st = tensor_add(m->open, m->open, m->share);
    if (st == TRINE_OK)
        memcpy(m->share->data, w->data, bytes);
    return st;
}

trine_status_t proto_masked_new(proto_ctx_t *ctx, proto_masked_t **out, const tensor_t *w,
                                trine_err_t *err)
{
    *out = NULL;
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_MASK, err);
    if (st != TRINE_OK)
        return st;
    proto_masked_t *m = calloc(1, sizeof *m);
    if (m) {
        m->mask = tensor_new_like(w);
        if (!proto_is_helper(ctx)) {
            m->share = tensor_new_like(w);
            m->open = tensor_new_like(w);
        }
    }
    if (!m || !m->mask || (!proto_is_helper(ctx) && (!m->share || !m->open)))
        st = trine_err_set(err, TRINE_ENOMEM, "mask: no memory");
    if (st == TRINE_OK)
        st = masked_open(ctx, m, w, err);
    if (st != TRINE_OK)
        proto_masked_destroy(&m);
    *out = m;
    return proto_op_end(ctx, st);
}
