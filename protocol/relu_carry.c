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
 * after 4). ReLU(x) = x D needs no round more: P0 and P1 open
 * E = x - a in round 1 (a a mask of P2's, which also deals shares of
 * a rho), so x rho = E rho + a rho and
 *     x D = z x + (1 - 2z) x rho.
 * Bytes an element: 8 + 64 + 4 + 4 + 1 + 1 + 1/4 online (DReLU; + 16
 * for ReLU) and 25 dealt to P1 (33 for ReLU); P2 receives nothing. P0's
 * dealt shares come from the P0-P2 seed, drawn chunk by chunk at fixed
 * positions of one stream per call.
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

#define CARRY_CHUNK  4096u /* elements whose randomness a party draws at once */
#define CARRY_DIGITS 16u
#define CARRY_INPUTS 8u /* of a lookahead node: G0..G3 (0..3), P0..P3 (4..7) */
#define CARRY_T1     22u /* products r_T a group's node needs */
#define CARRY_T2     15u /* and the last node, which needs no P' */

/* Words an element takes from the P0-P2 seed (P0's words) and from the
 * P1-P2 seed: DReLU, then ReLU's two more and one more. */
#define K0_DRELU 12u
#define K0_RELU  14u
#define K1_DRELU 2u
#define K1_RELU  3u
/* Bytes of P1's dealt record an element: the table bits (4), the group
 * products (11), the last node's (2), P1's share of rho (8), of a rho (8). */
#define DEAL_DRELU 25u
#define DEAL_RELU  33u

/* One element's share of the dealt values, as a party holds it. */
typedef struct {
    uint32_t s;     /* P0: its shares of G (bits 0-15) and P (16-31); P1: m at c */
    uint32_t r1;    /* masks of the group nodes' inputs, input i in nibble i */
    uint8_t r2;     /* masks of the last node's inputs, input i in bit i */
    uint8_t rho;    /* share of the bit rho */
    uint64_t t1[2]; /* shares of the 22 group products, product k in nibble k */
    uint16_t t2;    /* shares of the 15 last-node products, product k in bit k */
    uint64_t rw;    /* arithmetic share of rho */
    uint64_t aw;    /* ReLU: share of the mask a */
    uint64_t cw;    /* ReLU: share of a rho */
} carry_share_t;

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

/* Input i of a node: lane-wide bits at i * width of w. */
static unsigned carry_in(uint32_t w, unsigned i, unsigned width)
{
    return (w >> (i * width)) & ((1u << width) - 1);
}

/* A party's shares (lane-wide) of the node's outputs (out[1], P, for a
 * group node) from the opened inputs d, its input masks' shares r and
 * product shares t; one = all lanes at P0 and 0 at P1 (the empty
 * product). */
static void carry_eval(const carry_node_t *nd, uint32_t d, uint32_t r, const unsigned *t,
                       unsigned width, unsigned one, unsigned *out)
{
    unsigned prod[256], share[256];
    prod[0] = (1u << width) - 1, share[0] = one;
    for (unsigned k = 0, j = 0; k < nd->nsets; k++) {
        unsigned u = nd->sets[k], low = (unsigned)__builtin_ctz(u);
        prod[u] = prod[u & (u - 1)] & carry_in(d, low, width);
        share[u] = carry_single(u) ? carry_in(r, low, width) : t[j++];
    }
    for (unsigned o = 0; o < 2; o++) {
        unsigned acc = 0;
        for (unsigned k = 0; k < nd->nsum[o]; k++)
            acc ^= prod[nd->sum_rest[o][k]] & share[nd->sum_t[o][k]];
        out[o] = acc;
    }
}

/* The products r_T of a node's masks r (lane-wide), into t[0..nt). */
static void carry_products(const carry_node_t *nd, uint32_t r, unsigned width, unsigned *t)
{
    for (unsigned k = 0; k < nd->nt; k++) {
        unsigned v = (1u << width) - 1;
        for (unsigned s = nd->t[k]; s; s &= s - 1)
            v &= carry_in(r, (unsigned)__builtin_ctz(s), width);
        t[k] = v;
    }
}

