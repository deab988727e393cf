/* proto.h — the SecureNN protocols over a party context (ctx.h).
 *
 * Shares are tensors over Z_2^64 held by P0 and P1 (x = x0 + x1); P2, the
 * helper, passes tensors of the same shapes whose contents are ignored and
 * gets zeros back (ctx.h). Every protocol works on a tensor of any shape at
 * the cost of one call: one message per peer per round, whatever the
 * number of elements. Outputs are caller-allocated, given first, and may
 * not alias an input unless said. All parties must make the same calls in
 * the same order; on failure the job is lost (ctx.h).
 *
 * Value ranges. Comparisons (DReLU and everything built on it) are exact
 * for values and differences x with -2^62 <= x < 2^62: DReLU doubles its
 * input before ShareConvert, as SecureNN does. Fixed-point values use the
 * context's frac_bits; proto_truncate is SecureML's local truncation (its
 * error bound is in tensor/fixed.h).
 *
 * Costs per element at ell = 64, all parties (rounds / bytes), with
 * SecureNN's in brackets: reconstruct 1 / 16; mul and select 1 / 40 [2 /
 * 40]; PrivateCompare 1 / 112 [1 / 128]; ShareConvert 4 / 200 [4 / 304];
 * ComputeMSB 3 / 192 [5 / 360]; DReLU 7 / 392 [8 / 664]; ReLU 8 / 432
 * [10 / 704]. Each file's opening comment gives the message schedule.
 */
#ifndef TRINE_PROTO_H
#define TRINE_PROTO_H

#include "ctx.h"

#include "tensor/conv.h"
#include "tensor/gemm.h"
#include "tensor/status.h"
#include "tensor/tensor.h"

#include <stddef.h>
#include <stdint.h>

/* ---- reconstruct.c ---------------------------------------------------- */

/* Opens x to P0 and P1: out = x0 + x1 there (P2: zeros). 1 round. */
TRINE_NODISCARD trine_status_t proto_reconstruct(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                                 trine_err_t *err);

/* Opens x to one party only (P0, P1 or P2); the others get zeros. P2 is
 * sent both shares. 1 round. */
TRINE_NODISCARD trine_status_t proto_reconstruct_to(proto_ctx_t *ctx, tensor_t *out,
                                                    const tensor_t *x, proto_party_t to,
                                                    trine_err_t *err);

/* ---- linear.c: local operations, no communication ---------------------- */

/* out = x + pub, x - pub, pub - x for a public tensor pub (the same at P0
 * and P1; P2's is ignored). out may be x. */
TRINE_NODISCARD trine_status_t proto_add_public(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                                const tensor_t *pub);
TRINE_NODISCARD trine_status_t proto_sub_public(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                                const tensor_t *pub);
TRINE_NODISCARD trine_status_t proto_public_sub(proto_ctx_t *ctx, tensor_t *out,
                                                const tensor_t *pub, const tensor_t *x);

/* out = x + c for one public ring element c (all elements). out may be x. */
TRINE_NODISCARD trine_status_t proto_add_scalar(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                                uint64_t c);

/* out = s * x for a public integer s; and out = pub * x elementwise. */
TRINE_NODISCARD trine_status_t proto_mul_scalar(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                                uint64_t s);
TRINE_NODISCARD trine_status_t proto_mul_public(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                                const tensor_t *pub);

/* Shares of a public tensor (P0 holds pub, P1 zero), and of one public
 * value c in every element. */
TRINE_NODISCARD trine_status_t proto_share_public(proto_ctx_t *ctx, tensor_t *out,
                                                  const tensor_t *pub);
void proto_fill_public(proto_ctx_t *ctx, tensor_t *out, uint64_t c);

/* Divides shares by 2^bits in place by SecureML's local rule (P0 shifts,
 * P1 negates, shifts and negates); bits <= FIXED_FRAC_BITS_MAX. Use
 * proto_ctx_frac_bits(ctx) after a fixed-point product. */
TRINE_NODISCARD trine_status_t proto_truncate(proto_ctx_t *ctx, tensor_t *x, unsigned bits);

/* ---- mul.c, matmul.c, conv.c, mask.c: Beaver products ------------------ */

