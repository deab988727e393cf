/* logsoftmax.c — log-probabilities x_j - max - ln sum_i e^(x_i - max)
 * along the last axis of x, on shares:
 *
 *   d   = x - max                   (proto_softmax_terms, softmax.c:
 *                                   argmax's one-hot and one product)
 *   s   = sum_j exp(d_j)            (exp.c, then local; s in [1, k])
 *   out = d - log(s)                (log.c over [2^0, 2^h) / sqrt 2, the
 *                                   least h with 2^h / sqrt 2 > 1.02 k:
 *                                   h - 1 comparisons per row, not k)
 *
 * No reciprocal and no final product: cheaper than softmax. Rounds:
 * argmax's 8 ceil(log2 k) and 1, exp's 16, log's 11 with local
 * truncation; exact truncation adds exp's 10 and log's 5. Bytes per row
 * of k (all parties): argmax's, then 40 k for the maximum, 832 k for exp,
 * and log's 392 (h - 1) + 240. Measured with exact truncation, rows of
 * 10: 75 rounds and 1804 bytes a value (softmax: 137 rounds, 1988).
 *
 * Error (PROG_LOG_SOFTMAX_ERROR, tests/check_proto_fn.c): exp's relative
 * error on each e_j is at most PROG_EXP_ERROR (plus a step), so s and its
 * logarithm move by at most 0.01; log's own PROG_LOG_ERROR on top. Needs
 * k <= 2^20 and the row's values within 2^61 of each other (argmax).
 */
#include "internal.h"

#include <math.h>

#define LSM_SQRT1_2 0.70710678118654752440

int proto_log_softmax_hi(size_t k)
{
    int hi = 1;
    while (hi < PROTO_LOG_SPAN && ldexp(LSM_SQRT1_2, hi) <= 1.02 * (double)k)
        hi++;
    return hi;
}

static trine_status_t log_softmax_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                      trine_err_t *err)
{
    const tensor_t *t[] = {out, x};
    trine_status_t st = proto_check_shapes("log_softmax", t, 2, err);
    if (st != TRINE_OK)
        return st;
    size_t k = x->shape[x->ndim - 1], m = x->size / k;
    int hi = proto_log_softmax_hi(k);
    if (ldexp(LSM_SQRT1_2, hi) <= 1.02 * (double)k)
        return trine_err_set(err, TRINE_ERANGE, "log_softmax: rows of %zu: at most 2^%d", k,
                             PROTO_LOG_SPAN - 1);
    tensor_t *d = tensor_new_2d(m, k), *e = tensor_new_2d(m, k), *s = tensor_new_1d(m);
    tensor_t *ls = tensor_new_1d(m);
    if (!d || !e || !s || !ls)
        st = trine_err_set(err, TRINE_ENOMEM, "log_softmax: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        st = proto_softmax_terms(ctx, d, e, s, x, err);
    if (st == TRINE_OK)
        st = proto_log(ctx, ls, s, 0, hi, err);
    for (size_t i = 0; st == TRINE_OK && i < m; i++)
        for (size_t j = 0; j < k; j++)
            out->data[i * k + j] = d->data[i * k + j] - ls->data[i];
    tensor_destroy(&d), tensor_destroy(&e), tensor_destroy(&s), tensor_destroy(&ls);
    return st;
}

trine_status_t proto_log_softmax(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                 trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_LOG_SOFTMAX, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, log_softmax_run(ctx, out, x, err));
}
