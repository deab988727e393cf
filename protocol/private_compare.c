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
 *
 * Randomness. Digits come from words of the keyed ChaCha20 streams by
 * successive multiplication (zp_take): a word r gives digits of radices
 * m_1, ..., m_k as the mixed-radix expansion of floor(r M / 2^64), M = m_1
 * ... m_k, which is within statistical distance M / 2^64 of uniform. A
 * value's (s_i, u_i) take 22 words of the P0-P1 stream, three pairs a word
 * (M = (66 * 67)^3 < 2^36.4) and the last word one pair and the rotation;
 * the digits of a bit dealing (proto_bits_deal) take 11 words of the P0-P2
 * stream, six a word (M = 67^6 < 2^36.4). Per value that is within 2^-23
 * of uniform for the masks and 2^-24 for the dealing; one digit per 32-bit
 * half, as before, used three times the words and was within 2^-18.9 and
 * 2^-19.9.
 */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define BITS   PROTO_RING_BITS
#define PACKED (BITS * PROTO_ZP_BITS / 8) /* bytes of one value's 64 digits */

/* The P0-P1 words of one value: PC_PAIR_WORDS of three (s_i, u_i) each,
 * then one for the last pair and the rotation. */
#define PC_PAIRS_PER_WORD 3
#define PC_PAIR_WORDS     21
#define PC_PAIR           ((PROTO_P - 1) * PROTO_P) /* (s_i - 1) p + u_i */
#define PC_WORDS          (PC_PAIR_WORDS + 1)

/* The P0-P2 words of one value's bit dealing, BIT_PAIRS_PER_WORD pairs of
 * digits each (the last two words' last digit unused). */
#define BIT_PAIRS_PER_WORD 3
#define BIT_WORDS          11
#define BIT_PAIRS          (BIT_WORDS * BIT_PAIRS_PER_WORD)

_Static_assert(BITS == PC_PAIRS_PER_WORD * PC_PAIR_WORDS + 1, "one pair in the last word");
_Static_assert(2 * BIT_PAIRS >= BITS && 2 * (BIT_PAIRS - BIT_WORDS) < BITS, "no unneeded word");
_Static_assert(PACKED * 8 == BITS * PROTO_ZP_BITS, "a value's digits fill whole bytes");

/* Values are processed in blocks so that the randomness needs no buffer
 * the size of the input. */
#define PC_BLOCK 64

/* pc_value is cloned for AVX2 where the compiler can (GCC and Clang on
 * x86-64; the loader picks one through an ifunc). Both clones compute the
 * same integers; AVX2 takes a third off its time. */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define PC_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef PC_CLONES
#define PC_CLONES
#endif

/* The next digit in [0, m) of the fraction r / 2^64 (m < 2^32):
 * floor(r m / 2^64), leaving r m mod 2^64 in r for the next one. A
 * 64 x 64-bit product where the compiler has one (faster than the vector
 * form of two 32 x 32-bit products, and the same integers). */
static inline uint32_t zp_take(uint64_t *r, uint32_t m)
{
#ifdef __SIZEOF_INT128__
    __extension__ unsigned __int128 prod = (unsigned __int128)*r * m;
    *r = (uint64_t)prod;
    return (uint32_t)(prod >> 64);
#else
    uint64_t lo = (*r & 0xffffffffu) * m, hi = (*r >> 32) * m + (lo >> 32);
    *r = hi << 32 | (lo & 0xffffffffu);
    return (uint32_t)(hi >> 32);
#endif
}

/* b[i] = bit i of t, for i < 64: byte k of (byte q of t) * 0x01..01 &
 * 0x8040..01 is 0 or 2^k, and adding 0x7f carries into its top bit exactly
 * when it is not 0. */
static inline void pc_bits(uint8_t *b, uint64_t t)
{
    for (int q = 0; q < BITS / 8; q++) {
        uint64_t v = (t >> (8 * q) & 0xff) * 0x0101010101010101u & 0x8040201008040201u;
        v = (v + 0x7f7f7f7f7f7f7f7fu) >> 7 & 0x0101010101010101u;
        for (int k = 0; k < 8; k++)
            b[8 * q + k] = (uint8_t)(v >> (8 * k));
    }
}

typedef enum { C_GT, C_LT, C_ALWAYS } c_kind_t;

/* One value's masks and shares in between; the caller wipes them once. */
typedef struct {
    uint16_t su[BITS], c[BITS], w[BITS];
    uint8_t t[BITS], m[2 * BITS];
} pc_scratch_t;

/* Writes to out (PACKED bytes) this party's 64 masked, rotated digits of
 * one value, from its PC_WORDS words rnd. The loops run over 16-bit lanes
 * and vectorize: every term is formed whole (g_i <= p + 1, c_i before the
 * sum <= 2p + 2), the suffix sums are plain additions (at most 64 (p + 1)
 * + 2p + 2 < 2^13, no reduction needed until the end), and the reductions
 * mod p are independent and stay below 2^16. */