/* out = x * y elementwise (no truncation). 1 round, 5 words per element:
 * P2 -> P1 the triple correction, P0 <-> P1 the masked operands. */
TRINE_NODISCARD trine_status_t proto_mul(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                         const tensor_t *y, trine_err_t *err);

/* out = op(a) op(b) for 2-D shares (gemm.h's transposes), m x n times
 * n x v. 1 round, 2mn + 2nv + mv words. out must be m x v. */
TRINE_NODISCARD trine_status_t proto_matmul(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a,
                                            gemm_trans_t ta, const tensor_t *b, gemm_trans_t tb,
                                            trine_err_t *err);

/* A fixed operand masked once: W - B is opened at creation and reused by
 * every later product with it, each of which draws a fresh A and C. */
typedef struct proto_masked proto_masked_t;

/* Masks w (any shape, usually weights) and opens w - B: 1 round, 2|w|
 * words. On success *out is owned by the caller and holds its own copies;
 * it stays valid after the context is gone. */
TRINE_NODISCARD trine_status_t proto_masked_new(proto_ctx_t *ctx, proto_masked_t **out,
                                                const tensor_t *w, trine_err_t *err);

/* Wipes and frees *m, sets it to NULL; accepts NULL. */
void proto_masked_destroy(proto_masked_t **m);

/* The masked operand's shape: returns ndim and fills shape. */
int proto_masked_shape(const proto_masked_t *m, size_t shape[TENSOR_MAX_DIMS]);

/* out = op(a) op(w) with w masked once (2-D). 1 round, 2mn + mv words. */
TRINE_NODISCARD trine_status_t proto_matmul_masked(proto_ctx_t *ctx, tensor_t *out,
                                                   const tensor_t *a, gemm_trans_t ta,
                                                   const proto_masked_t *w, gemm_trans_t tb,
                                                   trine_err_t *err);

/* 2-D convolution: x is NCHW with the geometry g, w the filter bank oc x
 * (c kh kw), out n x oc x oh x ow (conv.h). Masks x and w, not the im2col
 * expansion: 1 round, 2|x| + 2|w| + |out| words. The masked form takes the
 * filters masked once: 2|x| + |out| words. */
TRINE_NODISCARD trine_status_t proto_conv2d(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                            const tensor_t *w, const conv_geom_t *g,
                                            trine_err_t *err);
TRINE_NODISCARD trine_status_t proto_conv2d_masked(proto_ctx_t *ctx, tensor_t *out,
                                                   const tensor_t *x, const proto_masked_t *w,
                                                   const conv_geom_t *g, trine_err_t *err);

/* ---- private_compare.c, share_convert.c, msb.c -------------------------- */

/* PrivateCompare (Algorithm 3). xbits holds Zp shares (p = 67) of the 64
 * bits of n secret values, bit i of value e at e * 64 + i (size n * 64);
 * r the n public values. At P0 and P1, beta receives the common random bit
 * that masks the result; at P2 it receives beta xor (x > r). beta has n
 * elements, each 0 or 1. 1 round, 2 * 64 * 7 bits per element. */
TRINE_NODISCARD trine_status_t proto_private_compare(proto_ctx_t *ctx, tensor_t *beta,
                                                     const tensor_t *xbits, const tensor_t *r,
                                                     trine_err_t *err);

/* ShareConvert (Algorithm 4): shares of a over Z_2^64, a != 2^64 - 1, to
 * shares of a over Z_(2^64 - 1) (elements in [0, 2^64 - 2]). 4 rounds. */
TRINE_NODISCARD trine_status_t proto_share_convert(proto_ctx_t *ctx, tensor_t *out,
                                                   const tensor_t *a, trine_err_t *err);

/* ComputeMSB (Algorithm 5): shares of a over Z_(2^64 - 1) to shares over
 * Z_2^64 of its most significant bit. 3 rounds. */
TRINE_NODISCARD trine_status_t proto_msb(proto_ctx_t *ctx, tensor_t *out, const tensor_t *a,
                                         trine_err_t *err);

/* ---- drelu.c, relu.c, select.c, compare.c ------------------------------- */

/* out = 1 when x >= 0, else 0 (Algorithm 6). 7 rounds. */
TRINE_NODISCARD trine_status_t proto_drelu(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                           trine_err_t *err);

