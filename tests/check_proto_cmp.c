/* check_proto_cmp.c — PrivateCompare, ShareConvert, ComputeMSB, DReLU,
 * ReLU, SelectShare and the comparisons: exact on random values and edges
 * over several seeds, with their measured rounds and bytes. */
#include "check_util.h"
#include "proto_harness.h"

#include "protocol/dcf.h"
#include "protocol/internal.h"

#include <string.h>

#define SEEDS 8
#define P     67
#define N     400

typedef struct {
    tensor_t *x[3], *y[3], *z[3], *out[3], *out2[3];
    const tensor_t *pub;
    proto_cmp_t cmp;
    proto_protocol_t protocol;
} args_t;

static uint64_t sum_n(uint64_t a, uint64_t b) /* mod 2^64 - 1 */
{
    uint64_t s = a + b;
    s += s < a;
    return s == UINT64_MAX ? 0 : s;
}

/* ---- PrivateCompare --------------------------------------------------- */

static trine_status_t body_pc(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_private_compare(ctx, a->out[p], a->x[p], a->pub, err);
}

/* Z_67 digits on the wire: digit i at bits 7i .. 7i+6, little end first,
 * for every length (groups of eight and the tail). */
START_TEST(zp_pack_matches_its_bit_layout)
{
    uint8_t d[80] = {0}, back[80], out[80];
    for (size_t n = 0; n <= 72; n++) {
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)((i * 37 + n * 11) % 128);
        memset(out, 0xaa, sizeof out);
        zp_pack(out, d, n);
        for (size_t i = 0; i < n; i++) {
            unsigned v = 0;
            for (unsigned b = 0; b < 7; b++) {
                size_t bit = 7 * i + b;
                v |= ((unsigned)(out[bit / 8] >> (bit % 8)) & 1u) << b;
            }
            ck_assert_uint_eq(v, d[i]);
        }
        memset(back, 0, sizeof back);
        zp_unpack(back, out, n);
        ck_assert_mem_eq(back, d, n);
    }
}
END_TEST

START_TEST(private_compare_reveals_masked_bit_to_p2)
{
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        tensor_t *x = tensor_new_1d(N), *r = tensor_new_1d(N), *bits = tensor_new_1d(N * 64);
        check_util_random(x->data, N, 40 + seed);
        check_util_random(r->data, N, 50 + seed);
        const uint64_t ex[] = {0, 0, 5, UINT64_MAX, UINT64_MAX, 0, 1u << 31, UINT64_MAX - 1};
        const uint64_t er[] = {0, UINT64_MAX, 5, UINT64_MAX, 0, 1, 1u << 31, UINT64_MAX};
        for (size_t i = 0; i < 8; i++)
            x->data[i] = ex[i], r->data[i] = er[i];
        for (size_t i = 8; i < 40; i++) /* values close to r */
            x->data[i] = r->data[i] + (uint64_t)(int64_t)((int)(i % 5) - 2);
        for (size_t e = 0; e < N; e++)
            for (int i = 0; i < 64; i++)
                bits->data[e * 64 + i] = x->data[e] >> i & 1;
        args_t a = {.pub = r};
        harness_alloc(a.x, bits);
        check_util_random(a.x[0]->data, N * 64, 60 + seed);
        for (size_t i = 0; i < N * 64; i++) {
            a.x[0]->data[i] %= P;
            a.x[1]->data[i] = (bits->data[i] + P - a.x[0]->data[i]) % P;
        }
        harness_alloc(a.out, x);
        harness_result_t res;
        harness_run_ok(body_pc, &a, &res);
        unsigned ones = 0;
        for (size_t e = 0; e < N; e++) {
            ck_assert_uint_eq(a.out[0]->data[e], a.out[1]->data[e]);
            ck_assert_uint_le(a.out[0]->data[e], 1);
            ones += (unsigned)a.out[0]->data[e];
            ck_assert_uint_eq(a.out[0]->data[e] ^ a.out[2]->data[e], x->data[e] > r->data[e]);
        }
        ck_assert_uint_gt(ones, N / 4); /* beta is random */
        ck_assert_uint_lt(ones, 3 * N / 4);
        ck_assert_uint_eq(harness_bytes(&res), 112 * N);
        ck_assert_uint_eq(harness_rounds(&res), 1);
        tensor_destroy(&x), tensor_destroy(&r), tensor_destroy(&bits);
        harness_free(a.x), harness_free(a.out);
    }
}
END_TEST