static void carry_t1_unpack(const uint64_t t1[2], unsigned *t)
{
    for (unsigned k = 0; k < CARRY_T1; k++)
        t[k] = (unsigned)(t1[k / 16] >> (4 * (k % 16))) & 15;
}

static void carry_t2_unpack(uint16_t t2, unsigned *t)
{
    for (unsigned k = 0; k < CARRY_T2; k++)
        t[k] = (t2 >> k) & 1;
}

/* Where digit j's bits sit in a 16-bit G or P word: group j / 4 is the
 * lane, j % 4 the input, so that input i of every group is nibble i. */
static unsigned carry_pos(unsigned j)
{
    return (j & 3) * 4 + (j >> 2);
}

/* Bit (i + k) mod 16 of v at bit i. */
static uint32_t carry_rot(uint32_t v, unsigned k)
{
    return ((v >> k) | (v << (16 - k))) & 0xFFFF;
}

/* The P0-P2 words of element i (k0 of them) as P0's shares, or at P2. */
static void carry_share0(const uint64_t *w, bool relu, carry_share_t *s)
{
    s->s = (uint32_t)w[8];
    s->r1 = (uint32_t)(w[8] >> 32);
    s->t1[0] = w[9];
    s->t1[1] = w[10] & 0xFFFFFF;
    s->r2 = (uint8_t)(w[10] >> 24);
    s->t2 = (uint16_t)(w[10] >> 32) & 0x7FFF;
    s->rho = (uint8_t)(w[10] >> 47) & 1;
    s->rw = w[11];
    s->aw = relu ? w[12] : 0;
    s->cw = relu ? w[13] : 0;
}

/* The P1-P2 words of element i: c, and P1's masks. */
static void carry_share1(const uint64_t *w, bool relu, uint64_t *c, carry_share_t *s)
{
    *c = w[0];
    s->r1 = (uint32_t)w[1];
    s->r2 = (uint8_t)(w[1] >> 32);
    s->rho = (uint8_t)(w[1] >> 40) & 1;
    s->aw = relu ? w[2] : 0;
}

/* P1's dealt record of an element, and back (with P1's own masks). */
static void carry_record_put(uint8_t *out, const carry_share_t *s, bool relu)
{
    proto_put_le(out, s->s, 4);
    proto_put_le(out + 4, s->t1[0], 8);
    proto_put_le(out + 12, s->t1[1], 3);
    proto_put_le(out + 15, s->t2, 2);
    proto_put_le(out + 17, s->rw, 8);
    if (relu)
        proto_put_le(out + 25, s->cw, 8);
}

static void carry_record_get(const uint8_t *in, carry_share_t *s, bool relu)
{
    s->s = (uint32_t)proto_get_le(in, 4);
    s->t1[0] = proto_get_le(in + 4, 8);
    s->t1[1] = proto_get_le(in + 12, 3);
    s->t2 = (uint16_t)proto_get_le(in + 15, 2);
    s->rw = proto_get_le(in + 17, 8);
    s->cw = relu ? proto_get_le(in + 25, 8) : 0;
}

/* P2: P1's record of one element from both parties' words. */
static void carry_deal_one(const carry_node_t *n1, const carry_node_t *n2, const uint64_t *w0,
                           const uint64_t *w1, bool relu, uint8_t *out)
{
    carry_share_t s0, s1 = {0};
    uint64_t c;
    carry_share0(w0, relu, &s0);
    carry_share1(w1, relu, &c, &s1);
    uint32_t mc = 0;
    for (unsigned j = 0; j < CARRY_DIGITS; j++) {
        unsigned cj = (unsigned)(c >> (4 * j)) & 15, pos = carry_pos(j);
        uint32_t m = (uint32_t)(w0[j / 2] >> (32 * (j % 2)));
        mc |= ((m >> cj) & 1) << pos | ((m >> (16 + cj)) & 1) << (16 + pos);
    }
    unsigned t[CARRY_T1];
    carry_products(n1, s0.r1 ^ s1.r1, 4, t);
    uint64_t t1[2] = {0, 0};
    for (unsigned k = 0; k < CARRY_T1; k++)
        t1[k / 16] |= (uint64_t)t[k] << (4 * (k % 16));
    carry_products(n2, (uint32_t)(s0.r2 ^ s1.r2), 1, t);
    uint16_t t2 = 0;
    for (unsigned k = 0; k < CARRY_T2; k++)
        t2 |= (uint16_t)(t[k] << k);
    uint64_t rho = (uint64_t)(s0.rho ^ s1.rho);
    carry_share_t rec = {
        .s = mc,
        .t1 = {t1[0] ^ s0.t1[0], t1[1] ^ s0.t1[1]},
        .t2 = t2 ^ s0.t2,
        .rw = rho - s0.rw,
        .cw = (s0.aw + s1.aw) * rho - s0.cw,
    };
    carry_record_put(out, &rec, relu);
}

