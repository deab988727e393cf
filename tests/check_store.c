/* check_store.c — the party's tensor store: shares move in and come back,
 * names are unique, the memory limit holds to the byte, only owners reveal,
 * remove and grant, grantees only use, and listings show each client its
 * own tensors in name order. Staged uploads stay invisible until committed
 * and expire; a persistent store reloads what it wrote, skips damaged files
 * with the reason, and a failed write changes nothing. */
#include "check_util.h"

#include "daemon/party/store.h"

#include <fcntl.h>
#include <sodium.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const keys_public_t alice = {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"};
static const keys_public_t bob = {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"};
static const keys_public_t carol = {"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"};

#define MIB (1024 * 1024)

/* A 1-D tensor of n elements from the test stream. */
static tensor_t *filled(size_t n, uint64_t seed)
{
    tensor_t *t = tensor_new_1d(n);
    ck_assert_ptr_nonnull(t);
    check_util_random(t->data, n, seed);
    return t;
}

/* Puts a fresh n-element share under name, owned by owner, and checks that
 * the store took it. */
static void put(store_t *s, const char *name, const keys_public_t *owner, size_t n)
{
    tensor_t *t = filled(n, n);
    trine_err_t err;
    ck_assert_msg(store_put(s, name, owner, WIRE_KIND_INT, 0, &t, &err) == TRINE_OK, "%s: %s", name,
                  err.msg);
    ck_assert_ptr_null(t);
}

/* The store's usage summed over the three clients of these tests. */
static void check_usage(const store_t *s, size_t tensors, uint64_t bytes)
{
    const keys_public_t *who[] = {&alice, &bob, &carol};
    size_t n = 0;
    uint64_t b = 0;
    for (int i = 0; i < 3; i++) {
        size_t ni;
        uint64_t stored, staged;
        store_usage(s, who[i], &ni, &stored, &staged);
        n += ni;
        b += stored + staged;
    }
    ck_assert_uint_eq(n, tensors);
    ck_assert_uint_eq(b, bytes);
}

/* The program and input slot the simple grants of these tests approve. */
static const uint8_t prog_a[WIRE_PROGRAM_HASH_BYTES] = {0xa1, 0xa2};
static const uint8_t prog_b[WIRE_PROGRAM_HASH_BYTES] = {0xb1, 0xb2};

/* Approves prog_a reading name as input "x" for grantee. */
static trine_status_t grant(store_t *s, const char *name, const keys_public_t *owner,
                            const keys_public_t *grantee, trine_err_t *err)
{
    wire_approval_t a = {.grantee = *grantee, .slot = "x"};
    memcpy(a.program, prog_a, sizeof a.program);
    return store_grant(s, name, owner, &a, err);
}

/* Reads name as input "x" of prog_a, outputs to the caller. */
static trine_status_t use(const store_t *s, const char *name, const keys_public_t *caller,
                          store_entry_t *e, trine_err_t *err)
{
    store_use_t u = {.program = prog_a, .slot = "x", .to = caller};
    return store_use(s, name, caller, &u, e, err);
}

static void check_msg(const trine_err_t *err, const char *part)
{
    ck_assert_msg(strstr(err->msg, part), "'%s' not in '%s'", part, err->msg);
}

START_TEST(store_put_get_round_trip)
{
    store_t *s = store_new(MIB);
    ck_assert_ptr_nonnull(s);
    tensor_t *t = tensor_new_2d(2, 3);
    ck_assert_ptr_nonnull(t);
    uint64_t want[6] = {0, 1, UINT64_MAX, 1ULL << 63, 42, 7};
    memcpy(t->data, want, sizeof want);
    const tensor_t *moved = t;
    trine_err_t err;
    ck_assert_int_eq(store_put(s, "w1", &alice, WIRE_KIND_FIXED, 13, &t, &err), TRINE_OK);
    ck_assert_ptr_null(t);
    check_usage(s, 1, 48);

    store_entry_t e;
    ck_assert_int_eq(store_get(s, "w1", &alice, &e, &err), TRINE_OK);
    ck_assert_str_eq(e.name, "w1");
    ck_assert_str_eq(e.owner->z85, alice.z85);
    ck_assert_int_eq(e.kind, WIRE_KIND_FIXED);
    ck_assert_uint_eq(e.frac, 13);
    ck_assert_uint_eq(e.grants, 0);
    ck_assert_ptr_eq(e.share, moved);
    ck_assert_int_eq(e.share->ndim, 2);
    ck_assert_uint_eq(e.share->shape[0], 2);
    ck_assert_uint_eq(e.share->shape[1], 3);
    ck_assert_mem_eq(e.share->data, want, sizeof want);

    /* a view outlives puts and removals of other tensors */
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "a%03d", i);
        put(s, name, &bob, 1);
    }
    ck_assert_int_eq(store_rm(s, "a000", &bob, &err), TRINE_OK);
    ck_assert_str_eq(e.name, "w1");
    ck_assert_str_eq(e.owner->z85, alice.z85);
    ck_assert_mem_eq(e.share->data, want, sizeof want);
    check_usage(s, 100, 48 + 99 * 8);
    store_destroy(&s);
    ck_assert_ptr_null(s);
}
END_TEST

