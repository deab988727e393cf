/* check_proto_arith.c — the link, the context and its accounting,
 * reconstruction, local linear operations, truncation (exact and local)
 * and the Beaver products (mul, matmul, mask-once, conv), three parties
 * as three threads. */
#include "check_util.h"
#include "proto_harness.h"

#include "protocol/link_local.h"
#include "tensor/fixed.h"

#include <string.h>

#define SEEDS 8

/* ---- link ------------------------------------------------------------ */

START_TEST(link_local_delivers_in_order_and_checks_length)
{
    link_local_t *hub = link_local_new(50);
    link_t a, b;
    link_local_endpoint(hub, PROTO_P0, &a);
    link_local_endpoint(hub, PROTO_P1, &b);
    uint64_t m1 = 11, m2 = 22, got = 0;
    link_hdr_t h1 = {.step = 0, .round = 1}, h2 = {.step = 1, .round = 3}, h;
    trine_err_t err;
    ck_assert_int_eq(a.send(a.impl, PROTO_P1, &h1, &m1, sizeof m1, &err), TRINE_OK);
    ck_assert_int_eq(a.send(a.impl, PROTO_P1, &h2, &m2, sizeof m2, &err), TRINE_OK);
    ck_assert_int_eq(b.recv(b.impl, PROTO_P0, &h, &got, sizeof got, &err), TRINE_OK);
    ck_assert_uint_eq(got, 11);
    ck_assert_uint_eq(h.step, 0);
    ck_assert_uint_eq(h.round, 1);
    uint32_t small;
    ck_assert_int_eq(b.recv(b.impl, PROTO_P0, &h, &small, sizeof small, &err), TRINE_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "from P0"));
    ck_assert_int_eq(b.recv(b.impl, PROTO_P0, &h, &got, sizeof got, &err), TRINE_ETIMEOUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "P1: no message from P0"));
    link_local_fail(hub, PROTO_P0);
    ck_assert_int_eq(b.recv(b.impl, PROTO_P0, &h, &got, sizeof got, &err), TRINE_EPEER);
    ck_assert_int_eq(a.send(a.impl, PROTO_P1, &h1, &m1, sizeof m1, &err), TRINE_EPEER);
    link_local_destroy(&hub);
    link_local_destroy(&hub); /* accepts NULL */
}
END_TEST

/* ---- context and accounting ------------------------------------------ */

static trine_status_t body_nothing(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    (void)ctx, (void)arg, (void)err;
    return TRINE_OK;
}

START_TEST(ctx_setup_agrees_seeds_and_counts)
{
    harness_result_t res;
    harness_run_ok(body_nothing, NULL, &res);
    /* P0 sends two 32-byte seeds, P1 one; P2 receives two */
    const proto_counters_t *s0 = &res.stats[0].op[PROTO_OP_SETUP];
    const proto_counters_t *s2 = &res.stats[2].op[PROTO_OP_SETUP];
    ck_assert_uint_eq(s0->bytes_sent[1], 32);
    ck_assert_uint_eq(s0->bytes_sent[2], 32);
    ck_assert_uint_eq(proto_counters_bytes_sent(&res.stats[1].total), 32);
    ck_assert_uint_eq(s2->bytes_recv[0] + s2->bytes_recv[1], 64);
    ck_assert_uint_eq(s2->msgs_recv[0] + s2->msgs_recv[1], 2);
    ck_assert_uint_eq(harness_rounds(&res), 1);
    ck_assert_str_eq(proto_op_name(PROTO_OP_DRELU), "drelu");
    ck_assert_str_eq(proto_op_name(PROTO_OP_COUNT), "unknown");
}
END_TEST

START_TEST(ctx_rejects_bad_arguments)
{
    link_local_t *hub = link_local_new(10);
    link_t l;
    link_local_endpoint(hub, PROTO_P0, &l);
    proto_ctx_t *ctx = (proto_ctx_t *)&l;
    trine_err_t err;
    ck_assert_int_eq(proto_ctx_new(&ctx, PROTO_P0, &l, FIXED_FRAC_BITS_MAX + 1, &err),
                     TRINE_EINVAL);
    ck_assert_ptr_null(ctx);
    ck_assert_int_eq(proto_ctx_new(&ctx, (proto_party_t)3, &l, FB, &err), TRINE_EINVAL);
    proto_ctx_destroy(&ctx);
    link_local_destroy(&hub);
}
END_TEST