/* P2 (n > 0): draws both parties' words chunk by chunk and deals P1's
 * records in one message. */
static trine_status_t carry_deal(proto_ctx_t *ctx, size_t n, bool relu, trine_err_t *err)
{
    unsigned k0 = relu ? K0_RELU : K0_DRELU, k1 = relu ? K1_RELU : K1_DRELU;
    size_t rec = relu ? DEAL_RELU : DEAL_DRELU, c = n < CARRY_CHUNK ? n : CARRY_CHUNK;
    uint64_t *w0 = malloc(c * k0 * 8), *w1 = malloc(c * k1 * 8);
    uint8_t *wire = malloc(n * rec);
    trine_status_t st = TRINE_OK;
    if (!w0 || !w1 || !wire)
        st = trine_err_set(err, TRINE_ENOMEM, "carry: no memory to deal %zu values", n);
    carry_node_t n1, n2;
    carry_node_init(&n1, true);
    carry_node_init(&n2, false);
    uint64_t s0 = ctx->stream[PROTO_P0]++, s1 = ctx->stream[PROTO_P1]++;
    for (size_t e0 = 0; st == TRINE_OK && e0 < n; e0 += c) {
        size_t k = n - e0 < c ? n - e0 : c;
        prg_fill_ring(ctx->prg[PROTO_P0], s0, e0 * k0, w0, k * k0);
        prg_fill_ring(ctx->prg[PROTO_P1], s1, e0 * k1, w1, k * k1);
        for (size_t i = 0; i < k; i++)
            carry_deal_one(&n1, &n2, &w0[i * k0], &w1[i * k1], relu, &wire[(e0 + i) * rec]);
    }
    if (st == TRINE_OK)
        st = proto_send_deal(ctx, PROTO_P1, wire, n * rec, err);
    proto_wipe_free(w0, c * k0 * 8);
    proto_wipe_free(w1, c * k1 * 8);
    proto_wipe_free(wire, n * rec);
    return st;
}

/* P0 and P1's state of a call, one entry an element. */
typedef struct {
    size_t n;
    bool relu, p0;
    unsigned k; /* words an element from the seed shared with P2 */
    uint64_t stream;
    carry_share_t *sh;
    uint64_t *c;     /* P1: the digit offsets */
    uint64_t *e;     /* round 1: the digits' offsets (P1's), then E's share */
    uint64_t *ex;    /* ReLU: E = x - a opened */
    uint32_t *tab;   /* round 2: 16 tables an element, then the openings */
    uint32_t *open1; /* round 3: the groups' openings, this party's then the other's */
    uint8_t *open2;  /* round 4 */
    uint8_t *bits;   /* round 5, packed */
    uint32_t *x1;    /* this party's G and P shares */
    uint8_t *y;      /* this party's share of D */
    uint8_t *buf;    /* a message */
} carry_run_t;

static void carry_run_free(carry_run_t *r)
{
    size_t n = r->n;
    proto_wipe_free(r->sh, n * sizeof *r->sh);
    proto_wipe_free(r->c, n * 8);
    proto_wipe_free(r->e, 2 * n * 8);
    proto_wipe_free(r->ex, n * 8);
    proto_wipe_free(r->tab, n * (CARRY_DIGITS + 1) * 4);
    proto_wipe_free(r->open1, 2 * n * 4);
    proto_wipe_free(r->open2, 2 * n);
    proto_wipe_free(r->bits, 2 * ((n + 7) / 8));
    proto_wipe_free(r->x1, n * 4);
    proto_wipe_free(r->y, n);
    proto_wipe_free(r->buf, n * DEAL_RELU + 8);
}

