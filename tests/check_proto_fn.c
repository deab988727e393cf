/* check_proto_fn.c — the smooth functions on shares (exp, recip, rsqrt,
 * softmax, log, tanh, erf, log-softmax), three parties as three threads, against double precision over
 * each input range with the error bounds program.h states, and their
 * rounds. */
#include "check_util.h"
#include "proto_harness.h"

#include "protocol/program.h"

#include <math.h>

typedef struct {
    tensor_t *x[PROTO_PARTIES], *out[PROTO_PARTIES];
    int which;
} args_t;

enum { FN_EXP, FN_RECIP, FN_RSQRT, FN_SOFTMAX, FN_LOG, FN_TANH, FN_ERF, FN_LOG_SOFTMAX };

/* The range of FN_LOG's test: [2^LOG_LO, 2^LOG_HI) / sqrt 2. */
enum { LOG_LO = -10, LOG_HI = 20 };

static trine_status_t body_fn(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    args_t *a = arg;
    int p = proto_ctx_role(ctx);
    switch (a->which) {
    case FN_EXP: return proto_exp(ctx, a->out[p], a->x[p], err);
    case FN_RECIP: return proto_recip(ctx, a->out[p], a->x[p], err);
    case FN_RSQRT: return proto_rsqrt(ctx, a->out[p], a->x[p], err);
    case FN_LOG: return proto_log(ctx, a->out[p], a->x[p], LOG_LO, LOG_HI, err);
    case FN_TANH: return proto_tanh(ctx, a->out[p], a->x[p], err);
    case FN_ERF: return proto_erf(ctx, a->out[p], a->x[p], err);
    case FN_LOG_SOFTMAX: return proto_log_softmax(ctx, a->out[p], a->x[p], err);
    default: return proto_softmax(ctx, a->out[p], a->x[p], err);
    }
}

/* Runs function which over n values spread geometrically (lo > 0) or
 * evenly over [lo, hi] as rows of k; returns the opened results as
 * doubles in got (n), and the rounds. */
static uint64_t run_fn(int which, const double *v, size_t n, size_t k, double *got)
{
    const double one = 1 << FB;
    tensor_t *x = tensor_new_2d(n / k, k);
    for (size_t i = 0; i < n; i++)
        x->data[i] = (uint64_t)(int64_t)llround(v[i] * one);
    args_t a = {.which = which};
    harness_share(a.x, x, 90 + (uint64_t)which);
    harness_alloc(a.out, x);
    harness_result_t res;
    harness_run_ok(body_fn, &a, &res);
    tensor_t *o = harness_open(a.out);
    for (size_t i = 0; i < n; i++)
        got[i] = (double)(int64_t)o->data[i] / one;
    tensor_destroy(&x), tensor_destroy(&o);
    harness_free(a.x), harness_free(a.out);
    return harness_rounds(&res);
}

enum { N = 400 };

#define ULP (1.0 / (1 << FB))

START_TEST(exp_within_bound)
{
    double v[N], got[N];
    for (int i = 0; i < N; i++)
        v[i] = -24.0 + 40.0 * i / (N - 1); /* [-24, 16] */
    ck_assert_uint_eq(run_fn(FN_EXP, v, N, 1, got), harness_pick(26, 19, 22)); /* exact truncation */
    for (int i = 0; i < N; i++) {
        double want = exp(round(v[i] * (1 << FB)) / (1 << FB));
        ck_assert_msg(fabs(got[i] - want) <= PROG_EXP_ERROR * want + ULP,
                      "exp(%g) = %.8g, want %.8g", v[i], got[i], want);
    }
}
END_TEST

START_TEST(recip_rsqrt_within_bound)
{
    double v[N], w[N], got[N];
    for (int i = 0; i < N; i++) { /* geometric: [1/64, 512] and [1/256, 128] */
        v[i] = ldexp(1, -6) * pow(2, 15.0 * i / (N - 1));
        w[i] = ldexp(1, -8) * pow(2, 15.0 * i / (N - 1));
    }
    ck_assert_uint_eq(run_fn(FN_RECIP, v, N, 1, got), harness_pick(76, 69, 72));
    for (int i = 0; i < N; i++) {
        double x = round(v[i] * (1 << FB)) / (1 << FB), want = 1 / x;
        ck_assert_msg(fabs(got[i] - want) <= PROG_RECIP_ERROR * want + 2 * ULP,
                      "recip(%g) = %.8g, want %.8g", x, got[i], want);
    }
    ck_assert_uint_eq(run_fn(FN_RSQRT, w, N, 1, got), harness_pick(89, 82, 85));
    for (int i = 0; i < N; i++) {
        double x = round(w[i] * (1 << FB)) / (1 << FB), want = 1 / sqrt(x);
        ck_assert_msg(fabs(got[i] - want) <= PROG_RSQRT_ERROR * want + 4 * ULP,
                      "rsqrt(%g) = %.8g, want %.8g", x, got[i], want);
    }
}
END_TEST

