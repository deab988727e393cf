/* argmax.c — the position of each row's maximum (SecureNN Algorithm 9's
 * argmax) with a comparison tree instead of k - 1 sequential steps.
 *
 * The k values of a row are the leaves. At each level the nodes are paired
 * (an odd last node waits a level) and for all pairs of all rows at once:
 * b = DReLU(left - right), 1 when left >= right so that the first maximum
 * wins ties; then one SelectShare of b over the concatenation of every
 * pair's values and positions: max = b ? left : right, and either the
 * index likewise or the one-hot [b e_left, (1 - b) e_right]. Only what is
 * neither public nor implied is selected: a one-hot sums to 1, so each
 * side's last entry follows from the others (b - their sum, 1 - b - theirs),
 * and two leaves i, i + 1 merge to the index i + 1 - b. With the one-hot
 * the index is sum_j j e_j, computed locally at the end.
 *
 * Per level: DReLU (7 rounds, 392 bytes per pair), then the select (1
 * round: P2 -> P1 the triple correction, P0 <-> P1 the masked operands; 40
 * bytes per selected element). ceil(log2 k) levels of 8 rounds, k - 1
 * comparisons per row. k = 10: 32 rounds and 4048 bytes per row for the
 * index, 4608 with the one-hot (SecureNN: 81 rounds, 6696 bytes).
 *
 * Short rows compare all their pairs at once instead (argmax_pairs.c, the
 * rule of proto_argmax_pairs): a comparison round and a zero test's round,
 * 8 rounds under securenn, 2 under fss and 5 under carry (k = 10 by the
 * tree: 32, 8 and 20).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* A tree node over all m rows: its maximum (m words) and its position,
 * either the index (m words) or the one-hot entries over the leaves it
 * covers (leaves * m words, leaf order). A leaf's position is public: P0
 * holds it, P1 holds 0. */
typedef struct {
    uint64_t *val;
    uint64_t *pos;
    size_t leaves;
} node_t;

/* Elements a pair puts in the level's select, in units of m. */
static size_t pair_width(const node_t *l, const node_t *r, bool hot)
{
    if (hot)
        return 1 + (l->leaves - 1) + (r->leaves - 1);
    return l->leaves == 1 && r->leaves == 1 ? 1 : 2;
}

/* Places one selected element: sel = b ? y : x, the pair's bit beside it. */
static void put(tensor_t *bb, tensor_t *x, tensor_t *y, size_t at, size_t m, const uint64_t *b,
                const uint64_t *xs, const uint64_t *ys)
{
    memcpy(bb->data + at * m, b, m * sizeof(uint64_t));
    if (xs)
        memcpy(x->data + at * m, xs, m * sizeof(uint64_t));
    if (ys)
        memcpy(y->data + at * m, ys, m * sizeof(uint64_t));
}

/* Builds the merged node of l and r from the level's bit b and selected
 * elements sel (the pair's width of them, in put's order). */
static trine_status_t pair_merge(proto_ctx_t *ctx, node_t *dst, const node_t *l, const node_t *r,
                                 const uint64_t *b, const uint64_t *sel, size_t m, bool hot)
{
    size_t leaves = l->leaves + r->leaves;
    uint64_t *val = malloc(m * sizeof *val), *pos = malloc((hot ? leaves : 1) * m * sizeof *pos);
    if (!val || !pos) {
        free(val), free(pos);
        return TRINE_ENOMEM;
    }
    memcpy(val, sel, m * sizeof *val);
    sel += m;
    uint64_t one = ctx->role == PROTO_P0 ? 1 : 0;
    if (!hot && l->leaves == 1 && r->leaves == 1)
        for (size_t i = 0; i < m; i++) /* r + b (l - r) with l - r = -1 */
            pos[i] = r->pos[i] - b[i];
    else if (!hot)
        memcpy(pos, sel, m * sizeof *pos);
    for (size_t i = 0; hot && i < m; i++) {
        uint64_t sum = 0;
        for (size_t j = 0; j + 1 < l->leaves; j++)
            pos[j * m + i] = sel[j * m + i], sum += sel[j * m + i];
        pos[(l->leaves - 1) * m + i] = b[i] - sum;
        const uint64_t *rs = sel + (l->leaves - 1) * m;
        sum = 0;
        for (size_t j = 0; j + 1 < r->leaves; j++)
            pos[(l->leaves + j) * m + i] = rs[j * m + i], sum += rs[j * m + i];
        pos[(leaves - 1) * m + i] = one - b[i] - sum;
    }
    *dst = (node_t){val, pos, leaves};
    return TRINE_OK;
}