PC_CLONES static void pc_value(uint8_t *out, const uint8_t *x, uint64_t t, c_kind_t kind,
                               uint16_t own, const uint64_t *rnd, pc_scratch_t *restrict sc)
{
    if (kind == C_ALWAYS) {
        for (int i = 0; i < BITS; i++)
            sc->c[i] = own ? 0 : (i != 0);
    } else {
        pc_bits(sc->t, t);
        /* With g_i = own t_i + p - x_i: x > t has c_i = own + g_i before
         * the sum, x < t has own + (own + 1) p - g_i, and the xor shares
         * are w_i = t_i ? g_i : x_i. */
        uint16_t flip = kind == C_LT ? 0xffff : 0;
        uint16_t base = (uint16_t)(own + (kind == C_LT ? (own + 1) * PROTO_P + 1 : 0));
        for (int i = 0; i < BITS; i++) {
            uint16_t tm = (uint16_t)-sc->t[i], xi = x[i];
            uint16_t g = (uint16_t)((own & tm) + PROTO_P - xi);
            sc->w[i] = (uint16_t)(xi ^ ((xi ^ g) & tm));
            sc->c[i] = (uint16_t)(base + (g ^ flip));
        }
    }
    /* The masks come between the vector stores of w and c and the scalar
     * suffix sum over them, which reads them after they have settled
     * (straight after, it stalls on store forwarding). */
    for (int j = 0; j < PC_PAIR_WORDS; j++) {
        uint64_t r = rnd[j];
        for (int k = 0; k < PC_PAIRS_PER_WORD; k++)
            sc->su[j + k * PC_PAIR_WORDS] = (uint16_t)zp_take(&r, PC_PAIR);
    }
    uint64_t r = rnd[PC_PAIR_WORDS];
    sc->su[BITS - 1] = (uint16_t)zp_take(&r, PC_PAIR);
    unsigned rot = zp_take(&r, BITS);

    if (kind != C_ALWAYS) {
        uint16_t sum = 0; /* share of sum_{k > i} w_k */
        for (int i = BITS - 1; i >= 0; i--) {
            sc->c[i] = (uint16_t)(sc->c[i] + sum);
            sum = (uint16_t)(sum + sc->w[i]);
        }
    }
    for (int i = 0; i < BITS; i++) {
        uint16_t s = (uint16_t)(1 + sc->su[i] / PROTO_P), u = sc->su[i] % PROTO_P;
        u = own ? u : (uint16_t)(PROTO_P - u);
        uint16_t v = (uint16_t)(s * (sc->c[i] % PROTO_P) + u);
        sc->m[i] = sc->m[i + BITS] = (uint8_t)(v % PROTO_P);
    }
    /* digit i goes to position i + rot mod 64 */
    zp_pack(out, sc->m + BITS - rot, BITS);
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

static trine_status_t pc_compute(proto_ctx_t *ctx, pc_mode_t mode, const uint8_t *x,
                                 const uint64_t *pub, const uint8_t *beta, size_t n,
                                 trine_err_t *err)
{
    uint8_t *wire = malloc(n * PACKED);
    uint64_t *rnd = malloc(PC_BLOCK * PC_WORDS * sizeof *rnd);
    trine_status_t st = TRINE_OK;
    if (!wire || !rnd)
        st = trine_err_set(err, TRINE_ENOMEM, "private compare: no memory for %zu values", n);
    uint64_t stream = ctx->stream[proto_other(ctx)]++;
    pc_scratch_t scratch;
    for (size_t b = 0; st == TRINE_OK && b < n; b += PC_BLOCK) {
        size_t k = n - b < PC_BLOCK ? n - b : PC_BLOCK;
        prg_fill_ring(ctx->prg[proto_other(ctx)], stream, b * PC_WORDS, rnd, k * PC_WORDS);
        for (size_t e = b; e < b + k; e++) {
            uint64_t t;
            c_kind_t kind = pc_question(mode, pub[e], beta[e], &t);
            pc_value(wire + e * PACKED, x + e * BITS, t, kind, ctx->role == PROTO_P0,
                     rnd + (e - b) * PC_WORDS, &scratch);
        }
    }
    if (st == TRINE_OK)
        st = proto_send(ctx, PROTO_P2, wire, n * PACKED, err);
    sodium_memzero(&scratch, sizeof scratch);
    if (rnd)
        sodium_memzero(rnd, PC_BLOCK * PC_WORDS * sizeof *rnd);
    free(wire);
    free(rnd);
    return st;
}

/* The eight digits of a packed group (7 bytes, digit k at bit 7k) one per
 * byte, from the low end: fields of 28, 14 and 7 bits move apart. */
static inline uint64_t pc_spread(const uint8_t *in)
{
    uint64_t g = 0;
    for (int b = 0; b < 7; b++)
        g |= (uint64_t)in[b] << (8 * b);
    g = (g & 0x000000000fffffffu) | (g & 0x00fffffff0000000u) << 4;
    g = (g & 0x00003fff00003fffu) | (g & 0x0fffc0000fffc000u) << 2;
    return (g & 0x007f007f007f007fu) | (g & 0x3f803f803f803f80u) << 1;
}

/* Whether some byte of v is zero: (v - 0x01..01) & ~v has a byte's top bit
 * set at the lowest zero byte, and nowhere if no byte is zero (a borrow
 * starts only at a zero byte). */
static inline bool pc_zero_byte(uint64_t v)
{
    return ((v - 0x0101010101010101u) & ~v & 0x8080808080808080u) != 0;
}

static trine_status_t pc_reveal(proto_ctx_t *ctx, uint8_t *out, size_t n, trine_err_t *err)
{
    uint8_t *w0 = malloc(n * PACKED), *w1 = malloc(n * PACKED);
    trine_status_t st = TRINE_OK;
    if (!w0 || !w1)
        st = trine_err_set(err, TRINE_ENOMEM, "private compare: no memory for %zu values", n);
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P0, w0, n * PACKED, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P1, w1, n * PACKED, err);
    /* Digits are below 2^7, so the sums of a group fit its bytes; a digit
     * sum is 0 mod p when it is 0 or p. */
    for (size_t e = 0; st == TRINE_OK && e < n; e++) {
        bool zero = false;
        for (size_t g = e * PACKED; g < (e + 1) * PACKED; g += PROTO_ZP_BITS) {
            uint64_t sum = pc_spread(w0 + g) + pc_spread(w1 + g);
            zero |= pc_zero_byte(sum);
            zero |= pc_zero_byte(sum ^ PROTO_P * 0x0101010101010101u);
        }
        out[e] = zero;
    }
    free(w0);
    free(w1);
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

/* One value's dealing digits and their pairs; the caller wipes them. */
typedef struct {
    uint16_t pair[BIT_PAIRS];
    uint8_t d[2 * BIT_PAIRS];
} bits_scratch_t;

/* P0's digits of one value's bit dealing into sc->d[i], i < 64, from its
 * BIT_WORDS words w. A word gives three digits p d + d' of radix p^2, the
 * same as six of radix p; pair a lands at a and a + BIT_PAIRS. */
static void bits_digits(bits_scratch_t *restrict sc, const uint64_t *w)
{
    for (int j = 0; j < BIT_WORDS; j++) {
        uint64_t r = w[j];
        for (int k = 0; k < BIT_PAIRS_PER_WORD; k++)
            sc->pair[j + k * BIT_WORDS] = (uint16_t)zp_take(&r, PROTO_P * PROTO_P);
    }
    for (int a = 0; a < BIT_PAIRS; a++) {
        sc->d[a] = (uint8_t)(sc->pair[a] / PROTO_P);
        sc->d[a + BIT_PAIRS] = (uint8_t)(sc->pair[a] % PROTO_P);
    }
}

void proto_bits_draw(proto_ctx_t *ctx, uint8_t *digits, size_t n)
{
    bits_scratch_t sc;
    uint64_t stream = ctx->stream[PROTO_P2]++;
    uint64_t w[PC_BLOCK * BIT_WORDS];
    for (size_t b = 0; b < n; b += PC_BLOCK) {
        size_t k = n - b < PC_BLOCK ? n - b : PC_BLOCK;
        prg_fill_ring(ctx->prg[PROTO_P2], stream, b * BIT_WORDS, w, k * BIT_WORDS);
        for (size_t e = 0; e < k; e++) {
            bits_digits(&sc, w + e * BIT_WORDS);
            memcpy(digits + (b + e) * BITS, sc.d, BITS);
        }
    }
    sodium_memzero(&sc, sizeof sc);
    sodium_memzero(w, sizeof w);
}

void proto_bits_deal(proto_ctx_t *ctx, const uint64_t *v, size_t n, uint8_t *wire)
{
    bits_scratch_t sc;
    uint8_t bit[BITS];
    uint64_t stream = ctx->stream[PROTO_P0]++;
    uint64_t w[PC_BLOCK * BIT_WORDS];
    for (size_t b = 0; b < n; b += PC_BLOCK) {
        size_t k = n - b < PC_BLOCK ? n - b : PC_BLOCK;
        prg_fill_ring(ctx->prg[PROTO_P0], stream, b * BIT_WORDS, w, k * BIT_WORDS);
        for (size_t e = b; e < b + k; e++) {
            bits_digits(&sc, w + (e - b) * BIT_WORDS); /* P0's, as proto_bits_draw draws them */
            pc_bits(bit, v[e]);
            for (int i = 0; i < BITS; i++) {
                unsigned x = bit[i] + PROTO_P - sc.d[i]; /* 1 .. p + 1 */
                sc.d[i] = (uint8_t)(x >= PROTO_P ? x - PROTO_P : x);
            }
            zp_pack(wire + e * PACKED, sc.d, BITS);
        }
    }
    sodium_memzero(&sc, sizeof sc);
    sodium_memzero(bit, sizeof bit);
    sodium_memzero(w, sizeof w);
}
