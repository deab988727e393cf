/* private_compare.c — PrivateCompare (SecureNN Algorithm 3).
 *
 * P0 and P1 hold Zp shares (p = 67) of the 64 bits of a secret x, a public
 * t and a common random bit beta; P2 learns beta xor (x > t) and nothing
 * else. For "x > t" each party forms shares of
 *     c_i = t_i - x_i + 1 + sum_{k > i} (x_k xor t_k),
 * which is zero at exactly one i when x > t (the first bit where they
 * differ, if x has the 1) and at none otherwise; "x < t" swaps x_i and t_i.
 * c_i <= 65 < p, so the sums never wrap. beta = 1 asks the negated
 * question, which turns a strict comparison into the other direction with
 * t +- 1; where that would overflow (x <= 2^64 - 1, x >= 0) the answer is
 * known and the parties share a vector with exactly one zero.
 *
 * P0 and P1 multiply by common random s_i in Z_p*, add common u_i (P0) and
 * -u_i (P1) so that neither share alone tells P2 anything (P2 dealt the
 * bit shares and knows them), and rotate the 64 positions by a common
 * random offset. SecureNN permutes them at random; a rotation hides as
 * much: P2 reconstructs s_i c_i, which is 0 where c_i is and otherwise
 * uniform in Z_p* and independent of everything else, so all it can learn
 * is where the zero is, and a uniform rotation puts it at a uniform place.
 * (It saves a third of the randomness and the shuffling, which dominated.)
 * Round 1: P0 -> P2 and P1 -> P2, 64 digits each,
 * packed 7 bits: 2 * 56 = 112 bytes per element (SecureNN: 128, one byte
 * per digit). P2 reconstructs and looks for a zero. 1 round.
 */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define BITS PROTO_RING_BITS

/* Common randomness per value: 64 words for (s_i, u_i) pairs and one for
 * the rotation, each draw from one 32-bit half (proto_digit: no division). */
#define PC_WORDS (BITS + 1)

typedef enum { C_GT, C_LT, C_ALWAYS } c_kind_t;

/* Fills d with this party's 64 masked, rotated digits of one value. The
 * loops are written so that the compiler vectorizes them: every term is
 * formed whole first (w_i <= p, c_i before the sum <= 2p + 1), the suffix
 * sums are plain additions (at most 64 p + 2p + 1 < 2^13, no reduction
 * needed until the end), and the reductions mod p are independent.
 * scratch holds the shares in between; the caller wipes it once. */
typedef struct {
    uint32_t c[BITS], w[BITS], m[BITS];
} pc_scratch_t;

static void pc_value(uint8_t *d, const uint8_t *x, uint64_t t, c_kind_t kind, bool p0,
                     const uint64_t *rnd, pc_scratch_t *scratch)
{
    uint32_t *c = scratch->c, *w = scratch->w, *m = scratch->m;
    uint32_t own = p0 ? 1 : 0;
    for (int i = 0; i < BITS; i++) {
        uint32_t ti = (uint32_t)(t >> i) & 1, xi = x[i];
        /* w_i = x_i xor t_i = t_i + x_i (1 - 2 t_i) */
        w[i] = own * ti + (ti ? PROTO_P - xi : xi);
        if (kind == C_GT)
            c[i] = own * (ti + 1) + (PROTO_P - xi);
        else if (kind == C_LT)
            c[i] = own * (1 + PROTO_P - ti) + xi;
        else
            c[i] = own ? 0 : (i != 0);
    }
    if (kind != C_ALWAYS) {
        uint32_t sum = 0; /* share of sum_{k > i} w_k */
        for (int i = BITS - 1; i >= 0; i--) {
            c[i] += sum;
            sum += w[i];
        }
    }
    for (int i = 0; i < BITS; i++) {
        uint32_t s = 1 + proto_digit(rnd[i], 0, PROTO_P - 1), u = proto_digit(rnd[i], 1, PROTO_P);
        m[i] = (s * (c[i] % PROTO_P) + (own ? u : PROTO_P - u)) % PROTO_P;
    }
    unsigned rot = proto_digit(rnd[BITS], 0, BITS);
    for (unsigned i = 0; i < BITS - rot; i++)
        d[i + rot] = (uint8_t)m[i];
    for (unsigned i = BITS - rot; i < BITS; i++)
        d[i + rot - BITS] = (uint8_t)m[i];
}

