/* check_kept.c — the masked forms a party keeps between jobs (kept.h):
 * found only under the name and serial they were kept for, with their
 * tag; replaced under the same name; the least recently used evicted to
 * stay within the limit, a form above it never kept; a form a job still
 * references survives its eviction and its tensor's removal until the
 * job lets go (valgrind and ASan would catch a use after free). The
 * forms are real: masked by three parties over the in-process link. */
#include "check_util.h"
#include "proto_harness.h"

#include "daemon/party/kept.h"

#include <string.h>

enum { FORMS = 4 };

/* Forms of FORMS tensors of 10, 20, 30, 40 elements at each party. */
typedef struct {
    tensor_t *w[FORMS][PROTO_PARTIES];
    proto_masked_t *m[FORMS][PROTO_PARTIES];
} forms_t;

static trine_status_t body_mask(proto_ctx_t *ctx, void *arg, trine_err_t *err)
{
    forms_t *f = arg;
    int p = proto_ctx_role(ctx);
    trine_status_t st = TRINE_OK;
    for (int i = 0; st == TRINE_OK && i < FORMS; i++)
        st = proto_masked_new(ctx, &f->m[i][p], f->w[i][p], err);
    return st;
}

static void forms_make(forms_t *f)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < FORMS; i++) {
        tensor_t *w = tensor_new_1d(10 * (size_t)(i + 1));
        ck_assert_ptr_nonnull(w);
        check_util_random(w->data, w->size, (uint64_t)i + 1);
        harness_share(f->w[i], w, (uint64_t)i + 7);
        tensor_destroy(&w);
    }
    harness_result_t res;
    harness_run_ok(body_mask, f, &res);
}

static void forms_free(forms_t *f)
{
    for (int i = 0; i < FORMS; i++)
        for (int p = 0; p < PROTO_PARTIES; p++)
            tensor_destroy(&f->w[i][p]), proto_masked_destroy(&f->m[i][p]);
}

static const uint8_t tag_a[KEPT_TAG_BYTES] = {1}, tag_b[KEPT_TAG_BYTES] = {2};

START_TEST(found_by_name_and_serial_with_tag)
{
    forms_t f;
    forms_make(&f);
    ck_assert_uint_eq(proto_masked_bytes(f.m[0][0]), 10 * 3 * 8);
    ck_assert_uint_eq(proto_masked_bytes(f.m[0][2]), 10 * 8);
    kept_t *k = kept_new(1 << 20, 8);
    const proto_masked_t *m0 = f.m[0][0];
    kept_put(k, "w", 5, tag_a, &f.m[0][0]);
    ck_assert_ptr_null(f.m[0][0]);
    ck_assert_ptr_null(kept_get(k, "w", 6)); /* stored again since: another serial */
    ck_assert_ptr_null(kept_get(k, "v", 5));
    kept_entry_t *e = kept_get(k, "w", 5);
    ck_assert_ptr_eq(kept_masked(e), m0);
    ck_assert_mem_eq(kept_tag(e), tag_a, KEPT_TAG_BYTES);
    kept_release(&e);
    ck_assert_ptr_null(e);
    kept_put(k, "w", 7, tag_b, &f.m[1][0]); /* replaces */
    size_t n;
    uint64_t bytes;
    kept_usage(k, &n, &bytes);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(bytes, 20 * 3 * 8);
    ck_assert_ptr_null(kept_get(k, "w", 5));
    e = kept_get(k, "w", 7);
    ck_assert_mem_eq(kept_tag(e), tag_b, KEPT_TAG_BYTES);
    kept_release(&e);
    kept_forget(k, "w");
    ck_assert_ptr_null(kept_get(k, "w", 7));
    kept_forget(k, "nothing");
    kept_destroy(&k);
    ck_assert_ptr_null(k);
    forms_free(&f);
}
END_TEST

