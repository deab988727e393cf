/* rerandomize.c — a fresh sharing of a shared tensor, no communication.
 *
 * P0 adds r and P1 subtracts r, with r drawn from the seed they share
 * (P2 cannot compute it): the value stays x, but the new shares are
 * independent of the old ones. 0 rounds, 0 bytes. Every stored output
 * of a job goes through it, so that no two stored tensors have equal
 * share bytes (an output that copies an input would otherwise keep the
 * input's shares, telling whoever sees both files that they are equal).
 */
#include "internal.h"

#include <stdlib.h>

trine_status_t proto_rerandomize(proto_ctx_t *ctx, tensor_t *x, trine_err_t *err)
{
    if (proto_is_helper(ctx))
        return TRINE_OK;
    uint64_t *r = malloc((x->size ? x->size : 1) * sizeof *r);
    if (!r)
        return trine_err_set(err, TRINE_ENOMEM, "rerandomize: no memory");
    proto_draw_ring(ctx, proto_other(ctx), r, x->size);
    if (ctx->role == PROTO_P0)
        for (size_t i = 0; i < x->size; i++)
            x->data[i] += r[i];
    else
        for (size_t i = 0; i < x->size; i++)
            x->data[i] -= r[i];
    free(r);
    return TRINE_OK;
}
