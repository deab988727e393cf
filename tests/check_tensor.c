/* check_tensor.c — ring tensor shapes and elementwise arithmetic mod 2^64. */
#include "check_util.h"

#include "tensor/tensor.h"

#include <stdlib.h>

static tensor_t *tensor_random(int ndim, const size_t *shape, uint64_t seed)
{
    tensor_t *t = tensor_new(ndim, shape);
    ck_assert_ptr_nonnull(t);
    check_util_random(t->data, t->size, seed);
    return t;
}

START_TEST(tensor_new_and_shapes)
{
    tensor_t *t = tensor_new(3, (size_t[]){2, 3, 4});
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->size, 24);
    ck_assert_uint_eq(t->shape[3], 1);
    for (size_t i = 0; i < t->size; i++)
        ck_assert_uint_eq(t->data[i], 0);
    ck_assert_ptr_null(tensor_new(0, (size_t[]){1}));
    ck_assert_ptr_null(tensor_new(5, (size_t[]){1, 1, 1, 1, 1}));
    ck_assert_ptr_null(tensor_new(2, (size_t[]){3, 0}));
    ck_assert_ptr_null(tensor_new(2, (size_t[]){SIZE_MAX / 4, 4}));
    size_t size;
    ck_assert_int_eq(tensor_shape_check(2, (size_t[]){(size_t)1 << 40, (size_t)1 << 30}, &size),
                     TRINE_ERANGE);

    ck_assert_int_eq(tensor_reshape(t, 2, (size_t[]){6, 4}), TRINE_OK);
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_uint_eq(t->shape[2], 1);
    ck_assert_int_eq(tensor_reshape(t, 2, (size_t[]){5, 5}), TRINE_ESHAPE);
    tensor_destroy(&t);
    ck_assert_ptr_null(t);
    tensor_destroy(&t);
    tensor_destroy(NULL);
}
END_TEST

START_TEST(tensor_copy_rows_transpose)
{
    tensor_t *a = tensor_random(2, (size_t[]){5, 3}, 1);
    tensor_t *c = tensor_copy(a);
    ck_assert(tensor_same_shape(a, c));
    ck_assert_mem_eq(a->data, c->data, a->size * 8);

    tensor_t *r = tensor_rows(a, 1, 3);
    ck_assert_uint_eq(r->shape[0], 3);
    ck_assert_mem_eq(r->data, a->data + 3, 9 * 8);
    ck_assert_ptr_null(tensor_rows(a, 4, 2));
    ck_assert_ptr_null(tensor_rows(a, 0, 0));
    ck_assert_ptr_null(tensor_rows(a, 5, 1));

    tensor_t *t = tensor_new_2d(3, 5);
    ck_assert_int_eq(tensor_transpose(t, a), TRINE_OK);
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 3; j++)
            ck_assert_uint_eq(t->data[j * 5 + i], a->data[i * 3 + j]);
    ck_assert_int_eq(tensor_transpose(c, a), TRINE_ESHAPE);
    ck_assert_int_eq(tensor_transpose(a, a), TRINE_EINVAL);
    tensor_destroy(&a), tensor_destroy(&c), tensor_destroy(&r), tensor_destroy(&t);
}
END_TEST

START_TEST(tensor_permute_4d)
{
    tensor_t *a = tensor_random(4, (size_t[]){2, 3, 4, 5}, 2);
    tensor_t *p = tensor_new(4, (size_t[]){4, 2, 5, 3});
    ck_assert_int_eq(tensor_permute(p, a, (const int[]){2, 0, 3, 1}), TRINE_OK);
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 4; k++)
                for (size_t l = 0; l < 5; l++)
                    ck_assert_uint_eq(p->data[((k * 2 + i) * 5 + l) * 3 + j],
                                      a->data[((i * 3 + j) * 4 + k) * 5 + l]);
    ck_assert_int_eq(tensor_permute(p, a, (const int[]){2, 0, 3, 3}), TRINE_EINVAL);
    ck_assert_int_eq(tensor_permute(p, a, (const int[]){0, 1, 2, 3}), TRINE_ESHAPE);
    tensor_destroy(&a), tensor_destroy(&p);
}
END_TEST