START_TEST(least_recently_used_evicted_within_limit)
{
    forms_t f;
    forms_make(&f);
    /* P0's forms: 240, 480, 720 and 960 bytes */
    kept_t *k = kept_new(1500, 8);
    kept_put(k, "a", 1, tag_a, &f.m[0][0]);
    kept_put(k, "b", 2, tag_a, &f.m[1][0]);
    kept_put(k, "c", 3, tag_a, &f.m[2][0]); /* 1440: all fit */
    kept_entry_t *e = kept_get(k, "a", 1);  /* a, the oldest, is now the most recent */
    kept_release(&e);
    kept_put(k, "d", 4, tag_a, &f.m[3][0]); /* 2400 > 1500: b goes, then c */
    ck_assert_ptr_null(kept_get(k, "b", 2));
    ck_assert_ptr_null(kept_get(k, "c", 3));
    e = kept_get(k, "a", 1);
    ck_assert_ptr_nonnull(e);
    kept_release(&e);
    size_t n;
    uint64_t bytes;
    kept_usage(k, &n, &bytes);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(bytes, 240 + 960);
    kept_destroy(&k);

    k = kept_new(200, 8); /* a 240-byte form is never kept */
    kept_put(k, "a", 1, tag_a, &f.m[0][1]);
    ck_assert_ptr_null(f.m[0][1]);
    ck_assert_ptr_null(kept_get(k, "a", 1));
    kept_put(k, "p2", 0, tag_a, &f.m[1][2]); /* P2's form of 20 elements: 160 bytes */
    kept_usage(k, &n, &bytes);
    ck_assert_uint_eq(bytes, 160);
    kept_destroy(&k);

    k = kept_new(1 << 20, 2); /* two entries at most, whatever their bytes */
    kept_put(k, "a", 1, tag_a, &f.m[0][2]);
    kept_put(k, "b", 2, tag_a, &f.m[1][1]);
    kept_put(k, "c", 3, tag_a, &f.m[2][1]); /* a, the oldest, goes */
    ck_assert_ptr_null(kept_get(k, "a", 1));
    kept_usage(k, &n, &bytes);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(bytes, 480 + 720);
    kept_destroy(&k);

    k = kept_new(0, 8);
    kept_put(k, "a", 1, tag_a, &f.m[3][2]);
    kept_usage(k, &n, &bytes);
    ck_assert_uint_eq(n, 0);
    kept_destroy(&k);
    forms_free(&f);
}
END_TEST

START_TEST(referenced_form_outlives_eviction_and_removal)
{
    forms_t f;
    forms_make(&f);
    kept_t *k = kept_new(1000, 8);
    kept_put(k, "a", 1, tag_a, &f.m[1][0]);
    kept_entry_t *e1 = kept_get(k, "a", 1), *e2 = kept_get(k, "a", 1);
    const proto_masked_t *m = kept_masked(e1);
    kept_forget(k, "a"); /* the tensor was removed while two jobs read it */
    ck_assert_ptr_null(kept_get(k, "a", 1));
    size_t shape[TENSOR_MAX_DIMS];
    ck_assert_int_eq(proto_masked_shape(m, shape), 1);
    ck_assert_uint_eq(shape[0], 20);
    kept_release(&e1);
    ck_assert_uint_eq(proto_masked_bytes(kept_masked(e2)), 20 * 3 * 8);
    kept_release(&e2); /* freed here */
    kept_put(k, "b", 2, tag_a, &f.m[2][0]);
    e1 = kept_get(k, "b", 2);
    kept_put(k, "c", 3, tag_a, &f.m[3][1]); /* evicts b, still referenced */
    ck_assert_ptr_null(kept_get(k, "b", 2));
    ck_assert_uint_eq(proto_masked_bytes(kept_masked(e1)), 30 * 3 * 8);
    kept_release(&e1);
    kept_release(&e1); /* NULL: nothing */
    e1 = kept_get(k, "c", 3);
    kept_destroy(&k); /* at shutdown, after the jobs: frees even referenced ones */
    forms_free(&f);
}
END_TEST

static Suite *kept_suite(void)
{
    Suite *s = suite_create("kept");
    TCase *tc = tcase_create("kept");
    tcase_add_test(tc, found_by_name_and_serial_with_tag);
    tcase_add_test(tc, least_recently_used_evicted_within_limit);
    tcase_add_test(tc, referenced_form_outlives_eviction_and_removal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(kept_suite());
}