/* ---- reconstruct and linear operations -------------------------------- */

typedef struct {
    tensor_t *x[3], *y[3], *out[3], *out2[3];
    const tensor_t *pub;
    proto_party_t to;
} args_t;

static trine_status_t body_reconstruct(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    trine_status_t st = proto_reconstruct(ctx, a->out[p], a->x[p], err);
    if (st == TRINE_OK)
        st = proto_reconstruct_to(ctx, a->out2[p], a->x[p], a->to, err);
    return st;
}

START_TEST(reconstruct_both_and_one)
{
    enum { N = 777 };
    tensor_t *x = harness_values(N, 64, 1);
    for (int to = 0; to < PROTO_PARTIES; to++) {
        args_t a = {.to = (proto_party_t)to};
        harness_share(a.x, x, (uint64_t)to);
        harness_alloc(a.out, x);
        harness_alloc(a.out2, x);
        harness_result_t res;
        harness_run_ok(body_reconstruct, &a, &res);
        for (int p = 0; p < PROTO_PARTIES; p++) {
            const tensor_t *want = p == PROTO_P2 ? a.out[2] : x; /* P2: zeros */
            ck_assert_mem_eq(a.out[p]->data, want->data, N * 8);
            for (size_t i = 0; i < N; i++)
                ck_assert_uint_eq(a.out2[p]->data[i], p == to ? x->data[i] : 0);
        }
        const proto_counters_t *r0 = &res.stats[0].op[PROTO_OP_RECONSTRUCT];
        ck_assert_uint_eq(r0->calls, 2);
        ck_assert_uint_eq(harness_bytes(&res), (to == PROTO_P2 ? 16 : 8) * N);
        ck_assert_uint_eq(harness_rounds(&res), 1);
        ck_assert_uint_eq(proto_counters_bytes_sent(&res.stats[0].op[PROTO_OP_RECONSTRUCT]) +
                              proto_counters_bytes_sent(&res.stats[1].op[PROTO_OP_RECONSTRUCT]),
                          16 * N + (to == PROTO_P2 ? 16 : 8) * N);
        harness_free(a.x), harness_free(a.out), harness_free(a.out2);
    }
    tensor_destroy(&x);
}
END_TEST

static trine_status_t body_linear(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    (void)err;
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    tensor_t *o = a->out[p], *x = a->x[p];
    /* o = 3 * ((x + pub) - pub... ) built to touch every local operation:
     * o = pub * (5 - (3x + pub - pub)) + 7 ; out2 = shares of pub */
    trine_status_t st = proto_mul_scalar(ctx, o, x, 3);
    if (st == TRINE_OK)
        st = proto_add_public(ctx, o, o, a->pub);
    if (st == TRINE_OK)
        st = proto_sub_public(ctx, o, o, a->pub);
    tensor_t *five = tensor_new_like(x);
    if (!five)
        return TRINE_ENOMEM;
    for (size_t i = 0; i < five->size; i++)
        five->data[i] = 5;
    if (st == TRINE_OK)
        st = proto_public_sub(ctx, o, five, o);
    tensor_destroy(&five);
    if (st == TRINE_OK)
        st = proto_mul_public(ctx, o, o, a->pub);
    if (st == TRINE_OK)
        st = proto_add_scalar(ctx, o, o, 7);
    if (st == TRINE_OK)
        st = proto_share_public(ctx, a->out2[p], a->pub);
    return st;
}

START_TEST(linear_public_operations)
{
    enum { N = 300 };
    tensor_t *x = harness_values(N, 64, 2), *pub = harness_values(N, 64, 3);
    args_t a = {.pub = pub};
    harness_share(a.x, x, 9);
    harness_alloc(a.out, x);
    harness_alloc(a.out2, x);
    harness_result_t res;
    harness_run_ok(body_linear, &a, &res);
    tensor_t *o = harness_open(a.out), *o2 = harness_open(a.out2);
    for (size_t i = 0; i < N; i++) {
        ck_assert_uint_eq(o->data[i], pub->data[i] * (5 - 3 * x->data[i]) + 7);
        ck_assert_uint_eq(o2->data[i], pub->data[i]);
    }
    ck_assert_uint_eq(proto_counters_bytes_sent(&res.stats[0].total), 64); /* setup only */
    tensor_destroy(&o), tensor_destroy(&o2), tensor_destroy(&x), tensor_destroy(&pub);
    harness_free(a.x), harness_free(a.out), harness_free(a.out2);
}
END_TEST

