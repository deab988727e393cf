/* avgpool.c — average pooling on shares, local: each party sums its share
 * over the window, multiplies by the public round(2^f / k^2) and truncates
 * by f bits (SecureML's rule, linear.c). The result is the window mean
 * within the truncation's one step plus the reciprocal's rounding, at most
 * |sum| / 2^(f+1) in units of 2^-f. No communication.
 */
#include "internal.h"

static trine_status_t avgpool_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                  const proto_pool_t *p, trine_err_t *err)
{
    size_t oh, ow;
    if (proto_pool_out(x, p, &oh, &ow) != TRINE_OK)
        return trine_err_set(err, TRINE_ESHAPE, "avgpool: %zu x %zu windows do not fit the input",
                             p->k, p->k);
    if (out->ndim != 4 || out->shape[0] != x->shape[0] || out->shape[1] != x->shape[1] ||
        out->shape[2] != oh || out->shape[3] != ow)
        return trine_err_set(err, TRINE_ESHAPE, "avgpool: output is not n x c x %zu x %zu", oh, ow);
    size_t kk = p->k * p->k, planes = x->shape[0] * x->shape[1];
    size_t h = x->shape[2], wd = x->shape[3];
    uint64_t scale = (((uint64_t)1 << ctx->frac_bits) + kk / 2) / kk;
    for (size_t pl = 0; pl < planes; pl++)
        for (size_t i = 0; i < oh; i++)
            for (size_t j = 0; j < ow; j++) {
                uint64_t sum = 0;
                for (size_t ki = 0; ki < p->k; ki++)
                    for (size_t kj = 0; kj < p->k; kj++)
                        sum += x->data[(pl * h + i * p->stride + ki) * wd + j * p->stride + kj];
                out->data[(pl * oh + i) * ow + j] = sum * scale;
            }
    return proto_truncate(ctx, out, ctx->frac_bits);
}

trine_status_t proto_avgpool(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                             const proto_pool_t *p, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_AVGPOOL, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, avgpool_run(ctx, out, x, p, err));
}
