/* relu_carry.c — DReLU and ReLU by the carry of a sum, P2 dealing every
 * correlation (protocol carry: the millionaires' protocol of CrypTFlow2,
 * Rathee et al. CCS 2020, with P2 in place of its oblivious transfers, the
 * dealer model of relu_fss.c).
 *
 * P0 and P1 first open c = x + 2^62 + r, r = r0 + r1 drawn by P2 from the
 * seeds it shares with P0 (r0) and P1 (r1): uniform whatever x is. With
 * s = -(r + 2^62), which P2 knows, x = c + s, and for every ring element
 *     MSB(x) = MSB(c) xor MSB(s) xor k,   k = [2c + 2s >= 2^64]
 * (the low 63 bits of each moved up): k is the carry of the sum of a
 * public number A = 2c and one only P2 knows, B = 2s. Split into 16
 * digits of 4 bits, digit j generates a carry (G_j = [A_j + B_j >= 16]) or
 * propagates one (P_j = [A_j + B_j = 15]). P2 deals XOR shares of digit
 * j's table v -> (G, P)(v, B_j) over the 16 values v (P0's from the P0-P2
 * seed, P1's sent), and each party reads entry A_j of its shares: XOR
 * shares of G_j and P_j, with no message. The rounds:
 *   1  c's shares, each way (after an exact truncation, trunc.c, its
 *      opening, which is c with the truncation's r);
 *   2  the carry-lookahead of each group of 4 digits,
 *      G' = G3 + P3 G2 + P3 P2 G1 + P3 P2 P1 G0 (its terms exclusive, so
 *      + is xor) and P' = P3 P2 P1 P0: each party opens its 8 input bits
 *      xor P2's masks r, and every term is a sum over subsets T of its
 *      inputs of a public product of openings times the product r_T, of
 *      which P2 deals XOR shares (22 products for a group node);
 *   3  the same over the 4 groups, k's shares (15 products); with MSB(c)
 *      and 1 xored in at P0, XOR shares of D = DReLU(x) = 1 - MSB(x) but
 *      for MSB(s), which P2 folds into its mask rho;
 *   4  D opened under rho, z = D xor rho, each way; P2 deals arithmetic
 *      shares of rho, and D = z + (1 - 2z) rho.
 * ReLU(x) = x D needs no round more: x rho = c rho + s rho, P2 dealing
 * shares of s rho, and x D = z x + (1 - 2z) x rho. After a truncation by d
 * bits, T = floor(c / 2^d) - 2^(62-d) + t + [c < 2^63] 2^(64-d) k with P2's
 * t and k (trunc.c), P2 deals shares of t rho and k rho instead; T D(x) is
 * ReLU(T), T being negative or 0 where x is.
 * The lookahead runs on blocks of 64 elements, bit e of a word holding
 * element e: a group node's 8 inputs for its 4 groups are 32 words, each
 * product share a word, so one word operation serves 64 elements; the
 * parties transpose their G and P shares into that form (carry_slice).
 * Bytes online: 8 an element each way in round 1, and 656 a block in
 * rounds 2 to 4 (the openings: 256 + 256, 64 + 64, 8 + 8): 26.25 an
 * element in full blocks, for ReLU too. Dealt to P1: 72 an element (its
 * table shares and its share of rho; for ReLU 8 more, after a truncation
 * 16 more and the truncation's own) and 824 a block (the 88 + 15 product
 * words): 84.9 an element, in a message a chunk of CARRY_CHUNK
 * elements. P2 receives nothing. P0's dealt shares come from the P0-P2
 * seed, drawn chunk by chunk at fixed positions of one stream per call.
 *
 * What each party sees (semi-honest, no two colluding): P2 nothing. P0 and
 * P1 see c, uniform as neither knows r; their table shares, P0's drawn
 * from a seed and P1's the table xor P0's, uniform to each; the other's
 * openings, masked by bits of the other's seed with P2; and z, D xor rho,
 * rho being the xor of a P0-P2 bit, a P1-P2 bit and MSB(s). A party's view
 * is thus uniform and independent of x.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define CARRY_DIGITS 16u
#define CARRY_BLOCK  64u                 /* elements a word holds, one a bit */
#define CARRY_CHUNK  (64u * CARRY_BLOCK) /* elements drawn and dealt at once */
#define L1_WORDS     32u /* a block's group inputs: input i of group k at word 4 i + k */
#define T1_WORDS     (4u * CARRY_T1) /* product j of group k at word 4 j + k */

