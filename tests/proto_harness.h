/* proto_harness.h — three parties as three threads for the protocol
 * suites: contexts over the in-process link, sharing and opening. */
#ifndef TRINE_PROTO_HARNESS_H
#define TRINE_PROTO_HARNESS_H

#include "protocol/proto.h"

#include <stdint.h>

#define FB 13 /* frac_bits of the harness's contexts */

/* What a test runs at each party on its own context. */
typedef trine_status_t (*harness_body_fn)(proto_ctx_t *ctx, void *arg, trine_err_t *err);

typedef struct {
    trine_status_t status[PROTO_PARTIES];
    trine_err_t err[PROTO_PARTIES];
    proto_stats_t stats[PROTO_PARTIES]; /* after the body */
} harness_result_t;

/* The protocol of the harness's contexts: fss when the environment sets
 * TRINE_TEST_PROTOCOL=fss (meson runs the suites once each way), else
 * securenn. The suites check every result against plaintext under both
 * and each protocol's own rounds and bytes. */
proto_protocol_t harness_protocol(void);

/* Runs body at P0, P1 and P2 with fresh contexts over one local hub whose
 * receives wait at most timeout_ms. */
void harness_run(harness_body_fn body, void *arg, unsigned timeout_ms, harness_result_t *res);

/* harness_run with a 10 s timeout that asserts every party succeeded. */
void harness_run_ok(harness_body_fn body, void *arg, harness_result_t *res);

/* Splits x into sh[0] (random from seed) + sh[1]; sh[2] is zeros. The
 * three tensors are new. */
void harness_share(tensor_t *sh[PROTO_PARTIES], const tensor_t *x, uint64_t seed);

/* New tensors of shape like t for the three parties. */
void harness_alloc(tensor_t *sh[PROTO_PARTIES], const tensor_t *like);

/* A new tensor sh[0] + sh[1]; asserts that P2's output is zero. */
tensor_t *harness_open(tensor_t *const sh[PROTO_PARTIES]);

void harness_free(tensor_t *sh[PROTO_PARTIES]);

/* Bytes all three parties sent, and the rounds, of the last call. */
uint64_t harness_bytes(const harness_result_t *res);
uint64_t harness_rounds(const harness_result_t *res);

/* The bytes the suites pin: harness_bytes under securenn, the online ones
 * (all but P2's dealing) under fss, whose dealing is its keys, and carry. */
uint64_t harness_cost_bytes(const harness_result_t *res);

/* securenn's figure, fss's or carry's, whichever harness_protocol() runs. */
uint64_t harness_pick(uint64_t securenn, uint64_t fss, uint64_t carry);

/* The online bytes of a DReLU (relu false) or ReLU call of n values under
 * carry (relu_carry.c): 16 an element and 656 a block of 64, the same for
 * both; and the bytes P2 deals: 72 or 80 an element and 824 a block. */
uint64_t harness_carry_bytes(uint64_t n, bool relu);
uint64_t harness_carry_dealt(uint64_t n, bool relu);

/* n test values: edges first (0, 1, -1, +-2^(bits-1) ends, +-1 fixed
 * step ...), then random values with |v| < 2^(bits-1) of mixed sizes. */
tensor_t *harness_values(size_t n, unsigned bits, uint64_t seed);

#endif
