/* internal.h — what the protocol files share and users of protocol/ do not
 * see: the context's layout, counted send and receive, the pairwise
 * randomness, arithmetic in Z_(2^64 - 1) and Z_p, and Z_p packing. */
#ifndef TRINE_PROTO_INTERNAL_H
#define TRINE_PROTO_INTERNAL_H

#include "ctx.h"
#include "proto.h"

#include "tensor/prg.h"
#include "tensor/tensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The prime of PrivateCompare: above ell + 2 = 66 so that its sums never
 * wrap (private_compare.c), and small enough to pack in 7 bits. */
#define PROTO_P         67u
#define PROTO_ZP_BITS   7u
#define PROTO_RING_BITS 64

/* 2^64 - 1, the odd modulus of ShareConvert and ComputeMSB. */
#define PROTO_N UINT64_MAX

struct proto_ctx {
    proto_party_t role;
    link_t link;
    unsigned frac_bits;
    proto_trunc_t trunc;
    proto_protocol_t protocol;
    uint64_t fss_max; /* under PROTO_AUTO (ctx.h) */
    prg_t *prg[PROTO_PARTIES];         /* prg[j]: seed shared with party j; NULL for self */
    uint64_t stream[PROTO_PARTIES];    /* next stream (nonce) of prg[j] */
    uint64_t sent_step[PROTO_PARTIES]; /* messages sent to / received from party j */
    uint64_t recv_step[PROTO_PARTIES];
    uint32_t stamp; /* causal round stamp of the current call (ctx.h) */
    int depth;      /* nesting of protocol calls; the outermost is charged */
    proto_op_t op;
    proto_counters_t call;
    proto_stats_t stats;
    bool failed;
};

static inline bool proto_is_helper(const proto_ctx_t *ctx)
{
    return ctx->role == PROTO_P2;
}

/* The other compute party of P0 or P1. */
static inline proto_party_t proto_other(const proto_ctx_t *ctx)
{
    return ctx->role == PROTO_P0 ? PROTO_P1 : PROTO_P0;
}

/* Opens a protocol call (charged to op when outermost); TRINE_EPEER when
 * an earlier failure lost the job. */
TRINE_NODISCARD trine_status_t proto_op_begin(proto_ctx_t *ctx, proto_op_t op, trine_err_t *err);

/* Closes the call opened by proto_op_begin and passes st through; a
 * failure marks the context lost. */
trine_status_t proto_op_end(proto_ctx_t *ctx, trine_status_t st);

/* Sends or receives one payload with the header, counting it. */
TRINE_NODISCARD trine_status_t proto_send(proto_ctx_t *ctx, proto_party_t to, const void *buf,
                                          size_t len, trine_err_t *err);
TRINE_NODISCARD trine_status_t proto_recv(proto_ctx_t *ctx, proto_party_t from, void *buf,
                                          size_t len, trine_err_t *err);

/* proto_send of a dealing: input-independent correlated randomness,
 * counted as offline bytes too (ctx.h). */
TRINE_NODISCARD trine_status_t proto_send_deal(proto_ctx_t *ctx, proto_party_t to,
                                               const void *buf, size_t len, trine_err_t *err);

/* proto_recv of a dealing (what proto_send_deal sent), timing the wait
 * for it into the offline wait (ctx.h). */
TRINE_NODISCARD trine_status_t proto_recv_deal(proto_ctx_t *ctx, proto_party_t from, void *buf,
                                               size_t len, trine_err_t *err);

/* Draws n words from the next stream of the seed shared with peer; both
 * parties of the pair must make the same draws in the same order. */
void proto_draw_ring(proto_ctx_t *ctx, proto_party_t peer, uint64_t *out, size_t n);

/* Checks that every tensor in t[0..n) has the shape of t[0]. */
TRINE_NODISCARD trine_status_t proto_check_shapes(const char *what, const tensor_t *const *t,
                                                  size_t n, trine_err_t *err);