/* A block's words from the seed shared with P2, as held: P0 all of them,
 * P1 r1, r2 and rho (its t1 and t2 dealt). */
typedef struct {
    uint64_t r1[L1_WORDS];     /* masks of the group inputs */
    uint64_t t1[T1_WORDS];     /* shares of the groups' products */
    uint64_t r2[CARRY_INPUTS]; /* masks of the last node's inputs */
    uint64_t t2[CARRY_T2];     /* shares of its products */
    uint64_t rho;              /* XOR shares of rho xor MSB(s) */
} carry_block_t;

#define B0_WORDS (L1_WORDS + T1_WORDS + CARRY_INPUTS + CARRY_T2 + 1u) /* P0's, 144 */
#define B1_WORDS (L1_WORDS + CARRY_INPUTS + 1u)                       /* P1's, 41 */
#define B_DEAL   ((T1_WORDS + CARRY_T2) * 8u)                         /* to P1, 824 bytes */

/* An element's words: P0 its table shares (8 words), its share r0 of r, its
 * share of rho over the ring and, for ReLU, of s rho (or t rho and k rho
 * after a truncation); P1 its share r1. P1's dealt record: its table
 * shares (64 bytes), its share of rho and of the ReLU's products (8
 * each). r0 and r1 go unused after a truncation, whose r is c's. */
static unsigned carry_e0(bool relu, unsigned d)
{
    return 10u + relu + (relu && d);
}

static size_t carry_rec(bool relu, unsigned d)
{
    return 72u + 8u * relu + 8u * (relu && d);
}

static size_t carry_blocks(size_t n)
{
    return (n + CARRY_BLOCK - 1) / CARRY_BLOCK;
}

/* Elements of the calls' chunks: CARRY_CHUNK, or n when fewer. */
static size_t carry_chunk(size_t n)
{
    return n < CARRY_CHUNK ? n : CARRY_CHUNK;
}

/* Bytes of P2's message to P1 for a chunk of k elements: their records,
 * then their blocks'. */