/* ---- ShareConvert and ComputeMSB ------------------------------------- */

static trine_status_t body_sc(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_share_convert(ctx, a->out[p], a->x[p], err);
}

START_TEST(share_convert_to_odd_ring)
{
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        tensor_t *x = harness_values(N, 64, 70 + seed);
        const uint64_t edges[] = {0, 1, UINT64_MAX - 1, 1ull << 63, (1ull << 63) - 1};
        for (size_t i = 0; i < 5; i++)
            x->data[i] = edges[i];
        for (size_t i = 5; i < N; i++)
            if (x->data[i] == UINT64_MAX) /* outside the contract */
                x->data[i] = 7;
        args_t a = {0};
        harness_share(a.x, x, seed);
        /* shares that wrap and shares that do not, for small values */
        a.x[0]->data[5] = 3, a.x[1]->data[5] = x->data[5] - 3;
        harness_alloc(a.out, x);
        harness_result_t res;
        harness_run_ok(body_sc, &a, &res);
        for (size_t e = 0; e < N; e++) {
            ck_assert_uint_lt(a.out[0]->data[e], UINT64_MAX);
            ck_assert_uint_lt(a.out[1]->data[e], UINT64_MAX);
            ck_assert_uint_eq(sum_n(a.out[0]->data[e], a.out[1]->data[e]), x->data[e]);
            ck_assert_uint_eq(a.out[2]->data[e], 0);
        }
        ck_assert_uint_eq(harness_bytes(&res), 200 * N);
        ck_assert_uint_eq(harness_rounds(&res), 4);
        tensor_destroy(&x);
        harness_free(a.x), harness_free(a.out);
    }
}
END_TEST

static trine_status_t body_msb(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_msb(ctx, a->out[p], a->x[p], err);
}

START_TEST(msb_over_odd_ring)
{
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        tensor_t *x = tensor_new_1d(N);
        check_util_random(x->data, N, 80 + seed);
        const uint64_t edges[] = {0, 1, UINT64_MAX - 1, 1ull << 63, (1ull << 63) - 1};
        for (size_t i = 0; i < N; i++)
            x->data[i] = i < 5 ? edges[i] : (x->data[i] == UINT64_MAX ? 0 : x->data[i]);
        args_t a = {0};
        harness_alloc(a.x, x);
        check_util_random(a.x[0]->data, N, 90 + seed);
        for (size_t i = 0; i < N; i++) {
            a.x[0]->data[i] = a.x[0]->data[i] == UINT64_MAX ? 0 : a.x[0]->data[i];
            uint64_t s0 = a.x[0]->data[i]; /* x1 = x - x0 mod 2^64 - 1 */
            a.x[1]->data[i] = x->data[i] >= s0 ? x->data[i] - s0 : x->data[i] - s0 - 1;
        }
        harness_alloc(a.out, x);
        harness_result_t res;
        harness_run_ok(body_msb, &a, &res);
        tensor_t *o = harness_open(a.out);
        for (size_t e = 0; e < N; e++)
            ck_assert_uint_eq(o->data[e], x->data[e] >> 63);
        ck_assert_uint_eq(harness_bytes(&res), 192 * N);
        ck_assert_uint_eq(harness_rounds(&res), 3);
        tensor_destroy(&x), tensor_destroy(&o);
        harness_free(a.x), harness_free(a.out);
    }
}
END_TEST

/* ---- DReLU, ReLU -------------------------------------------------------- */

static trine_status_t body_relu(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    trine_status_t st = proto_ctx_set_protocol(ctx, a->protocol, err);
    if (st == TRINE_OK)
        st = proto_drelu(ctx, a->out[p], a->x[p], err);
    if (st == TRINE_OK)
        st = proto_relu(ctx, a->out2[p], a->z[p], a->x[p], err);
    return st;
}

