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
 * context's frac_bits; proto_truncate is exact (within one unit in the
 * last place) for -2^62 <= x < 2^62, or SecureML's local truncation when
 * the context says so (trunc.c).
 *
 * Costs per element at ell = 64, all parties (rounds / bytes), with
 * SecureNN's in brackets: reconstruct 1 / 16; mul and select 1 / 40 [2 /
 * 40]; PrivateCompare 1 / 112 [1 / 128]; ShareConvert 4 / 200 [4 / 304];
 * ComputeMSB 3 / 192 [5 / 360]; DReLU 7 / 392 [8 / 664]; ReLU 8 / 432
 * [10 / 704]; exact truncation by d bits 1 / 24 + ceil(d / 8) [local, 0 /
 * 0]. Each file's opening comment gives the message schedule.
 */
#ifndef TRINE_PROTO_H
#define TRINE_PROTO_H

#include "ctx.h"

#include "tensor/conv.h"
#include "tensor/gemm.h"
#include "tensor/status.h"
#include "tensor/tensor.h"

#include <stdbool.h>
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

/* ---- shuffle.c ---------------------------------------------------------- */

/* perm = a permutation of 0..n-1 by Fisher-Yates from the n words r
 * (r[0] unused): uniform for uniform words, within n / 2^64. */
void proto_permutation(size_t *perm, size_t n, const uint64_t *r);

/* P0 and P1: perm = the same fresh permutation of 0..n-1 at both, from
 * the seed they share (a draw each makes in the same order, no message);
 * neither the client nor P2 can know it. TRINE_EINVAL at P2. */
TRINE_NODISCARD trine_status_t proto_shuffle_draw(proto_ctx_t *ctx, size_t *perm, size_t n,
                                                  trine_err_t *err);

/* ---- rerandomize.c ---------------------------------------------------- */

/* Replaces the shares of x by a fresh sharing of the same value: P0 adds
 * and P1 subtracts a mask from their common seed; P2's x is untouched.
 * No communication; all three parties call it. TRINE_ENOMEM. */
TRINE_NODISCARD trine_status_t proto_rerandomize(proto_ctx_t *ctx, tensor_t *x, trine_err_t *err);

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

/* ---- trunc.c ------------------------------------------------------------ */

/* Divides shares by 2^bits in place (bits <= FIXED_FRAC_BITS_MAX; use
 * proto_ctx_frac_bits(ctx) after a fixed-point product), as the context's
 * truncation mode says. Exact (the default): for -2^62 <= x < 2^62 the
 * result is floor(x / 2^bits) or one more, always; 1 round, 24 +
 * ceil(bits / 8) bytes per element (P0 <-> P1 one word each way, P2 -> P1
 * one word and ceil(bits / 8) bytes). Local (SecureML): the same except
 * with probability about |x| / 2^63, when it is off by 2^(64-bits); no
 * messages. */
TRINE_NODISCARD trine_status_t proto_truncate(proto_ctx_t *ctx, tensor_t *x, unsigned bits,
                                              trine_err_t *err);

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

/* The bytes m holds: 3 words an element at P0 and P1 (the share, its
 * mask's share and W - B), 1 at P2 (the mask B). */
uint64_t proto_masked_bytes(const proto_masked_t *m);

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

/* conv_grad.c: the gradients of out = conv2d(x, w) (one group) from dy
 * (n x oc x oh x ow) at out, not truncated. grad_input: out = dx, n x c x
 * h x w, from dy and w (oc x (c kh kw)); grad_weights: out = dw, oc x (c
 * kh kw), from dy and x (NCHW). Each a Beaver product of the two operands:
 * 1 round, 2|dy| + 2|w or x| + |out| words. */
TRINE_NODISCARD trine_status_t proto_conv2d_grad_input(proto_ctx_t *ctx, tensor_t *out,
                                                       const tensor_t *dy, const tensor_t *w,
                                                       const conv_geom_t *g, trine_err_t *err);
