/* relu_fss.c — DReLU, ReLU and ReLU after a truncation by function secret
 * sharing, with P2 as the dealer (protocol = fss; the dealer model of Orca
 * and SIGMA, the comparison of Boyle et al. 2021 on dcf.h).
 *
 * P2 draws a mask r = r0 + r1 from the seeds it shares with P0 (r0) and P1
 * (r1). P0 and P1 open x^ = x + r (mod 2^64), uniform whatever x is, which
 * P2 never sees. Write x^ = 2^63 a + x', r = 2^63 b + r' (a, b the top
 * bits). Then x = x^ - r has top bit
 *     MSB(x) = a xor b xor c,   c = [x' < r'],
 * the borrow of the low 63 bits, for every ring element x (no range
 * condition). P2 deals a comparison key pair for f(x') = beta [x' < r']
 * with beta = 1 - 2b, and shares of b, so that P0 and P1 hold shares of
 * m = b xor c = b + (1 - 2b) c locally; with the public a,
 *     D = DReLU(x) = 1 - (a xor m) = (1 - a) - (1 - 2a) m.
 * For ReLU the key carries a second word, beta' = r (1 - 2b), and P2 deals
 * shares of r b as well, giving shares of r m; then
 *     ReLU(x) = x D = x^ D - r D = x^ D - ((1 - a) r - (1 - 2a) r m),
 * local too.
 *
 * ReLU after an exact truncation by d bits (-2^62 <= x < 2^62; trunc.c's
 * algebra with z = x^ + 2^62 the opening there): the truncation is
 *     T = pub - R + e b,  pub = floor(z / 2^d) - 2^(62-d),  R = floor(r / 2^d),
 *     e = 2^(64-d) when z's top bit is 0, else 0,
 * floor(x / 2^d) or one more, so T <= 0 exactly when x < 0 and
 * ReLU(T) = T D. The key's words are (1 - 2b) (1, R, -b) and P2 deals
 * shares of b, R b and R, giving shares of m, R m and b m = b - b c, so
 *     T D = pub D - ((1 - a) R - (1 - 2a) R m) + e ((1 - a) b - (1 - 2a) b m)
 * is local: truncation and ReLU in the one opening.
 *
 * Each takes one round: P0 <-> P1 one word each way per element (16 bytes
 * online), while P2's keys (dcf_key_bytes: 1,536 bytes a party for DReLU,
 * 2,048 for ReLU, 2,560 after a truncation) are input-independent, the
 * offline part. The roots of the keys and P0's shares come from the seeds
 * P2 shares with P0 and P1; only the correction words (both parties) and
 * P1's shares travel. Keys go in chunks of FSS_CHUNK elements, so a party
 * holds one chunk's keys at a time.
 */
#include "internal.h"

#include "dcf.h"

#include <stdlib.h>

#define FSS_CHUNK 4096u
#define FSS_LOW   (((uint64_t)1 << 63) - 1)

/* What is computed; the value is the key's word count. */
typedef enum { FSS_DRELU = 1, FSS_RELU = 2, FSS_RELU_TRUNC = 3 } fss_mode_t;

/* Buffers of one chunk at any party. */
typedef struct {
    uint64_t *root0, *root1;     /* P2 both, P0 / P1 their own in root0 */
    uint64_t *alpha, *beta;      /* P2; P0 / P1: the points they evaluate in alpha */
    uint64_t *u0, *u;            /* the dealt shares: P0's drawn (P2: u0), P1's received */
    uint64_t *v;                 /* P0 / P1: the comparison's output shares */
    uint8_t *wire;               /* the keys, and P1's shares after them */
    size_t cap, wire_len, words; /* elements a chunk holds: FSS_CHUNK or fewer */
} fss_buf_t;

static void fss_buf_free(fss_buf_t *b)
{
    size_t c = b->cap, w = b->words;
    proto_wipe_free(b->root0, c * DCF_SEED_WORDS * 8);
    proto_wipe_free(b->root1, c * DCF_SEED_WORDS * 8);
    proto_wipe_free(b->alpha, c * 8);
    proto_wipe_free(b->beta, c * w * 8);
    proto_wipe_free(b->u0, c * w * 8);
    proto_wipe_free(b->u, c * w * 8);
    proto_wipe_free(b->v, c * w * 8);
    proto_wipe_free(b->wire, b->wire_len);
    *b = (fss_buf_t){0};
}

