/* relu_carry.c — DReLU and ReLU by the carry of the shares' sum, P2 dealing
 * every correlation (protocol carry: the millionaires' protocol of
 * CrypTFlow2, Rathee et al. CCS 2020, with P2 in place of its oblivious
 * transfers, the dealer model of relu_fss.c).
 *
 * P0 holds x0 and P1 x1, x = x0 + x1 mod 2^64. With A = 2 x0 and B = 2 x1
 * (each share's low 63 bits moved up) the top bit of x is
 *     MSB(x) = MSB(x0) xor MSB(x1) xor c,   c = [A + B >= 2^64],
 * for every ring element x: c is the carry of a sum of a number only P0
 * knows and one only P1 knows. Split into 16 digits of 4 bits, digit j
 * generates a carry (G_j = [A_j + B_j >= 16]) or propagates one
 * (P_j = [A_j + B_j = 15]). The rounds:
 *   1  P1 -> P0: e_j = B_j - c_j mod 16, c_j drawn from the P1-P2 seed.
 *   2  P0 -> P1: for every digit the 16 entries i -> (G, P)(A_j, e_j + i)
 *      of its table, masked by 32 bits m_j from the P0-P2 seed and by P0's
 *      shares s_j of G_j and P_j. P1 reads entry c_j and removes m_j's
 *      bits there, which P2 deals: XOR shares of G_j and P_j (a 1-of-16
 *      transfer from P2's correlation). P0's share s_j is random, so P0
 *      sends its opening for round 3 along.
 *   3  P1 -> P0: the carry-lookahead of each group of 4 digits,
 *      G' = G3 + P3 G2 + P3 P2 G1 + P3 P2 P1 G0 (its terms exclusive, so
 *      + is xor) and P' = P3 P2 P1 P0: each party opens its 8 input bits
 *      xor P2's masks r, and every term is a sum over subsets T of its
 *      inputs of a public product of openings times the product r_T, of
 *      which P2 deals XOR shares (22 products for a group).
 *   4  P0 -> P1: the same over the 4 groups, c's shares (15 products);
 *      xor MSB(x0) or MSB(x1), and 1 at P0, gives XOR shares of
 *      D = DReLU(x) = 1 - MSB(x).
 *   5  P1 -> P0: D opened under P2's bit rho, z = D xor rho, of which P2
 *      deals arithmetic shares: D = z + (1 - 2z) rho.
 * Each party sends its opening of rounds 3 to 5 as soon as it can, with
 * the other's message of the round before: 5 rounds in all (P1 is done
 * after 4).
 * Which compute party plays P1's part, sending first, is ctx->ahead: the
 * one probably a round ahead of the other when the call begins (P1 after
 * a call by carry; each product or truncation between turns it). It then
 * starts round 1 a round before the other could, so a run of calls costs
 * 4 rounds a call, and a call after a product 5 instead of 6. The text
 * names the parts P0 and P1; P2 deals to whichever plays P1. ReLU(x) = x D
 * needs no round more: P0 and P1 open E = x - a,
 * P0 with its tables and P1 in round 3 (a a mask of P2's, which also
 * deals shares of a rho), so x rho = E rho + a rho and
 *     x D = z x + (1 - 2z) x rho.
 * A ReLU after an exact truncation (trunc.c) sends the truncation's words
 * in round 1 too and opens E of the truncated T instead: T D(x) is
 * ReLU(T), T being negative or 0 where x is negative.
 * The lookahead runs on blocks of 64 elements, bit e of a word holding
 * element e: a group node's 8 inputs for its 4 groups are 32 words, each
 * product share a word, so one word operation serves 64 elements; the
 * parties transpose their G and P shares into that form (carry_slice).
 * Bytes: 8 + 64 an element in rounds 1 and 2 (+ 16 for ReLU's E) and 656 a
 * block in rounds 2 to 5 (both parties' openings: 256 + 256, 64 + 64 and
 * the bits 8 + 8): 82.25 an element online in full blocks. Dealt to P1:
 * 12 an element (the table bits and the share of rho; + 8 for ReLU) and
 * 824 a block (the 88 + 15 product words): 24.875 an element. P2
 * receives nothing. P0's dealt shares come from the P0-P2 seed, drawn
 * chunk by chunk at fixed positions of one stream per call.
 *
 * What each party sees (semi-honest, no two colluding): P2 nothing. P0
 * sees e_j (uniform: c_j is P1's and P2's), E (a is P2's) and P1's
 * openings, each masked by bits of the P1-P2 seed. P1 sees the tables,
 * every entry masked by bits of m that only P0 and P2 hold, but entry c_j
 * by P0's random share s_j instead; P0's openings, masked by bits of the
 * P0-P2 seed; and its record, whose products are masked by P0's shares of
 * them. The opened z is D xor rho, rho being the xor of a P0-P2 and a
 * P1-P2 bit. A party's view is thus uniform and independent of x.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define CARRY_DIGITS 16u
#define CARRY_BLOCK  64u                 /* elements a word holds, one a bit */
#define CARRY_CHUNK  (64u * CARRY_BLOCK) /* elements drawn and dealt at once */
#define CARRY_INPUTS 8u                  /* of a lookahead node: G0..G3 (0..3), P0..P3 (4..7) */
#define CARRY_T1     22u                 /* products r_T a group node needs */
#define CARRY_T2     15u                 /* and the last node, which needs no P' */
#define L1_WORDS     32u /* a block's group inputs: input i of group k at word 4 i + k */
#define T1_WORDS     (4u * CARRY_T1) /* product j of group k at word 4 j + k */

