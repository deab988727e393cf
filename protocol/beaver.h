/* beaver.h — the Beaver product behind mul, matmul and conv (internal).
 *
 * For a bilinear map f (elementwise product, matrix product, convolution)
 * and operands X, Y, P2 deals a triple U, V, C = f(U, V): P0's shares of U,
 * V and C and P1's shares of U and V come from the seeds P0 and P1 share
 * with P2, so only P1's C1 = C - C0 travels (|f| words, P2 -> P1). P0 and
 * P1 open E = X - U and F = Y - V (2 words per operand element, P0 <-> P1)
 * in the same round, and output Z_j = f(X_j, F) + f(E, V_j) + C_j, which
 * sums to f(X, F) + f(E, V) + f(U, V) = f(X, Y). An operand masked once
 * (proto_masked_t) brings its V and F, so only the other one is opened.
 * 1 round.
 */
#ifndef TRINE_PROTO_BEAVER_H
#define TRINE_PROTO_BEAVER_H

#include "internal.h"

/* out = f(a, b); must check the shapes. */
typedef trine_status_t (*beaver_map_fn)(const void *arg, tensor_t *out, const tensor_t *a,
                                        const tensor_t *b);

/* One operand: a fresh share x, or (x NULL) a masked-once operand. */
typedef struct {
    const tensor_t *x;
    const proto_masked_t *masked;
} beaver_operand_t;

struct proto_masked {
    tensor_t *share; /* P0, P1: the party's share of W; P2: NULL */
    tensor_t *mask;  /* P0, P1: the party's share of B; P2: B */
    tensor_t *open;  /* P0, P1: W - B; P2: NULL */
};

/* out = f(a, b) as shares (out must not alias a or b). */
TRINE_NODISCARD trine_status_t beaver_product(proto_ctx_t *ctx, tensor_t *out, beaver_map_fn f,
                                              const void *arg, beaver_operand_t a,
                                              beaver_operand_t b, trine_err_t *err);

/* Fills mask with the party's share of a fresh mask dealt from the seeds
 * shared with P2 (P2: the whole mask); needs no message. */
TRINE_NODISCARD trine_status_t beaver_draw_mask(proto_ctx_t *ctx, tensor_t *mask);

#endif