/* ---- Beaver products -------------------------------------------------- */

static trine_status_t body_mul(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_mul(ctx, a->out[p], a->x[p], a->y[p], err);
}

START_TEST(mul_exact_on_full_ring)
{
    enum { N = 1000 };
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        tensor_t *x = harness_values(N, 64, 10 + seed), *y = harness_values(N, 64, 20 + seed);
        args_t a = {0};
        harness_share(a.x, x, seed), harness_share(a.y, y, seed + 100);
        harness_alloc(a.out, x);
        harness_result_t res;
        harness_run_ok(body_mul, &a, &res);
        tensor_t *o = harness_open(a.out);
        for (size_t i = 0; i < N; i++)
            ck_assert_uint_eq(o->data[i], x->data[i] * y->data[i]);
        ck_assert_uint_eq(harness_bytes(&res), 40 * N);
        ck_assert_uint_eq(harness_rounds(&res), 1);
        /* only P1 hears from P2: P0's triple comes from its seed */
        ck_assert_uint_eq(res.stats[2].last_call.bytes_sent[0], 0);
        ck_assert_uint_eq(res.stats[2].last_call.bytes_sent[1], 8 * N);
        ck_assert_uint_eq(res.stats[0].last_call.msgs_sent[1], 1);
        tensor_destroy(&o), tensor_destroy(&x), tensor_destroy(&y);
        harness_free(a.x), harness_free(a.y), harness_free(a.out);
    }
}
END_TEST

/* ---- truncation ------------------------------------------------------- */

typedef struct {
    tensor_t *x[3], *y[3], *out[3];
    unsigned bits;
    proto_trunc_t mode;
    bool mul; /* a product of x and y first, else x itself */
} trunc_args_t;

static trine_status_t body_trunc(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    trunc_args_t *a = arg;
    int p = proto_ctx_role(ctx);
    proto_ctx_set_truncation(ctx, a->mode);
    trine_status_t st = TRINE_OK;
    if (a->mul)
        st = proto_mul(ctx, a->out[p], a->x[p], a->y[p], err);
    else
        memcpy(a->out[p]->data, a->x[p]->data, a->x[p]->size * sizeof *a->x[p]->data);
    if (st == TRINE_OK)
        st = proto_truncate(ctx, a->out[p], a->bits, err);
    return st;
}

/* Truncates shares of x (a product of x and y when y is given) by bits in
 * mode; returns the opened result and the call's accounting in *res. */
static tensor_t *trunc_run(const tensor_t *x, const tensor_t *y, unsigned bits, proto_trunc_t mode,
                           uint64_t seed, harness_result_t *res)
{
    trunc_args_t a = {.bits = bits, .mode = mode, .mul = y != NULL};
    harness_share(a.x, x, seed);
    harness_share(a.y, y ? y : x, seed + 1);
    harness_alloc(a.out, x);
    harness_run_ok(body_trunc, &a, res);
    tensor_t *o = harness_open(a.out);
    harness_free(a.x), harness_free(a.y), harness_free(a.out);
    return o;
}

/* Exact truncation of values in [-2^62, 2^62) — the edges 0, +-1, -2^62,
 * 2^62 - 1 first, then random magnitudes — is floor(x / 2^d) or one more,
 * for shifts from 1 to 62 and across seeds; it costs 1 round and 24 +
 * ceil(d / 8) bytes a value, and P0 hears nothing from P2. */
