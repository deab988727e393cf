/* check_keys.c — CurveZMQ key files: generate, read back, refuse to
 * overwrite, refuse a secret key others can read, reject malformed files. */
#include "check_util.h"

#include "daemon/common/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[CHECK_UTIL_TMPDIR_MAX];

static void keys_setup(void)
{
    check_util_tmpdir(dir, "trine-keys");
}

static void keys_teardown(void)
{
    check_util_rmtree(dir);
}

static void path_of(char *out, const char *file)
{
    snprintf(out, 256, "%s/%s", dir, file);
}

static void write_file(const char *file, const char *text, mode_t mode)
{
    char p[256];
    path_of(p, file);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(p, mode), 0);
}

START_TEST(keys_generate_and_read_back)
{
    trine_err_t err;
    ck_assert_int_eq(keys_generate(dir, "party0", &err), TRINE_OK);
    char pub_path[256], key_path[256];
    path_of(pub_path, "party0.pub");
    path_of(key_path, "party0.key");
    struct stat st;
    ck_assert_int_eq(stat(key_path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(pub_path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0644);

    keys_public_t pub, derived;
    keys_secret_t sec;
    ck_assert_int_eq(keys_read_public(&pub, pub_path, &err), TRINE_OK);
    ck_assert_int_eq(keys_read_secret(&sec, &derived, key_path, &err), TRINE_OK);
    ck_assert_str_eq(pub.z85, derived.z85);
    ck_assert_str_ne(pub.z85, sec.z85);
    keys_wipe(&sec);
    ck_assert_int_eq(sec.z85[0], 0);

    /* a second pair differs */
    keys_public_t other;
    ck_assert_int_eq(keys_generate(dir, "party1", &err), TRINE_OK);
    path_of(pub_path, "party1.pub");
    ck_assert_int_eq(keys_read_public(&other, pub_path, &err), TRINE_OK);
    ck_assert_str_ne(pub.z85, other.z85);
}
END_TEST

START_TEST(keys_refuse_overwrite)
{
    trine_err_t err;
    ck_assert_int_eq(keys_generate(dir, "c", &err), TRINE_OK);
    char key_path[256];
    path_of(key_path, "c.key");
    keys_secret_t before, after;
    ck_assert_int_eq(keys_read_secret(&before, NULL, key_path, &err), TRINE_OK);
    ck_assert_int_ne(keys_generate(dir, "c", &err), TRINE_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "exists already"));
    ck_assert_int_eq(keys_read_secret(&after, NULL, key_path, &err), TRINE_OK);
    ck_assert_str_eq(before.z85, after.z85);
    /* only the .pub existing also refuses, and leaves no .key behind */
    write_file("d.pub", "x\n", 0644);
    ck_assert_int_ne(keys_generate(dir, "d", &err), TRINE_OK);
    path_of(key_path, "d.key");
    ck_assert_int_ne(access(key_path, F_OK), 0);
}
END_TEST

START_TEST(keys_bad_names)
{
    trine_err_t err;
    const char *bad[] = {"", ".hidden", "a/b", "../x", "sp ace", "tab\t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert(!keys_name_valid(bad[i]));
        ck_assert_int_eq(keys_generate(dir, bad[i], &err), TRINE_EINVAL);
    }
    ck_assert(keys_name_valid("client-1.alice_B"));
    ck_assert_int_ne(keys_generate("/nonexistent-dir", "x", &err), TRINE_OK);
}
END_TEST

START_TEST(keys_secret_mode_refused)
{
    trine_err_t err;
    ck_assert_int_eq(keys_generate(dir, "p", &err), TRINE_OK);
    char key_path[256];
    path_of(key_path, "p.key");
    keys_secret_t sec;
    const mode_t modes[] = {0640, 0604, 0660, 0700 | 0004};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        ck_assert_int_eq(chmod(key_path, modes[i]), 0);
        ck_assert_int_eq(keys_read_secret(&sec, NULL, key_path, &err), TRINE_EINVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, "chmod 600"));
        ck_assert_ptr_nonnull(strstr(err.msg, key_path));
    }
    ck_assert_int_eq(chmod(key_path, 0400), 0);
    ck_assert_int_eq(keys_read_secret(&sec, NULL, key_path, &err), TRINE_OK);
    keys_wipe(&sec);
    /* a public key given as the secret one, whatever its mode: said so */
    char pub_path[256];
    path_of(pub_path, "p.pub");
    const mode_t pub_modes[] = {0644, 0600};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(chmod(pub_path, pub_modes[i]), 0);
        ck_assert_int_eq(keys_read_secret(&sec, NULL, pub_path, &err), TRINE_EINVAL);
        ck_assert_msg(strstr(err.msg, "is a public key; give the secret key"), "%s", err.msg);
    }
}
END_TEST

START_TEST(keys_malformed_files)
{
    const char *bad[] = {
        "",
        "# only a comment\n",
        "tooshort\n",
        "0123456789012345678901234567890123456789x\n", /* 41 chars */
        "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n",  /* 40, not Z85 */
    };
    trine_err_t err;
    keys_public_t pub;
    char p[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file("bad.pub", bad[i], 0644);
        path_of(p, "bad.pub");
        ck_assert_int_eq(keys_read_public(&pub, p, &err), TRINE_EFORMAT);
        ck_assert_ptr_nonnull(strstr(err.msg, p));
    }
    /* a large file is refused without reading it all */
    char *big = malloc(100000);
    memset(big, 'A', 99999);
    big[99999] = '\0';
    write_file("big.pub", big, 0644);
    free(big);
    path_of(p, "big.pub");
    ck_assert_int_eq(keys_read_public(&pub, p, &err), TRINE_EFORMAT);
    path_of(p, "missing.pub");
    ck_assert_int_eq(keys_read_public(&pub, p, &err), TRINE_EIO);
    /* comments, CRLF and a valid key are fine */
    write_file("ok.pub", "# c\r\n\r\nrq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\r\n", 0644);
    path_of(p, "ok.pub");
    ck_assert_int_eq(keys_read_public(&pub, p, &err), TRINE_OK);
    ck_assert_str_eq(pub.z85, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
}
END_TEST

Suite *keys_suite(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, keys_setup, keys_teardown);
    tcase_add_test(tc, keys_generate_and_read_back);
    tcase_add_test(tc, keys_refuse_overwrite);
    tcase_add_test(tc, keys_bad_names);
    tcase_add_test(tc, keys_secret_mode_refused);
    tcase_add_test(tc, keys_malformed_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_util_run(keys_suite());
}
