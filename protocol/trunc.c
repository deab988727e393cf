/* trunc.c — dividing shared fixed-point values by 2^d: exact truncation
 * with a dealer (the default), or SecureML's local rule.
 *
 * Exact. For a shared x with -2^62 <= x < 2^62 (as a signed ring element)
 * the result is floor(x / 2^d) or floor(x / 2^d) + 1: within one unit in
 * the last place, always. P0 biases its share by 2^62 so that the value
 * x' = x + 2^62 lies in [0, 2^63). P2 draws r = r0 + r1 from the seeds it
 * shares with P0 (r0) and P1 (r1); P0 and P1 open z = x' + r (mod 2^64),
 * uniform whatever x is, and P2 never sees it. As integers,
 *     x' = z - r + 2^64 w,   w = [x' + r >= 2^64] = r_63 (1 - z_63)
 * (r_63, z_63 the top bits: since x' < 2^63, z wraps past 2^64 only when
 * r >= 2^63, and then exactly when z's top bit is 0). So
 *     floor(x' / 2^d) = floor(z / 2^d) - floor(r / 2^d) + 2^(64-d) w - c
 * with c = [z mod 2^d < r mod 2^d] in {0, 1}, the carry of the low bits,
 * which is left out. P2 deals shares of R = floor(r / 2^d) and of the bit
 * r_63; since r_63 is only ever multiplied by 2^(64-d), its shares matter
 * modulo 2^d. P0's shares come from the P0-P2 seed, so only P1's travel:
 * one word for -R and ceil(d / 8) bytes for r_63. Each party's share of
 * the result is then local: P0 takes floor(z / 2^d) - 2^(62-d) plus its
 * shares, P1 its shares, the r_63 share times 2^(64-d) only where z_63 = 0.
 *
 * Round 1: P0 <-> P1 z0, z1 (one word each way); P2 -> P1 the dealing
 * (one word and ceil(d / 8) bytes). 1 round, 24 + ceil(d / 8) bytes per
 * element: 26 at d = 13, 27 at d = 20. (The wrap count of the shares is
 * what CrypTen's "wraps" computes with a trusted third party; CrypTen drops
 * the term w, which is wrong with probability |x| / 2^64 — here it is
 * exact because x' < 2^63.)
 *
 * Local (SecureML): P0 shifts its share arithmetically, P1 negates, shifts
 * and negates back; no messages. The result is floor(x / 2^d) or one more
 * except with probability about |x| / 2^63, when it is off by 2^(64-d)
 * (tensor/fixed.h).
 */
#include "internal.h"

#include "tensor/fixed.h"

#include <stdlib.h>


/* Bytes of P1's share of r_63 modulo 2^d. */
static size_t trunc_bit_bytes(unsigned d)
{
    return (d + 7) / 8;
}

/* P2: draws r and P0's shares as P0 does, and sends P1 its shares of -R
 * and r_63 (mod 2^d), packed word by word, little-endian; r into r_out
 * unless NULL. */
trine_status_t trunc_deal(proto_ctx_t *ctx, size_t n, unsigned d, uint64_t *r_out,
                          trine_err_t *err)
{
    size_t nb = trunc_bit_bytes(d), stride = 8 + nb;
    uint64_t *r = malloc(n * sizeof *r), *r1 = malloc(n * sizeof *r1);
    uint64_t *t0 = malloc(n * sizeof *t0), *k0 = malloc(n * sizeof *k0);
    uint8_t *wire = malloc(n * stride);
    trine_status_t st = TRINE_OK;
    if (!r || !r1 || !t0 || !k0 || !wire) {
        st = trine_err_set(err, TRINE_ENOMEM, "truncation: no memory for %zu values", n);
    } else {
        proto_draw_ring(ctx, PROTO_P0, r, n);
        proto_draw_ring(ctx, PROTO_P0, t0, n);
        proto_draw_ring(ctx, PROTO_P0, k0, n);
        proto_draw_ring(ctx, PROTO_P1, r1, n);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = r[i] + r1[i];
            if (r_out)
                r_out[i] = v;
            uint64_t t1 = (0 - (v >> d)) - t0[i], k1 = (v >> 63) - k0[i];
            proto_put_le(&wire[i * stride], t1, 8);
            proto_put_le(&wire[i * stride + 8], k1, nb);
        }
        st = proto_send_deal(ctx, PROTO_P1, wire, n * stride, err);
    }
    proto_wipe_free(r, n * sizeof *r), proto_wipe_free(r1, n * sizeof *r1);
    proto_wipe_free(t0, n * sizeof *t0), proto_wipe_free(k0, n * sizeof *k0);
    proto_wipe_free(wire, n * stride);
    return st;
}

void trunc_half_free(trunc_half_t *h)
{
    size_t n = h->n;
    proto_wipe_free(h->mine, n * 8), proto_wipe_free(h->t, n * 8);
    proto_wipe_free(h->k, n * 8), proto_wipe_free(h->wire, n * (8 + trunc_bit_bytes(h->d)));
    *h = (trunc_half_t){0};
}