START_TEST(trunc_exact_on_edges_and_random)
{
    enum { N = 2000 };
    static const unsigned shifts[] = {1, 8, 13, 20, 30, 61, 62};
    for (uint64_t seed = 0; seed < SEEDS; seed++)
        for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
            unsigned d = shifts[k];
            tensor_t *x = harness_values(N, 63, 40 + seed);
            harness_result_t res;
            tensor_t *o = trunc_run(x, NULL, d, PROTO_TRUNC_EXACT, seed, &res);
            for (size_t i = 0; i < N; i++) {
                int64_t want = (int64_t)x->data[i] >> d, got = (int64_t)o->data[i];
                ck_assert_msg(got == want || got == want + 1,
                              "%lld >> %u: got %lld, want %lld or one more",
                              (long long)(int64_t)x->data[i], d, (long long)got, (long long)want);
            }
            ck_assert_uint_eq(harness_bytes(&res), (24 + (d + 7) / 8) * N);
            ck_assert_uint_eq(harness_rounds(&res), 1);
            ck_assert_uint_eq(res.stats[2].last_call.bytes_sent[0], 0);
            ck_assert_int_eq(res.stats[0].last_op, PROTO_OP_TRUNC);
            tensor_destroy(&o), tensor_destroy(&x);
        }
}
END_TEST

/* Large values where the local rule fails for about |x| / 2^63 of them,
 * each failure off by 2^(64-d): exact truncation has no failure on the
 * same shares, and the local rule sends nothing. */
START_TEST(trunc_local_fails_where_exact_does_not)
{
    enum { N = 1000, D = 13 };
    tensor_t *x = tensor_new_1d(N);
    ck_assert_ptr_nonnull(x);
    check_util_random(x->data, N, 77);
    for (size_t i = 0; i < N; i++) /* |x| in [2^61, 2^62) */
        x->data[i] = (x->data[i] >> 3 | (uint64_t)1 << 61) * (i % 2 ? 1 : (uint64_t)-1);
    int wrong[2] = {0, 0};
    for (int m = 0; m < 2; m++) {
        harness_result_t res;
        tensor_t *o = trunc_run(x, NULL, D, m ? PROTO_TRUNC_LOCAL : PROTO_TRUNC_EXACT, 5, &res);
        for (size_t i = 0; i < N; i++) {
            int64_t want = (int64_t)x->data[i] >> D, off = (int64_t)o->data[i] - want;
            if (off != 0 && off != 1) {
                ck_assert_int_eq(m, 1);
                uint64_t gap = (uint64_t)(off < 0 ? -off : off);
                ck_assert_uint_ge(gap, ((uint64_t)1 << (64 - D)) - 1);
                ck_assert_uint_le(gap, ((uint64_t)1 << (64 - D)) + 1);
                wrong[m]++;
            }
        }
        if (m == 1)
            ck_assert_uint_eq(harness_bytes(&res), 0);
        tensor_destroy(&o);
    }
    ck_assert_int_eq(wrong[0], 0);
    ck_assert_int_gt(wrong[1], N / 10); /* about 3/8 of them */
    tensor_destroy(&x);
}
END_TEST

/* A fixed-point product truncated lands within one step of the truncated
 * plaintext product, in both modes, across seeds: operands below 2^31 and
 * 2^23 when exact; below 2^19 and 2^11 when local, whose failure chance,
 * |x y| / 2^64, is then below 2^-34 per product. */
START_TEST(mul_fixed_point_truncation)
{
    enum { N = 2000 };
    for (uint64_t seed = 0; seed < SEEDS; seed++)
        for (int m = 0; m < 2; m++) {
            tensor_t *x = harness_values(N, m ? 20 : 32, 30 + seed);
            tensor_t *y = harness_values(N, m ? 12 : 24, 50 + seed);
            harness_result_t res;
            tensor_t *o = trunc_run(x, y, FB, m ? PROTO_TRUNC_LOCAL : PROTO_TRUNC_EXACT, seed, &res);
            for (size_t i = 0; i < N; i++) {
                int64_t want = ((int64_t)x->data[i] * (int64_t)y->data[i]) >> FB;
                int64_t got = (int64_t)o->data[i];
                ck_assert_msg(got == want || got == want + 1, "%lld * %lld: got %lld, want %lld",
                              (long long)x->data[i], (long long)y->data[i], (long long)got,
                              (long long)want);
            }
            tensor_destroy(&o), tensor_destroy(&x), tensor_destroy(&y);
        }
}
END_TEST

typedef struct {
    tensor_t *a[3], *b[3], *out[3], *out2[3], *b2[3];
    gemm_trans_t ta, tb;
    const conv_geom_t *g;
} mm_args_t;