/* A block's words from the seed shared with P2, as held: P0 all of them,
 * P1 r1, r2 and rho (its t1 and t2 dealt). */
typedef struct {
    uint64_t r1[L1_WORDS];     /* masks of the group inputs */
    uint64_t t1[T1_WORDS];     /* shares of the groups' products */
    uint64_t r2[CARRY_INPUTS]; /* masks of the last node's inputs */
    uint64_t t2[CARRY_T2];     /* shares of its products */
    uint64_t rho;              /* shares of the bit rho */
} carry_block_t;

#define B0_WORDS (L1_WORDS + T1_WORDS + CARRY_INPUTS + CARRY_T2 + 1u) /* P0's, 144 */
#define B1_WORDS (L1_WORDS + CARRY_INPUTS + 1u)                       /* P1's, 41 */
#define B_DEAL   ((T1_WORDS + CARRY_T2) * 8u)                         /* to P1, 824 bytes */

/* An element's words: P0 the table masks (8), its G and P shares (low 32
 * bits of 1), its share of rho over the ring, and for ReLU of a and a rho;
 * P1 the digit offsets c and for ReLU its share of a. P1's dealt record:
 * the table bits at c (4 bytes), its share of rho (8), of a rho (8). */
static unsigned carry_e0(bool relu)
{
    return relu ? 12 : 10;
}

static unsigned carry_e1(bool relu)
{
    return relu ? 2 : 1;
}

static size_t carry_rec(bool relu)
{
    return relu ? 20 : 12;
}

static size_t carry_blocks(size_t n)
{
    return (n + CARRY_BLOCK - 1) / CARRY_BLOCK;
}

/* A lookahead node: the products r_T, |T| >= 2, of the subsets of its
 * terms by index; every subset U of a term in increasing order (U minus
 * its lowest input comes before U); and the summands of each output, a
 * subset T of a term and the rest of the term. */
typedef struct {
    uint8_t t[CARRY_T1];
    unsigned nt;
    uint8_t sets[48];
    unsigned nsets;
    uint8_t sum_t[2][48], sum_rest[2][48]; /* G, then P for a group node */
    unsigned nsum[2];
} carry_node_t;

static bool carry_single(unsigned set)
{
    return set && !(set & (set - 1));
}

static void carry_node_init(carry_node_t *nd, bool with_p)
{
    static const uint8_t terms[5] = {
        1u << 3,                               /* G3 */
        1u << 7 | 1u << 2,                     /* P3 G2 */
        1u << 7 | 1u << 6 | 1u << 1,           /* P3 P2 G1 */
        1u << 7 | 1u << 6 | 1u << 5 | 1u << 0, /* P3 P2 P1 G0 */
        1u << 7 | 1u << 6 | 1u << 5 | 1u << 4, /* P3 P2 P1 P0: P */
    };
    unsigned count = with_p ? 5 : 4;
    memset(nd, 0, sizeof *nd);
    for (unsigned set = 1; set < 256; set++)
        for (unsigned k = 0; k < count; k++)
            if ((set & terms[k]) == set) {
                nd->sets[nd->nsets++] = (uint8_t)set;
                if (!carry_single(set))
                    nd->t[nd->nt++] = (uint8_t)set;
                break;
            }
    for (unsigned k = 0; k < count; k++) {
        unsigned o = k == 4, m = terms[k];
        for (unsigned set = m;; set = (set - 1) & m) {
            nd->sum_t[o][nd->nsum[o]] = (uint8_t)set;
            nd->sum_rest[o][nd->nsum[o]++] = (uint8_t)(m & ~set);
            if (set == 0)
                break;
        }
    }
}

/* A party's shares of the node's outputs (out[1], P, for a group node)
 * for 64 elements: the opened inputs d[i], its input masks' shares r[i]
 * and its product shares t[j * stride]; one = all ones at P0 and 0 at P1
 * (the empty product). */
static void carry_eval(const carry_node_t *nd, const uint64_t *d, const uint64_t *r,
                       const uint64_t *t, unsigned stride, uint64_t one, uint64_t out[2])
{
    uint64_t prod[256], share[256];
    prod[0] = ~(uint64_t)0, share[0] = one;
    for (unsigned k = 0, j = 0; k < nd->nsets; k++) {
        unsigned u = nd->sets[k], low = (unsigned)__builtin_ctz(u);
        prod[u] = prod[u & (u - 1)] & d[low];
        share[u] = carry_single(u) ? r[low] : t[stride * j++];
    }
    for (unsigned o = 0; o < 2; o++) {
        uint64_t acc = 0;
        for (unsigned k = 0; k < nd->nsum[o]; k++)
            acc ^= prod[nd->sum_rest[o][k]] & share[nd->sum_t[o][k]];
        out[o] = acc;
    }
}