trine_status_t trunc_half_new(proto_ctx_t *ctx, trunc_half_t *h, const tensor_t *x, unsigned d,
                              trine_err_t *err)
{
    size_t n = x->size;
    bool p0 = ctx->role == PROTO_P0;
    *h = (trunc_half_t){.n = n, .d = d};
    h->mine = malloc(n * 8), h->t = malloc(n * 8), h->k = malloc(n * 8);
    h->wire = p0 ? NULL : malloc(n * (8 + trunc_bit_bytes(d)));
    if (!h->mine || !h->t || !h->k || (!p0 && !h->wire)) {
        trunc_half_free(h);
        return trine_err_set(err, TRINE_ENOMEM, "truncation: no memory for %zu values", n);
    }
    proto_draw_ring(ctx, PROTO_P2, h->mine, n); /* the share of r */
    if (p0) {
        proto_draw_ring(ctx, PROTO_P2, h->t, n);
        proto_draw_ring(ctx, PROTO_P2, h->k, n);
    }
    for (size_t i = 0; i < n; i++)
        h->mine[i] += x->data[i] + (p0 ? PROTO_TRUNC_BIAS : 0);
    return TRINE_OK;
}

trine_status_t trunc_half_recv_deal(proto_ctx_t *ctx, trunc_half_t *h, trine_err_t *err)
{
    size_t nb = trunc_bit_bytes(h->d), stride = 8 + nb;
    if (ctx->role == PROTO_P0)
        return TRINE_OK;
    trine_status_t st = proto_recv_deal(ctx, PROTO_P2, h->wire, h->n * stride, err);
    for (size_t i = 0; st == TRINE_OK && i < h->n; i++) {
        h->t[i] = proto_get_le(&h->wire[i * stride], 8);
        h->k[i] = proto_get_le(&h->wire[i * stride + 8], nb);
    }
    return st;
}

void trunc_half_finish(const proto_ctx_t *ctx, const trunc_half_t *h, const uint64_t *theirs,
                       uint64_t *out)
{
    unsigned d = h->d;
    uint64_t pub_bias = PROTO_TRUNC_BIAS >> d;
    for (size_t i = 0; i < h->n; i++) {
        uint64_t z = h->mine[i] + theirs[i];
        uint64_t s = h->t[i] + ((z >> 63) ? 0 : h->k[i] << (64 - d));
        out[i] = ctx->role == PROTO_P0 ? s + (z >> d) - pub_bias : s;
    }
}

/* P0 and P1: open z, then form the share of the result in x. */
static trine_status_t trunc_open(proto_ctx_t *ctx, tensor_t *x, unsigned d, trine_err_t *err)
{
    trunc_half_t h;
    trine_status_t st = trunc_half_new(ctx, &h, x, d, err);
    if (st != TRINE_OK)
        return st;
    uint64_t *theirs = malloc(x->size * 8);
    if (!theirs)
        st = trine_err_set(err, TRINE_ENOMEM, "truncation: no memory for %zu values", x->size);
    if (st == TRINE_OK)
        st = proto_send(ctx, proto_other(ctx), h.mine, h.n * 8, err);
    if (st == TRINE_OK)
        st = trunc_half_recv_deal(ctx, &h, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), theirs, h.n * 8, err);
    if (st == TRINE_OK)
        trunc_half_finish(ctx, &h, theirs, x->data);
    proto_wipe_free(theirs, x->size * 8);
    trunc_half_free(&h);
    return st;
}

static trine_status_t trunc_run(proto_ctx_t *ctx, tensor_t *x, unsigned bits, trine_err_t *err)
{
    if (bits > FIXED_FRAC_BITS_MAX)
        return trine_err_set(err, TRINE_EINVAL, "cannot truncate by %u bits (at most %d)", bits,
                             FIXED_FRAC_BITS_MAX);
    if (bits == 0 || x->size == 0)
        return TRINE_OK;
    if (ctx->trunc == PROTO_TRUNC_LOCAL) {
        if (proto_is_helper(ctx))
            return TRINE_OK;
        return fixed_truncate_share(x, bits,
                                    ctx->role == PROTO_P0 ? FIXED_SHARE_P0 : FIXED_SHARE_P1);
    }
    if (proto_is_helper(ctx))
        return trunc_deal(ctx, x->size, bits, NULL, err);
    return trunc_open(ctx, x, bits, err);
}

trine_status_t proto_truncate(proto_ctx_t *ctx, tensor_t *x, unsigned bits, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_TRUNC, err);
    if (st != TRINE_OK)
        return st;
    st = trunc_run(ctx, x, bits, err);
    if (proto_is_helper(ctx))
        proto_zero(x);
    return proto_op_end(ctx, st);
}
