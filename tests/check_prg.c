/* check_prg.c — addressed ChaCha20 streams: reproducible, separated by
 * purpose and seed, and in range mod p. */
#include "check_util.h"

#include "tensor/prg.h"

#include <string.h>

static prg_t *prg_from_byte(uint8_t b)
{
    uint8_t seed[PRG_SEED_BYTES];
    memset(seed, b, sizeof seed);
    prg_t *prg = prg_new(seed);
    ck_assert_ptr_nonnull(prg);
    return prg;
}

START_TEST(prg_same_seed_same_stream)
{
    enum { N = 1000 };
    static uint64_t a[N], b[N], c[N];
    prg_t *p = prg_from_byte(1), *q = prg_from_byte(1);
    prg_fill_ring(p, 3, 0, a, N);
    prg_fill_ring(q, 3, 0, b, N);
    ck_assert_mem_eq(a, b, sizeof a);
    /* any window of the stream, ragged at either end, is the same words */
    const size_t starts[] = {1, 7, 8, 9, 63, 500};
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++)
        for (size_t n = 1; n + starts[s] <= N; n += 97) {
            prg_fill_ring(q, 3, starts[s], c, n);
            ck_assert_mem_eq(c, a + starts[s], n * 8);
        }
    /* far positions work and differ from the start */
    prg_fill_ring(p, 3, (uint64_t)1 << 40, c, 16);
    prg_fill_ring(q, 3, (uint64_t)1 << 40, b, 16);
    ck_assert_mem_eq(b, c, 16 * 8);
    ck_assert(memcmp(a, c, 16 * 8) != 0);
    prg_destroy(&p), prg_destroy(&q);
    ck_assert_ptr_null(p);
    prg_destroy(NULL);
}
END_TEST

/* Unrelated streams: no equal words, and about half the bits differ. */
static void prg_assert_unrelated(const uint64_t *a, const uint64_t *b, size_t n)
{
    size_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_ne(a[i], b[i]);
        bits += (size_t)__builtin_popcountll(a[i] ^ b[i]);
    }
    double frac = (double)bits / (64.0 * (double)n);
    ck_assert_msg(frac > 0.49 && frac < 0.51, "%.4f of the bits differ", frac);
}

START_TEST(prg_purposes_and_seeds_are_separate)
{
    enum { N = 4096 };
    static uint64_t a[N], b[N], c[N];
    prg_t *p = prg_from_byte(1), *q = prg_from_byte(2);
    prg_fill_ring(p, 1, 0, a, N);
    prg_fill_ring(p, 2, 0, b, N);
    prg_fill_ring(q, 1, 0, c, N);
    prg_assert_unrelated(a, b, N);
    prg_assert_unrelated(a, c, N);
    prg_assert_unrelated(a, a + 1, N - 1); /* no short self-correlation */
    prg_destroy(&p), prg_destroy(&q);
}
END_TEST

START_TEST(prg_mod_p_in_range_and_even)
{
    enum { P = 67, N = P * 300 };
    static uint64_t v[N];
    size_t count[P] = {0};
    prg_t *p = prg_from_byte(9);
    ck_assert_int_eq(prg_fill_mod(p, 5, 11, v, N, P), TRINE_OK);
    for (size_t i = 0; i < N; i++) {
        ck_assert_uint_lt(v[i], P);
        count[v[i]]++;
    }
    for (size_t r = 0; r < P; r++) /* 300 expected; 6 sigma is about 104 */
        ck_assert_msg(count[r] > 196 && count[r] < 404, "residue %zu seen %zu times", r, count[r]);
    tensor_t *t = tensor_new_2d(3, 5);
    ck_assert_int_eq(prg_tensor_mod(p, 5, 0, t, 2), TRINE_OK);
    for (size_t i = 0; i < t->size; i++)
        ck_assert_uint_lt(t->data[i], 2);
    ck_assert_int_eq(prg_fill_mod(p, 5, 0, v, 1, 1), TRINE_EINVAL);
    ck_assert_int_eq(prg_fill_mod(p, 5, 0, v, 1, ((uint64_t)1 << 32) + 1), TRINE_EINVAL);
    prg_tensor_ring(p, 6, 0, t);
    ck_assert_uint_ne(t->data[0], t->data[1]);
    tensor_destroy(&t);
    prg_destroy(&p);
}
END_TEST

START_TEST(prg_random_seeds_differ)
{
    uint8_t s1[PRG_SEED_BYTES], s2[PRG_SEED_BYTES];
    ck_assert_int_eq(prg_seed_random(s1), TRINE_OK);
    ck_assert_int_eq(prg_seed_random(s2), TRINE_OK);
    ck_assert(memcmp(s1, s2, PRG_SEED_BYTES) != 0);
    prg_t *p = prg_new_random(), *q = prg_new_random();
    uint64_t a[4], b[4];
    prg_fill_ring(p, 0, 0, a, 4);
    prg_fill_ring(q, 0, 0, b, 4);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    prg_destroy(&p), prg_destroy(&q);
}
END_TEST

Suite *prg_suite(void)
{
    Suite *s = suite_create("prg");
    TCase *tc = tcase_create("prg");
    tcase_add_test(tc, prg_same_seed_same_stream);
    tcase_add_test(tc, prg_purposes_and_seeds_are_separate);
    tcase_add_test(tc, prg_mod_p_in_range_and_even);
    tcase_add_test(tc, prg_random_seeds_differ);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(prg_suite());
}
