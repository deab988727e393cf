/* check_proto_nn.c — Maxpool with its one-hot argmax and average pooling
 * (rectangular windows, a stride per axis, padding), the argmax of rows,
 * division and both piecewise-linear sigmoids against plaintext. */
#include "check_util.h"
#include "proto_harness.h"

#include "protocol/program.h"

#include <math.h>
#include <string.h>

typedef struct {
    tensor_t *x[3], *y[3], *out[3], *out2[3];
    proto_pool_t pool;
    unsigned int_bits;
    bool argmax;
} args_t;

static trine_status_t body_maxpool(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_maxpool(ctx, a->out[p], a->argmax ? a->out2[p] : NULL, a->x[p], &a->pool, err);
}

/* Plaintext max and first argmax of every window, in NCHW window order,
 * padding as PROTO_POOL_PAD's -2^61. */
static void plain_maxpool(const tensor_t *x, const proto_pool_t *p, tensor_t *mx, tensor_t *hot)
{
    size_t oh, ow;
    ck_assert_int_eq(proto_pool_out(x, p, &oh, &ow), TRINE_OK);
    size_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3];
    size_t kk = p->kh * p->kw, win = 0;
    for (size_t pl = 0; pl < planes; pl++)
        for (size_t i = 0; i < oh; i++)
            for (size_t j = 0; j < ow; j++, win++) {
                int64_t best = 0;
                size_t arg = 0;
                for (size_t e = 0; e < kk; e++) {
                    long y = (long)(i * p->sh + e / p->kw) - (long)p->pt;
                    long xx = (long)(j * p->sw + e % p->kw) - (long)p->pl;
                    bool in = y >= 0 && xx >= 0 && y < (long)h && xx < (long)w;
                    int64_t v = in ? (int64_t)x->data[(pl * h + (size_t)y) * w + (size_t)xx]
                                   : (int64_t)PROTO_POOL_PAD;
                    if (e == 0 || v > best)
                        best = v, arg = e;
                }
                mx->data[win] = (uint64_t)best;
                for (size_t e = 0; e < kk; e++)
                    hot->data[win * kk + e] = e == arg;
            }
}

/* n, c, h, w, then the window: kh, kw, sh, sw, pt, pl, pb, pr */
typedef struct {
    size_t x[4];
    proto_pool_t pool;
} pool_case_t;

static const pool_case_t pool_cases[] = {
    {{2, 3, 4, 4}, {2, 2, 2, 2, 0, 0, 0, 0, false}},
    {{1, 2, 7, 7}, {3, 3, 2, 2, 0, 0, 0, 0, false}},
    {{1, 1, 5, 5}, {2, 2, 1, 1, 0, 0, 0, 0, false}},
    {{1, 2, 3, 3}, {1, 1, 1, 1, 0, 0, 0, 0, false}},
    {{1, 1, 4, 6}, {3, 3, 3, 3, 0, 0, 0, 0, false}},
    /* rectangular windows, a stride per axis */
    {{1, 2, 6, 7}, {2, 3, 2, 1, 0, 0, 0, 0, false}},
    {{2, 1, 5, 4}, {3, 1, 1, 2, 0, 0, 0, 0, false}},
    /* padding: ONNX's symmetric pads, one-sided ones, a 1 x 1 input */
    {{1, 2, 5, 5}, {3, 3, 2, 2, 1, 1, 1, 1, false}},
    {{1, 1, 4, 5}, {2, 3, 1, 2, 1, 0, 0, 2, false}},
    {{1, 1, 1, 1}, {2, 2, 1, 1, 1, 1, 0, 0, false}},
    {{2, 2, 6, 6}, {2, 2, 2, 2, 1, 1, 1, 1, false}},
};