static size_t carry_deal_len(size_t k, bool relu, unsigned d)
{
    return k * carry_rec(relu, d) + carry_blocks(k) * B_DEAL;
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

/* Digit j's table for P2's digit b: entry v, bits v (G) and 16 + v (P),
 * for the public digit v. */
static uint32_t carry_table(unsigned b)
{
    uint32_t g = b ? (0xFFFFu << (16 - b)) & 0xFFFF : 0, p = 1u << (15 - b);
    return g | p << 16;
}

/* A party's G and P shares from element i's table shares at the public
 * digits a. */
static uint32_t carry_read(const uint32_t *tab, uint64_t a)
{
    uint32_t x = 0;
    for (unsigned j = 0; j < CARRY_DIGITS; j++) {
        unsigned aj = (unsigned)(a >> (4 * j)) & 15, pos = carry_pos(j);
        x |= ((tab[j] >> aj) & 1) << pos | ((tab[j] >> (16 + aj)) & 1) << (16 + pos);
    }
    return x;
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
 * words; *rho gets the block's bits rho, the XOR of the parties' and of
 * msb_s, the bits MSB(s). */
static void carry_deal_block(const carry_node_t *n1, const carry_node_t *n2, const uint64_t *w0,
                             const uint64_t *w1, uint64_t msb_s, uint8_t *out, uint64_t *rho)
{
    carry_block_t b0, b1, r;
    carry_block_get(w0, true, &b0);
    carry_block_get(w1, false, &b1);
    for (unsigned q = 0; q < L1_WORDS; q++)
        r.r1[q] = b0.r1[q] ^ b1.r1[q];
    for (unsigned q = 0; q < CARRY_INPUTS; q++)
        r.r2[q] = b0.r2[q] ^ b1.r2[q];
    for (unsigned k = 0; k < 4; k++)
        carry_node_products(n1, &r.r1[k], 4, &r.t1[k]);
    carry_node_products(n2, r.r2, 1, r.t2);
    for (unsigned q = 0; q < T1_WORDS; q++)
        proto_put_le(out + 8 * q, r.t1[q] ^ b0.t1[q], 8);
    for (unsigned q = 0; q < CARRY_T2; q++)
        proto_put_le(out + 8 * (T1_WORDS + q), r.t2[q] ^ b0.t2[q], 8);
    *rho = b0.rho ^ b1.rho ^ msb_s;
}

/* P2: P1's record of one element: its table shares for s, its shares of
 * rho and of the ReLU's products (r is the truncation's after one). */
static void carry_deal_one(const uint64_t *w0, uint64_t r, uint64_t s, bool relu, unsigned d,
                           uint64_t rho, uint8_t *out)
{
    uint64_t big = s << 1;
    for (unsigned j = 0; j < CARRY_DIGITS; j++) {
        unsigned b = (unsigned)(big >> (4 * j)) & 15;
        uint32_t m = (uint32_t)(w0[j / 2] >> (32 * (j % 2)));
        proto_put_le(out + 4 * j, carry_table(b) ^ m, 4);
    }
    proto_put_le(out + 64, rho - w0[9], 8);
    if (relu && !d)
        proto_put_le(out + 72, s * rho - w0[10], 8);
    if (relu && d) {
        uint64_t t = 0 - (r >> d), k = r >> 63;
        proto_put_le(out + 72, t * rho - w0[10], 8);
        proto_put_le(out + 80, k * rho - w0[11], 8);
    }
}

/* Draws words [pos, pos + count) of the call's stream shared with peer. */
static void carry_fill(proto_ctx_t *ctx, proto_party_t peer, uint64_t stream, size_t pos,
                       uint64_t *out, size_t count)
{
    prg_fill_ring(ctx->prg[peer], stream, pos, out, count);
}

/* P2 (n > 0): draws both parties' words chunk by chunk and deals P1's
 * records, a message a chunk: the elements', then the blocks'. rt holds
 * the truncation's r after one (d > 0), else NULL. */
static trine_status_t carry_deal(proto_ctx_t *ctx, size_t n, bool relu, unsigned d,
                                 const uint64_t *rt, trine_err_t *err)
{
    unsigned e0w = carry_e0(relu, d), e1w = 1;
    size_t rec = carry_rec(relu, d), c = carry_chunk(n), cb = carry_blocks(c);
    size_t len = carry_deal_len(c, relu, d);
    uint64_t *w0 = malloc(c * e0w * 8), *w1 = malloc(c * e1w * 8), *s = malloc(c * 8);
    uint64_t *b0 = malloc(cb * B0_WORDS * 8), *b1 = malloc(cb * B1_WORDS * 8);
    uint64_t *rho = malloc(cb * 8);
    uint8_t *wire = malloc(len);
    trine_status_t st = TRINE_OK;
    if (!w0 || !w1 || !s || !b0 || !b1 || !rho || !wire)
        st = trine_err_set(err, TRINE_ENOMEM, "carry: no memory to deal %zu values", n);
    carry_node_t n1, n2;
    carry_node_init(&n1, true);
    carry_node_init(&n2, false);
    uint64_t s0 = ctx->stream[PROTO_P0]++, s1 = ctx->stream[PROTO_P1]++;
    for (size_t i0 = 0; st == TRINE_OK && i0 < n; i0 += c) {
        size_t k = n - i0 < c ? n - i0 : c, kb = carry_blocks(k), first = i0 / CARRY_BLOCK;
        carry_fill(ctx, PROTO_P0, s0, i0 * e0w, w0, k * e0w);
        carry_fill(ctx, PROTO_P1, s1, i0 * e1w, w1, k * e1w);
        carry_fill(ctx, PROTO_P0, s0, n * e0w + first * B0_WORDS, b0, kb * B0_WORDS);
        carry_fill(ctx, PROTO_P1, s1, n * e1w + first * B1_WORDS, b1, kb * B1_WORDS);
        for (size_t i = 0; i < k; i++)
            s[i] = 0 - ((d ? rt[i0 + i] : w0[i * e0w + 8] + w1[i * e1w]) + PROTO_TRUNC_BIAS);
        for (size_t b = 0; b < kb; b++) {
            uint64_t msb_s = 0;
            for (size_t e = 0; e < CARRY_BLOCK && b * CARRY_BLOCK + e < k; e++)
                msb_s |= (s[b * CARRY_BLOCK + e] >> 63) << e;
            carry_deal_block(&n1, &n2, &b0[b * B0_WORDS], &b1[b * B1_WORDS], msb_s,
                             &wire[k * rec + b * B_DEAL], &rho[b]);
        }
        for (size_t i = 0; i < k; i++)
            carry_deal_one(&w0[i * e0w], d ? rt[i0 + i] : 0, s[i], relu, d,
                           (rho[i / CARRY_BLOCK] >> (i % CARRY_BLOCK)) & 1, &wire[i * rec]);
        st = proto_send_deal(ctx, PROTO_P1, wire, carry_deal_len(k, relu, d), err);
    }
    proto_wipe_free(w0, c * e0w * 8), proto_wipe_free(w1, c * e1w * 8);
    proto_wipe_free(s, c * 8);
    proto_wipe_free(b0, cb * B0_WORDS * 8), proto_wipe_free(b1, cb * B1_WORDS * 8);
    proto_wipe_free(rho, cb * 8), proto_wipe_free(wire, len);
    return st;
}

/* P0 and P1's state of a call: per element, then per block. */
typedef struct {
    size_t n, nb;
    bool relu, p0;
    unsigned d;      /* ReLU after an exact truncation by d bits, else 0 */
    trunc_half_t tr; /* d > 0: the truncation, whose opening is c's */
    uint64_t *mine;  /* d = 0: round 1's share of c */
    uint64_t *c;     /* the opened c */
    uint64_t *tv;    /* ReLU: the share of the value it multiplies (x, or T) */
    uint64_t *rw;    /* share of rho over the ring */
    uint64_t *pw;    /* ReLU: share of s rho, or of t rho */
    uint64_t *kw;    /* ReLU after a truncation: share of k rho */
    uint32_t *tab;   /* table shares: 16 words an element */
    uint32_t *x;     /* G and P shares */
    carry_block_t *blk;
    uint64_t *open;   /* this party's openings of a block: the groups', the last node's, y */
    uint64_t *theirs; /* the other's */
    uint8_t *deal;    /* P1: a chunk's dealt records */
} carry_run_t;

/* Words a block's openings take: the groups', the last node's, y. */
#define OPEN_WORDS (L1_WORDS + CARRY_INPUTS + 1u)

static void carry_run_free(carry_run_t *r)
{
    size_t n = r->n, nb = r->nb;
    proto_wipe_free(r->mine, n * 8), proto_wipe_free(r->c, n * 8);
    proto_wipe_free(r->tv, n * 8), proto_wipe_free(r->rw, n * 8);
    proto_wipe_free(r->pw, n * 8), proto_wipe_free(r->kw, n * 8);
    proto_wipe_free(r->tab, n * CARRY_DIGITS * 4), proto_wipe_free(r->x, n * 4);
    proto_wipe_free(r->blk, nb * sizeof *r->blk);
    proto_wipe_free(r->open, nb * OPEN_WORDS * 8), proto_wipe_free(r->theirs, nb * OPEN_WORDS * 8);
    trunc_half_free(&r->tr);
    proto_wipe_free(r->deal, carry_deal_len(carry_chunk(n), r->relu, r->d));
}

static trine_status_t carry_run_new(proto_ctx_t *ctx, carry_run_t *r, size_t n, bool relu,
                                    unsigned d, trine_err_t *err)
{
    size_t nb = carry_blocks(n);
    bool p0 = ctx->role == PROTO_P0;
    *r = (carry_run_t){.n = n, .nb = nb, .relu = relu, .p0 = p0, .d = d};
    r->c = malloc(n * 8), r->rw = malloc(n * 8);
    r->tab = malloc(n * CARRY_DIGITS * 4), r->x = malloc(n * 4);
    r->blk = malloc(nb * sizeof *r->blk);
    r->open = malloc(nb * OPEN_WORDS * 8), r->theirs = malloc(nb * OPEN_WORDS * 8);
    bool ok = r->c && r->rw && r->tab && r->x && r->blk && r->open && r->theirs;
    if (!d)
        ok = ok && (r->mine = malloc(n * 8));
    if (relu) {
        r->tv = malloc(n * 8), r->pw = malloc(n * 8);
        ok = ok && r->tv && r->pw && (!d || (r->kw = malloc(n * 8)));
    }
    if (!p0)
        ok = ok && (r->deal = malloc(carry_deal_len(carry_chunk(n), relu, d)));
    if (ok)
        return TRINE_OK;
    carry_run_free(r);
    return trine_err_set(err, TRINE_ENOMEM, "carry: no memory for %zu values", n);
}

/* Draws this party's words chunk by chunk: P0 its table shares, and both
 * their shares of c's mask (d = 0) into round 1's words. */
static trine_status_t carry_draw(proto_ctx_t *ctx, carry_run_t *r, const tensor_t *x,
                                 trine_err_t *err)
{
    size_t n = r->n, c = carry_chunk(n);
    unsigned ew = r->p0 ? carry_e0(r->relu, r->d) : 1;
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
            size_t e = i0 + i;
            if (!r->d)
                r->mine[e] = x->data[e] + (r->p0 ? wi[8] + PROTO_TRUNC_BIAS : wi[0]);
            if (!r->p0)
                continue;
            for (unsigned j = 0; j < CARRY_DIGITS; j++)
                r->tab[e * CARRY_DIGITS + j] = (uint32_t)(wi[j / 2] >> (32 * (j % 2)));
            r->rw[e] = wi[9];
            if (r->relu)
                r->pw[e] = wi[10];
            if (r->relu && r->d)
                r->kw[e] = wi[11];
        }
    }
    proto_wipe_free(w, c * ew * 8);
    proto_wipe_free(bwords, carry_blocks(c) * bw * 8);
    return TRINE_OK;
}

