/* gemm.h — matrix products over Z_2^64.
 *
 * All three functions compute C = op(A) * op(B) mod 2^64 with the same
 * signature, so any one can stand in for another and the tests compare
 * them: op(A) is m x k, op(B) is k x n, C is m x n, all row-major and
 * dense. A is stored m x k, or k x m when ta is GEMM_TRANS; B is stored
 * k x n, or n x k when tb is GEMM_TRANS. C must not overlap A or B.
 * They return TRINE_OK, TRINE_EINVAL for a zero or too large extent, or
 * TRINE_ENOMEM when the workspace cannot be allocated.
 */
#ifndef TRINE_GEMM_H
#define TRINE_GEMM_H

#include "status.h"
#include "tensor.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { GEMM_NOTRANS = 0, GEMM_TRANS = 1 } gemm_trans_t;

/* The reference: a plain triple loop in uint64_t. */
TRINE_NODISCARD trine_status_t gemm_ring_ref(uint64_t *c, const uint64_t *a, gemm_trans_t ta,
                                             const uint64_t *b, gemm_trans_t tb, size_t m, size_t n,
                                             size_t k);

/* Exact products on OpenBLAS dgemm: both operands are split into signed
 * limbs small enough that every partial dot product is an integer below
 * 2^53 in magnitude, the limb products are summed by dgemm, and the results
 * are shifted and added in uint64_t. The split is chosen from k (DESIGN
 * section 6); k beyond the split's bound is done in chunks. */
TRINE_NODISCARD trine_status_t gemm_ring_blas(uint64_t *c, const uint64_t *a, gemm_trans_t ta,
                                              const uint64_t *b, gemm_trans_t tb, size_t m,
                                              size_t n, size_t k);

/* The one to call: gemm_ring_blas, or the reference loop for products so
 * small that dgemm's fixed costs dominate. */
TRINE_NODISCARD trine_status_t gemm_ring(uint64_t *c, const uint64_t *a, gemm_trans_t ta,
                                         const uint64_t *b, gemm_trans_t tb, size_t m, size_t n,
                                         size_t k);

/* out = op(a) * op(b) for 2-D tensors through gemm_ring; out must have the
 * product's shape and must not be a or b. */
TRINE_NODISCARD trine_status_t tensor_matmul(tensor_t *out, const tensor_t *a, gemm_trans_t ta,
                                             const tensor_t *b, gemm_trans_t tb);

#endif