START_TEST(drelu_and_relu_exact_in_valid_range)
{
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        tensor_t *x = harness_values(N, 63, 100 + seed); /* |x| <= 2^62 */
        args_t a = {0};
        harness_share(a.x, x, seed);
        harness_alloc(a.out, x), harness_alloc(a.out2, x), harness_alloc(a.z, x);
        harness_result_t res;
        harness_run_ok(body_relu, &a, &res);
        tensor_t *d = harness_open(a.out), *r = harness_open(a.out2), *dz = harness_open(a.z);
        for (size_t e = 0; e < N; e++) {
            int64_t v = (int64_t)x->data[e];
            ck_assert_msg(d->data[e] == (v >= 0), "drelu(%lld) = %llu", (long long)v,
                          (unsigned long long)d->data[e]);
            ck_assert_uint_eq(dz->data[e], v >= 0);
            ck_assert_uint_eq(r->data[e], v >= 0 ? (uint64_t)v : 0);
        }
        uint64_t drelu = 0;
        for (int p = 0; p < PROTO_PARTIES; p++)
            drelu += proto_counters_bytes_sent(&res.stats[p].op[PROTO_OP_DRELU]);
        ck_assert_uint_eq(drelu, 392 * N);
        ck_assert_uint_eq(proto_stats_call_rounds(&res.stats[0].op[PROTO_OP_DRELU],
                                                  &res.stats[1].op[PROTO_OP_DRELU],
                                                  &res.stats[2].op[PROTO_OP_DRELU]),
                          7);
        ck_assert_uint_eq(harness_bytes(&res), 432 * N);
        ck_assert_uint_eq(harness_rounds(&res), 8);
        /* one message per peer per round: ReLU sends at most 8 per party */
        ck_assert_uint_le(proto_counters_msgs_sent(&res.stats[1].last_call), 8);
        tensor_destroy(&x), tensor_destroy(&d), tensor_destroy(&r), tensor_destroy(&dz);
        harness_free(a.x), harness_free(a.out), harness_free(a.out2), harness_free(a.z);
    }
}
END_TEST

/* The costs body_relu's calls had. */
typedef struct {
    uint64_t rounds, online, offline; /* of the DReLU call (what P2 dealt apart) */
    uint64_t relu_sent, relu_dealt;   /* of the ReLU call: P0's and P1's bytes, P2's */
} relu_costs_t;

/* The opened DReLU (d, and dz beside the ReLU) and ReLU (r) of every
 * x are exact; *c gets the calls' costs. */
static void check_relu_exact(const tensor_t *x, tensor_t *const sh0, const args_t *a,
                             const harness_result_t *res, relu_costs_t *c)
{
    tensor_t *d = harness_open(a->out), *r = harness_open(a->out2), *dz = harness_open(a->z);
    for (size_t e = 0; e < x->size; e++) {
        int64_t v = (int64_t)x->data[e];
        ck_assert_msg(d->data[e] == (v >= 0), "%s drelu(%lld) = %llu (P0's share %llx)",
                      proto_protocol_name(a->protocol), (long long)v,
                      (unsigned long long)d->data[e], (unsigned long long)sh0->data[e]);
        ck_assert_uint_eq(dz->data[e], v >= 0);
        ck_assert_uint_eq(r->data[e], v >= 0 ? (uint64_t)v : 0);
    }
    const proto_counters_t *op[3];
    for (int p = 0; p < 3; p++)
        op[p] = &res->stats[p].op[PROTO_OP_DRELU];
    c->rounds = proto_stats_call_rounds(op[0], op[1], op[2]);
    uint64_t bytes = 0, dealt = 0;
    for (int p = 0; p < 3; p++)
        bytes += proto_counters_bytes_sent(op[p]), dealt += op[p]->offline_bytes;
    c->online = bytes - dealt, c->offline = dealt;
    c->relu_sent = proto_counters_bytes_sent(&res->stats[0].last_call) +
                   proto_counters_bytes_sent(&res->stats[1].last_call);
    c->relu_dealt = res->stats[2].last_call.offline_bytes;
    tensor_destroy(&d), tensor_destroy(&r), tensor_destroy(&dz);
}

/* Under protocol fss: exact on every ring element (no range condition),
 * across a chunk boundary of the keys; 1 round each, 16 bytes an element
 * online, the keys offline. */