/* The products r_T of a node's masks r[i] (stride apart) into
 * t[j * stride]. */
static void carry_products(const carry_node_t *nd, const uint64_t *r, unsigned stride, uint64_t *t)
{
    for (unsigned j = 0; j < nd->nt; j++) {
        uint64_t v = ~(uint64_t)0;
        for (unsigned s = nd->t[j]; s; s &= s - 1)
            v &= r[stride * (unsigned)__builtin_ctz(s)];
        t[stride * j] = v;
    }
}

/* Bit q of x[e] (e < m <= 64) into bit e of out[q], q < 32. */
static void carry_slice(const uint32_t *x, size_t m, uint64_t out[L1_WORDS])
{
    uint64_t a[64] = {0};
    for (size_t e = 0; e < m; e++)
        a[e] = x[e];
    uint64_t mask = 0x00000000FFFFFFFFu;
    for (unsigned j = 32; j; j >>= 1, mask ^= mask << j)
        for (unsigned k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            uint64_t t = ((a[k] >> j) ^ a[k | j]) & mask;
            a[k] ^= t << j;
            a[k | j] ^= t;
        }
    memcpy(out, a, L1_WORDS * 8);
}

/* Where digit j's G bit sits in an element's 32 bits of G and P (its P bit
 * 16 above), the input j % 4 of group j / 4: word 4 (j % 4) + j / 4 of a
 * block once sliced. */
static unsigned carry_pos(unsigned j)
{
    return (j & 3) * 4 + (j >> 2);
}

/* Bit (i + k) mod 16 of v at bit i. */
static uint32_t carry_rot(uint32_t v, unsigned k)
{
    return ((v >> k) | (v << (16 - k))) & 0xFFFF;
}

/* A block's words (P0's or P1's layout) into b. */
static void carry_block_get(const uint64_t *w, bool p0, carry_block_t *b)
{
    memcpy(b->r1, w, sizeof b->r1);
    w += L1_WORDS;
    if (p0) {
        memcpy(b->t1, w, sizeof b->t1);
        w += T1_WORDS;
    }
    memcpy(b->r2, w, sizeof b->r2);
    w += CARRY_INPUTS;
    if (p0) {
        memcpy(b->t2, w, sizeof b->t2);
        w += CARRY_T2;
    }
    b->rho = *w;
}

/* P2: P1's product shares of a block (B_DEAL bytes) from both parties'
 * words; *rho gets the block's bits rho. */
static void carry_deal_block(const carry_node_t *n1, const carry_node_t *n2, const uint64_t *w0,
                             const uint64_t *w1, uint8_t *out, uint64_t *rho)
{
    carry_block_t b0, b1, r;
    carry_block_get(w0, true, &b0);
    carry_block_get(w1, false, &b1);
    for (unsigned q = 0; q < L1_WORDS; q++)
        r.r1[q] = b0.r1[q] ^ b1.r1[q];
    for (unsigned q = 0; q < CARRY_INPUTS; q++)
        r.r2[q] = b0.r2[q] ^ b1.r2[q];
    for (unsigned k = 0; k < 4; k++)
        carry_products(n1, &r.r1[k], 4, &r.t1[k]);
    carry_products(n2, r.r2, 1, r.t2);
    for (unsigned q = 0; q < T1_WORDS; q++)
        proto_put_le(out + 8 * q, r.t1[q] ^ b0.t1[q], 8);
    for (unsigned q = 0; q < CARRY_T2; q++)
        proto_put_le(out + 8 * (T1_WORDS + q), r.t2[q] ^ b0.t2[q], 8);
    *rho = b0.rho ^ b1.rho;
}

/* P2: P1's record of one element (its bit of rho given). */
static void carry_deal_one(const uint64_t *w0, const uint64_t *w1, bool relu, uint64_t rho,
                           uint8_t *out)
{
    uint64_t c = w1[0];
    uint32_t mc = 0;
    for (unsigned j = 0; j < CARRY_DIGITS; j++) {
        unsigned cj = (unsigned)(c >> (4 * j)) & 15, pos = carry_pos(j);
        uint32_t m = (uint32_t)(w0[j / 2] >> (32 * (j % 2)));
        mc |= ((m >> cj) & 1) << pos | ((m >> (16 + cj)) & 1) << (16 + pos);
    }
    proto_put_le(out, mc, 4);
    proto_put_le(out + 4, rho - w0[9], 8);
    if (relu)
        proto_put_le(out + 12, (w0[10] + w1[1]) * rho - w0[11], 8);
}