static trine_status_t body_matmul(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    mm_args_t *m = arg;
    int p = proto_ctx_role(ctx);
    return proto_matmul(ctx, m->out[p], m->a[p], m->ta, m->b[p], m->tb, err);
}

static tensor_t *random_2d(size_t r, size_t c, uint64_t seed)
{
    tensor_t *t = tensor_new_2d(r, c);
    check_util_random(t->data, t->size, seed);
    return t;
}

START_TEST(matmul_with_transposes)
{
    const size_t dims[][3] = {{1, 1, 1}, {3, 7, 5}, {16, 33, 8}, {1, 100, 10}};
    for (size_t d = 0; d < 4; d++)
        for (int tr = 0; tr < 4; tr++) {
            size_t m = dims[d][0], n = dims[d][1], v = dims[d][2];
            mm_args_t a = {.ta = tr & 1 ? GEMM_TRANS : GEMM_NOTRANS,
                           .tb = tr & 2 ? GEMM_TRANS : GEMM_NOTRANS};
            tensor_t *x = a.ta ? random_2d(n, m, d) : random_2d(m, n, d);
            tensor_t *y = a.tb ? random_2d(v, n, d + 9) : random_2d(n, v, d + 9);
            tensor_t *want = tensor_new_2d(m, v);
            ck_assert_int_eq(gemm_ring_ref(want->data, x->data, a.ta, y->data, a.tb, m, v, n),
                             TRINE_OK);
            harness_share(a.a, x, d), harness_share(a.b, y, d + 1);
            harness_alloc(a.out, want);
            harness_result_t res;
            harness_run_ok(body_matmul, &a, &res);
            tensor_t *o = harness_open(a.out);
            ck_assert_mem_eq(o->data, want->data, m * v * 8);
            ck_assert_uint_eq(harness_bytes(&res), 8 * (2 * m * n + 2 * n * v + m * v));
            ck_assert_uint_eq(harness_rounds(&res), 1);
            tensor_destroy(&o), tensor_destroy(&x), tensor_destroy(&y), tensor_destroy(&want);
            harness_free(a.a), harness_free(a.b), harness_free(a.out);
        }
}
END_TEST

START_TEST(matmul_rejects_bad_shapes)
{
    mm_args_t a = {0};
    tensor_t *x = random_2d(3, 4, 1), *y = random_2d(5, 2, 2), *o = tensor_new_2d(3, 2);
    harness_share(a.a, x, 1), harness_share(a.b, y, 2);
    harness_alloc(a.out, o);
    harness_result_t res;
    harness_run(body_matmul, &a, 2000, &res);
    for (int p = 0; p < PROTO_PARTIES; p++)
        ck_assert_int_eq(res.status[p], TRINE_ESHAPE);
    ck_assert_ptr_nonnull(strstr(res.err[0].msg, "3 x 4 times 5 x 2"));
    tensor_destroy(&x), tensor_destroy(&y), tensor_destroy(&o);
    harness_free(a.a), harness_free(a.b), harness_free(a.out);
}
END_TEST

/* Mask once, then two products with different left operands: each pays
 * (2mn + mv) words; the opening paid 2nv once. */
static trine_status_t body_masked(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    mm_args_t *m = arg;
    int p = proto_ctx_role(ctx);
    proto_masked_t *w = NULL;
    trine_status_t st = proto_masked_new(ctx, &w, m->b[p], err);
    if (st == TRINE_OK)
        st = proto_matmul_masked(ctx, m->out[p], m->a[p], m->ta, w, m->tb, err);
    if (st == TRINE_OK)
        st = proto_matmul_masked(ctx, m->out2[p], m->b2[p], m->ta, w, m->tb, err);
    size_t shape[TENSOR_MAX_DIMS];
    if (st == TRINE_OK && proto_masked_shape(w, shape) != 2)
        st = TRINE_ESHAPE;
    proto_masked_destroy(&w);
    proto_masked_destroy(&w);
    return st;
}

