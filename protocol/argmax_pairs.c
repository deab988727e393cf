/* argmax_pairs.c — the position of each row's maximum in one comparison
 * round and a zero test, for short rows (argmax.c calls it;
 * proto_argmax_pairs says when).
 *
 * All k (k - 1) / 2 pairs i < j of a row are compared at once:
 * b_ij = DReLU(x_i - x_j) = [x_i >= x_j]. The count of values i beats,
 *     s_i = sum_{j > i} b_ij + sum_{j < i} (1 - b_ji),
 * ties going to the first, is k - 1 for the first maximum and at most
 * k - 2 for every other position (each loses to that maximum). So
 * hot_i = [s_i - (k - 1) = 0] gives the one-hot position, and since
 * -k < s_i - (k - 1) <= 0 that is a zero test of a few bits (small_zero.c:
 * one round, a nibble each way and 2^b dealt words a value, 2^b >= k);
 * the index is sum_i i hot_i, locally. k = 10: under fss 2 rounds and 730
 * online bytes; under carry 5 rounds; under securenn 8 rounds and 18,930
 * bytes against the tree's 32 rounds and 4,048. Exact when every two
 * values of a row differ by less than 2^63 as signed ring elements.
 */
#include "internal.h"

#include <stdlib.h>

trine_status_t argmax_pairs(proto_ctx_t *ctx, tensor_t *out, tensor_t *onehot, const tensor_t *x,
                            trine_err_t *err)
{
    size_t m = x->shape[0], k = x->shape[1], pairs = k * (k - 1) / 2;
    tensor_t *diff = tensor_new_1d(m * pairs), *b = tensor_new_1d(m * pairs);
    tensor_t *s = tensor_new_1d(m * k), *hot = tensor_new_1d(m * k);
    trine_status_t st = diff && b && s && hot ? TRINE_OK : TRINE_ENOMEM;
    if (st != TRINE_OK)
        trine_err_set(err, st, "argmax: no memory for %zu rows of %zu values", m, k);
    for (size_t r = 0, at = 0; st == TRINE_OK && r < m; r++)
        for (size_t i = 0; i < k; i++)
            for (size_t j = i + 1; j < k; j++)
                diff->data[at++] = x->data[r * k + i] - x->data[r * k + j];
    if (st == TRINE_OK)
        st = proto_drelu(ctx, b, diff, err);
    uint64_t one = ctx->role == PROTO_P0 ? 1 : 0;
    for (size_t r = 0; st == TRINE_OK && r < m; r++) {
        uint64_t *sr = s->data + r * k;
        const uint64_t *br = b->data + r * pairs;
        for (size_t i = 0; i < k; i++)
            sr[i] = 0 - one * (k - 1); /* s_i - (k - 1) */
        for (size_t i = 0, at = 0; i < k; i++)
            for (size_t j = i + 1; j < k; j++, at++) {
                sr[i] += br[at];
                sr[j] += one - br[at];
            }
    }
    unsigned bits = 1;
    while (((size_t)1 << bits) < k)
        bits++;
    if (st == TRINE_OK)
        st = small_zero(ctx, hot->data, s->data, m * k, bits, err);
    for (size_t r = 0; st == TRINE_OK && r < m; r++) {
        uint64_t index = 0;
        for (size_t i = 0; i < k; i++) {
            index += i * hot->data[r * k + i];
            if (onehot)
                onehot->data[r * k + i] = hot->data[r * k + i];
        }
        out->data[r] = index;
    }
    if (st == TRINE_OK && proto_is_helper(ctx)) {
        proto_zero(out);
        if (onehot)
            proto_zero(onehot);
    }
    tensor_destroy(&diff), tensor_destroy(&b), tensor_destroy(&s), tensor_destroy(&hot);
    return st;
}