/* Draws words [pos, pos + count) of the call's stream shared with peer. */
static void carry_fill(proto_ctx_t *ctx, proto_party_t peer, uint64_t stream, size_t pos,
                       uint64_t *out, size_t count)
{
    prg_fill_ring(ctx->prg[peer], stream, pos, out, count);
}

/* P2 (n > 0): draws both parties' words chunk by chunk and deals P1's
 * part its records in one message: the elements', then the blocks'. */
static trine_status_t carry_deal(proto_ctx_t *ctx, size_t n, bool relu, trine_err_t *err)
{
    unsigned e0w = carry_e0(relu), e1w = carry_e1(relu);
    size_t rec = carry_rec(relu), nb = carry_blocks(n), c = n < CARRY_CHUNK ? n : CARRY_CHUNK;
    size_t cb = carry_blocks(c), len = n * rec + nb * B_DEAL;
    uint64_t *w0 = malloc(c * e0w * 8), *w1 = malloc(c * e1w * 8);
    uint64_t *b0 = malloc(cb * B0_WORDS * 8), *b1 = malloc(cb * B1_WORDS * 8);
    uint64_t *rho = malloc(cb * 8);
    uint8_t *wire = malloc(len);
    trine_status_t st = TRINE_OK;
    if (!w0 || !w1 || !b0 || !b1 || !rho || !wire)
        st = trine_err_set(err, TRINE_ENOMEM, "carry: no memory to deal %zu values", n);
    carry_node_t n1, n2;
    carry_node_init(&n1, true);
    carry_node_init(&n2, false);
    proto_party_t ps = ctx->ahead, pt = ps == PROTO_P0 ? PROTO_P1 : PROTO_P0;
    uint64_t s0 = ctx->stream[pt]++, s1 = ctx->stream[ps]++;
    for (size_t i0 = 0; st == TRINE_OK && i0 < n; i0 += c) {
        size_t k = n - i0 < c ? n - i0 : c, kb = carry_blocks(k), first = i0 / CARRY_BLOCK;
        carry_fill(ctx, pt, s0, i0 * e0w, w0, k * e0w);
        carry_fill(ctx, ps, s1, i0 * e1w, w1, k * e1w);
        carry_fill(ctx, pt, s0, n * e0w + first * B0_WORDS, b0, kb * B0_WORDS);
        carry_fill(ctx, ps, s1, n * e1w + first * B1_WORDS, b1, kb * B1_WORDS);
        for (size_t b = 0; b < kb; b++)
            carry_deal_block(&n1, &n2, &b0[b * B0_WORDS], &b1[b * B1_WORDS],
                             &wire[n * rec + (first + b) * B_DEAL], &rho[b]);
        for (size_t i = 0; i < k; i++)
            carry_deal_one(&w0[i * e0w], &w1[i * e1w], relu,
                           (rho[i / CARRY_BLOCK] >> (i % CARRY_BLOCK)) & 1, &wire[(i0 + i) * rec]);
    }
    if (st == TRINE_OK)
        st = proto_send_deal(ctx, ps, wire, len, err);
    proto_wipe_free(w0, c * e0w * 8), proto_wipe_free(w1, c * e1w * 8);
    proto_wipe_free(b0, cb * B0_WORDS * 8), proto_wipe_free(b1, cb * B1_WORDS * 8);
    proto_wipe_free(rho, cb * 8), proto_wipe_free(wire, len);
    return st;
}

/* P0 and P1's state of a call: per element, then per block. */
typedef struct {
    size_t n, nb;
    bool relu, p0; /* p0: this party plays P0's part (ctx->ahead is the other) */
    unsigned d; /* ReLU after an exact truncation by d bits, else 0 */
    trunc_half_t tr;
    uint64_t *tv;  /* ReLU: the share of the value it multiplies (x, or x truncated) */
    uint32_t *s;   /* P0: its G and P shares; P1: the dealt table bits */
    uint64_t *rw;  /* share of rho over the ring */
    uint64_t *aw;  /* ReLU: share of a */
    uint64_t *cw;  /* ReLU: share of a rho */
    uint64_t *c;   /* P1: the digit offsets */
    uint64_t *e;   /* round 1: the digits' offsets (P1's), and the truncation's word */
    uint64_t *ex;  /* ReLU: the other's share of E (at P1 first P0's truncation words) */
    uint32_t *tab; /* round 2: 16 tables an element (P0: over its masks m), the
                    * group openings, E's share */
    uint32_t *x;   /* P1: its G and P shares */
    carry_block_t *blk;
    uint64_t *open;   /* P1: round 3's 32 + 8 words a block and E's share, then y;
                       * P0: round 4's 8 words a block and y */
    uint64_t *theirs; /* the other's messages */
    uint8_t *deal;    /* P1: the dealt records */
} carry_run_t;

/* Words a block's openings take: the groups', the last node's, y. */
#define OPEN_WORDS (L1_WORDS + CARRY_INPUTS + 1u)

/* Bytes of a party's openings buffer (and of the other's): P1's round 3
 * message and y, or P0's round 4 message. */