/* P1: its table shares and words from P2's records, a chunk at a time. */
static trine_status_t carry_recv_deal(proto_ctx_t *ctx, carry_run_t *r, trine_err_t *err)
{
    size_t n = r->n, rec = carry_rec(r->relu, r->d), c = carry_chunk(n);
    trine_status_t st = TRINE_OK;
    for (size_t i0 = 0; st == TRINE_OK && i0 < n; i0 += c) {
        size_t k = n - i0 < c ? n - i0 : c, kb = carry_blocks(k), first = i0 / CARRY_BLOCK;
        st = proto_recv_deal(ctx, PROTO_P2, r->deal, carry_deal_len(k, r->relu, r->d), err);
        for (size_t i = 0; st == TRINE_OK && i < k; i++) {
            const uint8_t *d = &r->deal[i * rec];
            size_t e = i0 + i;
            for (unsigned j = 0; j < CARRY_DIGITS; j++)
                r->tab[e * CARRY_DIGITS + j] = (uint32_t)proto_get_le(d + 4 * j, 4);
            r->rw[e] = proto_get_le(d + 64, 8);
            if (r->relu)
                r->pw[e] = proto_get_le(d + 72, 8);
            if (r->relu && r->d)
                r->kw[e] = proto_get_le(d + 80, 8);
        }
        for (size_t b = 0; st == TRINE_OK && b < kb; b++) {
            const uint8_t *d = &r->deal[k * rec + b * B_DEAL];
            for (unsigned q = 0; q < T1_WORDS; q++)
                r->blk[first + b].t1[q] = proto_get_le(d + 8 * q, 8);
            for (unsigned q = 0; q < CARRY_T2; q++)
                r->blk[first + b].t2[q] = proto_get_le(d + 8 * (T1_WORDS + q), 8);
        }
    }
    return st;
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
        carry_node_eval(n1, din, rin, &k->t1[g], 4, one, gp);
        open2[g] = gp[0] ^ k->r2[g];
        open2[4 + g] = gp[1] ^ k->r2[4 + g];
    }
}

