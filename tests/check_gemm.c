/* check_gemm.c — the ring GEMM against the reference loop, on full 64-bit
 * random values and on the values that drive every limb product to its
 * bound. */
#include "check_util.h"

#include "tensor/gemm.h"

#include <stdlib.h>
#include <string.h>

typedef trine_status_t (*gemm_fn)(uint64_t *, const uint64_t *, gemm_trans_t, const uint64_t *,
                                  gemm_trans_t, size_t, size_t, size_t);

/* Compares fn with the reference on one shape, with a and b filled by fill
 * (random when fill is NULL). */
static void gemm_compare(gemm_fn fn, size_t m, size_t n, size_t k, gemm_trans_t ta, gemm_trans_t tb,
                         uint64_t seed, const uint64_t *fill)
{
    uint64_t *a = malloc(m * k * 8), *b = malloc(k * n * 8);
    uint64_t *want = malloc(m * n * 8), *got = malloc(m * n * 8);
    ck_assert(a && b && want && got);
    if (fill) {
        for (size_t i = 0; i < m * k; i++)
            a[i] = fill[0];
        for (size_t i = 0; i < k * n; i++)
            b[i] = fill[1];
    } else {
        check_util_random(a, m * k, seed);
        check_util_random(b, k * n, seed + 1000);
    }
    ck_assert_int_eq(gemm_ring_ref(want, a, ta, b, tb, m, n, k), TRINE_OK);
    memset(got, 0xa5, m * n * 8);
    ck_assert_int_eq(fn(got, a, ta, b, tb, m, n, k), TRINE_OK);
    for (size_t i = 0; i < m * n; i++)
        ck_assert_msg(got[i] == want[i], "%zux%zux%zu ta=%d tb=%d: C[%zu] = %llx, want %llx", m, n,
                      k, ta, tb, i, (unsigned long long)got[i], (unsigned long long)want[i]);
    free(a), free(b), free(want), free(got);
}

static void gemm_compare_both(size_t m, size_t n, size_t k, gemm_trans_t ta, gemm_trans_t tb)
{
    gemm_compare(gemm_ring_blas, m, n, k, ta, tb, m * 7 + n * 3 + k, NULL);
    gemm_compare(gemm_ring, m, n, k, ta, tb, m * 5 + n + k * 11, NULL);
}

/* m, n, k as SecureNN writes MatMul m x n x v: k is the inner extent. */
START_TEST(gemm_network_shapes)
{
    gemm_compare_both(1, 1, 1, GEMM_NOTRANS, GEMM_NOTRANS);
    gemm_compare_both(1, 128, 784, GEMM_NOTRANS, GEMM_NOTRANS);
    gemm_compare_both(128, 128, 784, GEMM_NOTRANS, GEMM_NOTRANS);
    gemm_compare_both(37, 13, 1000, GEMM_NOTRANS, GEMM_NOTRANS);
    gemm_compare_both(128, 10, 128, GEMM_NOTRANS, GEMM_NOTRANS);
}
END_TEST

START_TEST(gemm_non_square)
{
    gemm_compare_both(100, 50, 3, GEMM_NOTRANS, GEMM_NOTRANS);
    gemm_compare_both(3, 200, 70, GEMM_NOTRANS, GEMM_NOTRANS);
    gemm_compare_both(257, 33, 65, GEMM_NOTRANS, GEMM_NOTRANS);
    gemm_compare_both(64, 1, 300, GEMM_NOTRANS, GEMM_NOTRANS);
}
END_TEST

START_TEST(gemm_transposed)
{
    const gemm_trans_t t[] = {GEMM_NOTRANS, GEMM_TRANS};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            gemm_compare_both(37, 13, 1000, t[i], t[j]);
            gemm_compare_both(64, 48, 1025, t[i], t[j]);
            gemm_compare_both(1, 9, 5, t[i], t[j]);
        }
}
END_TEST