static trine_status_t carry_run_new(proto_ctx_t *ctx, carry_run_t *r, size_t n, bool relu,
                                    trine_err_t *err)
{
    bool p0 = ctx->role == PROTO_P0;
    *r = (carry_run_t){.n = n, .relu = relu, .p0 = p0};
    r->k = p0 ? (relu ? K0_RELU : K0_DRELU) : (relu ? K1_RELU : K1_DRELU);
    r->sh = calloc(n, sizeof *r->sh);
    r->c = malloc(n * 8);
    r->e = malloc(2 * n * 8);
    r->ex = malloc(n * 8);
    r->tab = malloc(n * (CARRY_DIGITS + 1) * 4);
    r->open1 = malloc(2 * n * 4);
    r->open2 = malloc(2 * n);
    r->bits = malloc(2 * ((n + 7) / 8));
    r->x1 = malloc(n * 4);
    r->y = malloc(n);
    r->buf = malloc(n * DEAL_RELU + 8); /* P1's record, or rounds 3 and 4 */
    if (r->sh && r->c && r->e && r->ex && r->tab && r->open1 && r->open2 && r->bits && r->x1 &&
        r->y && r->buf)
        return TRINE_OK;
    carry_run_free(r);
    return trine_err_set(err, TRINE_ENOMEM, "carry: no memory for %zu values", n);
}

/* Draws this party's words chunk by chunk into its shares (and P0's masks
 * m into the tables, which it builds on them). */
