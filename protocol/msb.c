/* msb.c — ComputeMSB (SecureNN Algorithm 5): shares of a over the odd ring
 * Z_N, N = 2^64 - 1, to shares over Z_2^64 of MSB(a).
 *
 * Over an odd ring MSB(a) = LSB(y) for y = 2a, and for a random x that P2
 * picks, with c = y + x mod N: LSB(y) = c[0] xor x[0] xor (x > c). P2's x
 * needs no message: its shares are the next words of the seeds P2 shares
 * with P0 and with P1. SecureNN's last step multiplies two shared bits;
 * here P2, who learns beta' = beta xor (x > c) and knows x[0], deals
 * beta' xor x[0] instead, and P0 and P1 fold in the public c[0] xor beta.
 *   round 1: P2 -> P1: Zp shares of the bits of x (56 bytes packed);
 *            P0 <-> P1: their shares of c (1 word each way).
 *   round 2: PrivateCompare beta xor (x > c), P0, P1 -> P2 (112 bytes).
 *   round 3: P2 -> P1: its share of beta' xor x[0] over Z_2^64 (1 word).
 * 3 rounds, 192 bytes per element (SecureNN: 5 rounds, 360 bytes).
 * DReLU sends round 1's dealing with ShareConvert's last message.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define BITS PROTO_RING_BITS

void msb_deal_free(msb_deal_t *d)
{
    free(d->x);
    free(d->bits);
    free(d->wire);
    memset(d, 0, sizeof *d);
}

trine_status_t msb_deal_new(proto_ctx_t *ctx, msb_deal_t *d, size_t n, trine_err_t *err)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->x = malloc(n * sizeof *d->x);
    if (!proto_is_helper(ctx))
        d->bits = malloc(n * BITS);
    if (ctx->role != PROTO_P0) {
        d->wire_len = n * zp_packed_len(BITS);
        d->wire = malloc(d->wire_len);
    }
    if (!d->x || (!proto_is_helper(ctx) && !d->bits) || (ctx->role != PROTO_P0 && !d->wire)) {
        msb_deal_free(d);
        return trine_err_set(err, TRINE_ENOMEM, "msb: no memory for %zu values", n);
    }
    if (!proto_is_helper(ctx)) {
        proto_draw_ring(ctx, PROTO_P2, d->x, n);
        for (size_t e = 0; e < n; e++)
            d->x[e] = ringn_reduce(d->x[e]);
        if (ctx->role == PROTO_P0)
            proto_bits_draw(ctx, d->bits, n);
        return TRINE_OK;
    }
    uint64_t *x1 = malloc(n * sizeof *x1);
    if (!x1) {
        msb_deal_free(d);
        return trine_err_set(err, TRINE_ENOMEM, "msb: no memory for %zu values", n);
    }
    proto_draw_ring(ctx, PROTO_P0, d->x, n);
    proto_draw_ring(ctx, PROTO_P1, x1, n);
    for (size_t e = 0; e < n; e++)
        d->x[e] = ringn_add(ringn_reduce(d->x[e]), ringn_reduce(x1[e]));
    free(x1);
    proto_bits_deal(ctx, d->x, n, d->wire);
    return TRINE_OK;
}

static trine_status_t msb_helper(proto_ctx_t *ctx, const msb_deal_t *d, trine_err_t *err)
{
    size_t n = d->n;
    uint8_t *beta = malloc(n);
    uint64_t *b1 = malloc(n * sizeof *b1);
    trine_status_t st = TRINE_OK;
    if (!beta || !b1)
        st = trine_err_set(err, TRINE_ENOMEM, "msb: no memory for %zu values", n);
    if (st == TRINE_OK)
        st = pc_run(ctx, PC_GT, NULL, NULL, NULL, beta, n, err);
    if (st == TRINE_OK) {
        proto_draw_ring(ctx, PROTO_P0, b1, n);
        for (size_t e = 0; e < n; e++)
            b1[e] = (uint64_t)(beta[e] ^ (d->x[e] & 1)) - b1[e];
        st = proto_send(ctx, PROTO_P1, b1, n * sizeof *b1, err);
    }
    free(beta);
    free(b1);
    return st;
}

static trine_status_t msb_party(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a, msb_deal_t *d,
                                trine_err_t *err)
{
    size_t n = d->n, words = n * sizeof(uint64_t);
    uint64_t *c = malloc(words), *other = malloc(words), *b = malloc(words);
    uint8_t *beta = malloc(n);
    trine_status_t st = TRINE_OK;
    if (!c || !other || !b || !beta)
        st = trine_err_set(err, TRINE_ENOMEM, "msb: no memory for %zu values", n);
    for (size_t e = 0; st == TRINE_OK && e < n; e++) {
        uint64_t ae = ringn_reduce(a->data[e]);
        c[e] = ringn_add(ringn_add(ae, ae), d->x[e]);
    }
    if (st == TRINE_OK)
        st = proto_send(ctx, proto_other(ctx), c, words, err);
    if (st == TRINE_OK && ctx->role == PROTO_P1 && d->pending)
        st = proto_recv_deal(ctx, PROTO_P2, d->wire, d->wire_len, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), other, words, err);
    if (st == TRINE_OK) {
        for (size_t e = 0; e < n; e++)
            c[e] = ringn_add(c[e], other[e]);
        if (ctx->role == PROTO_P1)
            for (size_t e = 0; e < n; e++)
                zp_unpack(d->bits + e * BITS, d->wire + e * zp_packed_len(BITS), BITS);
        proto_draw_bits(ctx, proto_other(ctx), beta, n);
        st = pc_run(ctx, PC_GT, d->bits, c, beta, NULL, n, err);
    }
    if (st == TRINE_OK && ctx->role == PROTO_P0)
        proto_draw_ring(ctx, PROTO_P2, b, n);
    else if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P2, b, words, err);
    for (size_t e = 0; st == TRINE_OK && e < n; e++) {
        /* alpha = f xor b for the public f = c[0] xor beta */
        unsigned f = (unsigned)(c[e] & 1) ^ beta[e];
        uint64_t pub = ctx->role == PROTO_P0 ? f : 0;
        out->data[e] = f ? pub - b[e] : pub + b[e];
    }
    free(c), free(other), free(b), free(beta);
    return st;
}

trine_status_t msb_finish(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a, msb_deal_t *d,
                          trine_err_t *err)
{
    if (proto_is_helper(ctx)) {
        proto_zero(out);
        return msb_helper(ctx, d, err);
    }
    return msb_party(ctx, out, a, d, err);
}

static trine_status_t msb_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a, trine_err_t *err)
{
    const tensor_t *t[] = {out, a};
    trine_status_t st = proto_check_shapes("msb", t, 2, err);
    if (st != TRINE_OK)
        return st;
    msb_deal_t d;
    st = msb_deal_new(ctx, &d, a->size, err);
    if (st != TRINE_OK)
        return st;
    d.pending = true;
    if (ctx->role == PROTO_P2)
        st = proto_send_deal(ctx, PROTO_P1, d.wire, d.wire_len, err);
    if (st == TRINE_OK)
        st = msb_finish(ctx, out, a, &d, err);
    msb_deal_free(&d);
    return st;
}

trine_status_t proto_msb(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_MSB, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, msb_run(ctx, out, a, err));
}
