/* check_cluster.c — cluster.ini with the keys it names: party and client
 * keys read, bad or shared key files refused naming the file, the
 * fingerprint the parties compare, and the sentence that says what differs
 * when fingerprints do not match. */
#include "check_util.h"

#include "daemon/common/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Each test gets a fresh folder holding keys/party{0,1,2} and
 * keys/clients/{alice,bob,carol}, and writes its cluster.ini files there.
 * The folders live under one root that the parent process removes, since a
 * forked test that fails exits before any checked teardown. */
static char root[CHECK_UTIL_TMPDIR_MAX], dir[96];

static void path_of(char *out, const char *file)
{
    snprintf(out, 256, "%s/%s", dir, file);
}

static void make_dir(const char *sub)
{
    char p[256];
    path_of(p, sub);
    ck_assert_int_eq(mkdir(p, 0700), 0);
}

static void make_keys(const char *sub, const char *name)
{
    char p[256];
    path_of(p, sub);
    trine_err_t err = {0};
    ck_assert_msg(keys_generate(p, name, &err) == TRINE_OK, "%s", err.msg);
}

static keys_public_t key_of(const char *file)
{
    char p[256];
    path_of(p, file);
    keys_public_t k;
    trine_err_t err = {0};
    ck_assert_msg(keys_read_public(&k, p, &err) == TRINE_OK, "%s", err.msg);
    return k;
}

static void cluster_root_new(void)
{
    check_util_tmpdir(root, "trine-cluster");
}

static void cluster_root_free(void)
{
    check_util_rmtree(root);
}

static void cluster_setup(void)
{
    snprintf(dir, sizeof dir, "%s/test-XXXXXX", root);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    make_dir("keys");
    make_dir("keys/clients");
    make_keys("keys", "party0");
    make_keys("keys", "party1");
    make_keys("keys", "party2");
    make_keys("keys/clients", "alice");
    make_keys("keys/clients", "bob");
    make_keys("keys/clients", "carol");
}

/* What the tests vary in cluster.ini; key paths are relative to the file. */
typedef struct {
    const char *name;
    unsigned frac_bits, timeout_ms;
    const char *truncation;
    const char *memory_limit; /* host-local: outside the fingerprint */
    const char *party1_key;
    const char *allow;
} ini_t;

static const ini_t base = {"test", 13, 30000, "exact", "1G", "keys/party1.pub", "keys/clients/"};

/* Writes v as dir/file and loads it into *c. */
static trine_status_t load(cluster_t *c, const char *file, const ini_t *v, trine_err_t *err)
{
    char p[256];
    path_of(p, file);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "[cluster]\nname = %s\nfrac_bits = %u\ntimeout_ms = %u\ntruncation = %s\n"
            "memory_limit = %s\n"
            "[party0]\npeer = tcp://127.0.0.1:7100\nclient = tcp://127.0.0.1:7200\n"
            "public_key = keys/party0.pub\n"
            "[party1]\npeer = tcp://127.0.0.1:7101\nclient = tcp://127.0.0.1:7201\n"
            "public_key = %s\n"
            "[party2]\npeer = tcp://127.0.0.1:7102\nclient = tcp://127.0.0.1:7202\n"
            "public_key = keys/party2.pub\n"
            "[clients]\nallow = %s\n"
            "[local]\nsecret_key = keys/party0.key\n"
            "[store]\ndir = store\n",
            v->name, v->frac_bits, v->timeout_ms, v->truncation, v->memory_limit, v->party1_key, v->allow);
    ck_assert_int_eq(fclose(f), 0);
    return cluster_load(c, p, err);
}

/* Loads v from dir/file, which must succeed. */
static void load_ok(cluster_t *c, const char *file, const ini_t *v)
{
    trine_err_t err = {0};
    ck_assert_msg(load(c, file, v, &err) == TRINE_OK, "%s", err.msg);
}

/* A failed load leaves the cluster empty. */
static void assert_empty(const cluster_t *c)
{
    ck_assert_ptr_null(c->lines);
    ck_assert_uint_eq(c->nlines, 0);
    ck_assert_ptr_null(c->clients);
    ck_assert_uint_eq(c->nclients, 0);
}