START_TEST(fss_drelu_and_relu_exact_everywhere)
{
    if (!dcf_available())
        return; /* proto_ctx_set_protocol's refusal is tested below */
    const size_t n = 4200; /* two chunks of keys */
    for (uint64_t seed = 0; seed < 3; seed++) {
        tensor_t *x = harness_values(n, 64, 700 + seed);
        const uint64_t edge[] = {0, 1, UINT64_MAX, (uint64_t)1 << 63, ((uint64_t)1 << 63) - 1,
                                 ((uint64_t)1 << 63) + 1, (uint64_t)1 << 62, 0 - ((uint64_t)1 << 62)};
        for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
            x->data[n - 1 - i] = edge[i];
        args_t a = {.protocol = PROTO_FSS};
        harness_share(a.x, x, seed);
        harness_alloc(a.out, x), harness_alloc(a.out2, x), harness_alloc(a.z, x);
        harness_result_t res;
        harness_run_ok(body_relu, &a, &res);
        relu_costs_t c;
        check_relu_exact(x, a.x[0], &a, &res, &c);
        ck_assert_uint_eq(c.rounds, 1);
        ck_assert_uint_eq(c.online, 16 * n);
        ck_assert_uint_eq(c.offline, (2 * dcf_key_bytes(1) + 8) * n);
        ck_assert_uint_eq(harness_rounds(&res), 1);
        ck_assert_uint_eq(c.relu_sent, 16 * n);
        ck_assert_uint_eq(c.relu_dealt, (2 * dcf_key_bytes(2) + 16) * n);
        tensor_destroy(&x);
        harness_free(a.x), harness_free(a.out), harness_free(a.out2), harness_free(a.z);
    }
}
END_TEST

/* carry's lookahead node (carry_node.c) on all 256 patterns of its 8
 * inputs, opened under random masks whose products' XOR shares are split
 * at random: G' = G3 + P3 G2 + P3 P2 G1 + P3 P2 P1 G0 and P' = P3 P2 P1 P0
 * from the two parties' shares, for a group node and the last one. The
 * protocol reaches the long chains only when P2's mask makes them. */
START_TEST(carry_node_every_pattern)
{
    for (int with_p = 0; with_p < 2; with_p++) {
        carry_node_t nd;
        carry_node_init(&nd, with_p);
        ck_assert_uint_eq(nd.nt, with_p ? CARRY_T1 : CARRY_T2);
        for (unsigned w = 0; w < 4; w++) { /* patterns 64 w .. 64 w + 63 */
            uint64_t in[CARRY_INPUTS] = {0}, r[CARRY_INPUTS], r0[CARRY_INPUTS], d[CARRY_INPUTS];
            uint64_t t[CARRY_T1], t0[CARRY_T1], t1[CARRY_T1], r1[CARRY_INPUTS];
            for (unsigned e = 0; e < 64; e++)
                for (unsigned i = 0; i < CARRY_INPUTS; i++)
                    in[i] |= (uint64_t)(((64 * w + e) >> i) & 1) << e;
            check_util_random(r, CARRY_INPUTS, 70 + w);
            check_util_random(r0, CARRY_INPUTS, 80 + w);
            check_util_random(t0, CARRY_T1, 90 + w);
            for (unsigned i = 0; i < CARRY_INPUTS; i++)
                d[i] = in[i] ^ r[i], r1[i] = r[i] ^ r0[i];
            carry_node_products(&nd, r, 1, t);
            for (unsigned j = 0; j < nd.nt; j++)
                t1[j] = t[j] ^ t0[j];
            uint64_t o0[2], o1[2];
            carry_node_eval(&nd, d, r0, t0, 1, ~(uint64_t)0, o0);
            carry_node_eval(&nd, d, r1, t1, 1, 0, o1);
            const uint64_t *g = in, *pp = in + 4;
            uint64_t gw = g[3] ^ (pp[3] & g[2]) ^ (pp[3] & pp[2] & g[1]) ^
                          (pp[3] & pp[2] & pp[1] & g[0]);
            uint64_t pw = pp[3] & pp[2] & pp[1] & pp[0];
            ck_assert_uint_eq(o0[0] ^ o1[0], gw);
            if (with_p)
                ck_assert_uint_eq(o0[1] ^ o1[1], pw);
        }
    }
}
END_TEST

/* Under protocol carry: exact on random and edge values, each edge split
 * between the shares in several ways, across a chunk of the dealt
 * randomness and a partial block; 4 rounds, the online and dealt bytes
 * harness_carry_bytes and harness_carry_dealt give, and P2 receives
 * nothing. */