START_TEST(maxpool_and_argmax_exact)
{
    for (size_t s = 0; s < sizeof pool_cases / sizeof pool_cases[0]; s++)
        for (int with_argmax = 0; with_argmax < 2; with_argmax++) {
            const pool_case_t *pc = &pool_cases[s];
            args_t a = {.pool = pc->pool, .argmax = with_argmax};
            tensor_t *x = tensor_new(4, pc->x);
            /* the range ends -2^61 and 2^61 - 1 first, then values below */
            tensor_t *v = harness_values(x->size, 62, 200 + s + 50 * (size_t)with_argmax);
            memcpy(x->data, v->data, x->size * 8);
            for (size_t i = 0; i < x->size; i += 5) /* ties */
                x->data[i] = x->data[(i + 1) % x->size];
            if (x->size > 8) /* the pad's own value, beside padding */
                x->data[x->size - 1] = PROTO_POOL_PAD;
            size_t oh, ow;
            ck_assert_int_eq(proto_pool_out(x, &a.pool, &oh, &ow), TRINE_OK);
            size_t os[] = {pc->x[0], pc->x[1], oh, ow}, windows = pc->x[0] * pc->x[1] * oh * ow;
            size_t kk = a.pool.kh * a.pool.kw;
            tensor_t *mx = tensor_new(4, os), *hot = tensor_new_2d(windows, kk);
            plain_maxpool(x, &a.pool, mx, hot);
            harness_share(a.x, x, s);
            harness_alloc(a.out, mx), harness_alloc(a.out2, hot);
            harness_result_t res;
            harness_run_ok(body_maxpool, &a, &res);
            tensor_t *o = harness_open(a.out);
            for (size_t i = 0; i < windows; i++)
                ck_assert_msg(o->data[i] == mx->data[i], "case %zu window %zu: %lld, want %lld", s,
                              i, (long long)o->data[i], (long long)mx->data[i]);
            if (with_argmax) {
                tensor_t *oh2 = harness_open(a.out2);
                ck_assert_mem_eq(oh2->data, hot->data, windows * kk * 8);
                tensor_destroy(&oh2);
            }
            int levels = 0;
            while ((1u << levels) < kk)
                levels++;
            /* fss, carry: a level is a ReLU (under carry 4 rounds), and
             * a product for the one-hot entries but on the first level */
            unsigned hot_rounds = with_argmax && levels ? (unsigned)levels - 1u : 0;
            unsigned carry = 4 * (unsigned)levels + hot_rounds;
            ck_assert_uint_eq(harness_rounds(&res),
                              harness_pick(8 * (unsigned)levels, (unsigned)levels + hot_rounds,
                                           carry));
            /* 2 x 2: ReLUs of 2 windows' pairs and then of 1, products of 2 */
            uint64_t relus = harness_carry_bytes(2 * windows, true) +
                             harness_carry_bytes(windows, true);
            if (kk == 4 && with_argmax)
                ck_assert_uint_eq(harness_cost_bytes(&res),
                                  harness_pick(1376 * windows, 112 * windows,
                                               relus + 64 * windows));
            if (kk == 4 && !with_argmax)
                ck_assert_uint_eq(harness_cost_bytes(&res),
                                  harness_pick(1296 * windows, 48 * windows, relus));
            tensor_destroy(&x), tensor_destroy(&v), tensor_destroy(&mx), tensor_destroy(&hot);
            tensor_destroy(&o);
            harness_free(a.x), harness_free(a.out), harness_free(a.out2);
        }
}
END_TEST

