/* pace.c — keeps the dealer at most PROTO_PACE_AHEAD steps of a job ahead
 * of P0 and P1 under protocol fss, and in step with them under auto.
 *
 * Under fss P2 only deals: it receives nothing, so nothing would stop it
 * from dealing a whole job's keys while P0 and P1 are still at its first
 * step, and the keys wait in their memory. At the start of step s, P0 and
 * P1 each send P2 one byte when P2 will wait for it (s + AHEAD < steps),
 * and P2 receives both bytes of step s - AHEAD before dealing step s: at
 * most AHEAD + 1 steps of keys are ever on their way, which the job's
 * memory estimate counts (prog_mem.c). P2 only waits when it is that far
 * ahead, so the byte is on no one's critical path and counts no round.
 * Under auto P2 also takes part in the larger comparisons, receiving from
 * P0 and P1 in them: a byte sent ahead would sit before those messages in
 * the link, so P2 receives the byte of step s itself at the start of step
 * s (s >= 1): it deals no step ahead, and the byte is a round when keys
 * follow it. Under securenn P2 takes part in every comparison and cannot
 * run ahead: nothing is sent.
 */
#include "internal.h"

trine_status_t proto_pace(proto_ctx_t *ctx, uint64_t step, uint64_t steps, trine_err_t *err)
{
    if (ctx->protocol == PROTO_SECURENN)
        return TRINE_OK;
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_PACE, err);
    if (st != TRINE_OK)
        return st;
    /* P0 and P1 send the byte of step s + lag at step s; P2 takes it at that step */
    uint64_t lag = ctx->protocol == PROTO_FSS || ctx->protocol == PROTO_CARRY ? PROTO_PACE_AHEAD : 0, first = lag ? lag : 1;
    uint8_t tick = 1;
    if (!proto_is_helper(ctx)) {
        if (step + lag >= first && step + lag < steps)
            st = proto_send(ctx, PROTO_P2, &tick, 1, err);
    } else if (step >= first) {
        st = proto_recv(ctx, PROTO_P0, &tick, 1, err);
        if (st == TRINE_OK)
            st = proto_recv(ctx, PROTO_P1, &tick, 1, err);
    }
    if (lag)
        ctx->stamp = 0; /* off the critical path: no round */
    return proto_op_end(ctx, st);
}