static size_t carry_open_bytes(const carry_run_t *r)
{
    return r->nb * OPEN_WORDS * 8 + (r->relu ? r->n * 8 : 0);
}

/* Bytes of P0's round 2 message and of P1's round 3 message. */
static size_t carry_msg2(const carry_run_t *r)
{
    return r->n * CARRY_DIGITS * 4 + r->nb * L1_WORDS * 8 + (r->relu ? r->n * 8 : 0);
}

static size_t carry_msg3(const carry_run_t *r)
{
    return r->nb * (L1_WORDS + CARRY_INPUTS) * 8 + (r->relu ? r->n * 8 : 0);
}

static void carry_run_free(carry_run_t *r)
{
    size_t n = r->n, nb = r->nb;
    proto_wipe_free(r->s, n * 4);
    proto_wipe_free(r->rw, n * 8);
    proto_wipe_free(r->aw, n * 8);
    proto_wipe_free(r->cw, n * 8);
    proto_wipe_free(r->c, n * 8);
    proto_wipe_free(r->e, (r->d ? 2 : 1) * n * 8);
    proto_wipe_free(r->ex, n * 8);
    proto_wipe_free(r->tv, n * 8);
    proto_wipe_free(r->tab, carry_msg2(r));
    proto_wipe_free(r->x, n * 4);
    proto_wipe_free(r->blk, nb * sizeof *r->blk);
    proto_wipe_free(r->open, carry_open_bytes(r));
    proto_wipe_free(r->theirs, carry_open_bytes(r));
    trunc_half_free(&r->tr);
    proto_wipe_free(r->deal, n * carry_rec(r->relu) + nb * B_DEAL);
}

static trine_status_t carry_run_new(proto_ctx_t *ctx, carry_run_t *r, size_t n, bool relu,
                                    unsigned d, trine_err_t *err)
{
    size_t nb = carry_blocks(n);
    bool p0 = ctx->role != ctx->ahead;
    *r = (carry_run_t){.n = n, .nb = nb, .relu = relu, .p0 = p0, .d = d};
    r->s = malloc(n * 4);
    r->rw = malloc(n * 8);
    r->e = malloc((d ? 2 : 1) * n * 8);
    r->tab = malloc(carry_msg2(r));
    r->blk = malloc(nb * sizeof *r->blk);
    r->open = malloc(carry_open_bytes(r));
    r->theirs = malloc(carry_open_bytes(r));
    bool ok = r->s && r->rw && r->e && r->tab && r->blk && r->open && r->theirs;
    if (relu) { /* the product with x */
        r->aw = malloc(n * 8), r->cw = malloc(n * 8), r->ex = malloc(n * 8), r->tv = malloc(n * 8);
        ok = ok && r->aw && r->cw && r->ex && r->tv;
    }
    if (!p0) { /* the receiver of the tables and of P2's records */
        r->c = malloc(n * 8), r->x = malloc(n * 4);
        r->deal = malloc(n * carry_rec(relu) + nb * B_DEAL);
        ok = ok && r->c && r->x && r->deal;
    }
    if (ok)
        return TRINE_OK;
    carry_run_free(r);
    return trine_err_set(err, TRINE_ENOMEM, "carry: no memory for %zu values", n);
}

/* Draws this party's words chunk by chunk (and P0's masks m into the
 * tables, which it builds on them). */
static trine_status_t carry_draw(proto_ctx_t *ctx, carry_run_t *r, trine_err_t *err)
{
    size_t n = r->n, c = n < CARRY_CHUNK ? n : CARRY_CHUNK;
    unsigned ew = r->p0 ? carry_e0(r->relu) : carry_e1(r->relu);
    unsigned bw = r->p0 ? B0_WORDS : B1_WORDS;
    uint64_t *w = malloc(c * ew * 8), *bwords = malloc(carry_blocks(c) * bw * 8);
    if (!w || !bwords) {
        free(w), free(bwords);
        return trine_err_set(err, TRINE_ENOMEM, "carry: no memory for %zu values", n);
    }
    uint64_t stream = ctx->stream[PROTO_P2]++;
    for (size_t i0 = 0; i0 < n; i0 += c) {
        size_t k = n - i0 < c ? n - i0 : c, kb = carry_blocks(k), first = i0 / CARRY_BLOCK;
        carry_fill(ctx, PROTO_P2, stream, i0 * ew, w, k * ew);
        carry_fill(ctx, PROTO_P2, stream, n * ew + first * bw, bwords, kb * bw);
        for (size_t b = 0; b < kb; b++)
            carry_block_get(&bwords[b * bw], r->p0, &r->blk[first + b]);
        for (size_t i = 0; i < k; i++) {
            const uint64_t *wi = &w[i * ew];
            if (!r->p0) {
                r->c[i0 + i] = wi[0];
                if (r->relu)
                    r->aw[i0 + i] = wi[1];
                continue;
            }
            for (unsigned j = 0; j < CARRY_DIGITS; j++)
                r->tab[(i0 + i) * CARRY_DIGITS + j] = (uint32_t)(wi[j / 2] >> (32 * (j % 2)));
            r->s[i0 + i] = (uint32_t)wi[8];
            r->rw[i0 + i] = wi[9];
            if (r->relu)
                r->aw[i0 + i] = wi[10], r->cw[i0 + i] = wi[11];
        }
    }
    proto_wipe_free(w, c * ew * 8);
    proto_wipe_free(bwords, carry_blocks(c) * bw * 8);
    return TRINE_OK;
}

