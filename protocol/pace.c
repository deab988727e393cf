/* pace.c — keeps the dealer at most PROTO_PACE_AHEAD steps of a job ahead
 * of P0 and P1 under protocols fss, carry and auto.
 *
 * Under them P2 only deals: it receives nothing, so nothing would stop it
 * from dealing a whole job's keys and records while P0 and P1 are still
 * at its first step, and they would wait in their memory. At the start of
 * step s, P0 and P1 each send P2 one byte when P2 will wait for it (s +
 * AHEAD < steps), and P2 receives both bytes of step s - AHEAD before
 * dealing step s: at most AHEAD + 1 steps of dealings are ever on their
 * way, which the job's memory estimate counts (prog_mem.c). P2 only waits
 * when it is that far ahead, so the byte is on no one's critical path and
 * counts no round. Under securenn P2 takes part in every comparison and
 * cannot run ahead: nothing is sent.
 */
#include "internal.h"

trine_status_t proto_pace(proto_ctx_t *ctx, uint64_t step, uint64_t steps, trine_err_t *err)
{
    if (ctx->protocol == PROTO_SECURENN)
        return TRINE_OK;
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_PACE, err);
    if (st != TRINE_OK)
        return st;
    /* P0 and P1 send the byte of step s + AHEAD at step s; P2 takes it at that step */
    const uint64_t ahead = PROTO_PACE_AHEAD;
    uint8_t tick = 1;
    if (!proto_is_helper(ctx)) {
        if (step + ahead < steps)
            st = proto_send(ctx, PROTO_P2, &tick, 1, err);
    } else if (step >= ahead) {
        st = proto_recv(ctx, PROTO_P0, &tick, 1, err);
        if (st == TRINE_OK)
            st = proto_recv(ctx, PROTO_P1, &tick, 1, err);
    }
    ctx->stamp = 0; /* off the critical path: no round */
    return proto_op_end(ctx, st);
}