/* out = x y truncated once (exp.c): one Beaver product, one round. */
TRINE_NODISCARD trine_status_t proto_mul_fixed(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                               const tensor_t *y, trine_err_t *err);

/* out = a x + b for public reals a, b (exp.c): local, one truncation. */
TRINE_NODISCARD trine_status_t proto_affine(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                            double a, double b, trine_err_t *err);

/* The powers y^2 .. y^6 of n values into pw (7n words: pw[k n ..] holds
 * y^k for k = 1..6, y given in pw[n ..]), each truncated once (exp.c):
 * three rounds of Beaver products. */
TRINE_NODISCARD trine_status_t proto_powers6(proto_ctx_t *ctx, uint64_t *pw, size_t n,
                                             trine_err_t *err);

/* The terms of softmax (softmax.c), rows along x's last axis: d = x
 * minus its row's maximum (argmax's one-hot, one product), e = exp(d)
 * (d, e [m,k]) and s = the row sums of e ([m]). */
TRINE_NODISCARD trine_status_t proto_softmax_terms(proto_ctx_t *ctx, tensor_t *d, tensor_t *e,
                                                   tensor_t *s, const tensor_t *x,
                                                   trine_err_t *err);

/* Wipes and frees a buffer of len bytes; accepts NULL. */
void proto_wipe_free(void *buf, size_t len);

/* The low nb bytes of v little-endian at out (a dealing's wire form), and
 * back. */
void proto_put_le(uint8_t *out, uint64_t v, size_t nb);
uint64_t proto_get_le(const uint8_t *in, size_t nb);

/* Sets every element of t to zero: the helper's outputs. */
void proto_zero(tensor_t *t);

/* Arithmetic mod N = 2^64 - 1 on values in [0, N). */
static inline uint64_t ringn_reduce(uint64_t a)
{
    return a == PROTO_N ? 0 : a;
}

static inline uint64_t ringn_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    s += s < a; /* 2^64 = 1 mod N */
    return ringn_reduce(s);
}

static inline uint64_t ringn_sub(uint64_t a, uint64_t b)
{
    return a >= b ? a - b : a - b - 1;
}

/* Number of bytes that n digits of Z_p take packed 7 bits each. */
static inline size_t zp_packed_len(size_t n)
{
    return (n * PROTO_ZP_BITS + 7) / 8;
}

/* Packs n digits (< 128) into zp_packed_len(n) bytes, and back. */
void zp_pack(uint8_t *out, const uint8_t *digits, size_t n);
void zp_unpack(uint8_t *digits, const uint8_t *in, size_t n);

/* PrivateCompare (private_compare.c) in the form the other protocols use.
 * x has n * 64 digits: Zp shares of the bits of n secret values, bit i of
 * value e at e * 64 + i (P2 passes NULL). pub holds n public values and
 * beta n common random bits (P0 and P1; P2 passes NULL for both). At P2,
 * out[e] receives beta[e] xor (x > pub) for PC_GT, beta[e] xor (x < pub)
 * for PC_LT; P0 and P1 pass out NULL. One round: P0, P1 -> P2. */
typedef enum { PC_GT, PC_LT } pc_mode_t;
TRINE_NODISCARD trine_status_t pc_run(proto_ctx_t *ctx, pc_mode_t mode, const uint8_t *x,
                                      const uint64_t *pub, const uint8_t *beta, uint8_t *out,
                                      size_t n, trine_err_t *err);

/* Common random bits of P0 and P1, one per byte. */
void proto_draw_bits(proto_ctx_t *ctx, proto_party_t peer, uint8_t *out, size_t n);

/* The helper's dealing of Zp shares of the bits of n values v (P2 only):
 * P0's digits come from the P0-P2 seed; P1's are written packed into
 * wire (zp_packed_len(n * 64) bytes) for P2 to send. P0 calls
 * proto_bits_draw for its digits. */