START_TEST(matmul_masked_once)
{
    const size_t m = 4, n = 50, v = 7;
    for (int tb = 0; tb < 2; tb++) {
        mm_args_t a = {.ta = GEMM_NOTRANS, .tb = tb ? GEMM_TRANS : GEMM_NOTRANS};
        tensor_t *x = random_2d(m, n, 1), *x2 = random_2d(m, n, 2);
        tensor_t *w = tb ? random_2d(v, n, 3) : random_2d(n, v, 3);
        tensor_t *want = tensor_new_2d(m, v), *want2 = tensor_new_2d(m, v);
        ck_assert_int_eq(gemm_ring_ref(want->data, x->data, a.ta, w->data, a.tb, m, v, n),
                         TRINE_OK);
        ck_assert_int_eq(gemm_ring_ref(want2->data, x2->data, a.ta, w->data, a.tb, m, v, n),
                         TRINE_OK);
        harness_share(a.a, x, 4), harness_share(a.b2, x2, 5), harness_share(a.b, w, 6);
        harness_alloc(a.out, want), harness_alloc(a.out2, want);
        harness_result_t res;
        harness_run_ok(body_masked, &a, &res);
        tensor_t *o = harness_open(a.out), *o2 = harness_open(a.out2);
        ck_assert_mem_eq(o->data, want->data, m * v * 8);
        ck_assert_mem_eq(o2->data, want2->data, m * v * 8);
        ck_assert_uint_eq(harness_bytes(&res), 8 * (2 * m * n + m * v));
        ck_assert_uint_eq(harness_rounds(&res), 1);
        uint64_t mask_bytes = 0;
        for (int p = 0; p < PROTO_PARTIES; p++)
            mask_bytes += proto_counters_bytes_sent(&res.stats[p].op[PROTO_OP_MASK]);
        ck_assert_uint_eq(mask_bytes, 8 * 2 * n * v);
        ck_assert_uint_eq(res.stats[0].op[PROTO_OP_MATMUL_MASKED].calls, 2);
        tensor_destroy(&o), tensor_destroy(&o2), tensor_destroy(&x), tensor_destroy(&x2);
        tensor_destroy(&w), tensor_destroy(&want), tensor_destroy(&want2);
        harness_free(a.a), harness_free(a.b), harness_free(a.b2), harness_free(a.out),
            harness_free(a.out2);
    }
}
END_TEST

static trine_status_t body_conv(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    mm_args_t *m = arg;
    int p = proto_ctx_role(ctx);
    trine_status_t st = proto_conv2d(ctx, m->out[p], m->a[p], m->b[p], m->g, err);
    proto_masked_t *w = NULL;
    if (st == TRINE_OK)
        st = proto_masked_new(ctx, &w, m->b[p], err);
    if (st == TRINE_OK)
        st = proto_conv2d_masked(ctx, m->out2[p], m->a[p], w, m->g, err);
    proto_masked_destroy(&w);
    return st;
}

START_TEST(conv_via_masked_input)
{
    /* per-axis strides and pads, as ONNX gives them */
    const conv_geom_t gs[] = {
        {.n = 2,
         .c = 3,
         .h = 7,
         .w = 6,
         .kh = 3,
         .kw = 2,
         .sh = 2,
         .sw = 2,
         .pt = 1,
         .pl = 1,
         .pb = 1,
         .pr = 1},
        {.n = 1,
         .c = 2,
         .h = 5,
         .w = 9,
         .kh = 2,
         .kw = 3,
         .sh = 1,
         .sw = 3,
         .pt = 2,
         .pl = 0,
         .pb = 0,
         .pr = 1},
    };
    for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++) {
        conv_geom_t g = gs[gi];
        size_t oh, ow, oc = 4;
        ck_assert_int_eq(conv_out_size(&g, &oh, &ow), TRINE_OK);
        size_t xs[] = {g.n, g.c, g.h, g.w}, os[] = {g.n, oc, oh, ow};
        tensor_t *x = tensor_new(4, xs), *w = random_2d(oc, g.c * g.kh * g.kw, 8);
        check_util_random(x->data, x->size, 7 + gi);
        /* plaintext: the same im2col product */
        tensor_t *cols = tensor_new_2d(g.c * g.kh * g.kw, g.n * oh * ow);
        tensor_t *y = tensor_new_2d(oc, g.n * oh * ow), *want = tensor_new(4, os);
        ck_assert_int_eq(conv_im2col(cols, x, &g), TRINE_OK);
        ck_assert_int_eq(tensor_matmul(y, w, GEMM_NOTRANS, cols, GEMM_NOTRANS), TRINE_OK);
        ck_assert_int_eq(conv_cnhw_to_nchw(want, y, g.n), TRINE_OK);
        mm_args_t a = {.g = &g};
        harness_share(a.a, x, 1), harness_share(a.b, w, 2);
        harness_alloc(a.out, want), harness_alloc(a.out2, want);
        harness_result_t res;
        harness_run_ok(body_conv, &a, &res);
        tensor_t *o = harness_open(a.out), *o2 = harness_open(a.out2);
        ck_assert_mem_eq(o->data, want->data, want->size * 8);
        ck_assert_mem_eq(o2->data, want->data, want->size * 8);
        uint64_t conv = 0, masked = 0;
        for (int p = 0; p < PROTO_PARTIES; p++) {
            conv += proto_counters_bytes_sent(&res.stats[p].op[PROTO_OP_CONV]);
            masked += proto_counters_bytes_sent(&res.stats[p].op[PROTO_OP_CONV_MASKED]);
        }
        ck_assert_uint_eq(conv, 8 * (2 * x->size + 2 * w->size + want->size));
        ck_assert_uint_eq(masked, 8 * (2 * x->size + want->size));
        ck_assert_uint_eq(res.stats[1].op[PROTO_OP_CONV].rounds, 1);
        tensor_destroy(&o), tensor_destroy(&o2), tensor_destroy(&x), tensor_destroy(&w);
        tensor_destroy(&cols), tensor_destroy(&y), tensor_destroy(&want);
        harness_free(a.a), harness_free(a.b), harness_free(a.out), harness_free(a.out2);
    }
}
END_TEST