/* Buffers for the chunks of n elements. */
static trine_status_t fss_buf_new(fss_buf_t *b, size_t n, unsigned words, trine_err_t *err)
{
    size_t c = n < FSS_CHUNK ? n : FSS_CHUNK;
    *b = (fss_buf_t){.cap = c, .words = words, .wire_len = c * (dcf_key_bytes(words) + words * 8)};
    b->root0 = malloc(c * DCF_SEED_WORDS * 8);
    b->root1 = malloc(c * DCF_SEED_WORDS * 8);
    b->alpha = malloc(c * 8);
    b->beta = malloc(c * words * 8);
    b->u0 = malloc(c * words * 8);
    b->u = malloc(c * words * 8);
    b->v = malloc(c * words * 8);
    b->wire = malloc(b->wire_len);
    if (b->root0 && b->root1 && b->alpha && b->beta && b->u0 && b->u && b->v && b->wire)
        return TRINE_OK;
    fss_buf_free(b);
    return trine_err_set(err, TRINE_ENOMEM, "fss: no memory for a chunk of %zu keys", c);
}

/* P2: the payload beta and the shares u to deal (mode words each) for
 * mask r, truncating by d bits for FSS_RELU_TRUNC. */
static void fss_payload(fss_mode_t mode, uint64_t r, unsigned d, uint64_t *beta, uint64_t *u)
{
    uint64_t b = r >> 63, sign = 1 - 2 * b, big = mode == FSS_RELU ? r : r >> d;
    beta[0] = sign, u[0] = b;
    if (mode >= FSS_RELU)
        beta[1] = big * sign, u[1] = big * b;
    if (mode == FSS_RELU_TRUNC)
        beta[2] = 0 - b, u[2] = big;
}

/* P2 (n > 0): the masks, then chunk by chunk the keys and P1's shares. */
static trine_status_t fss_deal(proto_ctx_t *ctx, size_t n, fss_mode_t mode, unsigned d,
                               trine_err_t *err)
{
    unsigned words = (unsigned)mode;
    uint64_t *r = malloc(n * sizeof *r), *r1 = malloc(n * sizeof *r1);
    fss_buf_t b;
    trine_status_t st = fss_buf_new(&b, n, words, err);
    if (st == TRINE_OK && (!r || !r1))
        st = trine_err_set(err, TRINE_ENOMEM, "fss: no memory for %zu masks", n);
    if (st == TRINE_OK) {
        proto_draw_ring(ctx, PROTO_P0, r, n);
        proto_draw_ring(ctx, PROTO_P1, r1, n);
        for (size_t i = 0; i < n; i++)
            r[i] += r1[i];
    }
    size_t kb = dcf_key_bytes(words);
    for (size_t e0 = 0; st == TRINE_OK && e0 < n; e0 += FSS_CHUNK) {
        size_t c = n - e0 < FSS_CHUNK ? n - e0 : FSS_CHUNK;
        proto_draw_ring(ctx, PROTO_P0, b.root0, c * DCF_SEED_WORDS);
        proto_draw_ring(ctx, PROTO_P0, b.u0, c * words);
        proto_draw_ring(ctx, PROTO_P1, b.root1, c * DCF_SEED_WORDS);
        for (size_t i = 0; i < c; i++) {
            uint64_t u[DCF_WORDS_MAX];
            b.alpha[i] = r[e0 + i] & FSS_LOW;
            fss_payload(mode, r[e0 + i], d, &b.beta[i * words], u);
            for (unsigned w = 0; w < words; w++)
                proto_put_le(&b.wire[c * kb + (i * words + w) * 8], u[w] - b.u0[i * words + w], 8);
        }
        dcf_gen(b.wire, b.root0, b.root1, b.alpha, b.beta, words, c);
        st = proto_send_deal(ctx, PROTO_P0, b.wire, c * kb, err);
        if (st == TRINE_OK)
            st = proto_send_deal(ctx, PROTO_P1, b.wire, c * (kb + words * 8), err);
    }
    proto_wipe_free(r, n * sizeof *r), proto_wipe_free(r1, n * sizeof *r1);
    fss_buf_free(&b);
    return st;
}

/* P0 and P1: element i's outputs from the opened xi, its mask share ri,
 * the dealt shares u and the comparison's output shares v (mode words
 * each): *dr the share of DReLU, and of the ReLU (after the truncation by
 * d bits for FSS_RELU_TRUNC) as the return value. */
static uint64_t fss_outputs(fss_mode_t mode, bool p0, uint64_t xi, uint64_t ri, const uint64_t *u,
                            const uint64_t *v, unsigned d, uint64_t *dr)
{
    uint64_t a = xi >> 63, keep = 1 - a, sign = 1 - 2 * a;
    *dr = (p0 ? keep : 0) - sign * (u[0] + v[0]); /* D = (1 - a) - (1 - 2a) m */
    if (mode == FSS_RELU)                         /* x^ D - ((1 - a) r - (1 - 2a) r m) */
        return xi * *dr - (keep * ri - sign * (u[1] + v[1]));
    if (mode == FSS_DRELU)
        return 0;
    uint64_t z = xi + PROTO_TRUNC_BIAS, pub = (z >> d) - (PROTO_TRUNC_BIAS >> d);
    uint64_t e = z >> 63 ? 0 : (uint64_t)1 << (64 - d);
    uint64_t rd = keep * u[2] - sign * (u[1] + v[1]); /* R D */
    uint64_t bd = keep * u[0] - sign * (u[0] + v[2]); /* b D, b m = b - b c */
    return pub * *dr - rd + e * bd;
}

