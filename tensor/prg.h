/* prg.h — seeded pseudo-random generation on libsodium's ChaCha20.
 *
 * A prg_t holds one 32-byte seed. Its output is addressed, not consumed:
 * element i of stream `purpose` is a fixed function of (seed, purpose, i),
 * so parties that share a seed derive the same values at the same position
 * without keeping generators in lockstep, and different purposes (triples,
 * masks, bits) never overlap. The purpose is the ChaCha20 nonce; position i
 * is the i-th 64-bit word of its key stream.
 */
#ifndef TRINE_PRG_H
#define TRINE_PRG_H

#include "status.h"
#include "tensor.h"

#include <stddef.h>
#include <stdint.h>

#define PRG_SEED_BYTES 32

typedef struct prg prg_t;

/* Fills seed with PRG_SEED_BYTES from the operating system's CSPRNG
 * (randombytes_buf). Returns TRINE_EINVAL if libsodium cannot start. */
TRINE_NODISCARD trine_status_t prg_seed_random(uint8_t seed[PRG_SEED_BYTES]);

/* A new generator keyed with a copy of seed, owned by the caller; NULL when
 * libsodium cannot start or memory runs out. The caller should wipe its own
 * copy of the seed once it is no longer needed. */
prg_t *prg_new(const uint8_t seed[PRG_SEED_BYTES]);

/* A new generator with a fresh CSPRNG seed; NULL on failure. */
prg_t *prg_new_random(void);

/* Wipes the seed, frees *prg and sets it to NULL; accepts NULL. */
void prg_destroy(prg_t **prg);

/* out[j] = word (pos + j) of stream purpose, uniform in Z_2^64, j < n. */
void prg_fill_ring(const prg_t *prg, uint64_t purpose, uint64_t pos, uint64_t *out, size_t n);

/* out[j] = word (pos + j) of stream purpose reduced mod p, for 2 <= p <=
 * 2^32: uniform in [0, p) within statistical distance n * p / 2^64. */
TRINE_NODISCARD trine_status_t prg_fill_mod(const prg_t *prg, uint64_t purpose, uint64_t pos,
                                            uint64_t *out, size_t n, uint64_t p);

/* Tensor forms of the two above, filling every element of t. */
void prg_tensor_ring(const prg_t *prg, uint64_t purpose, uint64_t pos, tensor_t *t);
TRINE_NODISCARD trine_status_t prg_tensor_mod(const prg_t *prg, uint64_t purpose, uint64_t pos,
                                              tensor_t *t, uint64_t p);

#endif
