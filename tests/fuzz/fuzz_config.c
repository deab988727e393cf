/* fuzz_config.c — libFuzzer target: config/'s INI loaders, cluster.ini
 * (config_cluster_load) and benchmark files (bench_config_load).
 *
 * The first byte picks the loader: 'b' a bench file, anything else a
 * cluster.ini; the rest is the file, written to this process's input file
 * (fuzz.h). Neither loader opens the files a config names (key files, a
 * bench file's cluster.ini): paths are only resolved, against the input's
 * own temporary folder. What loads must keep the ranges the headers
 * promise; what fails must say why.
 */
#include "fuzz.h"

#include "config/bench.h"
#include "config/config.h"

#include <string.h>

static void fuzz_cluster(const char *path)
{
    config_cluster_t c;
    trine_err_t err = {0};
    if (config_cluster_load(&c, path, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0]);
        return;
    }
    FUZZ_CHECK(c.name[0] && c.frac_bits <= 30 && c.heartbeat_ms < c.timeout_ms);
    for (int i = 0; i < CONFIG_PARTIES; i++)
        FUZZ_CHECK(!strncmp(c.party[i].peer, "tcp://", 6) &&
                   !strncmp(c.party[i].client, "tcp://", 6) && c.party[i].public_key[0] == '/');
}

static void fuzz_bench(const char *path)
{
    bench_config_t b;
    trine_err_t err = {0};
    if (bench_config_load(&b, path, &err) != TRINE_OK) {
        FUZZ_CHECK(err.msg[0] && !b.items);
        return;
    }
    FUZZ_CHECK(b.nitems >= 1 && b.items && b.frac_bits <= 30);
    FUZZ_CHECK(b.repetitions >= 1 && b.repetitions <= 1000 && b.warmup <= 100);
    FUZZ_CHECK(b.local == !b.cluster[0]);
    for (size_t i = 0; i < b.nitems; i++) {
        const bench_item_t *it = &b.items[i];
        FUZZ_CHECK(it->op < BENCH_OP_COUNT && it->ndim >= 0 && it->ndim <= BENCH_DIM_MAX);
        FUZZ_CHECK(it->batch >= 1 && it->batch <= BENCH_EXTENT_MAX);
        for (int d = 0; d < it->ndim; d++)
            FUZZ_CHECK(it->dim[d] >= 1 && it->dim[d] <= BENCH_EXTENT_MAX);
    }
    bench_config_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    const char *path = fuzz_file_write(data + 1, size - 1);
    if (data[0] == 'b')
        fuzz_bench(path);
    else
        fuzz_cluster(path);
    return 0;
}