/* Turns (mode, public value, beta) into the question the c_i ask. */
static c_kind_t pc_question(pc_mode_t mode, uint64_t pub, uint8_t beta, uint64_t *t)
{
    *t = pub;
    if (!beta)
        return mode == PC_GT ? C_GT : C_LT;
    if (mode == PC_GT) { /* not (x > t): x < t + 1 */
        if (pub == UINT64_MAX)
            return C_ALWAYS;
        *t = pub + 1;
        return C_LT;
    }
    if (pub == 0) /* not (x < t): x > t - 1 */
        return C_ALWAYS;
    *t = pub - 1;
    return C_GT;
}

/* Values are processed in blocks so that the randomness needs no buffer
 * the size of the input. */
#define PC_BLOCK 64

static trine_status_t pc_compute(proto_ctx_t *ctx, pc_mode_t mode, const uint8_t *x,
                                 const uint64_t *pub, const uint8_t *beta, size_t n,
                                 trine_err_t *err)
{
    size_t digits = n * BITS, bytes = zp_packed_len(digits);
    uint8_t *d = malloc(digits), *wire = malloc(bytes);
    uint64_t *rnd = malloc(PC_BLOCK * PC_WORDS * sizeof *rnd);
    trine_status_t st = TRINE_OK;
    if (!d || !wire || !rnd)
        st = trine_err_set(err, TRINE_ENOMEM, "private compare: no memory for %zu values", n);
    uint64_t stream = ctx->stream[proto_other(ctx)]++;
    pc_scratch_t scratch;
    for (size_t b = 0; st == TRINE_OK && b < n; b += PC_BLOCK) {
        size_t k = n - b < PC_BLOCK ? n - b : PC_BLOCK;
        prg_fill_ring(ctx->prg[proto_other(ctx)], stream, b * PC_WORDS, rnd, k * PC_WORDS);
        for (size_t e = b; e < b + k; e++) {
            uint64_t t;
            c_kind_t kind = pc_question(mode, pub[e], beta[e], &t);
            pc_value(d + e * BITS, x + e * BITS, t, kind, ctx->role == PROTO_P0,
                     rnd + (e - b) * PC_WORDS, &scratch);
        }
    }
    if (st == TRINE_OK) {
        zp_pack(wire, d, digits);
        st = proto_send(ctx, PROTO_P2, wire, bytes, err);
    }
    sodium_memzero(&scratch, sizeof scratch);
    if (rnd)
        sodium_memzero(rnd, PC_BLOCK * PC_WORDS * sizeof *rnd);
    free(d);
    free(wire);
    free(rnd);
    return st;
}

static trine_status_t pc_reveal(proto_ctx_t *ctx, uint8_t *out, size_t n, trine_err_t *err)
{
    size_t digits = n * BITS, bytes = zp_packed_len(digits);
    uint8_t *d0 = malloc(digits), *d1 = malloc(digits), *wire = malloc(bytes);
    trine_status_t st = TRINE_OK;
    if (!d0 || !d1 || !wire)
        st = trine_err_set(err, TRINE_ENOMEM, "private compare: no memory for %zu values", n);
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P0, wire, bytes, err);
    if (st == TRINE_OK) {
        zp_unpack(d0, wire, digits);
        st = proto_recv(ctx, PROTO_P1, wire, bytes, err);
    }
    if (st == TRINE_OK) {
        zp_unpack(d1, wire, digits);
        /* digits are below p, so a sum is 0 mod p when it is 0 or p */
        for (size_t e = 0; e < n; e++) {
            uint8_t zero = 0;
            for (size_t i = e * BITS; i < (e + 1) * BITS; i++) {
                unsigned sum = (unsigned)d0[i] + d1[i];
                zero |= (sum == 0) | (sum == PROTO_P);
            }
            out[e] = zero;
        }
    }
    free(d0);
    free(d1);
    free(wire);
    return st;
}