/* One level: merges pairs (2q, 2q + 1) of nodes[0..count) into nodes[q]. */
static trine_status_t argmax_level(proto_ctx_t *ctx, node_t *nodes, size_t count, size_t m,
                                   bool hot, trine_err_t *err)
{
    size_t pairs = count / 2, width = 0;
    for (size_t q = 0; q < pairs; q++)
        width += pair_width(&nodes[2 * q], &nodes[2 * q + 1], hot);
    tensor_t *diff = tensor_new_1d(pairs * m), *b = tensor_new_1d(pairs * m);
    tensor_t *bb = tensor_new_1d(width * m), *x = tensor_new_1d(width * m);
    tensor_t *y = tensor_new_1d(width * m);
    trine_status_t st = diff && b && bb && x && y ? TRINE_OK : TRINE_ENOMEM;
    if (st != TRINE_OK)
        trine_err_set(err, st, "argmax: no memory for a level of %zu pairs", pairs * m);
    for (size_t q = 0; st == TRINE_OK && q < pairs; q++)
        for (size_t i = 0; i < m; i++)
            diff->data[q * m + i] = nodes[2 * q].val[i] - nodes[2 * q + 1].val[i];
    if (st == TRINE_OK)
        st = proto_drelu(ctx, b, diff, err);
    /* x is what b = 0 selects (the right node), y what b = 1 does; the
     * tensors start at zero, which is each side's share of the other's
     * one-hot entries */
    size_t at = 0;
    for (size_t q = 0; st == TRINE_OK && q < pairs; q++) {
        const node_t *l = &nodes[2 * q], *r = &nodes[2 * q + 1];
        const uint64_t *bq = b->data + q * m;
        put(bb, x, y, at++, m, bq, r->val, l->val);
        for (size_t j = 0; hot && j + 1 < l->leaves; j++)
            put(bb, x, y, at++, m, bq, NULL, l->pos + j * m);
        for (size_t j = 0; hot && j + 1 < r->leaves; j++)
            put(bb, x, y, at++, m, bq, r->pos + j * m, NULL);
        if (!hot && pair_width(l, r, hot) == 2)
            put(bb, x, y, at++, m, bq, r->pos, l->pos);
    }
    if (st == TRINE_OK)
        st = proto_select(ctx, x, bb, x, y, err);
    at = 0;
    for (size_t q = 0; st == TRINE_OK && q < pairs; q++) {
        node_t *l = &nodes[2 * q], *r = &nodes[2 * q + 1], merged;
        if (pair_merge(ctx, &merged, l, r, b->data + q * m, x->data + at * m, m, hot) != TRINE_OK) {
            st = trine_err_set(err, TRINE_ENOMEM, "argmax: no memory");
            break;
        }
        at += pair_width(l, r, hot);
        free(l->val), free(l->pos), free(r->val), free(r->pos);
        memset(l, 0, sizeof *l);
        memset(r, 0, sizeof *r);
        nodes[q] = merged;
    }
    if (st == TRINE_OK && count % 2) { /* the odd node moves up unchanged */
        nodes[pairs] = nodes[count - 1];
        memset(&nodes[count - 1], 0, sizeof(node_t));
    }
    tensor_destroy(&diff), tensor_destroy(&b), tensor_destroy(&bb), tensor_destroy(&x);
    tensor_destroy(&y);
    return st;
}