START_TEST(carry_drelu_and_relu_exact_everywhere)
{
    const size_t n = 4200; /* past CARRY_CHUNK */
    const uint64_t half = (uint64_t)1 << 63;
    const uint64_t edge[] = {0, 1, UINT64_MAX, half, half - 1, half + 1, half - 2, 2};
    const uint64_t split[] = {0, 1, half - 1, half, 0x5555555555555555u, 0xAAAAAAAAAAAAAAAAu,
                              0x0123456789ABCDEFu, UINT64_MAX};
    for (uint64_t seed = 0; seed < 3; seed++) {
        tensor_t *x = harness_values(n, 64, 900 + seed);
        args_t a = {.protocol = PROTO_CARRY};
        harness_share(a.x, x, seed);
        size_t at = n - 1;
        for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
            for (size_t j = 0; j < sizeof split / sizeof *split; j++, at--) {
                x->data[at] = edge[i];
                a.x[0]->data[at] = split[j];
                a.x[1]->data[at] = edge[i] - split[j];
            }
        harness_alloc(a.out, x), harness_alloc(a.out2, x), harness_alloc(a.z, x);
        harness_result_t res;
        harness_run_ok(body_relu, &a, &res);
        relu_costs_t c;
        check_relu_exact(x, a.x[0], &a, &res, &c);
        ck_assert_uint_eq(c.rounds, 4);
        ck_assert_uint_eq(c.online, harness_carry_bytes(n, false));
        ck_assert_uint_eq(c.offline, harness_carry_dealt(n, false));
        ck_assert_uint_eq(harness_rounds(&res), 4);
        ck_assert_uint_eq(c.relu_sent, harness_carry_bytes(n, true));
        ck_assert_uint_eq(c.relu_dealt, harness_carry_dealt(n, true));
        ck_assert_uint_eq(res.stats[2].total.bytes_recv[0] + res.stats[2].total.bytes_recv[1],
                          res.stats[2].op[PROTO_OP_SETUP].bytes_recv[0] +
                              res.stats[2].op[PROTO_OP_SETUP].bytes_recv[1]);
        tensor_destroy(&x);
        harness_free(a.x), harness_free(a.out), harness_free(a.out2), harness_free(a.z);
    }
}
END_TEST

/* ReLU after a truncation by FB bits: within the truncation's one step of
 * max(x / 2^FB, 0), exactly 0 for negative x, with DReLU(x) beside it (of
 * the truncated value under securenn);
 * under fss one round (16 bytes an element online), under carry ReLU's 4
 * (its bytes, the truncation's opening being its first round's; dealt its
 * records with two products and the truncation's 10), else a
 * truncation's round and ReLU's 8. */
static trine_status_t body_relu_trunc(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_relu_trunc(ctx, a->out[p], a->z[p], a->x[p], FB, err);
}

START_TEST(relu_after_truncation)
{
    for (uint64_t seed = 0; seed < 3; seed++) {
        tensor_t *x = harness_values(N, 63, 800 + seed); /* -2^62 <= x < 2^62 */
        args_t a = {0};
        harness_share(a.x, x, seed);
        harness_alloc(a.out, x), harness_alloc(a.z, x);
        harness_result_t res;
        harness_run_ok(body_relu_trunc, &a, &res);
        tensor_t *r = harness_open(a.out), *d = harness_open(a.z);
        for (size_t e = 0; e < N; e++) {
            int64_t v = (int64_t)x->data[e], got = (int64_t)r->data[e];
            int64_t lo = v >= 0 ? v >> FB : 0; /* floor, or one more */
            ck_assert_msg(v < 0 ? got == 0 : got == lo || got == lo + 1,
                          "relu(trunc(%lld)) = %lld", (long long)v, (long long)got);
            /* securenn: DReLU of the truncation, 1 where it gave 0 */
            bool zero = harness_protocol() == PROTO_SECURENN && v < 0 && v >= -(1 << FB);
            ck_assert_msg(d->data[e] == (v >= 0) || (zero && d->data[e] == 1),
                          "drelu beside relu(trunc(%lld)) = %llu", (long long)v,
                          (unsigned long long)d->data[e]);
        }
        ck_assert_uint_eq(harness_rounds(&res), harness_pick(1 + 8, 1, 4));
        if (harness_protocol() == PROTO_FSS)
            ck_assert_uint_eq(harness_cost_bytes(&res), 16 * N);
        if (harness_protocol() == PROTO_CARRY) {
            ck_assert_uint_eq(harness_cost_bytes(&res), harness_carry_bytes(N, true));
            ck_assert_uint_eq(res.stats[2].last_call.offline_bytes,
                              harness_carry_dealt(N, true) + (8 + 10) * N);
        }
        tensor_destroy(&x), tensor_destroy(&r), tensor_destroy(&d);
        harness_free(a.x), harness_free(a.out), harness_free(a.z);
    }
}
END_TEST

