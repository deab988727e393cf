/* small_zero.c — whether a shared small integer is zero, in one round, by
 * a truth table the helper deals.
 *
 * For a shared v with -2^b < v < 2^b (as a signed ring element, 1 <= b <=
 * 4) the result is [v = 0] as arithmetic shares. v = 0 exactly when
 * v mod 2^b = 0, and the low b bits of the shares are shares of v mod 2^b.
 * P2 draws r = r0 + r1 (mod 2^b) from the seeds it shares with P0 (r0) and
 * P1 (r1), and deals additive shares of the table of 2^b words T[c] =
 * [c = r]: P0's T0 from the P0-P2 seed, P1's T1 = T - T0 sent. P0 and P1
 * open c = v + r (mod 2^b), a nibble each way, and each takes its entry
 * T_i[c]: T[c] = [v + r = r] = [v = 0].
 *
 * What each party sees: c is uniform whatever v is, since neither P0 nor
 * P1 knows r (each knows only its own part); P0's table is drawn from a
 * seed, P1's is T minus that, so uniform to P1. P2 receives nothing.
 *
 * 1 round; online half a byte each way a value; dealt 2^b words a value
 * (128 bytes at b = 4). A DReLU of the same values costs 7 rounds and 392
 * bytes under securenn, 4 rounds and 111 bytes under carry, 1 round and
 * 3,096 bytes under fss. The tables travel in messages of
 * SMALL_ZERO_CHUNK values, so that a party holds one chunk's at a time.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SMALL_ZERO_CHUNK 8192

static size_t small_zero_chunk(size_t n)
{
    return n < SMALL_ZERO_CHUNK ? n : SMALL_ZERO_CHUNK;
}

/* P2: r's parts and P0's tables from the seeds, P1's tables sent a chunk
 * at a time; the draws in the order P0 and P1 make theirs. */
static trine_status_t small_zero_deal(proto_ctx_t *ctx, size_t n, unsigned b, trine_err_t *err)
{
    size_t w = (size_t)1 << b, chunk = small_zero_chunk(n);
    uint64_t *r0 = malloc(n * 8), *r1 = malloc(n * 8), *t0 = malloc(chunk * w * 8);
    uint8_t *wire = malloc(chunk * w * 8);
    trine_status_t st = TRINE_OK;
    if (!r0 || !r1 || !t0 || !wire)
        st = trine_err_set(err, TRINE_ENOMEM, "zero test: no memory to deal %zu values", n);
    if (st == TRINE_OK) {
        proto_draw_ring(ctx, PROTO_P0, r0, n);
        proto_draw_ring(ctx, PROTO_P1, r1, n);
    }
    for (size_t i0 = 0; st == TRINE_OK && i0 < n; i0 += chunk) {
        size_t k = n - i0 < chunk ? n - i0 : chunk;
        proto_draw_ring(ctx, PROTO_P0, t0, k * w);
        for (size_t i = 0; i < k; i++) {
            uint64_t r = (r0[i0 + i] + r1[i0 + i]) & (w - 1);
            for (size_t c = 0; c < w; c++)
                proto_put_le(&wire[(i * w + c) * 8], (c == r) - t0[i * w + c], 8);
        }
        st = proto_send_deal(ctx, PROTO_P1, wire, k * w * 8, err);
    }
    proto_wipe_free(r0, n * 8), proto_wipe_free(r1, n * 8);
    proto_wipe_free(t0, chunk * w * 8), proto_wipe_free(wire, chunk * w * 8);
    return st;
}

/* P0 and P1: open c, then take each value's entry of the table, P0's
 * drawn, P1's received, a chunk at a time. */
static trine_status_t small_zero_open(proto_ctx_t *ctx, uint64_t *out, const uint64_t *v, size_t n,
                                      unsigned b, trine_err_t *err)
{
    size_t w = (size_t)1 << b, chunk = small_zero_chunk(n), packed = (n + 1) / 2;
    bool p0 = ctx->role == PROTO_P0;
    uint64_t *r = malloc(n * 8), *t = malloc(chunk * w * 8);
    uint8_t *mine = calloc(packed, 1), *theirs = malloc(packed);
    uint8_t *wire = p0 ? NULL : malloc(chunk * w * 8);
    trine_status_t st = TRINE_OK;
    if (!r || !t || !mine || !theirs || (!p0 && !wire))
        st = trine_err_set(err, TRINE_ENOMEM, "zero test: no memory for %zu values", n);
    if (st == TRINE_OK) {
        proto_draw_ring(ctx, PROTO_P2, r, n);
        for (size_t i = 0; i < n; i++)
            mine[i / 2] |= (uint8_t)(((v[i] + r[i]) & (w - 1)) << (4 * (i % 2)));
        st = proto_send(ctx, proto_other(ctx), mine, packed, err);
    }
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), theirs, packed, err);
    for (size_t i0 = 0; st == TRINE_OK && i0 < n; i0 += chunk) {
        size_t k = n - i0 < chunk ? n - i0 : chunk;
        if (p0)
            proto_draw_ring(ctx, PROTO_P2, t, k * w);
        else
            st = proto_recv_deal(ctx, PROTO_P2, wire, k * w * 8, err);
        for (size_t i = 0; st == TRINE_OK && i < k; i++) {
            size_t e = i0 + i, sh = 4 * (e % 2);
            size_t c = ((size_t)(mine[e / 2] >> sh) + (size_t)(theirs[e / 2] >> sh)) & (w - 1);
            out[e] = p0 ? t[i * w + c] : proto_get_le(&wire[(i * w + c) * 8], 8);
        }
    }
    proto_wipe_free(r, n * 8), proto_wipe_free(t, chunk * w * 8);
    proto_wipe_free(mine, packed), proto_wipe_free(theirs, packed);
    proto_wipe_free(wire, chunk * w * 8);
    return st;
}

trine_status_t small_zero(proto_ctx_t *ctx, uint64_t *out, const uint64_t *v, size_t n, unsigned b,
                          trine_err_t *err)
{
    if (b < 1 || b > SMALL_ZERO_BITS_MAX)
        return trine_err_set(err, TRINE_EINVAL, "zero test: %u bits (1 to %d)", b,
                             SMALL_ZERO_BITS_MAX);
    if (n == 0)
        return TRINE_OK;
    if (proto_is_helper(ctx)) {
        memset(out, 0, n * 8);
        return small_zero_deal(ctx, n, b, err);
    }
    return small_zero_open(ctx, out, v, n, b, err);
}
