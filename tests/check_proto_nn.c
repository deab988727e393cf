/* check_proto_nn.c — Maxpool with its one-hot argmax, the argmax of rows,
 * average pooling, division and the piecewise-linear sigmoid against
 * plaintext. */
#include "check_util.h"
#include "proto_harness.h"

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

/* Plaintext max and first argmax of every window, in NCHW window order. */
static void plain_maxpool(const tensor_t *x, const proto_pool_t *p, tensor_t *mx, tensor_t *hot)
{
    size_t oh, ow;
    ck_assert_int_eq(proto_pool_out(x, p, &oh, &ow), TRINE_OK);
    size_t planes = x->shape[0] * x->shape[1], h = x->shape[2], w = x->shape[3], kk = p->k * p->k;
    size_t win = 0;
    for (size_t pl = 0; pl < planes; pl++)
        for (size_t i = 0; i < oh; i++)
            for (size_t j = 0; j < ow; j++, win++) {
                int64_t best = 0;
                size_t arg = 0;
                for (size_t e = 0; e < kk; e++) {
                    size_t ki = e / p->k, kj = e % p->k;
                    int64_t v =
                        (int64_t)x->data[(pl * h + i * p->stride + ki) * w + j * p->stride + kj];
                    if (e == 0 || v > best)
                        best = v, arg = e;
                }
                mx->data[win] = (uint64_t)best;
                for (size_t e = 0; e < kk; e++)
                    hot->data[win * kk + e] = e == arg;
            }
}

START_TEST(maxpool_and_argmax_exact)
{
    const size_t shapes[][6] = {
        /* n, c, h, w, k, stride */
        {2, 3, 4, 4, 2, 2}, {1, 2, 7, 7, 3, 2}, {1, 1, 5, 5, 2, 1},
        {1, 2, 3, 3, 1, 1}, {1, 1, 4, 6, 3, 3},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int with_argmax = 0; with_argmax < 2; with_argmax++) {
            const size_t *d = shapes[s];
            args_t a = {.pool = {d[4], d[5]}, .argmax = with_argmax};
            size_t xs[] = {d[0], d[1], d[2], d[3]};
            tensor_t *x = tensor_new(4, xs);
            tensor_t *v = harness_values(x->size, 60, 200 + s);
            memcpy(x->data, v->data, x->size * 8);
            for (size_t i = 0; i < x->size; i += 5) /* ties */
                x->data[i] = x->data[(i + 1) % x->size];
            size_t oh, ow;
            ck_assert_int_eq(proto_pool_out(x, &a.pool, &oh, &ow), TRINE_OK);
            size_t os[] = {d[0], d[1], oh, ow}, windows = d[0] * d[1] * oh * ow;
            size_t kk = d[4] * d[4];
            tensor_t *mx = tensor_new(4, os), *hot = tensor_new_2d(windows, kk);
            plain_maxpool(x, &a.pool, mx, hot);
            harness_share(a.x, x, s);
            harness_alloc(a.out, mx), harness_alloc(a.out2, hot);
            harness_result_t res;
            harness_run_ok(body_maxpool, &a, &res);
            tensor_t *o = harness_open(a.out);
            ck_assert_mem_eq(o->data, mx->data, windows * 8);
            if (with_argmax) {
                tensor_t *oh2 = harness_open(a.out2);
                ck_assert_mem_eq(oh2->data, hot->data, windows * kk * 8);
                tensor_destroy(&oh2);
            }
            int levels = 0;
            while ((1u << levels) < kk)
                levels++;
            ck_assert_uint_eq(harness_rounds(&res), 8 * (unsigned)levels);
            if (kk == 4 && with_argmax)
                ck_assert_uint_eq(harness_bytes(&res), 1376 * windows);
            if (kk == 4 && !with_argmax)
                ck_assert_uint_eq(harness_bytes(&res), 1296 * windows);
            tensor_destroy(&x), tensor_destroy(&v), tensor_destroy(&mx), tensor_destroy(&hot);
            tensor_destroy(&o);
            harness_free(a.x), harness_free(a.out), harness_free(a.out2);
        }
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

START_TEST(argmax_rows_exact)
{
    const size_t ks[] = {1, 2, 3, 5, 10, 17}, m = 12;
    for (size_t s = 0; s < sizeof ks / sizeof ks[0]; s++)
        for (uint64_t seed = 0; seed < 3; seed++)
            for (int with_hot = 0; with_hot < 2; with_hot++) {
                size_t k = ks[s];
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
                ck_assert_uint_eq(harness_rounds(&res), 8 * levels);
                ck_assert_uint_eq(harness_bytes(&res),
                                  m * (392 * (k - 1) + 40 * argmax_selected(k, with_hot)));
                if (k == 10)
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
    const size_t shapes[][6] = {{2, 3, 4, 4, 2, 2}, {1, 2, 7, 7, 3, 2}};
    for (size_t s = 0; s < 2; s++) {
        const size_t *d = shapes[s];
        args_t a = {.pool = {d[4], d[5]}};
        size_t xs[] = {d[0], d[1], d[2], d[3]}, oh, ow;
        tensor_t *x = tensor_new(4, xs), *v = harness_values(x->size, 40, 300 + s);
        memcpy(x->data, v->data, x->size * 8);
        ck_assert_int_eq(proto_pool_out(x, &a.pool, &oh, &ow), TRINE_OK);
        size_t os[] = {d[0], d[1], oh, ow}, kk = d[4] * d[4];
        tensor_t *want = tensor_new(4, os);
        uint64_t scale = ((1u << FB) + kk / 2) / kk;
        size_t win = 0;
        for (size_t pl = 0; pl < d[0] * d[1]; pl++)
            for (size_t i = 0; i < oh; i++)
                for (size_t j = 0; j < ow; j++, win++) {
                    int64_t sum = 0;
                    for (size_t e = 0; e < kk; e++)
                        sum += (int64_t)x->data[(pl * d[2] + i * d[5] + e / d[4]) * d[3] +
                                                j * d[5] + e % d[4]];
                    want->data[win] = (uint64_t)((sum * (int64_t)scale) >> FB);
                }
        harness_share(a.x, x, s);
        harness_alloc(a.out, want);
        harness_result_t res;
        harness_run_ok(body_avgpool, &a, &res);
        tensor_t *o = harness_open(a.out);
        for (size_t i = 0; i < want->size; i++) {
            int64_t diff = (int64_t)(o->data[i] - want->data[i]);
            ck_assert_msg(diff == 0 || diff == 1, "window %zu off by %lld", i, (long long)diff);
        }
        ck_assert_uint_eq(proto_counters_bytes_sent(&res.stats[0].total), 64); /* setup only */
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
        ck_assert_uint_eq(harness_rounds(&res), 8 * (ib + FB));
        ck_assert_uint_eq(harness_bytes(&res), (uint64_t)432 * N * (ib + FB));
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
    ck_assert_uint_eq(harness_rounds(&res), 8);
    ck_assert_uint_eq(harness_bytes(&res), 864 * N);
    tensor_destroy(&x), tensor_destroy(&o);
    harness_free(a.x), harness_free(a.out);
}
END_TEST

Suite *proto_nn_suite(void)
{
    Suite *s = suite_create("proto_nn");
    TCase *tc = tcase_create("proto_nn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, maxpool_and_argmax_exact);
    tcase_add_test(tc, argmax_rows_exact);
    tcase_add_test(tc, avgpool_within_one_step);
    tcase_add_test(tc, division_exact_quotient);
    tcase_add_test(tc, sigmoid_piecewise_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(proto_nn_suite());
}