/* ---- SelectShare and comparisons ---------------------------------------- */

static trine_status_t body_select(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_select(ctx, a->out[p], a->z[p], a->x[p], a->y[p], err);
}

/* ---- the zero test of small values (small_zero.c) ---------------------- */

typedef struct {
    tensor_t *x[3], *out[3];
    unsigned bits;
} zero_args_t;

static trine_status_t body_small_zero(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    zero_args_t *a = arg;
    int p = proto_ctx_role(ctx);
    trine_status_t st = proto_op_begin(ctx, PROTO_OP_ARGMAX, err);
    if (st != TRINE_OK)
        return st;
    st = small_zero(ctx, a->out[p]->data, a->x[p]->data, a->x[p]->size, a->bits, err);
    return proto_op_end(ctx, st);
}

/* [v = 0] for every -2^b < v < 2^b at each width b, over a chunk of the
 * dealing once: 1 round, a nibble each way a value, 2^b words dealt, and
 * P2 receives nothing. Widths 0 and 5 are refused. */
START_TEST(small_zero_exact_in_one_round)
{
    for (unsigned b = 1; b <= SMALL_ZERO_BITS_MAX; b++)
        for (uint64_t seed = 0; seed < 3; seed++) {
            size_t n = b == 4 && seed == 0 ? 8192 + 37 : 301, span = ((size_t)2 << b) - 1;
            tensor_t *x = tensor_new_1d(n);
            for (size_t i = 0; i < n; i++)
                x->data[i] = (uint64_t)((int64_t)((i + seed) % span) - (int64_t)(span / 2));
            zero_args_t a = {.bits = b};
            harness_share(a.x, x, 40 + seed);
            harness_alloc(a.out, x);
            harness_result_t res;
            harness_run_ok(body_small_zero, &a, &res);
            tensor_t *o = harness_open(a.out);
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(o->data[i] == (x->data[i] == 0), "b %u: [%lld = 0] gave %llu", b,
                              (long long)x->data[i], (unsigned long long)o->data[i]);
            ck_assert_uint_eq(harness_rounds(&res), 1);
            const proto_counters_t *c2 = &res.stats[2].last_call;
            ck_assert_uint_eq(c2->offline_bytes, n * 8 << b);
            ck_assert_uint_eq(harness_bytes(&res), 2 * ((n + 1) / 2) + (n * 8 << b));
            ck_assert_uint_eq(c2->bytes_recv[0] + c2->bytes_recv[1], 0);
            tensor_destroy(&x), tensor_destroy(&o);
            harness_free(a.x), harness_free(a.out);
        }
    for (unsigned b = 0; b <= SMALL_ZERO_BITS_MAX + 1; b += SMALL_ZERO_BITS_MAX + 1) {
        tensor_t *x = tensor_new_1d(4);
        zero_args_t a = {.bits = b};
        harness_share(a.x, x, 1);
        harness_alloc(a.out, x);
        harness_result_t res;
        harness_run(body_small_zero, &a, 10000, &res);
        for (int p = 0; p < 3; p++) {
            ck_assert_int_eq(res.status[p], TRINE_EINVAL);
            ck_assert_str_eq(res.err[p].msg, b ? "zero test: 5 bits (1 to 4)"
                                               : "zero test: 0 bits (1 to 4)");
        }
        tensor_destroy(&x);
        harness_free(a.x), harness_free(a.out);
    }
}
END_TEST