trine_status_t pc_run(proto_ctx_t *ctx, pc_mode_t mode, const uint8_t *x, const uint64_t *pub,
                      const uint8_t *beta, uint8_t *out, size_t n, trine_err_t *err)
{
    if (proto_is_helper(ctx))
        return pc_reveal(ctx, out, n, err);
    return pc_compute(ctx, mode, x, pub, beta, n, err);
}

static trine_status_t pc_public(proto_ctx_t *ctx, tensor_t *beta, const tensor_t *xbits,
                                const tensor_t *r, trine_err_t *err)
{
    size_t n = r->size;
    if (beta->size != n || xbits->size != n * BITS)
        return trine_err_set(err, TRINE_ESHAPE,
                             "private compare: %zu values need %zu bit shares and %zu outputs", n,
                             n * BITS, n);
    uint8_t *x = NULL, *b = malloc(n);
    if (!b)
        return trine_err_set(err, TRINE_ENOMEM, "private compare: no memory");
    trine_status_t st = TRINE_OK;
    if (!proto_is_helper(ctx)) {
        x = malloc(n * BITS);
        if (!x)
            st = trine_err_set(err, TRINE_ENOMEM, "private compare: no memory");
        for (size_t i = 0; st == TRINE_OK && i < n * BITS; i++) {
            if (xbits->data[i] >= PROTO_P)
                st = trine_err_set(err, TRINE_ERANGE,
                                   "private compare: bit share %zu is not in Z_%u", i, PROTO_P);
            else
                x[i] = (uint8_t)xbits->data[i];
        }
        if (st == TRINE_OK)
            proto_draw_bits(ctx, proto_other(ctx), b, n);
    }
    if (st == TRINE_OK)
        st = pc_run(ctx, PC_GT, x, r->data, b, b, n, err);
    for (size_t e = 0; st == TRINE_OK && e < n; e++)
        beta->data[e] = b[e];
    free(x);
    free(b);
    return st;
}

trine_status_t proto_private_compare(proto_ctx_t *ctx, tensor_t *beta, const tensor_t *xbits,
                                     const tensor_t *r, trine_err_t *err)
{
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_PRIVATE_COMPARE, err);
    if (st != TRINE_OK)
        return st;
    return proto_op_end(ctx, pc_public(ctx, beta, xbits, r, err));
}

void proto_bits_draw(proto_ctx_t *ctx, uint8_t *digits, size_t n)
{
    proto_draw_digits(ctx, PROTO_P2, digits, n * BITS, PROTO_P);
}

void proto_bits_deal(proto_ctx_t *ctx, const uint64_t *v, size_t n, uint8_t *wire)
{
    uint8_t d[BITS];
    uint64_t stream = ctx->stream[PROTO_P0]++;
    uint64_t w[PC_BLOCK * BITS / 2];
    /* P0's digits, drawn exactly as proto_draw_digits draws them */
    for (size_t b = 0; b < n; b += PC_BLOCK) {
        size_t k = n - b < PC_BLOCK ? n - b : PC_BLOCK;
        prg_fill_ring(ctx->prg[PROTO_P0], stream, b * BITS / 2, w, k * BITS / 2);
        for (size_t e = b; e < b + k; e++) {
            const uint64_t *we = w + (e - b) * BITS / 2;
            for (int i = 0; i < BITS; i++) {
                unsigned d0 = proto_digit(we[i / 2], i % 2, PROTO_P);
                unsigned x = ((unsigned)(v[e] >> i) & 1) + PROTO_P - d0; /* 1 .. p + 1 */
                d[i] = (uint8_t)(x >= PROTO_P ? x - PROTO_P : x);
            }
            /* 64 digits are 56 whole bytes, so values pack independently */
            zp_pack(wire + e * zp_packed_len(BITS), d, BITS);
        }
    }
    sodium_memzero(d, sizeof d);
    sodium_memzero(w, sizeof w);
}