START_TEST(pool_geometry_rejected)
{
    tensor_t *x = tensor_new(4, (size_t[]){1, 1, 4, 4});
    size_t oh, ow;
    const proto_pool_t bad[] = {
        {0, 2, 1, 1, 0, 0, 0, 0, false}, /* empty window */
        {2, 2, 1, 0, 0, 0, 0, 0, false}, /* zero stride */
        {2, 2, 1, 1, 2, 0, 0, 0, false}, /* a pad as tall as the window */
        {2, 3, 1, 1, 0, 0, 0, 3, false}, /* a pad as wide as the window */
        {6, 2, 1, 1, 1, 0, 0, 0, false}, /* taller than the padded input */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(proto_pool_out(x, &bad[i], &oh, &ow), TRINE_ESHAPE);
    proto_pool_t fits = {6, 2, 1, 1, 1, 0, 1, 0, false};
    ck_assert_int_eq(proto_pool_out(x, &fits, &oh, &ow), TRINE_OK);
    ck_assert(oh == 1 && ow == 3);
    tensor_destroy(&x);
}
END_TEST

static trine_status_t body_argmax(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_argmax(ctx, a->out[p], a->argmax ? a->out2[p] : NULL, a->x[p], err);
}

/* Rows of k values: all zero, all -1, the maximum twice (the first must
 * win), ascending, the range ends -2^61 and 2^61 - 1, then random values in
 * that range with ties; all scrambled per seed. */
static tensor_t *argmax_rows(size_t m, size_t k, uint64_t seed)
{
    tensor_t *x = tensor_new_2d(m, k), *v = harness_values(m * k, 62, seed);
    const int64_t lo = -((int64_t)1 << 61), hi = ((int64_t)1 << 61) - 1;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++) {
            uint64_t r = v->data[(i * k + j + seed) % (m * k)], *e = &x->data[i * k + j];
            switch (i) {
            case 0: *e = 0; break;
            case 1: *e = (uint64_t)-1; break;
            case 2: *e = j == k / 3 || j == k - 1 ? 7 : (uint64_t) - (int64_t)j; break;
            case 3: *e = j << FB; break;
            case 4: *e = (uint64_t)(j == (seed + 1) % k ? hi : lo + (int64_t)j); break;
            default: *e = j % 3 == 2 ? x->data[i * k + j - 1] : r; break;
            }
        }
    tensor_destroy(&v);
    return x;
}

/* Elements the tree selects per row besides the comparisons: one value
 * per pair, plus the index unless both are leaves, or the one-hot entries
 * but the last of each side (argmax.c). */
static uint64_t argmax_selected(size_t k, bool hot)
{
    size_t leaves[64], count = k, sel = 0;
    for (size_t j = 0; j < k; j++)
        leaves[j] = 1;
    for (; count > 1; count = (count + 1) / 2) {
        for (size_t q = 0; q < count / 2; q++) {
            size_t l = leaves[2 * q], r = leaves[2 * q + 1];
            sel += hot ? l + r - 1 : (l > 1 || r > 1) ? 2 : 1;
            leaves[q] = l + r;
        }
        if (count % 2)
            leaves[count / 2] = leaves[count - 1];
    }
    return sel;
}

/* The online bytes of the tree's comparisons under carry: a DReLU call a
 * level over its pairs of m rows of k. */
static uint64_t argmax_carry_bytes(size_t m, size_t k)
{
    uint64_t b = 0;
    for (size_t count = k; count > 1; count = (count + 1) / 2)
        b += harness_carry_bytes(m * (count / 2), false);
    return b;
}