/* Block b's shares of D xor rho from both last-node openings; P0 xors in
 * 1 xor MSB(c). */
static uint64_t carry_last(const carry_run_t *r, const carry_node_t *n2, size_t b,
                           const uint64_t *mine, const uint64_t *other)
{
    const carry_block_t *k = &r->blk[b];
    uint64_t d[CARRY_INPUTS], c[2], msb = 0;
    for (unsigned i = 0; i < CARRY_INPUTS; i++)
        d[i] = mine[i] ^ other[i];
    carry_node_eval(n2, d, k->r2, k->t2, 1, r->p0 ? ~(uint64_t)0 : 0, c);
    if (!r->p0)
        return c[0] ^ k->rho;
    size_t m = carry_in_block(r, b);
    for (size_t e = 0; e < m; e++)
        msb |= (r->c[b * CARRY_BLOCK + e] >> 63) << e;
    return c[0] ^ ~msb ^ k->rho;
}

/* Sends this party's len bytes and receives the other's. */
static trine_status_t carry_swap(proto_ctx_t *ctx, const void *mine, void *theirs, size_t len,
                                 trine_err_t *err)
{
    trine_status_t st = proto_send(ctx, proto_other(ctx), mine, len, err);
    return st == TRINE_OK ? proto_recv(ctx, proto_other(ctx), theirs, len, err) : st;
}

