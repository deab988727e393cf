/* check_fixed.c — fixed-point encoding edges and local share truncation. */
#include "check_util.h"

#include "tensor/fixed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define F FIXED_FRAC_BITS_DEFAULT

static uint64_t enc(double x)
{
    uint64_t v = 0xdead;
    ck_assert_int_eq(fixed_encode(&v, x, F), TRINE_OK);
    return v;
}

START_TEST(fixed_steps_and_rounding)
{
    double step = ldexp(1.0, -F);
    ck_assert_uint_eq(enc(0.0), 0);
    ck_assert_uint_eq(enc(-0.0), 0);
    ck_assert_uint_eq(enc(step), 1);
    ck_assert_uint_eq(enc(-step), (uint64_t)-1);
    ck_assert_uint_eq(enc(step / 2), 1); /* ties away from zero */
    ck_assert_uint_eq(enc(-step / 2), (uint64_t)-1);
    ck_assert_uint_eq(enc(nextafter(step / 2, 0)), 0); /* just below half a step */
    ck_assert_uint_eq(enc(1.0), (uint64_t)1 << F);
    ck_assert_uint_eq(enc(-2.5), (uint64_t) - (5 << (F - 1)));
    ck_assert(fixed_decode(enc(3.25), F) == 3.25);
    ck_assert(fixed_decode((uint64_t)-1, F) == -step);
}
END_TEST

START_TEST(fixed_range_edges)
{
    double max = fixed_max(F), min = -ldexp(1.0, 63 - F);
    ck_assert_uint_eq(enc(max), (uint64_t)INT64_MAX - 1023);
    ck_assert(fixed_decode(enc(max), F) == max);
    ck_assert_uint_eq(enc(min), (uint64_t)INT64_MIN);
    ck_assert(fixed_decode(enc(min), F) == min);
    uint64_t v = 7;
    ck_assert_int_eq(fixed_encode(&v, nextafter(max, INFINITY), F), TRINE_ERANGE);
    ck_assert_int_eq(fixed_encode(&v, nextafter(min, -INFINITY), F), TRINE_ERANGE);
    ck_assert_int_eq(fixed_encode(&v, NAN, F), TRINE_ERANGE);
    ck_assert_int_eq(fixed_encode(&v, INFINITY, F), TRINE_ERANGE);
    ck_assert_int_eq(fixed_encode(&v, -INFINITY, F), TRINE_ERANGE);
    ck_assert_int_eq(fixed_encode(&v, 1e300, F), TRINE_ERANGE);
    ck_assert_uint_eq(v, 7); /* untouched on failure */
    ck_assert_int_eq(fixed_encode(&v, 1.0, FIXED_FRAC_BITS_MAX + 1), TRINE_EINVAL);
    /* other precisions: 0 bits is plain integers, 62 leaves range +-2 */
    ck_assert_int_eq(fixed_encode(&v, -7.0, 0), TRINE_OK);
    ck_assert_uint_eq(v, (uint64_t)-7);
    ck_assert_int_eq(fixed_encode(&v, 1.9, 62), TRINE_OK);
    ck_assert_int_eq(fixed_encode(&v, 2.0, 62), TRINE_ERANGE);
}
END_TEST

START_TEST(fixed_round_trip_random)
{
    enum { N = 10000 };
    static uint64_t raw[N], enc_v[N];
    static double x[N], back[N];
    check_util_random(raw, N, 42);
    for (int i = 0; i < N; i++) /* spread over magnitudes 2^-20 .. 2^40 */
        x[i] = ldexp((double)(int64_t)raw[i], -63 + (int)(raw[i] % 61) - 20);
    ck_assert_int_eq(fixed_encode_array(enc_v, x, N, F, NULL), TRINE_OK);
    fixed_decode_array(back, enc_v, N, F);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabs(back[i] - x[i]) <= ldexp(1.0, -F - 1), "%.17g -> %.17g", x[i], back[i]);
}
END_TEST

START_TEST(fixed_array_reports_bad_element)
{
    double x[] = {1.0, 2.0, NAN, 4.0};
    uint64_t out[4];
    trine_err_t err;
    ck_assert_int_eq(fixed_encode_array(out, x, 4, F, &err), TRINE_ERANGE);
    ck_assert_int_eq(err.code, TRINE_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "element 2"));
}
END_TEST

/* Values to be shared stay where comparisons are exact: scaled integers in
 * [-2^62, 2^62), |x| < 2^(62-f); the message names the element, its value
 * and the limit (relu(7e14) at f = 13 was wrong before this check). */