START_TEST(argmax_rows_exact)
{
    const size_t ks[] = {1, 2, 3, 5, 10, 17};
    for (size_t s = 0; s < sizeof ks / sizeof ks[0]; s++)
        for (uint64_t seed = 0; seed < 3; seed++)
            for (int with_hot = 0; with_hot < 2; with_hot++) {
                /* 120 rows of 10 are too many for all pairs under securenn */
                size_t k = ks[s], m = seed == 2 ? 120 : 12;
                tensor_t *x = argmax_rows(m, k, 600 + 7 * s + seed);
                tensor_t *want = tensor_new_1d(m), *hot = tensor_new_2d(m, k);
                for (size_t i = 0; i < m; i++) {
                    size_t arg = 0;
                    for (size_t j = 1; j < k; j++)
                        if ((int64_t)x->data[i * k + j] > (int64_t)x->data[i * k + arg])
                            arg = j;
                    want->data[i] = arg;
                    hot->data[i * k + arg] = 1;
                }
                args_t a = {.argmax = with_hot};
                harness_share(a.x, x, seed);
                harness_alloc(a.out, want), harness_alloc(a.out2, hot);
                harness_result_t res;
                harness_run_ok(body_argmax, &a, &res);
                tensor_t *o = harness_open(a.out), *oh = harness_open(a.out2);
                for (size_t i = 0; i < m; i++)
                    ck_assert_msg(o->data[i] == want->data[i], "k %zu row %zu: got %llu, want %llu",
                                  k, i, (unsigned long long)o->data[i],
                                  (unsigned long long)want->data[i]);
                if (with_hot)
                    ck_assert_mem_eq(oh->data, hot->data, m * k * 8);
                unsigned levels = 0;
                while (((size_t)1 << levels) < k)
                    levels++;
                size_t most = harness_pick(1024, 0, 8192);
                bool pairs = harness_protocol() == PROTO_FSS
                                 ? k >= 2 && k <= 16
                                 : k >= 5 && k <= 16 && m * k * (k - 1) / 2 <= most;
                if (pairs) {
                    /* all pairs, then the counts' zero test: a nibble each
                     * way a value, 2^b words dealt (2^b >= k) */
                    size_t pc = m * k * (k - 1) / 2, zero = 2 * ((m * k + 1) / 2);
                    size_t dealt = m * k * 8 * (k <= 2 ? 2 : k <= 4 ? 4 : k <= 8 ? 8 : 16);
                    ck_assert_uint_eq(harness_rounds(&res), harness_pick(8, 2, 5));
                    ck_assert_uint_eq(harness_cost_bytes(&res),
                                      harness_pick(392 * pc + zero + dealt, 16 * pc + zero,
                                                   harness_carry_bytes(pc, false) + zero));
                } else {
                    uint64_t sel = m * argmax_selected(k, with_hot);
                    ck_assert_uint_eq(harness_rounds(&res), harness_pick(8, 2, 5) * levels);
                    ck_assert_uint_eq(harness_cost_bytes(&res),
                                      harness_pick(m * 392 * (k - 1) + 40 * sel,
                                                   m * 16 * (k - 1) + 32 * sel,
                                                   argmax_carry_bytes(m, k) + 32 * sel));
                }
                if (k == 10 && !pairs && harness_protocol() == PROTO_SECURENN)
                    ck_assert_uint_eq(harness_bytes(&res), m * (with_hot ? 4608 : 4048));
                tensor_destroy(&x), tensor_destroy(&want), tensor_destroy(&hot);
                tensor_destroy(&o), tensor_destroy(&oh);
                harness_free(a.x), harness_free(a.out), harness_free(a.out2);
            }
}
END_TEST

static trine_status_t body_avgpool(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_avgpool(ctx, a->out[p], a->x[p], &a->pool, err);
}

START_TEST(avgpool_within_one_step)
{
    for (size_t s = 0; s < sizeof pool_cases / sizeof pool_cases[0]; s++)
        for (int count_pad = 0; count_pad < 2; count_pad++) {
            const pool_case_t *pc = &pool_cases[s];
            args_t a = {.pool = pc->pool};
            a.pool.count_pad = count_pad;
            const proto_pool_t *p = &a.pool;
            size_t oh, ow, h = pc->x[2], w = pc->x[3];
            tensor_t *x = tensor_new(4, pc->x);
            tensor_t *v = harness_values(x->size, 40, 300 + s + 20 * (size_t)count_pad);
            memcpy(x->data, v->data, x->size * 8);
            ck_assert_int_eq(proto_pool_out(x, p, &oh, &ow), TRINE_OK);
            size_t os[] = {pc->x[0], pc->x[1], oh, ow};
            tensor_t *want = tensor_new(4, os);
            size_t win = 0;
            for (size_t pl = 0; pl < pc->x[0] * pc->x[1]; pl++)
                for (size_t i = 0; i < oh; i++)
                    for (size_t j = 0; j < ow; j++, win++) {
                        int64_t sum = 0;
                        size_t inside = 0;
                        for (size_t e = 0; e < p->kh * p->kw; e++) {
                            long y = (long)(i * p->sh + e / p->kw) - (long)p->pt;
                            long xx = (long)(j * p->sw + e % p->kw) - (long)p->pl;
                            if (y < 0 || xx < 0 || y >= (long)h || xx >= (long)w)
                                continue;
                            sum += (int64_t)x->data[(pl * h + (size_t)y) * w + (size_t)xx];
                            inside++;
                        }
                        size_t d = count_pad ? p->kh * p->kw : inside;
                        int64_t scale = (int64_t)(((1u << FB) + d / 2) / d);
                        want->data[win] = (uint64_t)((sum * scale) >> FB);
                    }
            harness_share(a.x, x, s);
            harness_alloc(a.out, want);
            harness_result_t res;
            harness_run_ok(body_avgpool, &a, &res);
            tensor_t *o = harness_open(a.out);
            for (size_t i = 0; i < want->size; i++) {
                int64_t diff = (int64_t)(o->data[i] - want->data[i]);
                ck_assert_msg(diff == 0 || diff == 1, "case %zu window %zu off by %lld", s, i,
                              (long long)diff);
            }
            /* setup, then the exact truncation's z0: one word a window */
            ck_assert_uint_eq(proto_counters_bytes_sent(&res.stats[0].total),
                              64 + 8 * want->size);
            tensor_destroy(&x), tensor_destroy(&v), tensor_destroy(&want), tensor_destroy(&o);
            harness_free(a.x), harness_free(a.out);
        }
}
END_TEST

