/* maxpool.c — Maxpool and its one-hot argmax (SecureNN Algorithms 9 and
 * 10), with a comparison tree instead of SecureNN's n - 1 sequential steps.
 *
 * Each kh x kw window's kh kw values are the leaves; a leaf in the padding
 * is the public PROTO_POOL_PAD (P0's share; P1's is 0), below every input
 * in range, so that a window's maximum is that of its real elements. At each level the nodes
 * are paired (an odd one waits a level) and for all pairs of all windows at
 * once: b = DReLU(left - right) (1 when left >= right), then one batched
 * Beaver product of b with [left - right, the one-hot entries of both
 * children], giving max = right + b (left - right) and the merged one-hot
 * [b e_left, (1 - b) e_right]. A one-hot vector sums to 1, so its last
 * entry times b follows from the others and is not multiplied; a leaf's
 * one-hot is the public [1], so the first level multiplies only the
 * difference. Levels: ceil(log2 kh kw); each is DReLU's 7 rounds plus 1.
 * A 2 x 2 window costs 3 DReLUs and 5 products: 3 * 392 + 5 * 40 = 1376
 * bytes in 16 rounds (SecureNN: 2232 bytes, 27 rounds, argmax extra).
 *
 * Under protocol fss a level takes ReLU(left - right) with its DReLU bit
 * in one round (relu_fss.c), so max = right + ReLU(left - right) needs no
 * product; only the one-hot entries do, in a second round. A 2 x 2 window
 * without argmax: 3 ReLUs, 2 rounds, 48 bytes online.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

trine_status_t proto_pool_shapes(const tensor_t *out, const tensor_t *x, const proto_pool_t *p,
                                 const char *op, size_t *oh, size_t *ow, trine_err_t *err)
{
    if (proto_pool_out(x, p, oh, ow) != TRINE_OK)
        return trine_err_set(err, TRINE_ESHAPE,
                             "%s: %zu x %zu windows padded by %zu %zu %zu %zu (top left "
                             "bottom right) do not fit the input",
                             op, p->kh, p->kw, p->pt, p->pl, p->pb, p->pr);
    if (out->ndim != 4 || out->shape[0] != x->shape[0] || out->shape[1] != x->shape[1] ||
        out->shape[2] != *oh || out->shape[3] != *ow)
        return trine_err_set(err, TRINE_ESHAPE, "%s: output is not n x c x %zu x %zu", op, *oh,
                             *ow);
    return TRINE_OK;
}

trine_status_t proto_pool_out(const tensor_t *x, const proto_pool_t *p, size_t *oh, size_t *ow)
{
    if (x->ndim != 4 || p->kh == 0 || p->kw == 0 || p->sh == 0 || p->sw == 0 || p->pt >= p->kh ||
        p->pb >= p->kh || p->pl >= p->kw || p->pr >= p->kw)
        return TRINE_ESHAPE;
    /* pads below the window's extents: the sums cannot wrap */
    size_t ph = x->shape[2] + p->pt + p->pb, pw = x->shape[3] + p->pl + p->pr;
    if (p->kh > ph || p->kw > pw)
        return TRINE_ESHAPE;
    *oh = (ph - p->kh) / p->sh + 1;
    *ow = (pw - p->kw) / p->sw + 1;
    return TRINE_OK;
}

/* A tree node over all windows: its max (w values) and one-hot entries
 * (m vectors of w, leaf order); a leaf has m = 1 and hot == NULL (public 1). */
typedef struct {
    uint64_t *val;
    uint64_t *hot;
    size_t m;
} node_t;

/* Gathers window entry e of every window into vals[e * w ...]; pad is
 * this party's share of a padding position. */
static void pool_gather(uint64_t *vals, const tensor_t *x, const proto_pool_t *p, size_t oh,
                        size_t ow, uint64_t pad)
{
    size_t planes = x->shape[0] * x->shape[1], h = x->shape[2], wd = x->shape[3];
    size_t w = planes * oh * ow;
    for (size_t ki = 0; ki < p->kh; ki++)
        for (size_t kj = 0; kj < p->kw; kj++) {
            uint64_t *dst = vals + (ki * p->kw + kj) * w;
            for (size_t pl = 0; pl < planes; pl++)
                for (size_t i = 0; i < oh; i++) {
                    /* Unsigned wrap-around turns "above the top" into "far
                     * below the bottom": one comparison each. */
                    size_t y = i * p->sh + ki - p->pt;
                    for (size_t j = 0; j < ow; j++) {
                        size_t xx = j * p->sw + kj - p->pl;
                        *dst++ = y < h && xx < wd ? x->data[(pl * h + y) * wd + xx] : pad;
                    }
                }
        }
}