START_TEST(fixed_array_refuses_beyond_share_range)
{
    static const unsigned fs[] = {0, F, 20, 30};
    trine_err_t err;
    uint64_t out[3];
    for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++) {
        int f = (int)fs[k];
        double lim = ldexp(1.0, 62 - f);
        double ok[] = {nextafter(lim, 0), -lim, 0};
        ck_assert_int_eq(fixed_encode_array(out, ok, 3, fs[k], &err), TRINE_OK);
        ck_assert_uint_lt(out[0], (uint64_t)1 << 62);
        ck_assert_uint_eq(out[1], (uint64_t)0 - ((uint64_t)1 << 62));
        double high[] = {1.0, lim, 2.0}, low[] = {nextafter(-lim, -INFINITY), 0, 0};
        ck_assert_int_eq(fixed_encode_array(out, high, 3, fs[k], &err), TRINE_ERANGE);
        ck_assert_ptr_nonnull(strstr(err.msg, "element 1 is "));
        ck_assert_int_eq(fixed_encode_array(out, low, 3, fs[k], &err), TRINE_ERANGE);
        ck_assert_ptr_nonnull(strstr(err.msg, "element 0 is "));
    }
    double big[] = {3.0, 7e14};
    ck_assert_int_eq(fixed_encode_array(out, big, 2, F, &err), TRINE_ERANGE);
    ck_assert_str_eq(err.msg, "element 1 is 700000000000000, beyond the range of shared values "
                              "with 13 fraction bits: |x| < 2^49 = 5.6295e+14, where comparisons "
                              "are exact");
    /* a piece of a larger array: the element is named by its index there */
    ck_assert_int_eq(fixed_encode_piece(out, big, 2, 1000000, F, &err), TRINE_ERANGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "element 1000001 is 700000000000000"));
    ck_assert_int_eq(fixed_encode_piece(out, big, 1, 1000000, F, &err), TRINE_OK);
    ck_assert_uint_eq(out[0], 3u << F);
}
END_TEST

/* Shares of x with |x| < 2^40 and a uniform first share: the truncated
 * shares add up to floor(x / 2^f) or one more (fixed.h). */
START_TEST(fixed_truncation_of_shares)
{
    enum { N = 20000 };
    tensor_t *x0 = tensor_new_1d(N), *x1 = tensor_new_1d(N);
    static uint64_t x[N];
    check_util_random(x, N, 7);
    check_util_random(x0->data, N, 8);
    for (int i = 0; i < N; i++) {
        x[i] = (uint64_t)((int64_t)x[i] >> 24); /* |x| < 2^40 */
        if (i < 8)                              /* edges: 0, +-1, +-step, extremes of the range */
            x[i] = (uint64_t)(int64_t[]){
                0, 1, -1, 1 << F, -(1 << F), (1LL << 40) - 1, -(1LL << 40), -8191}[i];
        x1->data[i] = x[i] - x0->data[i];
    }
    ck_assert_int_eq(fixed_truncate_share(x0, F, FIXED_SHARE_P0), TRINE_OK);
    ck_assert_int_eq(fixed_truncate_share(x1, F, FIXED_SHARE_P1), TRINE_OK);
    for (int i = 0; i < N; i++) {
        int64_t want = (int64_t)x[i] >> F, got = (int64_t)(x0->data[i] + x1->data[i]);
        ck_assert_msg(got == want || got == want + 1, "x=%lld: got %lld, want %lld",
                      (long long)x[i], (long long)got, (long long)want);
    }
    tensor_destroy(&x0), tensor_destroy(&x1);
}
END_TEST

/* The failure the bound allows: shares that wrap around 2^64 (here forced,
 * otherwise probability about 2^(k+1-64)) give a result that is far off. */
START_TEST(fixed_truncation_wrap_is_the_failure_case)
{
    tensor_t *x0 = tensor_new_1d(1), *x1 = tensor_new_1d(1);
    uint64_t x = (uint64_t) - ((int64_t)1 << 40);
    x0->data[0] = (uint64_t)INT64_MAX;
    x1->data[0] = x - x0->data[0];
    ck_assert_int_eq(fixed_truncate_share(x0, F, FIXED_SHARE_P0), TRINE_OK);
    ck_assert_int_eq(fixed_truncate_share(x1, F, FIXED_SHARE_P1), TRINE_OK);
    int64_t got = (int64_t)(x0->data[0] + x1->data[0]), want = (int64_t)x >> F;
    ck_assert(llabs(got - want) > (1LL << 40));
    ck_assert_int_eq(fixed_truncate_share(x0, 63, FIXED_SHARE_P0), TRINE_EINVAL);
    tensor_destroy(&x0), tensor_destroy(&x1);
}
END_TEST

Suite *fixed_suite(void)
{
    Suite *s = suite_create("fixed");
    TCase *tc = tcase_create("fixed");
    tcase_add_test(tc, fixed_steps_and_rounding);
    tcase_add_test(tc, fixed_range_edges);
    tcase_add_test(tc, fixed_round_trip_random);
    tcase_add_test(tc, fixed_array_reports_bad_element);
    tcase_add_test(tc, fixed_array_refuses_beyond_share_range);
    tcase_add_test(tc, fixed_truncation_of_shares);
    tcase_add_test(tc, fixed_truncation_wrap_is_the_failure_case);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(fixed_suite());
}
