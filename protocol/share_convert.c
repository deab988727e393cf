/* share_convert.c — ShareConvert (SecureNN Algorithm 4): shares of a over
 * Z_L (L = 2^64, a != L - 1) to shares over Z_(L-1).
 *
 * theta = wrap(a0, a1, L) is what must be subtracted. P0 and P1 share a
 * random r = r0 + r1 (both know both halves, alpha = wrap(r0, r1, L)) and
 * a bit beta. With a~_j = a_j + r_j, beta_j = wrap(a_j, r_j, L), x = a~_0 +
 * a~_1 mod L, delta = wrap(a~_0, a~_1, L) and kappa = wrap(a, r, L) = (x <
 * r), the integers satisfy theta = beta_0 + beta_1 - alpha + delta - kappa.
 *   round 1: P0 -> P2 and P1 -> P2: a~_j (1 word each).
 *   round 2: P2 -> P1: Zp shares of the bits of x (56 bytes packed) and its
 *            share of delta over Z_(L-1) (1 word); P0's come from the P0-P2
 *            seed.
 *   round 3: PrivateCompare beta xor (x < r), P0, P1 -> P2 (112 bytes).
 *   round 4: P2 -> P1: its share of beta xor (x < r) over Z_(L-1).
 * 4 rounds, 200 bytes per element (SecureNN: 4 rounds, 304).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define BITS PROTO_RING_BITS

/* The helper's side: rounds 1, 2 and 4. */
static trine_status_t sc_helper(proto_ctx_t *ctx, size_t n, const uint8_t *attach,
                                size_t attach_len, trine_err_t *err)
{
    size_t bits_len = n * zp_packed_len(BITS), words = n * sizeof(uint64_t);
    uint64_t *a0 = malloc(words), *a1 = malloc(words), *share0 = malloc(words);
    uint8_t *msg = malloc(bits_len + words + attach_len), *beta = malloc(n);
    trine_status_t st = TRINE_OK;
    if (!a0 || !a1 || !share0 || !msg || !beta)
        st = trine_err_set(err, TRINE_ENOMEM, "share convert: no memory for %zu values", n);
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P0, a0, words, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P1, a1, words, err);
    if (st == TRINE_OK) {
        for (size_t e = 0; e < n; e++) {
            uint64_t x = a0[e] + a1[e];
            a1[e] = x < a0[e]; /* delta */
            a0[e] = x;
        }
        proto_bits_deal(ctx, a0, n, msg);
        proto_draw_ring(ctx, PROTO_P0, share0, n);
        for (size_t e = 0; e < n; e++) {
            uint64_t d1 = ringn_sub(a1[e], ringn_reduce(share0[e]));
            memcpy(msg + bits_len + e * sizeof d1, &d1, sizeof d1);
        }
        st = proto_send(ctx, PROTO_P1, msg, bits_len + words, err);
    }
    if (st == TRINE_OK)
        st = pc_run(ctx, PC_LT, NULL, NULL, NULL, beta, n, err);
    if (st == TRINE_OK) {
        proto_draw_ring(ctx, PROTO_P0, share0, n);
        for (size_t e = 0; e < n; e++) {
            uint64_t k1 = ringn_sub(beta[e], ringn_reduce(share0[e]));
            memcpy(msg + e * sizeof k1, &k1, sizeof k1);
        }
        if (attach_len)
            memcpy(msg + words, attach, attach_len);
        st = proto_send(ctx, PROTO_P1, msg, words + attach_len, err);
    }
    free(a0), free(a1), free(share0), free(msg), free(beta);
    return st;
}

typedef struct {
    uint64_t *r, *at, *delta, *kappa;
    uint8_t *beta, *bits, *msg;
} sc_bufs_t;

static void sc_free(sc_bufs_t *b)
{
    free(b->r), free(b->at), free(b->delta), free(b->kappa);
    free(b->beta), free(b->bits), free(b->msg);
}