void proto_bits_deal(proto_ctx_t *ctx, const uint64_t *v, size_t n, uint8_t *wire);
void proto_bits_draw(proto_ctx_t *ctx, uint8_t *digits, size_t n);

/* ComputeMSB split in its dealing and the rest, so that DReLU can send the
 * dealing with ShareConvert's last message (msb.c). */
typedef struct {
    size_t n;
    uint64_t *x;   /* the helper's random x mod N: P0, P1 a share, P2 the value */
    uint8_t *bits; /* P0, P1: Zp shares of the bits of x (n * 64) */
    uint8_t *wire; /* P1's packed bit shares: P2 fills, P1 receives */
    size_t wire_len;
    bool pending; /* P1 still has to receive wire from P2 itself */
} msb_deal_t;

TRINE_NODISCARD trine_status_t msb_deal_new(proto_ctx_t *ctx, msb_deal_t *d, size_t n,
                                            trine_err_t *err);
void msb_deal_free(msb_deal_t *d);

/* maxpool.c: proto_pool_out for x, then checks that out is n x c x oh x
 * ow; errors name op ("maxpool", "avgpool"). */
TRINE_NODISCARD trine_status_t proto_pool_shapes(const tensor_t *out, const tensor_t *x,
                                                 const proto_pool_t *p, const char *op, size_t *oh,
                                                 size_t *ow, trine_err_t *err);
TRINE_NODISCARD trine_status_t msb_finish(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a,
                                          msb_deal_t *d, trine_err_t *err);

/* DReLU and ReLU under protocol fss (relu_fss.c), called inside
 * proto_drelu and proto_relu: out gets DReLU(x), or ReLU(x) with DReLU(x)
 * in dout (may be NULL). One round. */
TRINE_NODISCARD trine_status_t fss_drelu(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                         trine_err_t *err);
TRINE_NODISCARD trine_status_t fss_relu(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                        const tensor_t *x, trine_err_t *err);

/* The same with x truncated exactly by 1 <= bits <= FIXED_FRAC_BITS_MAX
 * first (-2^62 <= x < 2^62), in the one round; dout gets DReLU(x). */
TRINE_NODISCARD trine_status_t fss_relu_trunc(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                              const tensor_t *x, unsigned bits, trine_err_t *err);

/* P0's bias in exact truncation's opening (trunc.c), which moves
 * [-2^62, 2^62) to [0, 2^63); fss's truncated ReLU (relu_fss.c) and
 * carry's opening (relu_carry.c) use the same. */
#define PROTO_TRUNC_BIAS ((uint64_t)1 << 62)

/* Exact truncation by d bits (trunc.c) in parts, for a protocol that
 * sends its one exchange in a round of its own: trunc_deal is P2's part
 * (r_out, unless NULL, receives each value's mask r: the opening is
 * x + 2^62 + r);
 * at P0 and P1 trunc_half_new draws and forms the word to send (mine),
 * trunc_half_recv_deal takes P1's dealing (nothing at P0), and
 * trunc_half_finish writes the shares of the result from the other's
 * words. */
typedef struct {
    size_t n;
    unsigned d;
    uint64_t *mine, *t, *k;
    uint8_t *wire;
} trunc_half_t;

TRINE_NODISCARD trine_status_t trunc_deal(proto_ctx_t *ctx, size_t n, unsigned d, uint64_t *r_out,
                                          trine_err_t *err);
TRINE_NODISCARD trine_status_t trunc_half_new(proto_ctx_t *ctx, trunc_half_t *h, const tensor_t *x,
                                              unsigned d, trine_err_t *err);
TRINE_NODISCARD trine_status_t trunc_half_recv_deal(proto_ctx_t *ctx, trunc_half_t *h,
                                                    trine_err_t *err);
void trunc_half_finish(const proto_ctx_t *ctx, const trunc_half_t *h, const uint64_t *theirs,
                       uint64_t *out);