START_TEST(tensor_elementwise_wraps)
{
    tensor_t *a = tensor_new_1d(4), *b = tensor_new_1d(4), *o = tensor_new_1d(4);
    const uint64_t av[] = {UINT64_MAX, 1, (uint64_t)1 << 63, 0};
    const uint64_t bv[] = {1, UINT64_MAX, (uint64_t)1 << 63, 5};
    for (int i = 0; i < 4; i++)
        a->data[i] = av[i], b->data[i] = bv[i];
    ck_assert_int_eq(tensor_add(o, a, b), TRINE_OK);
    ck_assert_uint_eq(o->data[0], 0);
    ck_assert_uint_eq(o->data[2], 0);
    ck_assert_int_eq(tensor_sub(o, a, b), TRINE_OK);
    ck_assert_uint_eq(o->data[1], 2);
    ck_assert_uint_eq(o->data[3], (uint64_t)-5);
    ck_assert_int_eq(tensor_neg(o, a), TRINE_OK);
    ck_assert_uint_eq(o->data[0], 1);
    ck_assert_uint_eq(o->data[2], (uint64_t)1 << 63);
    ck_assert_int_eq(tensor_mul(o, a, b), TRINE_OK);
    ck_assert_uint_eq(o->data[0], UINT64_MAX);
    ck_assert_uint_eq(o->data[2], 0);
    ck_assert_int_eq(tensor_scale(o, a, 3), TRINE_OK);
    ck_assert_uint_eq(o->data[0], (uint64_t)-3);
    /* in place */
    ck_assert_int_eq(tensor_add(a, a, b), TRINE_OK);
    ck_assert_uint_eq(a->data[3], 5);
    tensor_t *w = tensor_new_1d(3);
    ck_assert_int_eq(tensor_add(o, a, w), TRINE_ESHAPE);
    ck_assert_int_eq(tensor_neg(w, a), TRINE_ESHAPE);
    tensor_destroy(&a), tensor_destroy(&b), tensor_destroy(&o), tensor_destroy(&w);
}
END_TEST

START_TEST(tensor_bias_and_sums)
{
    tensor_t *a = tensor_random(3, (size_t[]){2, 3, 4}, 3);
    tensor_t *bias = tensor_random(1, (size_t[]){4}, 4);
    tensor_t *o = tensor_new_like(a);
    ck_assert_int_eq(tensor_add_bias_row(o, a, bias), TRINE_OK);
    for (size_t i = 0; i < a->size; i++)
        ck_assert_uint_eq(o->data[i], a->data[i] + bias->data[i % 4]);
    tensor_t *wrong = tensor_new_1d(3);
    ck_assert_int_eq(tensor_add_bias_row(o, a, wrong), TRINE_ESHAPE);

    for (int axis = 0; axis < 3; axis++) {
        int nd;
        size_t shape[TENSOR_MAX_DIMS];
        ck_assert_int_eq(tensor_sum_axis_shape(a, axis, &nd, shape), TRINE_OK);
        tensor_t *s = tensor_new(nd, shape);
        ck_assert_int_eq(tensor_sum_axis(s, a, axis), TRINE_OK);
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 3; j++)
                for (size_t k = 0; k < 4; k++) {
                    size_t idx[3] = {i, j, k}, keep[2], q = 0;
                    for (int d = 0; d < 3; d++)
                        if (d != axis)
                            keep[q++] = idx[d];
                    if ((axis == 0 && i) || (axis == 1 && j) || (axis == 2 && k))
                        continue;
                    uint64_t want = 0;
                    for (size_t t = 0; t < a->shape[axis]; t++) {
                        size_t id[3] = {i, j, k};
                        id[axis] = t;
                        want += a->data[(id[0] * 3 + id[1]) * 4 + id[2]];
                    }
                    ck_assert_uint_eq(s->data[keep[0] * shape[1] + keep[1]], want);
                }
        tensor_destroy(&s);
    }
    tensor_t *v = tensor_random(1, (size_t[]){7}, 5), *one = tensor_new_1d(1);
    ck_assert_int_eq(tensor_sum_axis(one, v, 0), TRINE_OK);
    uint64_t want = 0;
    for (size_t i = 0; i < 7; i++)
        want += v->data[i];
    ck_assert_uint_eq(one->data[0], want);
    ck_assert_int_eq(tensor_sum_axis(one, v, 1), TRINE_EINVAL);
    ck_assert_int_eq(tensor_sum_axis(v, v, 0), TRINE_EINVAL);
    tensor_destroy(&a), tensor_destroy(&bias), tensor_destroy(&o), tensor_destroy(&wrong);
    tensor_destroy(&v), tensor_destroy(&one);
}
END_TEST

Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("ring");
    tcase_add_test(tc, tensor_new_and_shapes);
    tcase_add_test(tc, tensor_copy_rows_transpose);
    tcase_add_test(tc, tensor_permute_4d);
    tcase_add_test(tc, tensor_elementwise_wraps);
    tcase_add_test(tc, tensor_bias_and_sums);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(tensor_suite());
}