/* The unmasked table of digit value d (P0's) under offset e at
 * look[d * 16 + e]: entry i, bits i (G) and 16 + i (P), for P1's digit
 * e + i. */
static void carry_lookup(uint32_t look[256])
{
    for (unsigned d = 0; d < 16; d++) {
        uint32_t g = d ? (0xFFFFu << (16 - d)) & 0xFFFF : 0, p = 1u << (15 - d);
        for (unsigned e = 0; e < 16; e++)
            look[d * 16 + e] = carry_rot(g, e) | carry_rot(p, e) << 16;
    }
}

/* P0: element i's 16 tables (over the masks already there) for its share
 * a and P1's offsets e. */
static void carry_tables(uint32_t *tab, const uint32_t look[256], uint64_t a, uint64_t e,
                         uint32_t s)
{
    uint64_t big = a << 1;
    for (unsigned j = 0; j < CARRY_DIGITS; j++) {
        unsigned d = (unsigned)(big >> (4 * j)) & 15, ej = (unsigned)(e >> (4 * j)) & 15;
        unsigned pos = carry_pos(j);
        uint32_t sg = 0 - ((s >> pos) & 1), sp = 0 - ((s >> (16 + pos)) & 1);
        tab[j] ^= look[d * 16 + ej] ^ (sg & 0xFFFF) ^ (sp << 16);
    }
}

/* P1: its G and P shares from element i's tables. */
static uint32_t carry_read(const uint32_t *tab, uint64_t c, uint32_t mc)
{
    uint32_t x = 0;
    for (unsigned j = 0; j < CARRY_DIGITS; j++) {
        unsigned cj = (unsigned)(c >> (4 * j)) & 15, pos = carry_pos(j);
        x |= ((tab[j] >> cj) & 1) << pos | ((tab[j] >> (16 + cj)) & 1) << (16 + pos);
    }
    return x ^ mc;
}

/* Elements of block b. */
static size_t carry_in_block(const carry_run_t *r, size_t b)
{
    size_t left = r->n - b * CARRY_BLOCK;
    return left < CARRY_BLOCK ? left : CARRY_BLOCK;
}

/* Block b's group openings (this party's, from its G and P shares x). */
static void carry_open1(const carry_run_t *r, size_t b, const uint32_t *x, uint64_t *open)
{
    carry_slice(x + b * CARRY_BLOCK, carry_in_block(r, b), open);
    for (unsigned q = 0; q < L1_WORDS; q++)
        open[q] ^= r->blk[b].r1[q];
}

/* Block b's last-node openings from both group openings. */
static void carry_open2(const carry_run_t *r, const carry_node_t *n1, size_t b,
                        const uint64_t *mine, const uint64_t *other, uint64_t *open2)
{
    const carry_block_t *k = &r->blk[b];
    uint64_t d[L1_WORDS], one = r->p0 ? ~(uint64_t)0 : 0;
    for (unsigned q = 0; q < L1_WORDS; q++)
        d[q] = mine[q] ^ other[q];
    for (unsigned g = 0; g < 4; g++) {
        uint64_t gp[2], din[CARRY_INPUTS], rin[CARRY_INPUTS];
        for (unsigned i = 0; i < CARRY_INPUTS; i++)
            din[i] = d[4 * i + g], rin[i] = k->r1[4 * i + g];
        carry_eval(n1, din, rin, &k->t1[g], 4, one, gp);
        open2[g] = gp[0] ^ k->r2[g];
        open2[4 + g] = gp[1] ^ k->r2[4 + g];
    }
}

/* Block b's shares of D xor rho from both last-node openings (x the
 * party's shares of the values). */
static uint64_t carry_last(const carry_run_t *r, const carry_node_t *n2, size_t b,
                           const uint64_t *mine, const uint64_t *other, const tensor_t *x)
{
    const carry_block_t *k = &r->blk[b];
    uint64_t d[CARRY_INPUTS], c[2], msb = 0;
    for (unsigned i = 0; i < CARRY_INPUTS; i++)
        d[i] = mine[i] ^ other[i];
    carry_eval(n2, d, k->r2, k->t2, 1, r->p0 ? ~(uint64_t)0 : 0, c);
    size_t m = carry_in_block(r, b);
    for (size_t e = 0; e < m; e++)
        msb |= (x->data[b * CARRY_BLOCK + e] >> 63) << e;
    return c[0] ^ msb ^ (r->p0 ? ~(uint64_t)0 : 0) ^ k->rho;
}