static trine_status_t body_div(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_div(ctx, a->out[p], a->x[p], a->y[p], a->int_bits, err);
}

START_TEST(division_exact_quotient)
{
    enum { N = 150 };
    for (unsigned ib = 0; ib <= 3; ib += 3) {
        tensor_t *x = tensor_new_1d(N), *y = tensor_new_1d(N), *want = tensor_new_1d(N);
        check_util_random(y->data, N, 400 + ib);
        check_util_random(x->data, N, 410 + ib);
        for (size_t i = 0; i < N; i++) {
            y->data[i] = 1 + (y->data[i] >> (34 + i % 20)); /* 1 .. 2^30 */
            uint64_t lim = y->data[i] << ib;                /* x < 2^ib y */
            x->data[i] = i == 0         ? 0
                         : i == 1       ? lim - 1
                         : i == 2 && ib ? y->data[i]
                                        : x->data[i] % lim;
            want->data[i] = (x->data[i] << FB) / y->data[i];
        }
        args_t a = {.int_bits = ib};
        harness_share(a.x, x, 1), harness_share(a.y, y, 2);
        harness_alloc(a.out, x);
        harness_result_t res;
        harness_run_ok(body_div, &a, &res);
        tensor_t *o = harness_open(a.out);
        for (size_t i = 0; i < N; i++)
            ck_assert_msg(o->data[i] == want->data[i], "%llu / %llu: got %llu, want %llu",
                          (unsigned long long)x->data[i], (unsigned long long)y->data[i],
                          (unsigned long long)o->data[i], (unsigned long long)want->data[i]);
        ck_assert_uint_eq(harness_rounds(&res), harness_pick(8, 2, 5) * (ib + FB));
        ck_assert_uint_eq(harness_cost_bytes(&res),
                          harness_pick(432 * N, 48 * N, harness_carry_bytes(N, false) + 32 * N) *
                              (ib + FB));
        tensor_destroy(&x), tensor_destroy(&y), tensor_destroy(&want), tensor_destroy(&o);
        harness_free(a.x), harness_free(a.y), harness_free(a.out);
    }
}
END_TEST

static trine_status_t body_sigmoid(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_sigmoid(ctx, a->out[p], a->x[p], err);
}

START_TEST(sigmoid_piecewise_exact)
{
    enum { N = 600 };
    const int64_t h = 1 << (FB - 1);
    tensor_t *x = harness_values(N, 62, 500);
    for (size_t i = 11; i < N / 2; i++) /* most values near the kinks */
        x->data[i] = (uint64_t)(((int64_t)(x->data[i] % (8 * h))) - 4 * h);
    const int64_t edges[] = {-h, h, -h - 1, h - 1, -h + 1, h + 1};
    for (size_t i = 0; i < 6; i++)
        x->data[11 + i] = (uint64_t)edges[i];
    args_t a = {0};
    harness_share(a.x, x, 3);
    harness_alloc(a.out, x);
    harness_result_t res;
    harness_run_ok(body_sigmoid, &a, &res);
    tensor_t *o = harness_open(a.out);
    for (size_t i = 0; i < N; i++) {
        int64_t v = (int64_t)x->data[i];
        int64_t want = v < -h ? 0 : v >= h ? 2 * h : v + h;
        ck_assert_msg((int64_t)o->data[i] == want, "sigmoid(%lld) = %lld, want %lld", (long long)v,
                      (long long)o->data[i], (long long)want);
    }
    ck_assert_uint_eq(harness_rounds(&res), harness_pick(8, 2, 5));
    ck_assert_uint_eq(harness_cost_bytes(&res),
                      harness_pick(864 * N, 96 * N, harness_carry_bytes(2 * N, false) + 64 * N));
    tensor_destroy(&x), tensor_destroy(&o);
    harness_free(a.x), harness_free(a.out);
}
END_TEST