/* ---- failures ---------------------------------------------------------- */

/* P2 sets up its context, then stops answering: the parties waiting for it
 * time out, the others learn that a peer failed; nobody hangs. */
static trine_status_t body_silent_helper(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    if (proto_ctx_role(ctx) == PROTO_P2)
        return TRINE_OK;
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    trine_status_t st = proto_drelu(ctx, a->out[p], a->x[p], err);
    if (st == TRINE_OK)
        return TRINE_EINVAL; /* must not succeed */
    /* the job is lost: later calls fail at once */
    trine_err_t e2;
    if (proto_mul(ctx, a->out[p], a->x[p], a->x[p], &e2) != TRINE_EPEER)
        return TRINE_EINVAL;
    return st;
}

START_TEST(silent_party_gives_timeout_not_hang)
{
    tensor_t *x = harness_values(10, 60, 1);
    args_t a = {0};
    harness_share(a.x, x, 1);
    harness_alloc(a.out, x);
    harness_result_t res;
    harness_run(body_silent_helper, &a, 150, &res);
    ck_assert_int_eq(res.status[2], TRINE_OK);
    /* P1 waits for P2's dealing first; P0 then loses P1 */
    ck_assert_int_eq(res.status[1], TRINE_ETIMEOUT);
    ck_assert_ptr_nonnull(strstr(res.err[1].msg, "from P2"));
    ck_assert(res.status[0] == TRINE_EPEER || res.status[0] == TRINE_ETIMEOUT);
    tensor_destroy(&x);
    harness_free(a.x), harness_free(a.out);
}
END_TEST

Suite *proto_arith_suite(void)
{
    Suite *s = suite_create("proto_arith");
    TCase *tc = tcase_create("proto_arith");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, link_local_delivers_in_order_and_checks_length);
    tcase_add_test(tc, ctx_setup_agrees_seeds_and_counts);
    tcase_add_test(tc, ctx_rejects_bad_arguments);
    tcase_add_test(tc, reconstruct_both_and_one);
    tcase_add_test(tc, linear_public_operations);
    tcase_add_test(tc, mul_exact_on_full_ring);
    tcase_add_test(tc, trunc_exact_on_edges_and_random);
    tcase_add_test(tc, trunc_local_fails_where_exact_does_not);
    tcase_add_test(tc, mul_fixed_point_truncation);
    tcase_add_test(tc, matmul_with_transposes);
    tcase_add_test(tc, matmul_rejects_bad_shapes);
    tcase_add_test(tc, matmul_masked_once);
    tcase_add_test(tc, conv_via_masked_input);
    tcase_add_test(tc, silent_party_gives_timeout_not_hang);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(proto_arith_suite());
}