static trine_status_t carry_draw(proto_ctx_t *ctx, carry_run_t *r, trine_err_t *err)
{
    size_t c = r->n < CARRY_CHUNK ? r->n : CARRY_CHUNK;
    uint64_t *w = malloc(c * r->k * 8);
    if (!w)
        return trine_err_set(err, TRINE_ENOMEM, "carry: no memory for %zu values", r->n);
    uint64_t stream = ctx->stream[PROTO_P2]++;
    for (size_t e0 = 0; e0 < r->n; e0 += c) {
        size_t k = r->n - e0 < c ? r->n - e0 : c;
        prg_fill_ring(ctx->prg[PROTO_P2], stream, e0 * r->k, w, k * r->k);
        for (size_t i = 0; i < k; i++) {
            const uint64_t *wi = &w[i * r->k];
            if (!r->p0) {
                carry_share1(wi, r->relu, &r->c[e0 + i], &r->sh[e0 + i]);
                continue;
            }
            carry_share0(wi, r->relu, &r->sh[e0 + i]);
            for (unsigned j = 0; j < CARRY_DIGITS; j++)
                r->tab[(e0 + i) * CARRY_DIGITS + j] = (uint32_t)(wi[j / 2] >> (32 * (j % 2)));
        }
    }
    proto_wipe_free(w, c * r->k * 8);
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

/* P1: its G and P shares (by position) from element i's tables. */
static uint32_t carry_read(const uint32_t *tab, uint64_t c, uint32_t mc)
{
    uint32_t x = 0;
    for (unsigned j = 0; j < CARRY_DIGITS; j++) {
        unsigned cj = (unsigned)(c >> (4 * j)) & 15, pos = carry_pos(j);
        x |= ((tab[j] >> cj) & 1) << pos | ((tab[j] >> (16 + cj)) & 1) << (16 + pos);
    }
    return x ^ mc;
}

/* A party's group outputs (G' | P' << 4) of element i, its openings known. */
static uint8_t carry_groups(const carry_node_t *n1, const carry_share_t *s, uint32_t d, bool p0)
{
    unsigned t[CARRY_T1];
    carry_t1_unpack(s->t1, t);
    unsigned one = p0 ? 15 : 0;
    unsigned gp[2];
    carry_eval(n1, d, s->r1, t, 4, one, gp);
    return (uint8_t)(gp[0] | gp[1] << 4);
}

/* A party's share of D = 1 - MSB(x) of element i, the last node's
 * openings known (xs its share of x). */
static unsigned carry_last(const carry_node_t *n2, const carry_share_t *s, uint8_t d, bool p0,
                           uint64_t xs)
{
    unsigned t[CARRY_T2];
    carry_t2_unpack(s->t2, t);
    unsigned c[2];
    carry_eval(n2, d, s->r2, t, 1, p0 ? 1 : 0, c);
    return c[0] ^ (unsigned)(xs >> 63) ^ (p0 ? 1u : 0u);
}

static void carry_bits_put(uint8_t *out, const uint8_t *bits, size_t n)
{
    memset(out, 0, (n + 7) / 8);
    for (size_t i = 0; i < n; i++)
        out[i / 8] |= (uint8_t)(bits[i] << (i % 8));
}

/* P0 (rounds 1 to 5), y getting its shares of D xor rho. */
static trine_status_t carry_p0(proto_ctx_t *ctx, carry_run_t *r, const tensor_t *x,
                               trine_err_t *err)
{
    size_t n = r->n, nb = (n + 7) / 8;
    trine_status_t st = TRINE_OK;
    if (r->relu) {
        for (size_t i = 0; i < n; i++)
            r->e[n + i] = x->data[i] - r->sh[i].aw;
        st = proto_send(ctx, PROTO_P1, &r->e[n], n * 8, err);
    }
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P1, r->e, (r->relu ? 2 : 1) * n * 8, err);
    if (st != TRINE_OK)
        return st;
    uint32_t look[256];
    carry_lookup(look);
    for (size_t i = 0; i < n; i++) {
        carry_tables(&r->tab[i * CARRY_DIGITS], look, x->data[i], r->e[i], r->sh[i].s);
        r->open1[i] = r->sh[i].s ^ r->sh[i].r1;
    }
    /* the tables, then the openings: one message (host order, as every
     * protocol's words) */
    memcpy(&r->tab[n * CARRY_DIGITS], r->open1, n * 4);
    st = proto_send(ctx, PROTO_P1, r->tab, n * (CARRY_DIGITS * 4 + 4), err);
    uint8_t *b = r->buf;
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P1, b, n * 5, err);
    if (st != TRINE_OK)
        return st;
    carry_node_t n1, n2;
    carry_node_init(&n1, true);
    carry_node_init(&n2, false);
    for (size_t i = 0; i < n; i++) {
        uint32_t theirs;
        memcpy(&theirs, b + i * 4, 4);
        uint32_t d1 = r->open1[i] ^ theirs;
        uint8_t mine = carry_groups(&n1, &r->sh[i], d1, true) ^ r->sh[i].r2;
        r->open2[i] = mine;
        uint8_t d2 = mine ^ b[n * 4 + i];
        r->y[i] = (uint8_t)(carry_last(&n2, &r->sh[i], d2, true, x->data[i]) ^ r->sh[i].rho);
    }
    memcpy(b, r->open2, n);
    carry_bits_put(b + n, r->y, n);
    st = proto_send(ctx, PROTO_P1, b, n + nb, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P1, r->bits, nb, err);
    for (size_t i = 0; st == TRINE_OK && i < n; i++)
        r->y[i] ^= (r->bits[i / 8] >> (i % 8)) & 1;
    return st;
}