static trine_status_t argmax_check(const tensor_t *out, const tensor_t *onehot, const tensor_t *x,
                                   trine_err_t *err)
{
    if (x->ndim != 2)
        return trine_err_set(err, TRINE_ESHAPE, "argmax: input is not 2-D");
    size_t m = x->shape[0], k = x->shape[1];
    if (out->ndim != 1 || out->shape[0] != m)
        return trine_err_set(err, TRINE_ESHAPE, "argmax: output is not [%zu]", m);
    if (onehot && (onehot->ndim != 2 || onehot->shape[0] != m || onehot->shape[1] != k))
        return trine_err_set(err, TRINE_ESHAPE, "argmax: one-hot is not %zu x %zu", m, k);
    return TRINE_OK;
}

bool proto_argmax_pairs(const proto_ctx_t *ctx, size_t m, size_t k)
{
    if (k < 2 || k > PROTO_ARGMAX_PAIRS_MAX || m == 0)
        return false;
    size_t compares = m * (k * (k - 1) / 2);
    size_t most = proto_ctx_carry(ctx, compares) ? PROTO_ARGMAX_PAIRS_CARRY
                                                 : PROTO_ARGMAX_PAIRS_SECURENN;
    return proto_ctx_fss(ctx, compares) || (k >= 5 && compares <= most);
}

static trine_status_t argmax_run(proto_ctx_t *ctx, tensor_t *out, tensor_t *onehot,
                                 const tensor_t *x, trine_err_t *err)
{
    trine_status_t st = argmax_check(out, onehot, x, err);
    if (st != TRINE_OK)
        return st;
    size_t m = x->shape[0], k = x->shape[1];
    if (proto_argmax_pairs(ctx, m, k))
        return argmax_pairs(ctx, out, onehot, x, err);
    bool hot = onehot != NULL;
    uint64_t one = ctx->role == PROTO_P0 ? 1 : 0;
    node_t *nodes = calloc(k, sizeof *nodes);
    st = nodes ? TRINE_OK : TRINE_ENOMEM;
    for (size_t j = 0; st == TRINE_OK && j < k; j++) {
        nodes[j] = (node_t){malloc(m * sizeof(uint64_t)), malloc(m * sizeof(uint64_t)), 1};
        if (!nodes[j].val || !nodes[j].pos) {
            st = TRINE_ENOMEM;
            break;
        }
        for (size_t i = 0; i < m; i++) {
            nodes[j].val[i] = x->data[i * k + j];
            nodes[j].pos[i] = one * (hot ? 1 : j);
        }
    }
    if (st != TRINE_OK)
        trine_err_set(err, st, "argmax: no memory for %zu x %zu values", m, k);
    for (size_t count = k; st == TRINE_OK && count > 1; count = (count + 1) / 2)
        st = argmax_level(ctx, nodes, count, m, hot, err);
    for (size_t i = 0; st == TRINE_OK && i < m; i++) {
        uint64_t index = 0;
        for (size_t j = 0; hot && j < k; j++) {
            onehot->data[i * k + j] = nodes[0].pos[j * m + i];
            index += j * nodes[0].pos[j * m + i];
        }
        out->data[i] = hot ? index : nodes[0].pos[i];
    }
    if (st == TRINE_OK && proto_is_helper(ctx)) {
        proto_zero(out);
        if (onehot)
            proto_zero(onehot);
    }
    for (size_t j = 0; nodes && j < k; j++)
        free(nodes[j].val), free(nodes[j].pos);
    free(nodes);
    return st;
}

trine_status_t proto_argmax(proto_ctx_t *ctx, tensor_t *out, tensor_t *onehot, const tensor_t *x,
                            trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_ARGMAX, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, argmax_run(ctx, out, onehot, x, err));
}