START_TEST(cluster_loads_keys)
{
    cluster_t c;
    load_ok(&c, "cluster.ini", &base);
    static const char *const party_files[] = {"keys/party0.pub", "keys/party1.pub",
                                              "keys/party2.pub"};
    for (int p = 0; p < 3; p++)
        ck_assert_str_eq(c.party_key[p].z85, key_of(party_files[p]).z85);

    /* the folder's three .pub files, sorted; the .key files beside them are ignored */
    ck_assert_uint_eq(c.nclients, 3);
    for (size_t i = 1; i < 3; i++)
        ck_assert_int_lt(strcmp(c.clients[i - 1].z85, c.clients[i].z85), 0);
    static const char *const client_files[] = {"keys/clients/alice.pub", "keys/clients/bob.pub",
                                               "keys/clients/carol.pub"};
    for (size_t k = 0; k < 3; k++) {
        keys_public_t want = key_of(client_files[k]);
        bool found = false;
        for (size_t i = 0; i < 3; i++)
            found |= strcmp(c.clients[i].z85, want.z85) == 0;
        ck_assert_msg(found, "%s is not among the clients", client_files[k]);
    }

    /* the summary: settings and keys, not host-local values or paths */
    ck_assert_uint_eq(c.nlines, 20);
    ck_assert_str_eq(c.lines[0], "cluster.name=test");
    ck_assert_str_eq(c.lines[1], "cluster.frac_bits=13");
    ck_assert_str_eq(c.lines[2], "cluster.truncation=exact");
    ck_assert_str_eq(c.lines[3], "cluster.protocol=securenn");
    ck_assert_str_eq(c.lines[4], "cluster.fss_max=64");
    ck_assert_str_eq(c.lines[5], "cluster.timeout_ms=30000");
    ck_assert_str_eq(c.lines[6], "cluster.heartbeat_ms=1000");
    ck_assert_str_eq(c.lines[7], "cluster.max_message=268435456");
    ck_assert_str_eq(c.lines[11], "party1.peer=tcp://127.0.0.1:7101");
    ck_assert_str_eq(c.lines[12], "party1.client=tcp://127.0.0.1:7201");
    char want[128];
    snprintf(want, sizeof want, "party1.public_key=%s", c.party_key[1].z85);
    ck_assert_str_eq(c.lines[13], want);
    for (size_t i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "clients.allow=%s", c.clients[i].z85);
        ck_assert_str_eq(c.lines[17 + i], want);
    }
    for (size_t i = 0; i < c.nlines; i++)
        ck_assert_msg(!strstr(c.lines[i], "memory") && !strstr(c.lines[i], "secret") &&
                          !strstr(c.lines[i], "store") && !strstr(c.lines[i], dir),
                      "host-local line '%s'", c.lines[i]);

    cluster_clear(&c);
    assert_empty(&c);
    cluster_clear(&c); /* safe on an empty cluster */
}
END_TEST

START_TEST(cluster_one_client_file)
{
    ini_t v = base;
    v.allow = "keys/clients/bob.pub";
    cluster_t c;
    load_ok(&c, "cluster.ini", &v);
    ck_assert_uint_eq(c.nclients, 1);
    ck_assert_str_eq(c.clients[0].z85, key_of("keys/clients/bob.pub").z85);
    ck_assert_uint_eq(c.nlines, 18);
    cluster_clear(&c);
}
END_TEST

START_TEST(cluster_bad_key_files)
{
    cluster_t c;
    trine_err_t err = {0};
    char want[256];
    ini_t v = base;
    v.party1_key = "keys/party9.pub";
    ck_assert_int_eq(load(&c, "cluster.ini", &v, &err), TRINE_EIO);
    snprintf(want, sizeof want, "%s/keys/party9.pub: No such file or directory", dir);
    ck_assert_str_eq(err.msg, want);
    assert_empty(&c);

    v = base;
    v.allow = "keys/nobody/";
    ck_assert_int_eq(load(&c, "cluster.ini", &v, &err), TRINE_EIO);
    snprintf(want, sizeof want, "[clients] allow = %s/keys/nobody/: No such file", dir);
    ck_assert_msg(strstr(err.msg, want), "'%s' lacks '%s'", err.msg, want);
    assert_empty(&c);

    /* a bad file among good ones, wherever readdir puts it: nothing leaks */
    char p[256];
    path_of(p, "keys/clients/junk.pub");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a key\n", f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(load(&c, "cluster.ini", &base, &err), TRINE_EFORMAT);
    ck_assert_msg(strstr(err.msg, "junk.pub: no key found"), "%s", err.msg);
    assert_empty(&c);
}
END_TEST