/* out = max(x, 0) (Algorithm 7); dout, when not NULL, receives DReLU(x)
 * for the backward pass. 8 rounds. */
TRINE_NODISCARD trine_status_t proto_relu(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                          const tensor_t *x, trine_err_t *err);

/* out = bit ? y : x for shared bits (0 or 1) (Algorithm 2). out may be x
 * or y. 1 round. */
TRINE_NODISCARD trine_status_t proto_select(proto_ctx_t *ctx, tensor_t *out, const tensor_t *bit,
                                            const tensor_t *x, const tensor_t *y, trine_err_t *err);

typedef enum { PROTO_CMP_GE, PROTO_CMP_GT, PROTO_CMP_LE, PROTO_CMP_LT } proto_cmp_t;

/* out = (x cmp y) as shared bits, for shared x and y, or shared x and a
 * public tensor pub. One DReLU: 7 rounds. */
TRINE_NODISCARD trine_status_t proto_compare(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                             const tensor_t *y, proto_cmp_t cmp, trine_err_t *err);
TRINE_NODISCARD trine_status_t proto_compare_public(proto_ctx_t *ctx, tensor_t *out,
                                                    const tensor_t *x, const tensor_t *pub,
                                                    proto_cmp_t cmp, trine_err_t *err);

/* ---- maxpool.c, avgpool.c ----------------------------------------------- */

/* k x k pooling with stride s over NCHW x (no padding): out is n x c x oh x
 * ow with oh = (h - k) / s + 1. */
typedef struct {
    size_t k, stride;
} proto_pool_t;

/* Output extents of pooling x with p, or TRINE_ESHAPE. */
TRINE_NODISCARD trine_status_t proto_pool_out(const tensor_t *x, const proto_pool_t *p, size_t *oh,
                                              size_t *ow);

/* Maxpool with a comparison tree: ceil(log2(k^2)) levels of one DReLU and
 * one product each. argmax, when not NULL, is (n c oh ow) x (k k) and
 * receives the one-hot position of each window's maximum (the first one on
 * ties, in row-major window order): the derivative Maxpool needs. */
TRINE_NODISCARD trine_status_t proto_maxpool(proto_ctx_t *ctx, tensor_t *out, tensor_t *argmax,
                                             const tensor_t *x, const proto_pool_t *p,
                                             trine_err_t *err);

/* Average pooling in fixed point: the window sum times round(2^f / k^2),
 * truncated by f bits. Local, no communication. */
TRINE_NODISCARD trine_status_t proto_avgpool(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                             const proto_pool_t *p, trine_err_t *err);

/* ---- argmax.c ----------------------------------------------------------- */

/* For 2-D x (m x k): out (1-D, m) receives the index of each row's maximum
 * (the first one on ties) as a plain ring integer 0 .. k-1, not fixed
 * point; onehot, when not NULL, m x k, its one-hot position. Exact when
 * every two values of a row differ by less than 2^62 (all of them in
 * [-2^61, 2^61) will do). A comparison tree: ceil(log2 k) levels of one
 * DReLU and one select each, 8 rounds per level; k - 1 comparisons per
 * row. */
TRINE_NODISCARD trine_status_t proto_argmax(proto_ctx_t *ctx, tensor_t *out, tensor_t *onehot,
                                            const tensor_t *x, trine_err_t *err);

/* ---- division.c, sigmoid.c ---------------------------------------------- */

/* Fixed-point division (Algorithm 8, as restoring long division): out =
 * floor(x * 2^f / y) exactly, for 0 <= x < 2^int_bits * y and 0 < y with
 * y * 2^int_bits < 2^61 (as ring integers). int_bits + f steps of one
 * DReLU and one product: 8 rounds each. int_bits = 0 is SecureNN's x < y. */
TRINE_NODISCARD trine_status_t proto_div(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                         const tensor_t *y, unsigned int_bits, trine_err_t *err);

/* Piecewise-linear sigmoid (SecureML): 0 below -1/2, x + 1/2 between, 1
 * above 1/2, in fixed point; exact. Two DReLUs and two products in one
 * batch each: 8 rounds. */
TRINE_NODISCARD trine_status_t proto_sigmoid(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                             trine_err_t *err);

#endif