/* P0 and P1 (n > 0): open x^, then chunk by chunk evaluate and form the
 * shares of DReLU (into dout, may be NULL but for FSS_DRELU) and of the
 * ReLU (into out, unless FSS_DRELU). */
static trine_status_t fss_eval(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                               fss_mode_t mode, unsigned d, trine_err_t *err)
{
    unsigned words = (unsigned)mode;
    size_t n = x->size, kb = dcf_key_bytes(words);
    bool p0 = ctx->role == PROTO_P0;
    uint64_t *rb = malloc(n * sizeof *rb), *xh = malloc(n * sizeof *xh);
    uint64_t *theirs = malloc(n * sizeof *theirs);
    fss_buf_t b;
    trine_status_t st = fss_buf_new(&b, n, words, err);
    if (st == TRINE_OK && (!rb || !xh || !theirs))
        st = trine_err_set(err, TRINE_ENOMEM, "fss: no memory for %zu values", n);
    if (st == TRINE_OK) {
        proto_draw_ring(ctx, PROTO_P2, rb, n);
        for (size_t i = 0; i < n; i++)
            xh[i] = x->data[i] + rb[i];
        st = proto_send(ctx, proto_other(ctx), xh, n * sizeof *xh, err);
    }
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), theirs, n * sizeof *theirs, err);
    if (st == TRINE_OK)
        for (size_t i = 0; i < n; i++)
            xh[i] += theirs[i];
    for (size_t e0 = 0; st == TRINE_OK && e0 < n; e0 += FSS_CHUNK) {
        size_t c = n - e0 < FSS_CHUNK ? n - e0 : FSS_CHUNK;
        proto_draw_ring(ctx, PROTO_P2, b.root0, c * DCF_SEED_WORDS);
        if (p0)
            proto_draw_ring(ctx, PROTO_P2, b.u, c * words);
        st = proto_recv_deal(ctx, PROTO_P2, b.wire, c * (kb + (p0 ? 0 : words * 8)), err);
        if (st != TRINE_OK)
            break;
        if (!p0)
            for (size_t i = 0; i < c * words; i++)
                b.u[i] = proto_get_le(&b.wire[c * kb + i * 8], 8);
        for (size_t i = 0; i < c; i++)
            b.alpha[i] = xh[e0 + i] & FSS_LOW;
        dcf_eval(b.v, p0 ? 0 : 1, b.root0, b.wire, b.alpha, words, c);
        for (size_t i = 0; i < c; i++) {
            uint64_t dr, y = fss_outputs(mode, p0, xh[e0 + i], rb[e0 + i], &b.u[i * words],
                                         &b.v[i * words], d, &dr);
            if (dout)
                dout->data[e0 + i] = dr;
            if (out)
                out->data[e0 + i] = y;
        }
    }
    proto_wipe_free(rb, n * sizeof *rb), proto_wipe_free(xh, n * sizeof *xh);
    proto_wipe_free(theirs, n * sizeof *theirs);
    fss_buf_free(&b);
    return st;
}

static trine_status_t fss_run(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                              fss_mode_t mode, unsigned d, trine_err_t *err)
{
    const tensor_t *t[] = {x, out ? out : x, dout ? dout : x};
    trine_status_t st = proto_check_shapes(mode == FSS_DRELU ? "drelu" : "relu", t, 3, err);
    if (st != TRINE_OK || x->size == 0)
        return st;
    if (proto_is_helper(ctx)) {
        st = fss_deal(ctx, x->size, mode, d, err);
        if (out)
            proto_zero(out);
        if (dout)
            proto_zero(dout);
        return st;
    }
    return fss_eval(ctx, out, dout, x, mode, d, err);
}

trine_status_t fss_drelu(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    return fss_run(ctx, NULL, out, x, FSS_DRELU, 0, err);
}

trine_status_t fss_relu(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                        trine_err_t *err)
{
    return fss_run(ctx, out, dout, x, FSS_RELU, 0, err);
}

trine_status_t fss_relu_trunc(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                              unsigned bits, trine_err_t *err)
{
    return fss_run(ctx, out, dout, x, FSS_RELU_TRUNC, bits, err);
}
