#include "check_util.h"

#include "tensor/prg.h"

#include <stdlib.h>

int check_util_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
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