/* P1 (rounds 1 to 5), y getting the opened z = D xor rho. */
static trine_status_t carry_p1(proto_ctx_t *ctx, carry_run_t *r, const tensor_t *x,
                               trine_err_t *err)
{
    size_t n = r->n, nb = (n + 7) / 8, rec = r->relu ? DEAL_RELU : DEAL_DRELU;
    for (size_t i = 0; i < n; i++) {
        uint64_t big = x->data[i] << 1, c = r->c[i], e = 0;
        for (unsigned j = 0; j < CARRY_DIGITS; j++)
            e |= (((big >> (4 * j)) - (c >> (4 * j))) & 15) << (4 * j);
        r->e[i] = e;
        if (r->relu)
            r->e[n + i] = x->data[i] - r->sh[i].aw;
    }
    trine_status_t st = proto_send(ctx, PROTO_P0, r->e, (r->relu ? 2 : 1) * n * 8, err);
    if (st == TRINE_OK && r->relu)
        st = proto_recv(ctx, PROTO_P0, r->ex, n * 8, err);
    uint8_t *b = r->buf;
    if (st == TRINE_OK)
        st = proto_recv_deal(ctx, PROTO_P2, b, n * rec, err);
    if (st != TRINE_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        carry_share_t *s = &r->sh[i];
        uint32_t r1 = s->r1;
        uint8_t r2 = s->r2, rho = s->rho;
        uint64_t aw = s->aw;
        carry_record_get(b + i * rec, s, r->relu);
        s->r1 = r1, s->r2 = r2, s->rho = rho, s->aw = aw;
    }
    st = proto_recv(ctx, PROTO_P0, r->tab, n * (CARRY_DIGITS * 4 + 4), err);
    if (st != TRINE_OK)
        return st;
    carry_node_t n1, n2;
    carry_node_init(&n1, true);
    carry_node_init(&n2, false);
    const uint32_t *theirs = &r->tab[n * CARRY_DIGITS];
    for (size_t i = 0; i < n; i++) {
        uint32_t mine = carry_read(&r->tab[i * CARRY_DIGITS], r->c[i], r->sh[i].s) ^ r->sh[i].r1;
        r->open1[i] = mine;
        r->open2[i] = carry_groups(&n1, &r->sh[i], mine ^ theirs[i], false) ^ r->sh[i].r2;
    }
    memcpy(b, r->open1, n * 4);
    memcpy(b + n * 4, r->open2, n);
    st = proto_send(ctx, PROTO_P0, b, n * 5, err);
    if (st == TRINE_OK)
        st = proto_recv(ctx, PROTO_P0, b, n + nb, err);
    if (st != TRINE_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        uint8_t d2 = r->open2[i] ^ b[i];
        r->y[i] = (uint8_t)(carry_last(&n2, &r->sh[i], d2, false, x->data[i]) ^ r->sh[i].rho);
    }
    carry_bits_put(r->bits, r->y, n);
    st = proto_send(ctx, PROTO_P0, r->bits, nb, err);
    for (size_t i = 0; st == TRINE_OK && i < n; i++)
        r->y[i] ^= (b[n + i / 8] >> (i % 8)) & 1;
    return st;
}

/* P0 and P1: the rounds, then the shares of D (into dout, may be NULL)
 * and of ReLU(x) (into out, for ReLU). */
static trine_status_t carry_party(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                  const tensor_t *x, bool relu, trine_err_t *err)
{
    size_t n = x->size;
    carry_run_t r;
    trine_status_t st = carry_run_new(ctx, &r, n, relu, err);
    if (st != TRINE_OK)
        return st;
    st = carry_draw(ctx, &r, err);
    if (st == TRINE_OK)
        st = r.p0 ? carry_p0(ctx, &r, x, err) : carry_p1(ctx, &r, x, err);
    if (st == TRINE_OK && relu && r.p0) /* E's two shares: P1's came in round 1 */
        for (size_t i = 0; i < n; i++)
            r.ex[i] = r.e[n + i];
    for (size_t i = 0; st == TRINE_OK && i < n; i++) {
        uint64_t z = r.y[i], flip = 1 - 2 * z;
        const carry_share_t *s = &r.sh[i];
        uint64_t d = (r.p0 ? z : 0) + flip * s->rw;
        if (relu) {
            uint64_t ex = r.ex[i] + x->data[i] - s->aw; /* E = x - a */
            out->data[i] = z * x->data[i] + flip * (ex * s->rw + s->cw);
        }
        if (dout)
            dout->data[i] = d;
    }
    carry_run_free(&r);
    return st;
}

static trine_status_t carry_run(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                const tensor_t *x, bool relu, trine_err_t *err)
{
    const tensor_t *t[] = {x, out ? out : x, dout ? dout : x};
    trine_status_t st = proto_check_shapes(relu ? "relu" : "drelu", t, 3, err);
    if (st != TRINE_OK || x->size == 0)
        return st;
    if (proto_is_helper(ctx)) {
        st = carry_deal(ctx, x->size, relu, err);
        if (out)
            proto_zero(out);
        if (dout)
            proto_zero(dout);
        return st;
    }
    return carry_party(ctx, out, dout, x, relu, err);
}

trine_status_t carry_drelu(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x, trine_err_t *err)
{
    return carry_run(ctx, NULL, out, x, false, err);
}

trine_status_t carry_relu(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout, const tensor_t *x,
                          trine_err_t *err)
{
    return carry_run(ctx, out, dout, x, true, err);
}