static trine_status_t body_sigmoid_fine(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    return proto_sigmoid_fine(ctx, a->out[p], a->x[p], err);
}

START_TEST(sigmoid_fine_matches_reference)
{
    enum { N = 700 };
    const int64_t one = 1 << FB;
    /* the knots, one step either side of them, the clamps' neighbourhood */
    const double knots[] = {-5.25, -3, -1.875, -1, 1, 1.875, 3, 5.25};
    for (uint64_t seed = 0; seed < 3; seed++) {
        tensor_t *x = harness_values(N, 62, 510 + seed); /* edges, then |x| < 2^61 */
        uint64_t r[N];
        check_util_random(r, N, 520 + seed);
        for (size_t i = 40; i < N / 2; i++) /* most in [-8, 8] */
            x->data[i] = (uint64_t)((int64_t)(r[i] % (16 * (uint64_t)one)) - 8 * one);
        for (size_t k = 0; k < 8; k++)
            for (int d = -1; d <= 1; d++)
                x->data[12 + 3 * k + (size_t)(d + 1)] = (uint64_t)((int64_t)(knots[k] * one) + d);
        x->data[36] = (uint64_t)(6 * one), x->data[37] = (uint64_t)(-6 * one);
        args_t a = {0};
        harness_share(a.x, x, 30 + seed);
        harness_alloc(a.out, x);
        harness_result_t res;
        harness_run_ok(body_sigmoid_fine, &a, &res);
        tensor_t *o = harness_open(a.out);
        for (size_t i = 0; i < N; i++) {
            double v = (double)(int64_t)x->data[i] / one, got = (double)(int64_t)o->data[i] / one;
            double want = proto_sigmoid_fine_ref(v), logistic = 1 / (1 + exp(-v));
            /* the slopes' rounding: at most 6.25 steps (proto.h) */
            ck_assert_msg(fabs(got - want) <= 6.25 / one, "sigmoid_fine(%.6f) = %.6f, want %.6f", v,
                          got, want);
            ck_assert_msg(fabs(got - logistic) <= PROG_SIGMOID_FINE_ERROR,
                          "sigmoid_fine(%.6f) = %.6f, logistic %.6f", v, got, logistic);
            if (v <= -5.25)
                ck_assert_int_eq((int64_t)o->data[i], 0);
        }
        /* eight ReLUs in one batch, then the exact truncation (26 bytes) */
        ck_assert_uint_eq(harness_rounds(&res), harness_pick(9, 2, 5));
        ck_assert_uint_eq(harness_cost_bytes(&res),
                          harness_pick((3456 + 26) * N, (8 * 16 + 16) * N,
                                       harness_carry_bytes(8 * N, true) + 16 * N));
        tensor_destroy(&x), tensor_destroy(&o);
        harness_free(a.x), harness_free(a.out);
    }
}
END_TEST

Suite *proto_nn_suite(void)
{
    Suite *s = suite_create("proto_nn");
    TCase *tc = tcase_create("proto_nn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, maxpool_and_argmax_exact);
    tcase_add_test(tc, pool_geometry_rejected);
    tcase_add_test(tc, argmax_rows_exact);
    tcase_add_test(tc, avgpool_within_one_step);
    tcase_add_test(tc, division_exact_quotient);
    tcase_add_test(tc, sigmoid_piecewise_exact);
    tcase_add_test(tc, sigmoid_fine_matches_reference);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(proto_nn_suite());
}