START_TEST(store_put_duplicate_name)
{
    store_t *s = store_new(MIB);
    put(s, "x", &alice, 4);
    trine_err_t err;
    tensor_t *t = filled(2, 9);
    const tensor_t *mine = t;
    ck_assert_int_eq(store_put(s, "x", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_EEXIST);
    ck_assert_int_eq(err.code, TRINE_EEXIST);
    check_msg(&err, "'x'");
    check_msg(&err, "rm it first");
    ck_assert_ptr_eq(t, mine);
    ck_assert_int_eq(store_put(s, "x", &bob, WIRE_KIND_INT, 0, &t, &err), TRINE_EEXIST);
    check_msg(&err, "owned by another client");
    ck_assert_ptr_eq(t, mine);

    /* the stored tensor is the first one, unchanged */
    store_entry_t e;
    ck_assert_int_eq(store_get(s, "x", &alice, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.share->size, 4);
    check_usage(s, 1, 32);
    tensor_destroy(&t);
    store_destroy(&s);
}
END_TEST

START_TEST(store_put_invalid)
{
    store_t *s = store_new(MIB);
    trine_err_t err;
    tensor_t *t = filled(3, 1);
    const tensor_t *mine = t;
    char too_long[WIRE_NAME_MAX + 2];
    memset(too_long, 'n', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    const char *bad[] = {"", ".hidden", "a/b", "sp ace", "x\n", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(store_put(s, bad[i], &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_EINVAL);
        check_msg(&err, "is not a tensor name");
        ck_assert_ptr_eq(t, mine);
    }
    ck_assert_int_eq(store_put(s, "i", &alice, WIRE_KIND_INT, 3, &t, &err), TRINE_EINVAL);
    check_msg(&err, "no fractional bits (got 3)");
    ck_assert_int_eq(store_put(s, "f", &alice, WIRE_KIND_FIXED, 63, &t, &err), TRINE_EINVAL);
    check_msg(&err, "at most 62");
    ck_assert_int_eq(store_put(s, "k", &alice, (wire_kind_t)0, 0, &t, &err), TRINE_EINVAL);
    check_msg(&err, "unknown kind 0");
    ck_assert_ptr_eq(t, mine);
    check_usage(s, 0, 0);

    /* the edges that are allowed */
    too_long[WIRE_NAME_MAX] = '\0';
    ck_assert_int_eq(store_put(s, too_long, &alice, WIRE_KIND_FIXED, 62, &t, &err), TRINE_OK);
    ck_assert_ptr_null(t);
    put(s, "a-b_c.0", &alice, 1);
    check_usage(s, 2, 32);
    store_destroy(&s);
}
END_TEST

START_TEST(store_memory_limit)
{
    store_t *s = store_new(80); /* 10 elements */
    trine_err_t err;
    put(s, "a", &alice, 6);
    put(s, "b", &bob, 4); /* exactly at the limit */
    check_usage(s, 2, 80);
    tensor_t *t = filled(1, 1);
    const tensor_t *mine = t;
    ck_assert_int_eq(store_put(s, "c", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_ELIMIT);
    check_msg(&err, "storing 'c' needs 8 B; 80 B of 80 B in use");
    check_msg(&err, "memory_limit");
    ck_assert_ptr_eq(t, mine);
    check_usage(s, 2, 80);

    /* removing frees exactly its bytes */
    ck_assert_int_eq(store_rm(s, "b", &bob, &err), TRINE_OK);
    check_usage(s, 1, 48);
    tensor_t *big = filled(5, 2);
    ck_assert_int_eq(store_put(s, "c", &alice, WIRE_KIND_INT, 0, &big, &err), TRINE_ELIMIT);
    check_msg(&err, "needs 40 B; 48 B of 80 B in use");
    tensor_destroy(&big);
    put(s, "c", &alice, 4);
    check_usage(s, 2, 80);
    tensor_destroy(&t);
    store_destroy(&s);

    /* larger amounts in binary units */
    s = store_new(MIB);
    put(s, "m", &alice, MIB / 8);
    t = filled(MIB / 4, 3);
    ck_assert_int_eq(store_put(s, "n", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_ELIMIT);
    check_msg(&err, "storing 'n' needs 2.0 MiB; 1.0 MiB of 1.0 MiB in use");
    tensor_destroy(&t);
    store_destroy(&s);

    /* the store reads only the size of a share it refuses */
    s = store_new(1024ULL * MIB);
    put(s, "m", &alice, 3 * MIB / 16);
    tensor_t huge = {.ndim = 1, .shape = {(size_t)1 << 28, 1, 1, 1}, .size = (size_t)1 << 28};
    t = &huge;
    ck_assert_int_eq(store_put(s, "h", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_ELIMIT);
    check_msg(&err, "storing 'h' needs 2.0 GiB; 1.5 MiB of 1.0 GiB in use");
    ck_assert_ptr_eq(t, &huge);
    store_destroy(&s);
}
END_TEST

START_TEST(store_permissions)
{
    store_t *s = store_new(MIB);
    put(s, "w", &alice, 2);
    trine_err_t err;
    ck_assert_int_eq(grant(s, "w", &alice, &bob, &err), TRINE_OK);
    store_entry_t e;

    /* the grantee uses, and may do nothing else */
    ck_assert_int_eq(use(s, "w", &bob, &e, &err), TRINE_OK);
    ck_assert_str_eq(e.name, "w");
    ck_assert_int_eq(store_get(s, "w", &bob, &e, &err), TRINE_EPERM);
    check_msg(&err, "tensor 'w' belongs to another client; it approved programs that may read "
                    "it, but only its owner can reveal it");
    ck_assert_int_eq(store_rm(s, "w", &bob, &err), TRINE_EPERM);
    check_msg(&err, "only its owner can remove it");
    ck_assert_int_eq(grant(s, "w", &bob, &carol, &err), TRINE_EPERM);
    check_msg(&err, "only its owner can grant it");

    /* a stranger may do nothing, and a grantee's attempt granted nothing */
    ck_assert_int_eq(use(s, "w", &carol, &e, &err), TRINE_EPERM);
    check_msg(&err, "ask its owner to grant it");
    ck_assert_int_eq(store_get(s, "w", &carol, &e, &err), TRINE_EPERM);
    check_msg(&err, "tensor 'w' belongs to another client; only its owner can reveal it");
    ck_assert_int_eq(store_rm(s, "w", &carol, &err), TRINE_EPERM);
    check_msg(&err, "only its owner can remove it");
    ck_assert_int_eq(grant(s, "w", &carol, &carol, &err), TRINE_EPERM);
    check_msg(&err, "only its owner can grant it");
    check_usage(s, 1, 16);

    /* no tensor: the same answer for everyone */
    const keys_public_t *everyone[] = {&alice, &bob, &carol};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(use(s, "v", everyone[i], &e, &err), TRINE_ENOENT);
        ck_assert_str_eq(err.msg, "no tensor named 'v'");
        ck_assert_int_eq(store_get(s, "v", everyone[i], &e, &err), TRINE_ENOENT);
        ck_assert_int_eq(store_rm(s, "v", everyone[i], &err), TRINE_ENOENT);
        ck_assert_int_eq(grant(s, "v", everyone[i], &carol, &err), TRINE_ENOENT);
        ck_assert_str_eq(err.msg, "no tensor named 'v'");
    }

    /* the owner may do everything; failures without err are fine too */
    ck_assert_int_eq(use(s, "w", &carol, &e, NULL), TRINE_EPERM);
    ck_assert_int_eq(use(s, "w", &alice, &e, &err), TRINE_OK);
    ck_assert_int_eq(store_get(s, "w", &alice, &e, &err), TRINE_OK);
    ck_assert_int_eq(grant(s, "w", &alice, &carol, &err), TRINE_OK);
    ck_assert_int_eq(use(s, "w", &carol, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.grants, 2);
    ck_assert_int_eq(store_rm(s, "w", &alice, &err), TRINE_OK);
    ck_assert_int_eq(store_get(s, "w", &alice, &e, &err), TRINE_ENOENT);
    store_destroy(&s);
}
END_TEST

START_TEST(store_rm_frees_name_and_bytes)
{
    store_t *s = store_new(MIB);
    put(s, "a", &alice, 3);
    put(s, "b", &alice, 5);
    put(s, "c", &alice, 7);
    check_usage(s, 3, 120);
    trine_err_t err;
    ck_assert_int_eq(grant(s, "b", &alice, &bob, &err), TRINE_OK);
    ck_assert_int_eq(store_rm(s, "b", &alice, &err), TRINE_OK);
    check_usage(s, 2, 80);
    ck_assert_int_eq(store_rm(s, "b", &alice, &err), TRINE_ENOENT);

    /* the name is free for anyone, and the old grant is gone with it */
    put(s, "b", &carol, 1);
    check_usage(s, 3, 88);
    store_entry_t e;
    ck_assert_int_eq(use(s, "b", &bob, &e, &err), TRINE_EPERM);
    ck_assert_int_eq(store_get(s, "b", &carol, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.share->size, 1);
    ck_assert_uint_eq(e.grants, 0);

    ck_assert_int_eq(store_rm(s, "a", &alice, &err), TRINE_OK);
    ck_assert_int_eq(store_rm(s, "c", &alice, &err), TRINE_OK);
    ck_assert_int_eq(store_rm(s, "b", &carol, &err), TRINE_OK);
    check_usage(s, 0, 0);
    store_destroy(&s);
}
END_TEST

START_TEST(store_list_per_caller)
{
    store_t *s = store_new(MIB);
    put(s, "d", &alice, 1);
    put(s, "c", &bob, 2);
    put(s, "b", &alice, 3);
    put(s, "a.1", &alice, 4);
    put(s, "a-0", &carol, 5);
    trine_err_t err;
    ck_assert_int_eq(grant(s, "d", &alice, &bob, &err), TRINE_OK);
    ck_assert_int_eq(grant(s, "a-0", &carol, &bob, &err), TRINE_OK);

    store_entry_t out[5];
    ck_assert_uint_eq(store_list(s, &alice, out, 5), 3);
    ck_assert_str_eq(out[0].name, "a.1");
    ck_assert_str_eq(out[1].name, "b");
    ck_assert_str_eq(out[2].name, "d");
    ck_assert_uint_eq(out[0].share->size, 4);
    ck_assert_uint_eq(out[2].grants, 1);
    ck_assert_str_eq(out[2].owner->z85, alice.z85);

    /* bob sees his own and what he was granted, by name across owners */
    ck_assert_uint_eq(store_list(s, &bob, out, 5), 3);
    ck_assert_str_eq(out[0].name, "a-0");
    ck_assert_str_eq(out[0].owner->z85, carol.z85);
    ck_assert_str_eq(out[1].name, "c");
    ck_assert_str_eq(out[1].owner->z85, bob.z85);
    ck_assert_str_eq(out[2].name, "d");
    ck_assert_str_eq(out[2].owner->z85, alice.z85);

    ck_assert_uint_eq(store_list(s, &carol, out, 5), 1);
    ck_assert_str_eq(out[0].name, "a-0");
    const keys_public_t dave = {"nobody-stored-anything-under-this-key.00"};
    ck_assert_uint_eq(store_list(s, &dave, out, 5), 0);
    check_usage(s, 5, 120);
    store_destroy(&s);
}
END_TEST

START_TEST(store_list_cap_smaller)
{
    store_t *s = store_new(MIB);
    put(s, "z", &alice, 1);
    put(s, "y", &alice, 1);
    put(s, "x", &alice, 1);
    put(s, "w", &bob, 1);
    ck_assert_uint_eq(store_list(s, &alice, NULL, 0), 3);

    store_entry_t out[3];
    memset(out, 0, sizeof out);
    ck_assert_uint_eq(store_list(s, &alice, out, 2), 3);
    ck_assert_str_eq(out[0].name, "x");
    ck_assert_str_eq(out[1].name, "y");
    ck_assert_ptr_null(out[2].name);
    ck_assert_uint_eq(store_list(s, &alice, out, 3), 3);
    ck_assert_str_eq(out[2].name, "z");
    store_destroy(&s);
}
END_TEST

START_TEST(store_grant_idempotent)
{
    store_t *s = store_new(MIB);
    put(s, "w", &alice, 1);
    trine_err_t err;
    store_entry_t e;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(grant(s, "w", &alice, &bob, &err), TRINE_OK);
    ck_assert_int_eq(store_get(s, "w", &alice, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.grants, 1);
    /* granting to the owner counts no grant */
    ck_assert_int_eq(grant(s, "w", &alice, &alice, &err), TRINE_OK);
    ck_assert_int_eq(store_get(s, "w", &alice, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.grants, 1);
    ck_assert_int_eq(grant(s, "w", &alice, &carol, &err), TRINE_OK);
    ck_assert_int_eq(grant(s, "w", &alice, &bob, &err), TRINE_OK);
    ck_assert_int_eq(store_get(s, "w", &alice, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.grants, 2);
    ck_assert_uint_eq(store_list(s, &bob, NULL, 0), 1);
    ck_assert_uint_eq(store_list(s, &carol, NULL, 0), 1);
    store_destroy(&s);
}
END_TEST

START_TEST(store_destroy_many)
{
    store_t *s = store_new(64 * MIB);
    char name[16];
    const keys_public_t *owners[] = {&alice, &bob, &carol};
    trine_err_t err;
    uint64_t bytes = 0;
    size_t alice_sees = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "t%d", (i * 7919) % 1000); /* out of order */
        put(s, name, owners[i % 3], (size_t)(i % 17) + 1);
        bytes += 8 * ((uint64_t)(i % 17) + 1);
        bool granted = false;
        if (i % 5 == 0) {
            ck_assert_int_eq(grant(s, name, owners[i % 3], owners[(i + 1) % 3], &err),
                             TRINE_OK);
            granted = (i + 1) % 3 == 0;
        }
        if (i % 10 == 0) {
            ck_assert_int_eq(grant(s, name, owners[i % 3], owners[(i + 2) % 3], &err),
                             TRINE_OK);
            granted = granted || (i + 2) % 3 == 0;
        }
        alice_sees += i % 3 == 0 || granted;
    }
    check_usage(s, 1000, bytes);
    store_entry_t out[1000];
    size_t total = store_list(s, &alice, out, 1000);
    ck_assert_uint_eq(total, alice_sees);
    for (size_t i = 1; i < total; i++)
        ck_assert_int_lt(strcmp(out[i - 1].name, out[i].name), 0);
    store_destroy(&s);
    ck_assert_ptr_null(s);
    store_destroy(&s);
    store_destroy(NULL);
}
END_TEST

/* ---- staged uploads --------------------------------------------------- */

typedef struct {
    size_t n;
    char what[16][80];
    char why[16][TRINE_ERR_MSG_MAX + 64];
} notes_t;

static void note(void *arg, const char *what, const char *why)
{
    notes_t *n = arg;
    ck_assert_uint_lt(n->n, 16);
    snprintf(n->what[n->n], sizeof n->what[0], "%s", what);
    snprintf(n->why[n->n], sizeof n->why[0], "%s", why);
    n->n++;
}

/* The reason given for what, or NULL. */
static const char *note_of(const notes_t *n, const char *what)
{
    for (size_t i = 0; i < n->n; i++)
        if (!strcmp(n->what[i], what))
            return n->why[i];
    return NULL;
}

/* Stages elements offset .. offset + count - 1 of an integer upload of
 * total elements, whose values are check_util_random(total, upload). */
static trine_status_t stage_part(store_t *s, const char *name, const keys_public_t *owner,
                                 uint64_t upload, size_t total, size_t offset, size_t count,
                                 uint64_t expires, trine_err_t *err)
{
    tensor_t *t = filled(total, upload);
    store_part_t part = {.kind = WIRE_KIND_INT,
                         .ndim = 1,
                         .shape = {total},
                         .offset = offset,
                         .data = (const uint8_t *)(t->data + offset),
                         .count = count};
    trine_status_t st = store_stage(s, name, owner, upload, &part, expires, err);
    tensor_destroy(&t);
    return st;
}

/* Stages a whole n-element upload in one part. */
static void stage(store_t *s, const char *name, const keys_public_t *owner, uint64_t upload,
                  size_t n, uint64_t expires)
{
    trine_err_t err;
    ck_assert_msg(stage_part(s, name, owner, upload, n, 0, n, expires, &err) == TRINE_OK, "%s: %s",
                  name, err.msg);
}

START_TEST(store_staged_invisible_until_commit)
{
    store_t *s = store_new(MIB);
    trine_err_t err;
    store_entry_t e;
    stage(s, "x", &alice, 11, 4, 1000);
    check_usage(s, 0, 32); /* counted against the limit, not listed */
    ck_assert_int_eq(store_get(s, "x", &alice, &e, &err), TRINE_ENOENT);
    ck_assert_int_eq(use(s, "x", &alice, &e, &err), TRINE_ENOENT);
    ck_assert_uint_eq(store_list(s, &alice, NULL, 0), 0);

    /* the name is reserved: for other clients and for direct puts */
    tensor_t *t = filled(2, 2);
    ck_assert_int_eq(stage_part(s, "x", &bob, 12, 2, 0, 2, 1000, &err), TRINE_EEXIST);
    check_msg(&err, "another client is uploading");
    ck_assert_int_eq(store_put(s, "x", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_EEXIST);
    check_msg(&err, "being uploaded");
    tensor_destroy(&t);

    /* only the owner's commit with the upload's number makes it a tensor */
    ck_assert_int_eq(store_commit(s, "x", &alice, 99, &err), TRINE_ENOENT);
    check_msg(&err, "no upload of 'x' to commit");
    ck_assert_int_eq(store_commit(s, "x", &bob, 11, &err), TRINE_ENOENT);
    ck_assert_int_eq(store_commit(s, "x", &alice, 11, &err), TRINE_OK);
    check_usage(s, 1, 32);
    ck_assert_int_eq(store_get(s, "x", &alice, &e, &err), TRINE_OK);
    uint64_t want[4];
    check_util_random(want, 4, 11);
    ck_assert_mem_eq(e.share->data, want, sizeof want);
    ck_assert_int_eq(store_commit(s, "x", &alice, 11, &err), TRINE_ENOENT); /* once */

    /* a tensor's name cannot be staged again, even by its owner */
    ck_assert_int_eq(stage_part(s, "x", &alice, 13, 2, 0, 2, 1000, &err), TRINE_EEXIST);
    store_destroy(&s);
}
END_TEST

START_TEST(store_staged_replace_rm_expire)
{
    store_t *s = store_new(MIB);
    trine_err_t err;
    /* the owner's new upload replaces its earlier one, bytes counted once */
    stage(s, "y", &alice, 21, 8, 500);
    stage(s, "y", &alice, 22, 4, 700);
    check_usage(s, 0, 32);
    ck_assert_int_eq(store_commit(s, "y", &alice, 21, &err), TRINE_ENOENT);
    /* rm drops the caller's staged upload, not another client's */
    stage(s, "z", &bob, 23, 2, 900);
    ck_assert_int_eq(store_rm(s, "z", &alice, &err), TRINE_ENOENT);
    ck_assert_int_eq(store_rm(s, "z", &bob, &err), TRINE_OK);
    check_usage(s, 0, 32);
    stage(s, "w", &carol, 24, 1, 1000);

    notes_t n = {0};
    ck_assert_uint_eq(store_expire(s, 699, note, &n), 0);
    ck_assert_uint_eq(store_expire(s, 700, note, &n), 1);
    ck_assert_uint_eq(n.n, 1);
    ck_assert_str_eq(n.what[0], "y");
    check_usage(s, 0, 8);
    ck_assert_int_eq(store_commit(s, "y", &alice, 22, &err), TRINE_ENOENT);
    check_msg(&err, "expired");
    ck_assert_uint_eq(store_expire(s, 5000, NULL, NULL), 1);
    check_usage(s, 0, 0);
    /* the name is free again */
    stage(s, "y", &bob, 25, 1, 6000);
    ck_assert_int_eq(store_commit(s, "y", &bob, 25, &err), TRINE_OK);
    check_usage(s, 1, 8);
    store_destroy(&s);
}
END_TEST

/* An upload in parts: the first reserves the whole tensor, the rest must
 * continue it in order, each moves its expiry, and only a whole one
 * commits. */
START_TEST(store_staged_parts)
{
    store_t *s = store_new(MIB);
    trine_err_t err;
    ck_assert_int_eq(stage_part(s, "p", &alice, 31, 8, 0, 4, 500, &err), TRINE_OK);
    check_usage(s, 0, 64); /* all 8 elements, from the first part */
    ck_assert_int_eq(store_commit(s, "p", &alice, 31, &err), TRINE_EINVAL);
    check_msg(&err, "has 4 of its 8 elements");
    /* hostile parts: skipping, overlapping, another shape, number or owner */
    ck_assert_int_eq(stage_part(s, "p", &alice, 31, 8, 6, 2, 900, &err), TRINE_EINVAL);
    check_msg(&err, "does not continue the upload, which has 4 of 8 elements");
    ck_assert_int_eq(stage_part(s, "p", &alice, 31, 8, 2, 4, 900, &err), TRINE_EINVAL);
    ck_assert_int_eq(stage_part(s, "p", &alice, 31, 9, 4, 4, 900, &err), TRINE_EINVAL);
    check_msg(&err, "another kind, frac or shape");
    ck_assert_int_eq(stage_part(s, "p", &alice, 32, 8, 4, 4, 900, &err), TRINE_ENOENT);
    ck_assert_int_eq(stage_part(s, "p", &bob, 31, 8, 4, 4, 900, &err), TRINE_ENOENT);
    ck_assert_int_eq(stage_part(s, "q", &alice, 31, 8, 4, 4, 900, &err), TRINE_ENOENT);
    check_msg(&err, "its first part (offset 0) was not sent");
    /* the last part: the upload now lives until 900, and commits whole */
    ck_assert_int_eq(stage_part(s, "p", &alice, 31, 8, 4, 4, 900, &err), TRINE_OK);
    ck_assert_uint_eq(store_expire(s, 600, NULL, NULL), 0);
    ck_assert_int_eq(store_commit(s, "p", &alice, 31, &err), TRINE_OK);
    check_usage(s, 1, 64);
    store_entry_t e;
    ck_assert_int_eq(store_get(s, "p", &alice, &e, &err), TRINE_OK);
    uint64_t want[8];
    check_util_random(want, 8, 31);
    ck_assert_mem_eq(e.share->data, want, sizeof want);
    store_destroy(&s);

    /* the first part of a tensor past the limit is refused, however small */
    s = store_new(64);
    ck_assert_int_eq(stage_part(s, "big", &alice, 33, 9, 0, 1, 900, &err), TRINE_ELIMIT);
    check_usage(s, 0, 0);
    ck_assert_int_eq(stage_part(s, "big", &alice, 33, 8, 0, 1, 900, &err), TRINE_OK);
    store_destroy(&s);
}
END_TEST

/* ---- persistence ------------------------------------------------------ */

/* A persistent store over dir holding nothing yet (or what it holds). */
static store_t *open_dir(const char *dir, uint64_t limit, notes_t *n, size_t loaded, size_t skipped)
{
    store_t *s = store_new(limit);
    size_t l, k;
    trine_err_t err = {0};
    ck_assert_msg(store_load(s, dir, note, n, &l, &k, &err) == TRINE_OK, "%s", err.msg);
    ck_assert_uint_eq(l, loaded);
    ck_assert_uint_eq(k, skipped);
    return s;
}

static bool exists(const char *dir, const char *file)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

START_TEST(store_persist_and_reload)
{
    char root[CHECK_UTIL_TMPDIR_MAX], dir[CHECK_UTIL_TMPDIR_MAX + 16];
    check_util_tmpdir(root, "store");
    snprintf(dir, sizeof dir, "%s/party0", root);
    notes_t n = {0};
    store_t *s = open_dir(dir, MIB, &n, 0, 0);
    struct stat sb;
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0700);

    tensor_t *t = tensor_new(3, (size_t[]){2, 3, 4});
    check_util_random(t->data, 24, 5);
    t->data[0] = UINT64_MAX, t->data[1] = 1ULL << 63, t->data[2] = 0;
    uint64_t want[24];
    memcpy(want, t->data, sizeof want);
    trine_err_t err;
    ck_assert_int_eq(store_put(s, "w1", &alice, WIRE_KIND_FIXED, 13, &t, &err), TRINE_OK);
    ck_assert_int_eq(grant(s, "w1", &alice, &bob, &err), TRINE_OK);
    put(s, "k", &bob, 5);
    stage(s, "u", &carol, 7, 3, 1000);
    ck_assert_int_eq(store_commit(s, "u", &carol, 7, &err), TRINE_OK);
    stage(s, "never", &carol, 8, 3, 1000); /* staged only: never written */
    ck_assert(exists(dir, "w1.share") && exists(dir, "k.share") && exists(dir, "u.share"));
    ck_assert(!exists(dir, "never.share"));
    ck_assert_int_eq(stat("/dev/null", &sb), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/w1.share", dir);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0600);
    ck_assert_uint_eq(sb.st_size, 160 + 184 + 24 * 8 + 32);
    store_destroy(&s);

    s = open_dir(dir, MIB, &n, 3, 0);
    ck_assert_uint_eq(n.n, 0);
    check_usage(s, 3, 24 * 8 + 5 * 8 + 3 * 8);
    store_entry_t e;
    ck_assert_int_eq(store_get(s, "w1", &alice, &e, &err), TRINE_OK);
    ck_assert_int_eq(e.kind, WIRE_KIND_FIXED);
    ck_assert_uint_eq(e.frac, 13);
    ck_assert_int_eq(e.share->ndim, 3);
    ck_assert_uint_eq(e.share->shape[2], 4);
    ck_assert_mem_eq(e.share->data, want, sizeof want);
    ck_assert_uint_eq(e.grants, 1);
    ck_assert_int_eq(use(s, "w1", &bob, &e, &err), TRINE_OK); /* grant held */
    ck_assert_int_eq(store_get(s, "w1", &bob, &e, &err), TRINE_EPERM);
    ck_assert_int_eq(use(s, "w1", &carol, &e, &err), TRINE_EPERM);
    ck_assert_int_eq(store_get(s, "k", &bob, &e, &err), TRINE_OK);
    ck_assert_int_eq(e.kind, WIRE_KIND_INT);
    uint64_t k[5];
    check_util_random(k, 5, 5);
    ck_assert_mem_eq(e.share->data, k, sizeof k);
    ck_assert_int_eq(store_get(s, "u", &carol, &e, &err), TRINE_OK);

    /* rm removes the file; a later grant rewrites it */
    ck_assert_int_eq(store_rm(s, "k", &bob, &err), TRINE_OK);
    ck_assert(!exists(dir, "k.share"));
    ck_assert_int_eq(grant(s, "u", &carol, &alice, &err), TRINE_OK);
    store_destroy(&s);
    s = open_dir(dir, MIB, &n, 2, 0);
    ck_assert_int_eq(store_get(s, "k", &bob, &e, &err), TRINE_ENOENT);
    ck_assert_int_eq(use(s, "u", &alice, &e, &err), TRINE_OK);
    /* a store is loaded once */
    size_t l, sk;
    ck_assert_int_eq(store_load(s, dir, NULL, NULL, &l, &sk, &err), TRINE_EINVAL);
    store_destroy(&s);
    check_util_rmtree(root);
}
END_TEST

/* Rewrites bytes [at, at + len) of dir/file, or cuts it to at bytes when
 * bytes is NULL. */
static void damage(const char *dir, const char *file, long at, const void *bytes, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    if (bytes)
        ck_assert_int_eq(pwrite(fd, bytes, len, at), (ssize_t)len);
    else
        ck_assert_int_eq(ftruncate(fd, at), 0);
    close(fd);
}

START_TEST(store_damaged_files_skipped)
{
    char dir[CHECK_UTIL_TMPDIR_MAX];
    check_util_tmpdir(dir, "store");
    notes_t n = {0};
    store_t *s = open_dir(dir, MIB, &n, 0, 0);
    const char *names[] = {"good", "flip", "cut", "ver", "moved", "big", "shape", "rank"};
    for (size_t i = 0; i < 8; i++)
        put(s, names[i], &alice, i == 5 ? 4096 : 16);
    store_destroy(&s);

    uint8_t b = 0x5a;
    damage(dir, "flip.share", 160 + 8 * 3 + 2, &b, 1); /* a share byte */
    damage(dir, "cut.share", 160 + 8 * 16, NULL, 0);   /* the checksum gone */
    uint32_t v3 = 3;
    damage(dir, "ver.share", 8, &v3, 4);
    char from[256], to[256];
    snprintf(from, sizeof from, "%s/moved.share", dir);
    snprintf(to, sizeof to, "%s/other.share", dir);
    ck_assert_int_eq(rename(from, to), 0);
    uint64_t extent = 17; /* 17 elements, where the file holds 16 */
    damage(dir, "shape.share", 128, &extent, 8);
    damage(dir, "rank.share", 136, &extent, 8); /* an extent past its 1 dimension */
    snprintf(to, sizeof to, "%s/.tmp.good.AbC123", dir);
    FILE *f = fopen(to, "w");
    ck_assert_ptr_nonnull(f);
    fputs("half a write", f);
    fclose(f);
    snprintf(to, sizeof to, "%s/notes.txt", dir);
    f = fopen(to, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);

    /* 8 files + the temporary one + notes.txt; only good is loaded, and big
     * does not fit a 4 KiB limit once good is in (or before: order varies) */
    s = open_dir(dir, 4096, &n, 1, 9);
    store_entry_t e;
    trine_err_t err;
    ck_assert_int_eq(store_get(s, "good", &alice, &e, &err), TRINE_OK);
    uint64_t want[16];
    check_util_random(want, 16, 16);
    ck_assert_mem_eq(e.share->data, want, sizeof want);
    check_usage(s, 1, 128);
    static const struct {
        const char *file, *reason;
    } expect[] = {
        {"flip.share", "checksum mismatch"},
        {"cut.share", "truncated or corrupt"},
        {"ver.share", "format version 3; this trined reads versions 1 and 2"},
        {"other.share", "it holds tensor 'moved', not the one its file name says"},
        {"big.share", "past the memory limit"},
        {"shape.share", "truncated or corrupt"},
        {"rank.share", "bad shape"},
        {".tmp.good.AbC123", "temporary file left by an interrupted write; removed"},
        {"notes.txt", "not a share file"},
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        const char *why = note_of(&n, expect[i].file);
        ck_assert_msg(why && strstr(why, expect[i].reason), "%s: '%s', want '%s'", expect[i].file,
                      why ? why : "(not reported)", expect[i].reason);
    }
    ck_assert(!exists(dir, ".tmp.good.AbC123"));
    ck_assert(exists(dir, "flip.share")); /* skipped files stay for a look */
    store_destroy(&s);
    check_util_rmtree(dir);
}
END_TEST

/* Every change of a persistent store whose write fails leaves memory as
 * it was. Root writes to read-only folders, so the write is also made to
 * fail as a full disk does: a file size limit (RLIMIT_FSIZE). */
START_TEST(store_write_failure_changes_nothing)
{
    char dir[CHECK_UTIL_TMPDIR_MAX];
    check_util_tmpdir(dir, "store");
    notes_t n = {0};
    store_t *s = open_dir(dir, 8 * MIB, &n, 0, 0);
    put(s, "kept", &alice, 4);
    trine_err_t err;

    struct rlimit old, small = {4096, 4096};
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    tensor_t *t = filled(10000, 1); /* 80 KB: past the limit */
    trine_status_t st = store_put(s, "big", &alice, WIRE_KIND_INT, 0, &t, &err);
    stage(s, "big2", &alice, 3, 10000, 1000);
    trine_status_t commit = store_commit(s, "big2", &alice, 3, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    ck_assert_int_eq(st, TRINE_EIO);
    ck_assert_ptr_nonnull(t); /* still the caller's */
    tensor_destroy(&t);
    ck_assert_int_eq(commit, TRINE_EIO);
    check_msg(&err, "cannot write");
    check_msg(&err, "big2.share");
    check_usage(s, 1, 32); /* neither the put nor the upload is kept */
    store_entry_t e;
    ck_assert_int_eq(store_get(s, "big", &alice, &e, &err), TRINE_ENOENT);
    ck_assert_int_eq(store_commit(s, "big2", &alice, 3, &err), TRINE_ENOENT);

    if (geteuid() != 0) { /* a read-only folder, where permissions bind */
        ck_assert_int_eq(chmod(dir, 0500), 0);
        t = filled(4, 4);
        ck_assert_int_eq(store_put(s, "ro", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_EIO);
        check_msg(&err, "cannot create a file in the store folder");
        tensor_destroy(&t);
        ck_assert_int_eq(grant(s, "kept", &alice, &bob, &err), TRINE_EIO);
        ck_assert_int_eq(store_rm(s, "kept", &alice, &err), TRINE_EIO);
        ck_assert_int_eq(chmod(dir, 0700), 0);
    }
    /* the folder gone: grant and put fail, and change nothing */
    char gone[CHECK_UTIL_TMPDIR_MAX + 8];
    snprintf(gone, sizeof gone, "%s.gone", dir);
    ck_assert_int_eq(rename(dir, gone), 0);
    ck_assert_int_eq(grant(s, "kept", &alice, &bob, &err), TRINE_EIO);
    ck_assert_int_eq(store_get(s, "kept", &alice, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.grants, 0);
    ck_assert_int_eq(use(s, "kept", &bob, &e, &err), TRINE_EPERM);
    t = filled(4, 4);
    ck_assert_int_eq(store_put(s, "new", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_EIO);
    tensor_destroy(&t);
    check_usage(s, 1, 32);
    ck_assert_int_eq(rename(gone, dir), 0);
    store_destroy(&s);

    /* no temporary file was left, and the disk holds what memory held */
    s = open_dir(dir, 8 * MIB, &n, 1, 0);
    ck_assert_int_eq(store_get(s, "kept", &alice, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.grants, 0);
    store_destroy(&s);
    check_util_rmtree(dir);
}
END_TEST


/* An approval opens a tensor to one grantee, one program, one input slot
 * and, when it says so, one recipient of the outputs; nothing else. */
START_TEST(store_approvals_bind_program_and_slot)
{
    store_t *s = store_new(MIB);
    put(s, "w", &alice, 4);
    trine_err_t err;
    store_entry_t e;
    wire_approval_t a = {.grantee = bob, .slot = "w1", .outputs_to = carol};
    memcpy(a.program, prog_b, sizeof a.program);
    ck_assert_int_eq(store_grant(s, "w", &alice, &a, &err), TRINE_OK);
    store_use_t u = {.program = prog_b, .slot = "w1", .to = &carol};
    ck_assert_int_eq(store_use(s, "w", &bob, &u, &e, &err), TRINE_OK);
    ck_assert_str_eq(e.approvals[0].grantee.z85, bob.z85);
    /* another recipient, slot, program or caller: refused, named */
    u.to = &bob;
    ck_assert_int_eq(store_use(s, "w", &bob, &u, &e, &err), TRINE_EPERM);
    check_msg(&err, "--to");
    u.to = &carol, u.slot = "x";
    ck_assert_int_eq(store_use(s, "w", &bob, &u, &e, &err), TRINE_EPERM);
    check_msg(&err, alice.z85);
    check_msg(&err, "input 'x'");
    u.slot = "w1", u.program = prog_a;
    ck_assert_int_eq(store_use(s, "w", &bob, &u, &e, &err), TRINE_EPERM);
    check_msg(&err, "a1a2");
    u.program = prog_b;
    ck_assert_int_eq(store_use(s, "w", &carol, &u, &e, &err), TRINE_EPERM);
    /* any program: everything, for that grantee only */
    wire_approval_t any = {.grantee = carol, .any = true};
    ck_assert_int_eq(store_grant(s, "w", &alice, &any, &err), TRINE_OK);
    ck_assert_int_eq(store_use(s, "w", &carol, &u, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.grants, 2);
    ck_assert_int_eq(store_get(s, "w", &carol, &e, &err), TRINE_EPERM); /* never reveal */
    store_destroy(&s);
}
END_TEST

/* Revoke drops one program's approvals or all of a grantee's. */
START_TEST(store_revoke_takes_effect)
{
    store_t *s = store_new(MIB);
    put(s, "w", &alice, 4);
    trine_err_t err;
    store_entry_t e;
    wire_approval_t b = {.grantee = bob, .slot = "x"};
    memcpy(b.program, prog_b, sizeof b.program);
    ck_assert_int_eq(grant(s, "w", &alice, &bob, &err), TRINE_OK);
    ck_assert_int_eq(store_grant(s, "w", &alice, &b, &err), TRINE_OK);
    ck_assert_int_eq(grant(s, "w", &alice, &carol, &err), TRINE_OK);
    ck_assert_int_eq(store_revoke(s, "w", &bob, &bob, NULL, &err), TRINE_EPERM);
    ck_assert_int_eq(store_revoke(s, "w", &alice, &bob, prog_a, &err), TRINE_OK);
    ck_assert_int_eq(use(s, "w", &bob, &e, &err), TRINE_EPERM);
    store_use_t u = {.program = prog_b, .slot = "x", .to = &bob};
    ck_assert_int_eq(store_use(s, "w", &bob, &u, &e, &err), TRINE_OK);
    ck_assert_int_eq(store_revoke(s, "w", &alice, &bob, NULL, &err), TRINE_OK);
    ck_assert_int_eq(store_use(s, "w", &bob, &u, &e, &err), TRINE_EPERM);
    ck_assert_int_eq(store_revoke(s, "w", &alice, &bob, NULL, &err), TRINE_ENOENT);
    ck_assert_int_eq(use(s, "w", &carol, &e, &err), TRINE_OK); /* others' stay */
    ck_assert_uint_eq(e.grants, 1);
    store_destroy(&s);
}
END_TEST

/* A job's output names are its own until released, and cost no bytes. */
START_TEST(store_reserve_release)
{
    store_t *s = store_new(MIB);
    trine_err_t err;
    ck_assert_int_eq(store_reserve(s, "y", &alice, 7, &err), TRINE_OK);
    check_usage(s, 0, 0);
    ck_assert_int_eq(store_reserve(s, "y", &bob, 8, &err), TRINE_EEXIST);
    tensor_t *t = filled(2, 1);
    ck_assert_int_eq(store_put(s, "y", &bob, WIRE_KIND_INT, 0, &t, &err), TRINE_EEXIST);
    ck_assert_int_eq(stage_part(s, "y", &alice, 7, 2, 0, 2, 1000, &err), TRINE_EEXIST);
    check_msg(&err, "reserved");
    ck_assert_int_eq(store_commit(s, "y", &alice, 7, &err), TRINE_ENOENT);
    ck_assert_int_eq(store_rm(s, "y", &alice, &err), TRINE_ENOENT);
    ck_assert_uint_eq(store_expire(s, UINT64_MAX - 1, NULL, NULL), 0);
    ck_assert_uint_eq(store_list(s, &alice, NULL, 0), 0);
    store_release(s, "y", 8); /* not its job */
    ck_assert_int_eq(store_put(s, "y", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_EEXIST);
    store_release(s, "y", 7);
    ck_assert_int_eq(store_put(s, "y", &alice, WIRE_KIND_INT, 0, &t, &err), TRINE_OK);
    store_destroy(&s);
}
END_TEST

/* Usage counts the caller's own tensors and uploads only. */
START_TEST(store_usage_per_caller)
{
    store_t *s = store_new(MIB);
    put(s, "a", &alice, 4);
    put(s, "b", &bob, 2);
    stage(s, "c", &alice, 9, 3, 1000);
    size_t n;
    uint64_t stored, staged;
    store_usage(s, &alice, &n, &stored, &staged);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(stored, 4 * 8);
    ck_assert_uint_eq(staged, 3 * 8);
    store_usage(s, &carol, &n, &stored, &staged);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(stored + staged, 0);
    store_destroy(&s);
}
END_TEST

/* A version 1 file loads, without its grants (each was a right to run any
 * program), and the drop is reported. */
START_TEST(store_v1_grants_dropped)
{
    char dir[CHECK_UTIL_TMPDIR_MAX], path[CHECK_UTIL_TMPDIR_MAX + 16];
    check_util_tmpdir(dir, "store");
    uint8_t file[160 + 40 + 2 * 8 + 32] = "trnshare";
    uint32_t one = 1, grants = 1;
    memcpy(file + 8, &one, 4);
    file[12] = WIRE_KIND_INT, file[14] = 1, file[15] = 1, file[16] = 'v';
    memcpy(file + 80, alice.z85, 40);
    memcpy(file + 120, &grants, 4);
    uint64_t extent = 2, share[2] = {5, 6};
    memcpy(file + 128, &extent, 8);
    memcpy(file + 160, bob.z85, 40);
    memcpy(file + 200, share, sizeof share);
    crypto_generichash(file + 216, 32, file, 216, NULL, 0);
    snprintf(path, sizeof path, "%s/v.share", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(file, 1, sizeof file, f), sizeof file);
    fclose(f);
    notes_t n = {0};
    store_t *s = open_dir(dir, MIB, &n, 1, 0);
    ck_assert_ptr_nonnull(note_of(&n, "v.share"));
    ck_assert_msg(strstr(note_of(&n, "v.share"), "loaded without its 1 grants"), "%s",
                  note_of(&n, "v.share"));
    store_entry_t e;
    trine_err_t err;
    ck_assert_int_eq(store_get(s, "v", &alice, &e, &err), TRINE_OK);
    ck_assert_uint_eq(e.grants, 0);
    ck_assert_int_eq(use(s, "v", &bob, &e, &err), TRINE_EPERM);
    store_destroy(&s);
}
END_TEST

Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, store_put_get_round_trip);
    tcase_add_test(tc, store_put_duplicate_name);
    tcase_add_test(tc, store_put_invalid);
    tcase_add_test(tc, store_memory_limit);
    tcase_add_test(tc, store_permissions);
    tcase_add_test(tc, store_rm_frees_name_and_bytes);
    tcase_add_test(tc, store_list_per_caller);
    tcase_add_test(tc, store_list_cap_smaller);
    tcase_add_test(tc, store_grant_idempotent);
    tcase_add_test(tc, store_destroy_many);
    tcase_add_test(tc, store_staged_invisible_until_commit);
    tcase_add_test(tc, store_staged_replace_rm_expire);
    tcase_add_test(tc, store_staged_parts);
    tcase_add_test(tc, store_persist_and_reload);
    tcase_add_test(tc, store_damaged_files_skipped);
    tcase_add_test(tc, store_write_failure_changes_nothing);
    tcase_add_test(tc, store_approvals_bind_program_and_slot);
    tcase_add_test(tc, store_revoke_takes_effect);
    tcase_add_test(tc, store_reserve_release);
    tcase_add_test(tc, store_usage_per_caller);
    tcase_add_test(tc, store_v1_grants_dropped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(store_suite());
}
