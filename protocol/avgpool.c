/* avgpool.c — average pooling on shares: each party sums its share over
 * the window's elements (padding adds nothing), multiplies by the public
 * round(2^f / d) and truncates by f bits (trunc.c). The divisor d is kh kw
 * with count_pad, else the number of the window's elements inside the
 * input, which the public geometry gives per output position. The result
 * is the window mean within the truncation's one step plus the
 * reciprocal's rounding, at most |sum| / 2^(f+1) in units of 2^-f. The
 * only communication is the truncation's: 1 round, 24 + ceil(f / 8) bytes
 * per output element when exact, none when local.
 */
#include "internal.h"

/* The elements of window i (of extent k, stride s) inside an input of n
 * elements padded by lo before it: its overlap with [lo, lo + n) on the
 * padded axis. At least 1, as proto_pool_out keeps the pads below k. */
static size_t pool_inside(size_t i, size_t k, size_t s, size_t lo, size_t n)
{
    size_t start = i * s, first = start > lo ? start : lo;
    size_t end = start + k < lo + n ? start + k : lo + n;
    return end - first;
}

static trine_status_t avgpool_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                  const proto_pool_t *p, trine_err_t *err)
{
    size_t oh, ow;
    trine_status_t st = proto_pool_shapes(out, x, p, "avgpool", &oh, &ow, err);
    if (st != TRINE_OK)
        return st;
    size_t planes = x->shape[0] * x->shape[1], h = x->shape[2], wd = x->shape[3];
    uint64_t one = (uint64_t)1 << ctx->frac_bits;
    for (size_t i = 0; i < oh; i++)
        for (size_t j = 0; j < ow; j++) {
            size_t d = p->count_pad ? p->kh * p->kw
                                    : pool_inside(i, p->kh, p->sh, p->pt, h) *
                                          pool_inside(j, p->kw, p->sw, p->pl, wd);
            uint64_t scale = (one + d / 2) / d;
            for (size_t pl = 0; pl < planes; pl++) {
                uint64_t sum = 0;
                for (size_t ki = 0; ki < p->kh; ki++) {
                    /* wraps far past h above the top, as in maxpool.c */
                    size_t y = i * p->sh + ki - p->pt;
                    for (size_t kj = 0; kj < p->kw; kj++) {
                        size_t xx = j * p->sw + kj - p->pl;
                        if (y < h && xx < wd)
                            sum += x->data[(pl * h + y) * wd + xx];
                    }
                }
                out->data[(pl * oh + i) * ow + j] = sum * scale;
            }
        }
    return proto_truncate(ctx, out, ctx->frac_bits, err);
}

trine_status_t proto_avgpool(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                             const proto_pool_t *p, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_AVGPOOL, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, avgpool_run(ctx, out, x, p, err));
}
