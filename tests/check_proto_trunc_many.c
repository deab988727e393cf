/* check_proto_trunc_many.c — a million private fixed-point products in
 * each setting, three parties as three threads: with exact truncation no
 * product is off by more than 2 units in the last place of the exact
 * product of the encoded operands; local truncation, on the same shares,
 * fails about |x| / 2^64 of them by 2^(64-f). Not in the memcheck suite
 * (seconds here, minutes under valgrind). */
#include "check_util.h"
#include "proto_harness.h"

#include "tensor/fixed.h"

#include <math.h>
#include <stdlib.h>

enum { PAIRS = 1000000 };

typedef struct {
    tensor_t *x[3], *y[3], *out[3];
    unsigned f;
    proto_trunc_t mode;
} many_t;

static trine_status_t body_many(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    many_t *a = arg;
    int p = proto_ctx_role(ctx);
    proto_ctx_set_truncation(ctx, a->mode);
    trine_status_t st = proto_mul(ctx, a->out[p], a->x[p], a->y[p], err);
    return st == TRINE_OK ? proto_truncate(ctx, a->out[p], a->f, err) : st;
}

/* n reals uniform in (-lim, lim), fixed-point encoded with f bits. */
static tensor_t *many_values(double lim, unsigned f, uint64_t seed)
{
    tensor_t *t = tensor_new_1d(PAIRS);
    ck_assert_ptr_nonnull(t);
    double *v = malloc(PAIRS * sizeof *v);
    ck_assert_ptr_nonnull(v);
    check_util_random(t->data, PAIRS, seed);
    for (size_t i = 0; i < PAIRS; i++)
        v[i] = ldexp((double)((int64_t)t->data[i] >> 11), -52) * lim;
    ck_assert_int_eq(fixed_encode_array(t->data, v, PAIRS, f, NULL), TRINE_OK);
    free(v);
    return t;
}

/* Products off by more than 2 steps from the exact x y / 2^f. */
static size_t many_wrong(const tensor_t *x, const tensor_t *y, unsigned f, proto_trunc_t mode)
{
    many_t a = {.f = f, .mode = mode};
    harness_share(a.x, x, 1), harness_share(a.y, y, 2);
    harness_alloc(a.out, x);
    harness_result_t res;
    harness_run_ok(body_many, &a, &res);
    tensor_t *o = harness_open(a.out);
    size_t wrong = 0;
    for (size_t i = 0; i < PAIRS; i++) {
        double exact = ldexp((double)(int64_t)x->data[i] * (double)(int64_t)y->data[i], -(int)f);
        if (fabs((double)(int64_t)o->data[i] - exact) > 2)
            wrong++;
    }
    tensor_destroy(&o);
    harness_free(a.x), harness_free(a.y), harness_free(a.out);
    return wrong;
}

/* |a|, |b| < 2^13 at f = 13: products below 2^52 as integers. */
START_TEST(million_products_f13)
{
    tensor_t *x = many_values(0x1p13, 13, 1301), *y = many_values(0x1p13, 13, 1302);
    ck_assert_uint_eq(many_wrong(x, y, 13, PROTO_TRUNC_EXACT), 0);
    size_t local = many_wrong(x, y, 13, PROTO_TRUNC_LOCAL);
    /* one in 2^64 / |x|, E|x| = (2^12)^2 2^26 = 2^50: about 61 of a million
     * (46 on these seeds) */
    ck_assert_msg(local >= 15 && local <= 250, "local truncation failed %zu times", local);
    tensor_destroy(&x), tensor_destroy(&y);
}
END_TEST

/* |a|, |b| < 2^11 at f = 20: products below 2^62, the edge of the range. */
START_TEST(million_products_f20)
{
    tensor_t *x = many_values(0x1p11, 20, 2001), *y = many_values(0x1p11, 20, 2002);
    ck_assert_uint_eq(many_wrong(x, y, 20, PROTO_TRUNC_EXACT), 0);
    tensor_destroy(&x), tensor_destroy(&y);
}
END_TEST

Suite *proto_trunc_many_suite(void)
{
    Suite *s = suite_create("proto_trunc_many");
    TCase *tc = tcase_create("proto_trunc_many");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, million_products_f13);
    tcase_add_test(tc, million_products_f20);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(proto_trunc_many_suite());
}