static void softmax_rows(double *v, int k);

/* The maximum of a row of k and ln sum_j e^(v_j - max). */
static void row_ref(const double *v, int k, double *mx, double *lse)
{
    double sum = 0;
    *mx = -INFINITY;
    for (int j = 0; j < k; j++)
        *mx = fmax(*mx, v[j]);
    for (int j = 0; j < k; j++)
        sum += exp(v[j] - *mx);
    *lse = log(sum);
}

START_TEST(softmax_within_bound)
{
    enum { K = 10 };
    double v[N], got[N];
    softmax_rows(v, K);
    run_fn(FN_SOFTMAX, v, N, K, got);
    for (int row = 0; row < N / K; row++) {
        double mx, lse;
        row_ref(v + row * K, K, &mx, &lse);
        for (int j = 0; j < K; j++) {
            double want = exp(v[row * K + j] - mx - lse);
            ck_assert_msg(fabs(got[row * K + j] - want) <= PROG_SOFTMAX_ERROR,
                          "softmax row %d [%d] = %.6f, want %.6f", row, j, got[row * K + j], want);
        }
    }
}
END_TEST

/* The rows of 10 of softmax_within_bound into v. */
static void softmax_rows(double *v, int k)
{
    uint64_t r[N];
    check_util_random(r, N, 95);
    for (int i = 0; i < N; i++) /* rows in [-8, 8], some rows with ties */
        v[i] = (double)(r[i] % 16001) / 1000 - 8;
    for (int j = 0; j < k; j++)
        v[j] = 1.5, v[k + j] = -30 + j;
}

START_TEST(log_within_bound)
{
    double v[N], got[N];
    for (int i = 0; i < N; i++) /* geometric over the range, ends inside */
        v[i] = ldexp(0.70711 * 1.001, LOG_LO) * pow(2, (LOG_HI - LOG_LO - 0.002) * i / (N - 1));
    ck_assert_uint_eq(run_fn(FN_LOG, v, N, 1, got), harness_pick(16, 10, 13));
    for (int i = 0; i < N; i++) {
        double x = round(v[i] * (1 << FB)) / (1 << FB), want = log(x);
        ck_assert_msg(fabs(got[i] - want) <= PROG_LOG_ERROR, "log(%g) = %.8g, want %.8g", x,
                      got[i], want);
    }
}
END_TEST

START_TEST(tanh_erf_within_bound)
{
    double v[N], got[N];
    for (int i = 0; i < N; i++) /* [-6, 6], 0 and the ends included */
        v[i] = -6.0 + 12.0 * i / (N - 2);
    v[N - 1] = -1000;
    ck_assert_uint_eq(run_fn(FN_TANH, v, N, 1, got), harness_pick(50, 37, 43));
    for (int i = 0; i < N; i++) {
        double x = round(v[i] * (1 << FB)) / (1 << FB), want = tanh(x);
        ck_assert_msg(fabs(got[i] - want) <= PROG_TANH_ERROR, "tanh(%g) = %.8g, want %.8g", x,
                      got[i], want);
    }
    v[N - 1] = 100;
    ck_assert_uint_eq(run_fn(FN_ERF, v, N, 1, got), harness_pick(56, 43, 49));
    for (int i = 0; i < N; i++) {
        double x = round(v[i] * (1 << FB)) / (1 << FB), want = erf(x);
        ck_assert_msg(fabs(got[i] - want) <= PROG_ERF_ERROR, "erf(%g) = %.8g, want %.8g", x,
                      got[i], want);
    }
}
END_TEST

START_TEST(log_softmax_within_bound)
{
    enum { K = 10 };
    double v[N], got[N];
    softmax_rows(v, K);
    run_fn(FN_LOG_SOFTMAX, v, N, K, got);
    for (int row = 0; row < N / K; row++) {
        double mx, lse;
        row_ref(v + row * K, K, &mx, &lse);
        for (int j = 0; j < K; j++) {
            double want = v[row * K + j] - mx - lse;
            ck_assert_msg(fabs(got[row * K + j] - want) <= PROG_LOG_SOFTMAX_ERROR,
                          "log_softmax row %d [%d] = %.6f, want %.6f", row, j, got[row * K + j],
                          want);
        }
    }
}
END_TEST

Suite *proto_fn_suite(void)
{
    Suite *s = suite_create("proto_fn");
    TCase *tc = tcase_create("fn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, exp_within_bound);
    tcase_add_test(tc, recip_rsqrt_within_bound);
    tcase_add_test(tc, softmax_within_bound);
    tcase_add_test(tc, log_within_bound);
    tcase_add_test(tc, tanh_erf_within_bound);
    tcase_add_test(tc, log_softmax_within_bound);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(proto_fn_suite());
}
