/* prg.c — addressed ChaCha20 streams (see prg.h). ChaCha20 with a 64-bit
 * block counter is crypto_stream_chacha20_xor_ic: one 64-byte block holds 8
 * words, so word i lives in block i / 8 at word i % 8. */
#include "prg.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PRG_BLOCK_WORDS 8

struct prg {
    uint8_t seed[PRG_SEED_BYTES];
};

_Static_assert(PRG_SEED_BYTES == crypto_stream_chacha20_KEYBYTES, "seed is a ChaCha20 key");
_Static_assert(crypto_stream_chacha20_NONCEBYTES == sizeof(uint64_t), "purpose is the nonce");

trine_status_t prg_seed_random(uint8_t seed[PRG_SEED_BYTES])
{
    if (sodium_init() < 0)
        return TRINE_EINVAL;
    randombytes_buf(seed, PRG_SEED_BYTES);
    return TRINE_OK;
}

prg_t *prg_new(const uint8_t seed[PRG_SEED_BYTES])
{
    if (sodium_init() < 0)
        return NULL;
    prg_t *prg = malloc(sizeof *prg);
    if (prg)
        memcpy(prg->seed, seed, PRG_SEED_BYTES);
    return prg;
}

prg_t *prg_new_random(void)
{
    uint8_t seed[PRG_SEED_BYTES];
    if (prg_seed_random(seed) != TRINE_OK)
        return NULL;
    prg_t *prg = prg_new(seed);
    sodium_memzero(seed, sizeof seed);
    return prg;
}

void prg_destroy(prg_t **prg)
{
    if (!prg || !*prg)
        return;
    sodium_memzero((*prg)->seed, PRG_SEED_BYTES);
    free(*prg);
    *prg = NULL;
}

/* Key stream words [block * 8, block * 8 + n) for n a multiple of 8. */
static void prg_blocks(const prg_t *prg, uint64_t purpose, uint64_t block, uint64_t *out, size_t n)
{
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    for (size_t i = 0; i < sizeof nonce; i++)
        nonce[i] = (uint8_t)(purpose >> (8 * i));
    memset(out, 0, n * sizeof *out);
    crypto_stream_chacha20_xor_ic((unsigned char *)out, (const unsigned char *)out, n * sizeof *out,
                                  nonce, block, prg->seed);
}

void prg_fill_ring(const prg_t *prg, uint64_t purpose, uint64_t pos, uint64_t *out, size_t n)
{
    /* A ragged start or end goes through one block on the stack. */
    uint64_t block[PRG_BLOCK_WORDS];
    while (n > 0) {
        size_t skip = pos % PRG_BLOCK_WORDS;
        if (skip != 0 || n < PRG_BLOCK_WORDS) {
            size_t take = PRG_BLOCK_WORDS - skip < n ? PRG_BLOCK_WORDS - skip : n;
            prg_blocks(prg, purpose, pos / PRG_BLOCK_WORDS, block, PRG_BLOCK_WORDS);
            memcpy(out, block + skip, take * sizeof *out);
            out += take, pos += take, n -= take;
            continue;
        }
        size_t whole = n - n % PRG_BLOCK_WORDS;
        prg_blocks(prg, purpose, pos / PRG_BLOCK_WORDS, out, whole);
        out += whole, pos += whole, n -= whole;
    }
    sodium_memzero(block, sizeof block);
}

trine_status_t prg_fill_mod(const prg_t *prg, uint64_t purpose, uint64_t pos, uint64_t *out,
                            size_t n, uint64_t p)
{
    if (p < 2 || p > ((uint64_t)1 << 32))
        return TRINE_EINVAL;
    prg_fill_ring(prg, purpose, pos, out, n);
    for (size_t i = 0; i < n; i++)
        out[i] %= p;
    return TRINE_OK;
}

void prg_tensor_ring(const prg_t *prg, uint64_t purpose, uint64_t pos, tensor_t *t)
{
    prg_fill_ring(prg, purpose, pos, t->data, t->size);
}

trine_status_t prg_tensor_mod(const prg_t *prg, uint64_t purpose, uint64_t pos, tensor_t *t,
                              uint64_t p)
{
    return prg_fill_mod(prg, purpose, pos, t->data, t->size, p);
}