START_TEST(select_share_picks_exactly)
{
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        tensor_t *x = harness_values(N, 64, 110 + seed), *y = harness_values(N, 64, 120 + seed);
        tensor_t *bit = tensor_new_1d(N);
        check_util_random(bit->data, N, 130 + seed);
        for (size_t i = 0; i < N; i++)
            bit->data[i] &= 1;
        args_t a = {0};
        harness_share(a.x, x, 1), harness_share(a.y, y, 2), harness_share(a.z, bit, 3);
        harness_alloc(a.out, x);
        harness_result_t res;
        harness_run_ok(body_select, &a, &res);
        tensor_t *o = harness_open(a.out);
        for (size_t e = 0; e < N; e++)
            ck_assert_uint_eq(o->data[e], bit->data[e] ? y->data[e] : x->data[e]);
        ck_assert_uint_eq(harness_bytes(&res), 40 * N);
        ck_assert_uint_eq(harness_rounds(&res), 1);
        tensor_destroy(&x), tensor_destroy(&y), tensor_destroy(&bit), tensor_destroy(&o);
        harness_free(a.x), harness_free(a.y), harness_free(a.z), harness_free(a.out);
    }
}
END_TEST

static trine_status_t body_compare(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    trine_status_t st = proto_compare(ctx, a->out[p], a->x[p], a->y[p], a->cmp, err);
    if (st == TRINE_OK)
        st = proto_compare_public(ctx, a->out2[p], a->x[p], a->pub, a->cmp, err);
    return st;
}

START_TEST(compare_shared_and_public)
{
    for (int cmp = PROTO_CMP_GE; cmp <= PROTO_CMP_LT; cmp++) {
        tensor_t *x = harness_values(N, 62, 140 + (uint64_t)cmp);
        tensor_t *y = harness_values(N, 62, 150 + (uint64_t)cmp);
        for (size_t i = 0; i < N; i += 7) /* equal pairs and neighbours */
            y->data[i] = x->data[i] + (uint64_t)(int64_t)((int)(i % 3) - 1);
        args_t a = {.pub = y, .cmp = (proto_cmp_t)cmp};
        harness_share(a.x, x, 1), harness_share(a.y, y, 2);
        harness_alloc(a.out, x), harness_alloc(a.out2, x);
        harness_result_t res;
        harness_run_ok(body_compare, &a, &res);
        tensor_t *o = harness_open(a.out), *o2 = harness_open(a.out2);
        for (size_t e = 0; e < N; e++) {
            int64_t u = (int64_t)x->data[e], v = (int64_t)y->data[e];
            uint64_t want = cmp == PROTO_CMP_GE   ? u >= v
                            : cmp == PROTO_CMP_GT ? u > v
                            : cmp == PROTO_CMP_LE ? u <= v
                                                  : u < v;
            ck_assert_uint_eq(o->data[e], want);
            ck_assert_uint_eq(o2->data[e], want);
        }
        ck_assert_uint_eq(harness_rounds(&res), harness_pick(7, 1, 4));
        ck_assert_uint_eq(harness_cost_bytes(&res), harness_pick(392 * N, 16 * N, harness_carry_bytes(N, false)));
        tensor_destroy(&x), tensor_destroy(&y), tensor_destroy(&o), tensor_destroy(&o2);
        harness_free(a.x), harness_free(a.y), harness_free(a.out), harness_free(a.out2);
    }
}
END_TEST

Suite *proto_cmp_suite(void)
{
    Suite *s = suite_create("proto_cmp");
    TCase *tc = tcase_create("proto_cmp");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, zp_pack_matches_its_bit_layout);
    tcase_add_test(tc, private_compare_reveals_masked_bit_to_p2);
    tcase_add_test(tc, share_convert_to_odd_ring);
    tcase_add_test(tc, msb_over_odd_ring);
    tcase_add_test(tc, drelu_and_relu_exact_in_valid_range);
    tcase_add_test(tc, fss_drelu_and_relu_exact_everywhere);
    tcase_add_test(tc, carry_node_every_pattern);
    tcase_add_test(tc, carry_drelu_and_relu_exact_everywhere);
    tcase_add_test(tc, relu_after_truncation);
    tcase_add_test(tc, small_zero_exact_in_one_round);
    tcase_add_test(tc, select_share_picks_exactly);
    tcase_add_test(tc, compare_shared_and_public);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(proto_cmp_suite());
}