TRINE_NODISCARD trine_status_t proto_conv2d_grad_weights(proto_ctx_t *ctx, tensor_t *out,
                                                         const tensor_t *dy, const tensor_t *x,
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
 * for the backward pass. 8 rounds; 1 under protocol fss. */
TRINE_NODISCARD trine_status_t proto_relu(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                          const tensor_t *x, trine_err_t *err);

/* out = max(trunc(x), 0) with x truncated by bits as proto_truncate does
 * (within its one step), and dout, when not NULL, DReLU(x). Under protocol
 * fss with exact truncation, 1 round for both (relu_fss.c); else
 * proto_truncate of a copy of x, then proto_relu, whose dout is DReLU of
 * the truncated value (1, not 0, where a negative x truncates to 0). x is
 * not changed. */
TRINE_NODISCARD trine_status_t proto_relu_trunc(proto_ctx_t *ctx, tensor_t *out, tensor_t *dout,
                                                const tensor_t *x, unsigned bits,
                                                trine_err_t *err);

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

/* kh x kw pooling with strides sh, sw over NCHW x padded by pt rows above,
 * pb below, pl columns on the left and pr on the right (ONNX's pads): out
 * is n x c x oh x ow with oh = (h + pt + pb - kh) / sh + 1, ow likewise.
 * Every pad is below the window's extent along its axis, so that every
 * window holds at least one element of x. count_pad is avgpool's: divide
 * by kh kw (ONNX count_include_pad = 1) or by the elements of x in the
 * window (0, ONNX's default). */
typedef struct {
    size_t kh, kw;         /* window height and width, >= 1 */
    size_t sh, sw;         /* strides down and across, >= 1 */
    size_t pt, pl, pb, pr; /* padding: top, left, bottom, right */
    bool count_pad;
} proto_pool_t;

/* Output extents of pooling x with p, or TRINE_ESHAPE when x is not 4-D,
 * an extent or stride is 0, a pad reaches the window's extent or the
 * window is larger than the padded input. */
TRINE_NODISCARD trine_status_t proto_pool_out(const tensor_t *x, const proto_pool_t *p, size_t *oh,
                                              size_t *ow);

/* The public value padding stands for in maxpool: -2^61 as a ring element
 * (P0's share of a padding position, P1's being 0). For inputs in [-2^61,
 * 2^61) it is no larger than any of them, and every difference the
 * comparison tree forms (input - input, input - pad, pad - pad) lies in
 * (-2^62, 2^62), where DReLU is exact; a smaller value such as -2^62 would
 * push input - pad past 2^62 for any input >= 0. */
#define PROTO_POOL_PAD ((uint64_t)0 - ((uint64_t)1 << 61))

/* Maxpool with a comparison tree: ceil(log2(kh kw)) levels of one DReLU
 * and one product each. Exact for inputs in [-2^61, 2^61) (without
 * padding: for windows whose values differ by less than 2^62). argmax,
 * when not NULL, is (n c oh ow) x (kh kw) and receives the one-hot
 * position of each window's maximum (the first one on ties, in row-major
 * window order, padding included: a pad position wins only a window whose
 * maximum is -2^61 itself): the derivative Maxpool needs. */
TRINE_NODISCARD trine_status_t proto_maxpool(proto_ctx_t *ctx, tensor_t *out, tensor_t *argmax,
                                             const tensor_t *x, const proto_pool_t *p,
                                             trine_err_t *err);

/* Average pooling in fixed point: the window sum (padding adds nothing)
 * times round(2^f / d), truncated by f bits, for d = kh kw with count_pad,
 * else the window's elements of x: a public divisor per output position.
 * The truncation's cost only (trunc.c): 1 round when exact, none when
 * local. */
TRINE_NODISCARD trine_status_t proto_avgpool(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                             const proto_pool_t *p, trine_err_t *err);

/* ---- pace.c ------------------------------------------------------------- */

/* How many steps of a job P2 may deal ahead of P0 and P1 under fss. */
#define PROTO_PACE_AHEAD 1

/* Called by all three parties at the start of step `step` of `steps`:
 * under protocol fss keeps P2 at most PROTO_PACE_AHEAD steps ahead (P0
 * and P1 send it a byte a step; no round), under auto in step with them
 * (the byte a round when keys follow); under securenn nothing. */
TRINE_NODISCARD trine_status_t proto_pace(proto_ctx_t *ctx, uint64_t step, uint64_t steps,
                                          trine_err_t *err);

/* ---- argmax.c ----------------------------------------------------------- */

/* The longest row whose pairs are all compared at once (one comparison
 * round and a zero test's round, k (k - 1) / 2 comparisons a row); longer
 * rows take the tree. Under securenn only rows of at least 5 values (3
 * tree levels against 1) and at most PROTO_ARGMAX_PAIRS_SECURENN
 * comparisons in all: each tree level saved is 8 rounds, which cost about
 * what 1,000 comparisons' bytes do on loopback (392 bytes each); under
 * carry the same rows up to PROTO_ARGMAX_PAIRS_CARRY comparisons (5 rounds
 * a level, 111 bytes a comparison: a batch of 182 rows of 10). */
#define PROTO_ARGMAX_PAIRS_MAX       16
#define PROTO_ARGMAX_PAIRS_SECURENN  1024
#define PROTO_ARGMAX_PAIRS_CARRY     8192

/* True when proto_argmax compares all pairs of m rows of k values at once
 * in ctx (the rule above; fss when the pairs' comparisons go by fss). */
bool proto_argmax_pairs(const proto_ctx_t *ctx, size_t m, size_t k);

/* For 2-D x (m x k): out (1-D, m) receives the index of each row's maximum
 * (the first one on ties) as a plain ring integer 0 .. k-1, not fixed
 * point; onehot, when not NULL, m x k, its one-hot position. Exact when
 * every two values of a row differ by less than 2^62 (all of them in
 * [-2^61, 2^61) will do). A comparison tree: ceil(log2 k) levels of one
 * DReLU and one select each, 8 rounds per level; k - 1 comparisons per
 * row (under protocol fss, 2 rounds a level, or all pairs above). */
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

/* ---- sigmoid_fine.c ----------------------------------------------------- */

/* Knots of the fine sigmoid. */
#define PROTO_SIGMOID_FINE_KNOTS 8

/* A fine piecewise-linear logistic 1/(1 + e^-x): continuous, 0 up to the
 * first knot k_0 = -5.25, 1 from the last k_7 = 5.25, linear between the
 * knots +-1, +-1.875, +-3, +-5.25, written as
 *     f(x) = sum_i d_i relu(x - k_i)  (i = 0 .. 7, sum_i d_i = 0)
 * for the slope changes d_i. Its largest distance to the logistic is
 * 0.0055: 1 - 1/(1 + e^-5.25) = 0.0052 beyond the clamps, at most 0.0055
 * between the knots, whose values are chosen to even out the error. On shares all
 * eight ReLUs of every element run as one batch, then a local weighted sum
 * with the slopes in fixed point and one truncation: 8 rounds, 8 x 432 =
 * 3456 bytes per element (SecureNN's building blocks: 8 x 704 = 5632),
 * plus the truncation's 1 round and 24 + ceil(f / 8) bytes when exact.
 * The slopes are rounded to the fixed-point step, so the result is within
 * (k_7 - k_0) / 2 + 1 = 6.25 steps 2^-f of proto_sigmoid_fine_ref, and
 * within 0.01 of the logistic for f >= 11. Exact ReLUs need |x| < 2^61. */
TRINE_NODISCARD trine_status_t proto_sigmoid_fine(proto_ctx_t *ctx, tensor_t *out,
                                                  const tensor_t *x, trine_err_t *err);

/* The same function on a double, without rounding: the plaintext
 * reference (prog_plain's). */
double proto_sigmoid_fine_ref(double x);

/* ---- exp.c, recip.c, rsqrt.c, softmax.c --------------------------------- */

/* out = e^x elementwise: clamped below at -16, a degree-6 polynomial of
 * x/32 and 5 squarings; within PROG_EXP_ERROR e^x + 2^-f (program.h) for
 * x <= 16, wrong above 16. 26 rounds, 1143 bytes per element (16 and 832
 * with local truncation). */
TRINE_NODISCARD trine_status_t proto_exp(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                         trine_err_t *err);

/* out = 1 / x elementwise by Newton-Raphson from an exp guess; within
 * PROG_RECIP_ERROR for x in [1/64, 512], wrong outside. 76 rounds (40
 * with local truncation). */
TRINE_NODISCARD trine_status_t proto_recip(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                           trine_err_t *err);

/* out = 1 / sqrt(x) elementwise by Newton-Raphson; within
 * PROG_RSQRT_ERROR for x in [1/256, 128], wrong outside. 89 rounds (46
 * with local truncation). */
TRINE_NODISCARD trine_status_t proto_rsqrt(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                           trine_err_t *err);

/* out = softmax of x along its last axis (k extents, k <= 512): each
 * probability within PROG_SOFTMAX_ERROR. */
TRINE_NODISCARD trine_status_t proto_softmax(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                             trine_err_t *err);

/* ---- log.c, tanh.c, erf.c, logsoftmax.c -------------------------------- */

/* The widest range of proto_log, in powers of two (hi - lo and hi). */
#define PROTO_LOG_SPAN 40

/* out = ln x elementwise for x in [2^lo, 2^hi) / sqrt 2 (1 - f <= lo < hi
 * <= min(PROTO_LOG_SPAN, 62 - 2f)): hi - lo - 1 comparisons with powers of two, then a
 * degree-6 polynomial; within PROG_LOG_ERROR (program.h), wrong outside
 * the range. 11 rounds (16 with exact truncation). */
TRINE_NODISCARD trine_status_t proto_log(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                         int lo, int hi, trine_err_t *err);

/* out = tanh x elementwise: sign, exp(-2 |x|) and a Newton reciprocal on
 * [1, 2]; within PROG_TANH_ERROR for |x| < 2^(62-f). 32 rounds (50). */
TRINE_NODISCARD trine_status_t proto_tanh(proto_ctx_t *ctx, tensor_t *out, const tensor_t *x,
                                          trine_err_t *err);

/* out = erf z elementwise by tanh(2/sqrt(pi) (z + 0.08943 z^3)); within
 * PROG_ERF_ERROR for |z| < 2^((62 - 2f) / 3). 34 rounds (56). */
TRINE_NODISCARD trine_status_t proto_erf(proto_ctx_t *ctx, tensor_t *out, const tensor_t *z,
                                         trine_err_t *err);

/* out = log-softmax of x along its last axis (k extents, k < 2^20): each
 * value within PROG_LOG_SOFTMAX_ERROR. */
/* The hi of the log that proto_log_softmax takes of sums of k values: the
 * least h with 2^h / sqrt 2 > 1.02 k (at most PROTO_LOG_SPAN). */
int proto_log_softmax_hi(size_t k);

TRINE_NODISCARD trine_status_t proto_log_softmax(proto_ctx_t *ctx, tensor_t *out,
                                                 const tensor_t *x, trine_err_t *err);

#endif