/* One level: merges pairs (2q, 2q + 1) of nodes[0..count) into nodes[q]. */
static trine_status_t pool_level(proto_ctx_t *ctx, node_t *nodes, size_t count, size_t w,
                                 bool want_hot, trine_err_t *err)
{
    /* fss, carry: the ReLU gives b (left - right) in DReLU's rounds, so
     * only hot entries are factors */
    size_t pairs = count / 2, factors = 0;
    size_t lead = proto_ctx_fss(ctx, pairs * w) || proto_ctx_carry(ctx, pairs * w) ? 0 : 1;
    for (size_t q = 0; q < pairs; q++)
        factors += lead + (want_hot ? nodes[2 * q].m - 1 + nodes[2 * q + 1].m - 1 : 0);
    tensor_t *diff = tensor_new_1d(pairs * w), *b = tensor_new_1d(pairs * w);
    tensor_t *bb = NULL, *f = NULL, *prod = NULL, *relu = NULL;
    if (factors) {
        bb = tensor_new_1d(factors * w), f = tensor_new_1d(factors * w);
        prod = tensor_new_1d(factors * w);
    }
    if (!lead)
        relu = tensor_new_1d(pairs * w);
    trine_status_t st = diff && b && (!factors || (bb && f && prod)) && (lead || relu)
                            ? TRINE_OK
                            : TRINE_ENOMEM;
    if (st != TRINE_OK)
        trine_err_set(err, st, "maxpool: no memory for a level of %zu pairs", pairs);
    for (size_t q = 0; st == TRINE_OK && q < pairs; q++)
        for (size_t i = 0; i < w; i++)
            diff->data[q * w + i] = nodes[2 * q].val[i] - nodes[2 * q + 1].val[i];
    if (st == TRINE_OK)
        st = lead ? proto_drelu(ctx, b, diff, err) : proto_relu(ctx, relu, b, diff, err);
    /* factors: per pair, the difference, then left's and right's hot
     * entries but the last; bb repeats the pair's bit beside each */
    size_t at = 0;
    for (size_t q = 0; st == TRINE_OK && q < pairs; q++) {
        node_t *side[2] = {&nodes[2 * q], &nodes[2 * q + 1]};
        const uint64_t *bq = b->data + q * w;
        if (lead) {
            memcpy(f->data + at * w, diff->data + q * w, w * sizeof(uint64_t));
            memcpy(bb->data + at * w, bq, w * sizeof(uint64_t));
            at++;
        }
        for (int s = 0; want_hot && s < 2; s++)
            for (size_t j = 0; j + 1 < side[s]->m; j++, at++) {
                memcpy(f->data + at * w, side[s]->hot + j * w, w * sizeof(uint64_t));
                memcpy(bb->data + at * w, bq, w * sizeof(uint64_t));
            }
    }
    if (st == TRINE_OK && factors)
        st = proto_mul(ctx, prod, bb, f, err);
    at = 0;
    uint64_t one = ctx->role == PROTO_P0 ? 1 : 0;
    for (size_t q = 0; st == TRINE_OK && q < pairs; q++) {
        node_t *l = &nodes[2 * q], *r = &nodes[2 * q + 1];
        const uint64_t *bq = b->data + q * w;
        const uint64_t *pd = lead ? prod->data + at * w : relu->data + q * w;
        at += lead;
        uint64_t *val = malloc(w * sizeof *val), *hot = NULL;
        size_t m = l->m + r->m;
        if (want_hot)
            hot = malloc(m * w * sizeof *hot);
        if (!val || (want_hot && !hot)) {
            free(val), free(hot);
            st = trine_err_set(err, TRINE_ENOMEM, "maxpool: no memory");
            break;
        }
        for (size_t i = 0; i < w; i++)
            val[i] = r->val[i] + pd[i];
        for (size_t i = 0; want_hot && i < w; i++) {
            /* left part b e_l: products, then b - their sum */
            uint64_t sum = 0;
            for (size_t j = 0; j + 1 < l->m; j++) {
                uint64_t v = prod->data[(at + j) * w + i];
                hot[j * w + i] = v, sum += v;
            }
            hot[(l->m - 1) * w + i] = bq[i] - sum;
            /* right part e_r - b e_r, its last entry (1 - b) - the rest */
            size_t base = at + l->m - 1;
            sum = 0;
            for (size_t j = 0; j + 1 < r->m; j++) {
                uint64_t v = r->hot[j * w + i] - prod->data[(base + j) * w + i];
                hot[(l->m + j) * w + i] = v, sum += v;
            }
            hot[(m - 1) * w + i] = one - bq[i] - sum;
        }
        if (want_hot)
            at += l->m - 1 + r->m - 1;
        free(l->val), free(l->hot), free(r->val), free(r->hot);
        memset(l, 0, sizeof *l);
        memset(r, 0, sizeof *r);
        nodes[q] = (node_t){val, hot, m};
    }
    if (st == TRINE_OK && count % 2) { /* the odd node moves up unchanged */
        nodes[pairs] = nodes[count - 1];
        if (count - 1 != pairs)
            memset(&nodes[count - 1], 0, sizeof(node_t));
    }
    tensor_destroy(&diff), tensor_destroy(&b), tensor_destroy(&bb), tensor_destroy(&f);
    tensor_destroy(&prod), tensor_destroy(&relu);
    return st;
}