/* k at the chunk bound and just past it, once and twice over. */
START_TEST(gemm_k_edges)
{
    const size_t ks[] = {1023, 1024, 1025, 2048, 2049, 3000};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        gemm_compare(gemm_ring_blas, 40, 36, ks[i], GEMM_NOTRANS, GEMM_NOTRANS, ks[i], NULL);
        gemm_compare(gemm_ring_blas, 33, 35, ks[i], GEMM_TRANS, GEMM_TRANS, ks[i] + 1, NULL);
    }
}
END_TEST

/* Limbs at their extremes make |G_2| reach k 2^43 = 2^53 at k = 1024, the
 * last exactly representable magnitude; 1025 must chunk. */
START_TEST(gemm_limb_bounds)
{
    uint64_t lowest = (uint64_t) - ((int64_t)1 << 20) + ((uint64_t) - ((int64_t)1 << 21) << 21) +
                      ((uint64_t) - ((int64_t)1 << 20) << 43);
    uint64_t highest = (((uint64_t)1 << 20) - 1) + ((((uint64_t)1 << 21) - 1) << 21) +
                       ((((uint64_t)1 << 20) - 1) << 43);
    const uint64_t fills[][2] = {
        {lowest, lowest},
        {highest, highest},
        {lowest, highest},
        {UINT64_MAX, UINT64_MAX},
        {(uint64_t)1 << 63, (uint64_t)1 << 63},
    };
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++)
        for (size_t k = 1023; k <= 1025; k++)
            gemm_compare(gemm_ring_blas, 32, 32, k, GEMM_NOTRANS, GEMM_TRANS, 0, fills[f]);
}
END_TEST

START_TEST(gemm_bad_arguments)
{
    uint64_t x = 0;
    ck_assert_int_eq(gemm_ring_blas(&x, &x, GEMM_NOTRANS, &x, GEMM_NOTRANS, 0, 1, 1), TRINE_EINVAL);
    ck_assert_int_eq(gemm_ring(&x, &x, GEMM_NOTRANS, &x, GEMM_NOTRANS, 1, 0, 1), TRINE_EINVAL);
    ck_assert_int_eq(gemm_ring_ref(&x, &x, GEMM_NOTRANS, &x, GEMM_NOTRANS, 1, 1, 0), TRINE_EINVAL);
}
END_TEST

START_TEST(gemm_tensor_matmul)
{
    tensor_t *a = tensor_new_2d(5, 7), *b = tensor_new_2d(3, 7), *c = tensor_new_2d(5, 3);
    tensor_t *want = tensor_new_2d(5, 3);
    ck_assert(a && b && c && want);
    check_util_random(a->data, a->size, 1);
    check_util_random(b->data, b->size, 2);
    ck_assert_int_eq(tensor_matmul(c, a, GEMM_NOTRANS, b, GEMM_TRANS), TRINE_OK);
    ck_assert_int_eq(gemm_ring_ref(want->data, a->data, GEMM_NOTRANS, b->data, GEMM_TRANS, 5, 3, 7),
                     TRINE_OK);
    ck_assert_mem_eq(c->data, want->data, c->size * 8);
    ck_assert_int_eq(tensor_matmul(c, a, GEMM_NOTRANS, b, GEMM_NOTRANS), TRINE_ESHAPE);
    ck_assert_int_eq(tensor_matmul(a, a, GEMM_NOTRANS, b, GEMM_TRANS), TRINE_EINVAL);
    tensor_destroy(&a), tensor_destroy(&b), tensor_destroy(&c), tensor_destroy(&want);
}
END_TEST

Suite *gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gemm_network_shapes);
    tcase_add_test(tc, gemm_non_square);
    tcase_add_test(tc, gemm_transposed);
    tcase_add_test(tc, gemm_k_edges);
    tcase_add_test(tc, gemm_limb_bounds);
    tcase_add_test(tc, gemm_bad_arguments);
    tcase_add_test(tc, gemm_tensor_matmul);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(gemm_suite());
}