/* The compute parties' side. */
static trine_status_t sc_party(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a, uint8_t *attach,
                               size_t attach_len, trine_err_t *err)
{
    size_t n = a->size, bits_len = n * zp_packed_len(BITS), words = n * sizeof(uint64_t);
    bool p0 = ctx->role == PROTO_P0;
    size_t msg_len = bits_len + words > words + attach_len ? bits_len + words : words + attach_len;
    sc_bufs_t b = {malloc(2 * words), malloc(words),    malloc(words),  malloc(words),
                   malloc(n),         malloc(n * BITS), malloc(msg_len)};
    if (!b.r || !b.at || !b.delta || !b.kappa || !b.beta || !b.bits || !b.msg) {
        sc_free(&b);
        return trine_err_set(err, TRINE_ENOMEM, "share convert: no memory for %zu values", n);
    }
    proto_draw_ring(ctx, proto_other(ctx), b.r, 2 * n);
    proto_draw_bits(ctx, proto_other(ctx), b.beta, n);
    const uint64_t *mine = p0 ? b.r : b.r + n;
    for (size_t e = 0; e < n; e++)
        b.at[e] = a->data[e] + mine[e];
    trine_status_t st = proto_send(ctx, PROTO_P2, b.at, words, err);
    if (st == TRINE_OK && p0) {
        proto_bits_draw(ctx, b.bits, n);
        proto_draw_ring(ctx, PROTO_P2, b.delta, n);
        proto_draw_ring(ctx, PROTO_P2, b.kappa, n);
    } else if (st == TRINE_OK) {
        st = proto_recv(ctx, PROTO_P2, b.msg, bits_len + words, err);
        if (st == TRINE_OK) {
            for (size_t e = 0; e < n; e++)
                zp_unpack(b.bits + e * BITS, b.msg + e * zp_packed_len(BITS), BITS);
            memcpy(b.delta, b.msg + bits_len, words);
        }
    }
    for (size_t e = 0; e < n; e++) /* the public r, then its own r~ no longer needed */
        b.at[e] = b.r[e] + b.r[n + e];
    if (st == TRINE_OK)
        st = pc_run(ctx, PC_LT, b.bits, b.at, b.beta, NULL, n, err);
    if (st == TRINE_OK && !p0) {
        st = proto_recv(ctx, PROTO_P2, b.msg, words + attach_len, err);
        if (st == TRINE_OK) {
            memcpy(b.kappa, b.msg, words);
            if (attach_len)
                memcpy(attach, b.msg + words, attach_len);
        }
    }
    for (size_t e = 0; st == TRINE_OK && e < n; e++) {
        uint64_t r = b.at[e], eta = ringn_reduce(b.kappa[e]);
        uint64_t alpha = r < b.r[e];
        uint64_t wrap_j = a->data[e] + mine[e] < a->data[e];
        /* kappa = beta xor eta' for the shared eta' = beta xor (x < r) */
        uint64_t kappa = b.beta[e] ? ringn_sub(p0 ? 1 : 0, eta) : eta;
        uint64_t theta = ringn_add(wrap_j, ringn_reduce(b.delta[e]));
        theta = ringn_sub(theta, kappa);
        if (p0)
            theta = ringn_sub(theta, alpha);
        out->data[e] = ringn_sub(ringn_reduce(a->data[e]), theta);
    }
    sc_free(&b);
    return st;
}

trine_status_t sc_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a, uint8_t *attach,
                      size_t attach_len, trine_err_t *err)
{
    const tensor_t *t[] = {out, a};
    trine_status_t st = proto_check_shapes("share convert", t, 2, err);
    if (st != TRINE_OK)
        return st;
    if (!proto_is_helper(ctx))
        return sc_party(ctx, out, a, attach, attach_len, err);
    proto_zero(out);
    return sc_helper(ctx, a->size, attach, attach_len, err);
}

trine_status_t proto_share_convert(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a,
                                   trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_SHARE_CONVERT, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, sc_run(ctx, out, a, NULL, 0, err));
}
