#include "check_util.h"

#include "tensor/prg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int check_util_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void check_util_tmpdir(char *dir, const char *tag)
{
    snprintf(dir, CHECK_UTIL_TMPDIR_MAX, "/tmp/%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void check_util_rmtree(const char *dir)
{
    char cmd[CHECK_UTIL_TMPDIR_MAX + 16];
    ck_assert(!strchr(dir, '\''));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

void check_util_random(uint64_t *out, size_t n, uint64_t seed)
{
    uint8_t key[PRG_SEED_BYTES] = {0};
    for (size_t i = 0; i < 8; i++)
        key[i] = (uint8_t)(seed >> (8 * i));
    prg_t *prg = prg_new(key);
    ck_assert_ptr_nonnull(prg);
    prg_fill_ring(prg, 0, 0, out, n);
    prg_destroy(&prg);
}