START_TEST(cluster_shared_party_key_refused)
{
    cluster_t c;
    trine_err_t err = {0};
    ini_t v = base;
    v.party1_key = "keys/party0.pub";
    ck_assert_int_eq(load(&c, "cluster.ini", &v, &err), TRINE_EINVAL);
    char want[256];
    snprintf(want, sizeof want,
             "%s/cluster.ini: [party0] and [party1] have the same public key; each party needs "
             "its own key pair",
             dir);
    ck_assert_str_eq(err.msg, want);
    assert_empty(&c);
}
END_TEST

START_TEST(cluster_who_is_who)
{
    make_keys("keys", "dave");
    cluster_t c;
    load_ok(&c, "cluster.ini", &base);
    keys_public_t alice = key_of("keys/clients/alice.pub"), bob = key_of("keys/clients/bob.pub"),
                  carol = key_of("keys/clients/carol.pub"), dave = key_of("keys/dave.pub");
    ck_assert(cluster_client_allowed(&c, &alice));
    ck_assert(cluster_client_allowed(&c, &bob));
    ck_assert(cluster_client_allowed(&c, &carol));
    ck_assert(!cluster_client_allowed(&c, &dave));
    ck_assert(!cluster_client_allowed(&c, &c.party_key[0]));
    for (int p = 0; p < 3; p++)
        ck_assert_int_eq(cluster_party_of(&c, &c.party_key[p]), p);
    ck_assert_int_eq(cluster_party_of(&c, &alice), -1);
    ck_assert_int_eq(cluster_party_of(&c, &dave), -1);
    cluster_clear(&c);

    /* an empty folder allows nobody */
    make_dir("keys/none");
    ini_t v = base;
    v.allow = "keys/none/";
    load_ok(&c, "cluster.ini", &v);
    ck_assert_uint_eq(c.nclients, 0);
    ck_assert(!cluster_client_allowed(&c, &alice));
    cluster_clear(&c);
}
END_TEST

