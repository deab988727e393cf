/* shuffle.c — a row permutation P0 and P1 agree on without a message:
 * Fisher-Yates over words drawn from the seed only they share (ctx.h),
 * which neither the client nor P2 knows. Each applies it to its own
 * shares of the batch rows (the permuted shares are a sharing of the
 * permuted rows), so shuffling costs nothing on the wire. P2 holds no
 * rows and draws nothing. 0 rounds, 0 bytes.
 */
#include "internal.h"

#include <stdlib.h>

void proto_permutation(size_t *perm, size_t n, const uint64_t *r)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    /* r[i] mod (i + 1) is uniform within (i + 1) / 2^64: no n a job can
     * hold makes that bias matter */
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)(r[i] % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
}

trine_status_t proto_shuffle_draw(proto_ctx_t *ctx, size_t *perm, size_t n, trine_err_t *err)
{
    if (proto_is_helper(ctx))
        return trine_err_set(err, TRINE_EINVAL, "shuffle: P2 holds no rows to permute");
    uint64_t *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return trine_err_set(err, TRINE_ENOMEM, "shuffle: no memory for %zu rows", n);
    proto_draw_ring(ctx, proto_other(ctx), r, n);
    proto_permutation(perm, n, r);
    free(r);
    return TRINE_OK;
}