static trine_status_t maxpool_run(proto_ctx_t *ctx, tensor_t *out, tensor_t *argmax,
                                  const tensor_t *x, const proto_pool_t *p, trine_err_t *err)
{
    size_t oh, ow;
    trine_status_t st = proto_pool_shapes(out, x, p, "maxpool", &oh, &ow, err);
    if (st != TRINE_OK)
        return st;
    size_t w = x->shape[0] * x->shape[1] * oh * ow, kk = p->kh * p->kw;
    if (argmax && (argmax->ndim != 2 || argmax->shape[0] != w || argmax->shape[1] != kk))
        return trine_err_set(err, TRINE_ESHAPE, "maxpool: argmax is not %zu x %zu", w, kk);
    uint64_t *vals = malloc(kk * w * sizeof *vals);
    node_t *nodes = calloc(kk, sizeof *nodes);
    st = vals && nodes ? TRINE_OK : TRINE_ENOMEM;
    if (st == TRINE_OK)
        pool_gather(vals, x, p, oh, ow, ctx->role == PROTO_P0 ? PROTO_POOL_PAD : 0);
    for (size_t e = 0; st == TRINE_OK && e < kk; e++) {
        nodes[e].m = 1;
        nodes[e].val = malloc(w * sizeof(uint64_t));
        if (!nodes[e].val)
            st = TRINE_ENOMEM;
        else
            memcpy(nodes[e].val, vals + e * w, w * sizeof(uint64_t));
    }
    if (st != TRINE_OK)
        trine_err_set(err, st, "maxpool: no memory for %zu windows", w);
    for (size_t count = kk; st == TRINE_OK && count > 1; count = (count + 1) / 2)
        st = pool_level(ctx, nodes, count, w, argmax != NULL, err);
    if (st == TRINE_OK) {
        memcpy(out->data, nodes[0].val, w * sizeof(uint64_t));
        for (size_t i = 0; argmax && i < w; i++)
            for (size_t e = 0; e < kk; e++) /* kk == 1: the public one */
                argmax->data[i * kk + e] =
                    nodes[0].hot ? nodes[0].hot[e * w + i] : (ctx->role == PROTO_P0);
        if (proto_is_helper(ctx)) {
            proto_zero(out);
            if (argmax)
                proto_zero(argmax);
        }
    }
    for (size_t e = 0; nodes && e < kk; e++)
        free(nodes[e].val), free(nodes[e].hot);
    free(nodes);
    free(vals);
    return st;
}

trine_status_t proto_maxpool(proto_ctx_t *ctx, tensor_t *out, tensor_t *argmax, const tensor_t *x,
                             const proto_pool_t *p, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_MAXPOOL, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, maxpool_run(ctx, out, argmax, x, p, err));
}