void trunc_half_free(trunc_half_t *h);

/* carry_node.c: a node of carry's lookahead (relu_carry.c) for 64
 * elements at once. nd lists the products r_T, |T| >= 2, of the subsets
 * of its terms by index (nt of them); every subset U of a term in
 * increasing order (U minus its lowest input before U); and the summands
 * of each output, a subset T of a term and the rest of the term. */
#define CARRY_INPUTS 8u  /* of a node: G0..G3 (0..3), P0..P3 (4..7) */
#define CARRY_T1     22u /* products r_T a group node needs */
#define CARRY_T2     15u /* and the last node, which has no P' */
typedef struct {
    uint8_t t[CARRY_T1];
    unsigned nt;
    uint8_t sets[48];
    unsigned nsets;
    uint8_t sum_t[2][48], sum_rest[2][48]; /* G, then P for a group node */
    unsigned nsum[2];
} carry_node_t;

/* A group node (with_p: G' and P') or the last one (G' only). */
void carry_node_init(carry_node_t *nd, bool with_p);

/* A party's XOR shares of the node's outputs (out[1], P', for a group
 * node) for 64 elements: the opened inputs d[i], its shares of the masks
 * r[i] and of the products t[j * stride]; one = all ones at the party
 * that takes the empty product, 0 at the other. */
void carry_node_eval(const carry_node_t *nd, const uint64_t *d, const uint64_t *r,
                     const uint64_t *t, unsigned stride, uint64_t one, uint64_t out[2]);

/* P2: the products r_T of a node's masks r[i] (stride apart) into
 * t[j * stride]. */
void carry_node_products(const carry_node_t *nd, const uint64_t *r, unsigned stride, uint64_t *t);

/* DReLU and ReLU under protocol carry (relu_carry.c), called inside
 * proto_drelu and proto_relu as fss_drelu and fss_relu are: P2 deals, P0
 * and P1 exchange 4 rounds. */
TRINE_NODISCARD trine_status_t carry_drelu(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                           trine_err_t *err);
TRINE_NODISCARD trine_status_t carry_relu(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                          const tensor_t *x, trine_err_t *err);

/* The ReLU of x truncated exactly by 1 <= bits <= FIXED_FRAC_BITS_MAX
 * (-2^62 <= x < 2^62) in the same 4 rounds, the truncation's opening
 * serving as round 1's; dout gets DReLU(x). */
TRINE_NODISCARD trine_status_t carry_relu_trunc(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                                const tensor_t *x, unsigned bits,
                                                trine_err_t *err);

/* argmax_pairs.c: proto_argmax's work (shapes checked, m >= 1 rows of
 * 2 <= k <= PROTO_ARGMAX_PAIRS_MAX) by comparing all pairs of a row at
 * once: a comparison round and a zero test (small_zero). */
TRINE_NODISCARD trine_status_t argmax_pairs(proto_ctx_t *ctx, tensor_t *out, tensor_t *onehot,
                                            const tensor_t *x, trine_err_t *err);

/* small_zero.c: out[i] = [v[i] = 0] for n shared values with -2^b < v < 2^b,
 * 1 <= b <= SMALL_ZERO_BITS_MAX, as arithmetic shares (P2: zeros; its v
 * is not read). One round: a nibble each way a value, 2^b words dealt to
 * P1. */
#define SMALL_ZERO_BITS_MAX 4
TRINE_NODISCARD trine_status_t small_zero(proto_ctx_t *ctx, uint64_t *out, const uint64_t *v,
                                          size_t n, unsigned b, trine_err_t *err);

/* ShareConvert with an attachment: P2 appends attach_len bytes of attach
 * to its last message to P1, which P1 copies into attach (share_convert.c). */
TRINE_NODISCARD trine_status_t sc_run(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a,
                                      uint8_t *attach, size_t attach_len, trine_err_t *err);

#endif