/* dir/copy: another folder holding a copy of keys/. */
static void copy_keys(void)
{
    make_dir("copy");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cp -R '%s/keys' '%s/copy/keys'", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(cluster_fingerprints)
{
    copy_keys();
    cluster_t here, there;
    load_ok(&here, "cluster.ini", &base);
    /* the same cluster elsewhere, with another host-local memory limit and
     * store folder (copy/store) */
    ini_t v = base;
    v.memory_limit = "2G";
    load_ok(&there, "copy/cluster.ini", &v);
    ck_assert_str_ne(here.cfg.party[0].public_key, there.cfg.party[0].public_key);
    ck_assert_mem_eq(here.fingerprint, there.fingerprint, CLUSTER_FINGERPRINT_BYTES);
    cluster_clear(&there);

    v = base;
    v.frac_bits = 12;
    load_ok(&there, "copy/cluster.ini", &v);
    ck_assert_mem_ne(here.fingerprint, there.fingerprint, CLUSTER_FINGERPRINT_BYTES);
    cluster_clear(&there);

    v = base;
    v.truncation = "local";
    load_ok(&there, "copy/cluster.ini", &v);
    ck_assert_mem_ne(here.fingerprint, there.fingerprint, CLUSTER_FINGERPRINT_BYTES);
    cluster_clear(&there);

    make_keys("copy/keys/clients", "dave");
    load_ok(&there, "copy/cluster.ini", &base);
    ck_assert_mem_ne(here.fingerprint, there.fingerprint, CLUSTER_FINGERPRINT_BYTES);
    cluster_clear(&there);
    cluster_clear(&here);
}
END_TEST

/* What cluster_describe_difference says of here against there's lines. */
static const char *describe(const cluster_t *here, const cluster_t *there, size_t cap)
{
    static char out[1024];
    ck_assert_uint_le(cap, sizeof out);
    cluster_describe_difference(here, (const char *const *)there->lines, there->nlines, out, cap);
    return out;
}

START_TEST(cluster_differences)
{
    copy_keys();
    cluster_t here, there;
    load_ok(&here, "cluster.ini", &base);
    load_ok(&there, "copy/cluster.ini", &base);
    ck_assert_str_eq(describe(&here, &there, 1024), "");
    cluster_clear(&there);

    ini_t v = base;
    v.frac_bits = 12;
    load_ok(&there, "copy/cluster.ini", &v);
    ck_assert_str_eq(describe(&here, &there, 1024), "cluster.frac_bits is 13 here but 12 there");
    ck_assert_str_eq(describe(&there, &here, 1024), "cluster.frac_bits is 12 here but 13 there");
    ck_assert_str_eq(describe(&here, &there, 16), "cluster.frac_bi"); /* cut to cap */
    cluster_clear(&there);

    v = base;
    v.truncation = "local";
    load_ok(&there, "copy/cluster.ini", &v);
    ck_assert_str_eq(describe(&here, &there, 1024),
                     "cluster.truncation is exact here but local there");
    cluster_clear(&there);

    /* client keys are a set: an extra one is not another value of one key */
    make_keys("copy/keys/clients", "dave");
    load_ok(&there, "copy/cluster.ini", &base);
    char want[256];
    snprintf(want, sizeof want, "clients.allow=%s there only",
             key_of("copy/keys/clients/dave.pub").z85);
    ck_assert_str_eq(describe(&here, &there, 1024), want);
    snprintf(want, sizeof want, "clients.allow=%s here only",
             key_of("copy/keys/clients/dave.pub").z85);
    ck_assert_str_eq(describe(&there, &here, 1024), want);
    cluster_clear(&there);
    cluster_clear(&here);

    v = base;
    v.allow = "keys/clients/alice.pub";
    load_ok(&here, "cluster.ini", &v);
    v.allow = "keys/clients/bob.pub";
    load_ok(&there, "copy/cluster.ini", &v);
    snprintf(want, sizeof want, "clients.allow=%s here only; clients.allow=%s there only",
             key_of("keys/clients/alice.pub").z85, key_of("keys/clients/bob.pub").z85);
    ck_assert_str_eq(describe(&here, &there, 1024), want);
    cluster_clear(&there);
    cluster_clear(&here);

    /* five differences: the first three, then how many more */
    load_ok(&here, "cluster.ini", &base);
    v = (ini_t){"other", 12, 20000, "exact", "1G", "keys/party1.pub", "keys/clients/alice.pub"};
    load_ok(&there, "copy/cluster.ini", &v);
    ck_assert_str_eq(describe(&here, &there, 1024),
                     "cluster.name is test here but other there; cluster.frac_bits is 13 here "
                     "but 12 there; cluster.timeout_ms is 30000 here but 20000 there; and 2 more");
    cluster_clear(&there);
    cluster_clear(&here);
}
END_TEST

/* A key listed twice in the allow folder (two file names) is one client:
 * the fingerprint must not change, and when fingerprints differ a
 * difference must always be named. */
START_TEST(cluster_duplicate_client_key)
{
    copy_keys();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cp '%s/copy/keys/clients/bob.pub' '%s/copy/keys/clients/bob2.pub'",
             dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    cluster_t here, there;
    load_ok(&here, "cluster.ini", &base);
    load_ok(&there, "copy/cluster.ini", &base);
    bool same = memcmp(here.fingerprint, there.fingerprint, CLUSTER_FINGERPRINT_BYTES) == 0;
    size_t n_here = here.nclients, n_there = there.nclients;
    cluster_clear(&there);
    cluster_clear(&here);
    ck_assert_msg(same, "a duplicated client key changed the fingerprint");
    ck_assert_uint_eq(n_here, n_there);
}
END_TEST

Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("config and keys");
    tcase_add_unchecked_fixture(tc, cluster_root_new, cluster_root_free);
    tcase_add_checked_fixture(tc, cluster_setup, NULL);
    tcase_add_test(tc, cluster_loads_keys);
    tcase_add_test(tc, cluster_one_client_file);
    tcase_add_test(tc, cluster_bad_key_files);
    tcase_add_test(tc, cluster_shared_party_key_refused);
    tcase_add_test(tc, cluster_who_is_who);
    tcase_add_test(tc, cluster_fingerprints);
    tcase_add_test(tc, cluster_differences);
    tcase_add_test(tc, cluster_duplicate_client_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(cluster_suite());
}