/* ReLU: the value's share tv, its truncation once the other's word in
 * round 1 is known; and E's share into the message at e. */
static void carry_value(const proto_ctx_t *ctx, carry_run_t *r, const tensor_t *x,
                        const uint64_t *theirs, uint64_t *e)
{
    if (r->d)
        trunc_half_finish(ctx, &r->tr, theirs, r->tv);
    else
        memcpy(r->tv, x->data, r->n * 8);
    for (size_t i = 0; i < r->n; i++)
        e[i] = r->tv[i] - r->aw[i];
}

/* P0's part (rounds 1 to 5): the tables. */
static trine_status_t carry_p0(proto_ctx_t *ctx, carry_run_t *r, const tensor_t *x,
                               trine_err_t *err)
{
    size_t n = r->n, nb = r->nb;
    trine_status_t st = TRINE_OK;
    if (r->d)
        st = proto_send(ctx, proto_other(ctx), r->tr.mine, n * 8, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), r->e, (r->d ? 2 : 1) * n * 8, err);
    if (st == TRINE_OK && r->d)
        st = trunc_half_recv_deal(ctx, &r->tr, err);
    if (st != TRINE_OK)
        return st;
    uint32_t look[256];
    carry_lookup(look);
    for (size_t i = 0; i < n; i++)
        carry_tables(&r->tab[i * CARRY_DIGITS], look, x->data[i], r->e[i], r->s[i]);
    /* the tables, the group openings and E's share: one message (host
     * order, as every protocol's words) */
    uint64_t *open1 = (uint64_t *)(void *)&r->tab[n * CARRY_DIGITS];
    for (size_t b = 0; b < nb; b++)
        carry_open1(r, b, r->s, &open1[b * L1_WORDS]);
    if (r->relu)
        carry_value(ctx, r, x, &r->e[n], &open1[nb * L1_WORDS]);
    st = proto_send(ctx, proto_other(ctx), r->tab, carry_msg2(r), err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), r->theirs, carry_msg3(r), err);
    if (st != TRINE_OK)
        return st;
    if (r->relu)
        memcpy(r->ex, &r->theirs[nb * (L1_WORDS + CARRY_INPUTS)], n * 8);
    carry_node_t n1, n2;
    carry_node_init(&n1, true);
    carry_node_init(&n2, false);
    uint64_t *open2 = r->open, *y = r->open + nb * CARRY_INPUTS;
    const uint64_t *theirs2 = r->theirs + nb * L1_WORDS;
    for (size_t b = 0; b < nb; b++) {
        carry_open2(r, &n1, b, &open1[b * L1_WORDS], &r->theirs[b * L1_WORDS],
                    &open2[b * CARRY_INPUTS]);
        y[b] = carry_last(r, &n2, b, &open2[b * CARRY_INPUTS], &theirs2[b * CARRY_INPUTS], x);
    }
    st = proto_send(ctx, proto_other(ctx), r->open, nb * (CARRY_INPUTS + 1) * 8, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), r->theirs, nb * 8, err);
    for (size_t b = 0; st == TRINE_OK && b < nb; b++)
        y[b] ^= r->theirs[b]; /* z = D xor rho */
    return st;
}