/* Rounds 1 to 4: c, the leaves, the two lookahead levels, z in place of
 * y in the openings. */
static trine_status_t carry_rounds(proto_ctx_t *ctx, carry_run_t *r, const tensor_t *x,
                                   trine_err_t *err)
{
    size_t n = r->n, nb = r->nb;
    const uint64_t *mine = r->d ? r->tr.mine : r->mine;
    trine_status_t st = proto_send(ctx, proto_other(ctx), mine, n * 8, err);
    if (st == TRINE_OK && r->d)
        st = trunc_half_recv_deal(ctx, &r->tr, err);
    if (st == TRINE_OK && !r->p0)
        st = carry_recv_deal(ctx, r, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, proto_other(ctx), r->c, n * 8, err);
    if (st != TRINE_OK)
        return st;
    if (r->relu && r->d)
        trunc_half_finish(ctx, &r->tr, r->c, r->tv);
    else if (r->relu)
        memcpy(r->tv, x->data, n * 8);
    for (size_t i = 0; i < n; i++) {
        r->c[i] += mine[i];
        r->x[i] = carry_read(&r->tab[i * CARRY_DIGITS], r->c[i] << 1);
    }
    uint64_t *open1 = r->open, *open2 = r->open + nb * L1_WORDS, *y = open2 + nb * CARRY_INPUTS;
    uint64_t *their1 = r->theirs, *their2 = r->theirs + nb * L1_WORDS;
    for (size_t b = 0; b < nb; b++)
        carry_open1(r, b, r->x, &open1[b * L1_WORDS]);
    st = carry_swap(ctx, open1, their1, nb * L1_WORDS * 8, err);
    if (st != TRINE_OK)
        return st;
    carry_node_t n1, n2;
    carry_node_init(&n1, true);
    carry_node_init(&n2, false);
    for (size_t b = 0; b < nb; b++)
        carry_open2(r, &n1, b, &open1[b * L1_WORDS], &their1[b * L1_WORDS],
                    &open2[b * CARRY_INPUTS]);
    st = carry_swap(ctx, open2, their2, nb * CARRY_INPUTS * 8, err);
    if (st != TRINE_OK)
        return st;
    for (size_t b = 0; b < nb; b++)
        y[b] = carry_last(r, &n2, b, &open2[b * CARRY_INPUTS], &their2[b * CARRY_INPUTS]);
    uint64_t *their_y = r->theirs + nb * (L1_WORDS + CARRY_INPUTS);
    st = carry_swap(ctx, y, their_y, nb * 8, err);
    for (size_t b = 0; st == TRINE_OK && b < nb; b++)
        y[b] ^= their_y[b]; /* z = D xor rho */
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
        st = carry_draw(ctx, &r, x, err);
    if (st == TRINE_OK)
        st = carry_rounds(ctx, &r, x, err);
    const uint64_t *z = r.open + r.nb * (L1_WORDS + CARRY_INPUTS);
    uint64_t pub_bias = d ? PROTO_TRUNC_BIAS >> d : 0;
    for (size_t i = 0; st == TRINE_OK && i < n; i++) {
        uint64_t zi = (z[i / CARRY_BLOCK] >> (i % CARRY_BLOCK)) & 1, flip = 1 - 2 * zi;
        if (dout)
            dout->data[i] = (r.p0 ? zi : 0) + flip * r.rw[i];
        if (!relu)
            continue;
        uint64_t c = r.c[i], vr; /* the share of the value times rho */
        if (d)
            vr = ((c >> d) - pub_bias) * r.rw[i] + r.pw[i] + ((c >> 63) ? 0 : r.kw[i] << (64 - d));
        else
            vr = c * r.rw[i] + r.pw[i];
        out->data[i] = zi * r.tv[i] + flip * vr;
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
        uint64_t *rt = d ? malloc(x->size * 8) : NULL;
        if (d && !rt)
            st = trine_err_set(err, TRINE_ENOMEM, "carry: no memory to deal %zu values", x->size);
        if (st == TRINE_OK && d)
            st = trunc_deal(ctx, x->size, d, rt, err);
        if (st == TRINE_OK)
            st = carry_deal(ctx, x->size, relu, d, rt, err);
        proto_wipe_free(rt, d ? x->size * 8 : 0);
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
