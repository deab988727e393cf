/* softmax.c — probabilities e^(x_j - max) / sum_i e^(x_i - max) along the
 * last axis of x, on shares (the form of CrypTen's softmax):
 *
 *   h   = one-hot of each row's maximum (argmax.c, comparison tree)
 *   max = sum_j h_j x_j             (one product of the ring bits h by x:
 *                                   no truncation)
 *   e   = exp(x - max)              (exp.c; every argument <= 0, so the
 *                                   result is in (0, 1] and the row's
 *                                   maximum gives e = 1 within exp's error)
 *   s   = sum_j e_j                 (local; s in [1, k])
 *   out = e * recip(s)              (recip.c, one product)
 *
 * Rounds: argmax's 8 ceil(log2 k), then 1 + exp's 16 + recip's 40 + 1
 * with local truncation. Bytes per row of k (all parties): argmax's (with
 * the one-hot), then 40 k for the max's product, 832 k for exp, 1792 for
 * recip, 40 k for the final product (k = 16: 90 rounds, 1514 bytes per
 * value). Exact truncation (the default) adds a round per truncation:
 * k = 16, 137 rounds and 1913 bytes per value (trine-bench-proto).
 *
 * Error (PROG_SOFTMAX_ERROR, tests/check_proto_fn.c): exp's relative
 * 0.004 at f = 13 on each e_j, recip's on 1/s: each probability within
 * about 0.004 absolute. Needs k <= 512 (recip's range) and the row's
 * values within 2^61 of each other (argmax).
 */
#include "internal.h"

#include <string.h>

trine_status_t proto_softmax_terms(proto_ctx_t *ctx, tensor_t *d, tensor_t *e, tensor_t *s,
                                   const tensor_t *x, trine_err_t *err)
{
    size_t k = x->shape[x->ndim - 1], m = x->size / k;
    tensor_t *hot = tensor_new_2d(m, k), *idx = tensor_new_1d(m), *hx = tensor_new_2d(m, k);
    trine_status_t st = TRINE_OK;
    if (!hot || !idx || !hx)
        st = trine_err_set(err, TRINE_ENOMEM, "row maximum: no memory for %zu values", x->size);
    if (st == TRINE_OK) {
        memcpy(d->data, x->data, x->size * sizeof *x->data);
        st = proto_argmax(ctx, idx, hot, d, err);
    }
    if (st == TRINE_OK)
        st = proto_mul(ctx, hx, hot, d, err);
    for (size_t i = 0; st == TRINE_OK && i < m; i++) {
        uint64_t mx = 0;
        for (size_t j = 0; j < k; j++)
            mx += hx->data[i * k + j];
        for (size_t j = 0; j < k; j++)
            d->data[i * k + j] -= mx;
    }
    if (st == TRINE_OK)
        st = proto_exp(ctx, e, d, err);
    for (size_t i = 0; st == TRINE_OK && i < m; i++) {
        uint64_t sum = 0;
        for (size_t j = 0; j < k; j++)
            sum += e->data[i * k + j];
        s->data[i] = sum;
    }
    tensor_destroy(&hot), tensor_destroy(&idx), tensor_destroy(&hx);
    return st;
}

static trine_status_t softmax_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                  trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("softmax", t, 2, err);
    if (st != TRINE_OK)
        return st;
    size_t k = x->shape[x->ndim - 1], m = x->size / k;
    tensor_t *x2 = tensor_new_2d(m, k), *hx = tensor_new_2d(m, k), *e = tensor_new_2d(m, k);
    tensor_t *s = tensor_new_1d(m), *r = tensor_new_1d(m), *rk = tensor_new_2d(m, k);
    if (!x2 || !hx || !e || !s || !r || !rk)
        st = trine_err_set(err, TRINE_ENOMEM, "softmax: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        st = proto_softmax_terms(ctx, x2, e, s, x, err);
    if (st == TRINE_OK)
        st = proto_recip(ctx, r, s, err);
    for (size_t i = 0; st == TRINE_OK && i < m; i++)
        for (size_t j = 0; j < k; j++)
            rk->data[i * k + j] = r->data[i];
    if (st == TRINE_OK)
        st = proto_mul_fixed(ctx, hx, e, rk, err);
    if (st == TRINE_OK)
        memcpy(out->data, hx->data, out->size * sizeof *out->data);
    tensor_destroy(&x2), tensor_destroy(&hx);
    tensor_destroy(&e), tensor_destroy(&s), tensor_destroy(&r), tensor_destroy(&rk);
    return st;
}

trine_status_t proto_softmax(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_SOFTMAX, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, softmax_run(ctx, out, x, err));
}