/* P1's part (rounds 1 to 5): the offsets first, P2's records. */
static trine_status_t carry_p1(proto_ctx_t *ctx, carry_run_t *r, const tensor_t *x,
                               trine_err_t *err)
{
    size_t n = r->n, nb = r->nb, rec = carry_rec(r->relu);
    for (size_t i = 0; i < n; i++) {
        uint64_t big = x->data[i] << 1, c = r->c[i], e = 0;
        for (unsigned j = 0; j < CARRY_DIGITS; j++)
            e |= (((big >> (4 * j)) - (c >> (4 * j))) & 15) << (4 * j);
        r->e[i] = e;
    }
    if (r->d)
        memcpy(&r->e[n], r->tr.mine, n * 8);
    trine_status_t st = proto_send(ctx, proto_other(ctx), r->e, (r->d ? 2 : 1) * n * 8, err);
    if (st == TRINE_OK && r->d)
        st = trunc_half_recv_deal(ctx, &r->tr, err);
    if (st == TRINE_OK && r->d)
        st = proto_recv(ctx, proto_other(ctx), r->ex, n * 8, err); /* P0's truncation word */
    if (st == TRINE_OK && r->relu)                         /* E's share into round 3's message */
        carry_value(ctx, r, x, r->ex, &r->open[nb * (L1_WORDS + CARRY_INPUTS)]);
    if (st == TRINE_OK)
        st = proto_recv_deal(ctx, PROTO_P2, r->deal, n * rec + nb * B_DEAL, err);
    if (st != TRINE_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d = &r->deal[i * rec];
        r->s[i] = (uint32_t)proto_get_le(d, 4);
        r->rw[i] = proto_get_le(d + 4, 8);
        if (r->relu)
            r->cw[i] = proto_get_le(d + 12, 8);
    }
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *d = &r->deal[n * rec + b * B_DEAL];
        for (unsigned q = 0; q < T1_WORDS; q++)
            r->blk[b].t1[q] = proto_get_le(d + 8 * q, 8);
        for (unsigned q = 0; q < CARRY_T2; q++)
            r->blk[b].t2[q] = proto_get_le(d + 8 * (T1_WORDS + q), 8);
    }
    st = proto_recv(ctx, proto_other(ctx), r->tab, carry_msg2(r), err);
    if (st != TRINE_OK)
        return st;
    if (r->relu)
        memcpy(r->ex, (const uint64_t *)(const void *)&r->tab[n * CARRY_DIGITS] + nb * L1_WORDS,
               n * 8);
    carry_node_t n1, n2;
    carry_node_init(&n1, true);
    carry_node_init(&n2, false);
    const uint64_t *theirs1 = (const uint64_t *)(const void *)&r->tab[n * CARRY_DIGITS];
    for (size_t i = 0; i < n; i++)
        r->x[i] = carry_read(&r->tab[i * CARRY_DIGITS], r->c[i], r->s[i]);
    uint64_t *open1 = r->open, *open2 = r->open + nb * L1_WORDS;
    for (size_t b = 0; b < nb; b++) {
        carry_open1(r, b, r->x, &open1[b * L1_WORDS]);
        carry_open2(r, &n1, b, &open1[b * L1_WORDS], &theirs1[b * L1_WORDS],
                    &open2[b * CARRY_INPUTS]);
    }
    st = proto_send(ctx, proto_other(ctx), r->open, carry_msg3(r), err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), r->theirs, nb * (CARRY_INPUTS + 1) * 8, err);
    if (st != TRINE_OK)
        return st;
    uint64_t *y = r->open; /* the group openings are sent: y in their place */
    for (size_t b = 0; b < nb; b++)
        y[b] = carry_last(r, &n2, b, &open2[b * CARRY_INPUTS], &r->theirs[b * CARRY_INPUTS], x);
    st = proto_send(ctx, proto_other(ctx), y, nb * 8, err);
    for (size_t b = 0; st == TRINE_OK && b < nb; b++)
        y[b] ^= r->theirs[nb * CARRY_INPUTS + b];
    return st;
}

/* P0 and P1: the rounds, then the shares of D (into dout, may be NULL)
 * and of ReLU(x) (into out, for ReLU). */
static trine_status_t carry_party(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                  const tensor_t *x, bool relu, unsigned d, trine_err_t *err)
{
    size_t n = x->size;
    carry_run_t r;
    trine_status_t st = carry_run_new(ctx, &r, n, relu, d, err);
    if (st != TRINE_OK)
        return st;
    if (d)
        st = trunc_half_new(ctx, &r.tr, x, d, err);
    if (st == TRINE_OK)
        st = carry_draw(ctx, &r, err);
    if (st == TRINE_OK)
        st = r.p0 ? carry_p0(ctx, &r, x, err) : carry_p1(ctx, &r, x, err);
    /* z: P0 left it after its last node's openings and y, P1 in place of y */
    const uint64_t *z = r.p0 ? r.open + r.nb * CARRY_INPUTS : r.open;
    for (size_t i = 0; st == TRINE_OK && i < n; i++) {
        uint64_t zi = (z[i / CARRY_BLOCK] >> (i % CARRY_BLOCK)) & 1, flip = 1 - 2 * zi;
        uint64_t d = (r.p0 ? zi : 0) + flip * r.rw[i];
        if (relu) {
            uint64_t ex = r.ex[i] + r.tv[i] - r.aw[i]; /* E = x - a */
            out->data[i] = zi * r.tv[i] + flip * (ex * r.rw[i] + r.cw[i]);
        }
        if (dout)
            dout->data[i] = d;
    }
    carry_run_free(&r);
    return st;
}

static trine_status_t carry_run(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                                bool relu, unsigned d, trine_err_t *err)
{
    const tensor_t *t[] = {x, out ? out : x, dout ? dout : x};
    trine_status_t st = proto_check_shapes(relu ? "relu" : "drelu", t, 3, err);
    if (st != TRINE_OK || x->size == 0)
        return st;
    if (proto_is_helper(ctx)) {
        if (d)
            st = trunc_deal(ctx, x->size, d, err);
        if (st == TRINE_OK)
            st = carry_deal(ctx, x->size, relu, err);
        if (out)
            proto_zero(out);
        if (dout)
            proto_zero(dout);
        return st;
    }
    return carry_party(ctx, out, dout, x, relu, d, err);
}

trine_status_t carry_drelu(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    return carry_run(ctx, NULL, out, x, false, 0, err);
}

trine_status_t carry_relu(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                          trine_err_t *err)
{
    return carry_run(ctx, out, dout, x, true, 0, err);
}

trine_status_t carry_relu_trunc(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                                unsigned bits, trine_err_t *err)
{
    return carry_run(ctx, out, dout, x, true, bits, err);
}
