/* prog_cost.c — the bytes SecureNN would send for one step of a program
 * (program.h): the baseline of DESIGN.md section 5, from the whitepaper's
 * cost table at ell = 64 and p = 67 with one byte per Z_p element, the
 * figures its reference code was measured to send. All three parties
 * together; m, n, v are matrix extents, "each" is per result element:
 *
 *   matmul [m,n] x [n,v]   8 (2mn + 2nv + mv)  (transposes folded in)
 *   conv2d                 the same for its im2col product: m = N oh ow,
 *                          n = C kh kw, v = O
 *   conv2d_grad_input      the same for W^T dy: m = C kh kw, n = O,
 *                          v = N oh ow (our approximation, as for the
 *                          forward product: SecureNN gives no formula)
 *   conv2d_grad_weights    the same for dy im2col(x)^T: m = O,
 *                          n = N oh ow, v = C kh kw
 *   mul                    40 each: a Beaver product, as SelectShare
 *   relu                   704 each: DReLU 664, then SelectShare 40
 *   drelu                  664 each, none after a relu of the same value
 *                          (prog_op_reuses): SecureNN's ReLU computes the
 *                          DReLU first, and prog_exec keeps it too
 *   gt                     664 each: one DReLU of the difference
 *   sigmoid                1408 each: two DReLUs and two SelectShares;
 *                          the fine one (iattr[0] 1) 5632 each: eight
 *                          ReLUs, one per knot
 *   div                    704 each per quotient bit, int_bits + frac_bits
 *                          bits: (8 ell log p + 24 ell) bits per bit
 *   maxpool                744 per comparison, kh kw - 1 per window
 *                          (padding included): (8 ell log p + 29 ell) bits
 *                          per comparison
 *   argmax [m,k]           744 per comparison, k - 1 per row
 *   maxpool_grad           40 each: one SelectShare of the gradient by the
 *                          one-hot the maxpool kept. Our approximation:
 *                          SecureNN gives no formula for it
 *   exp                    1104 each, SecureNN's units for our algorithm
 *                          (exp.c): one ReLU (704) and 10 products (40)
 *   recip                  2064 each: exp and 24 products
 *   rsqrt                  2304 each: exp and 30 products
 *   softmax [.., k]        per row: argmax's 744 (k - 1), then per value
 *                          a product for the maximum, exp and the final
 *                          product (1184 k), and a recip (2064)
 *   log [lo, hi)           664 (hi - lo - 1) + 240 each: a DReLU per
 *                          threshold, 6 products (log.c)
 *   tanh                   2048 each: a DReLU, 2 selects, exp, 7 products
 *   erf                    2128 each: tanh and 2 products
 *   log_softmax [.., k]    per row: argmax's 744 (k - 1) and a log of
 *                          h - 1 thresholds (proto_log_softmax_hi), per
 *                          value a product for the maximum and exp
 *   add sub scale sum avgpool reshape transpose sgd concat slice pad
 *   offset: 0, local (transpose also with a permutation)
 *
 * Sums are doubles: exact up to 2^53 bytes, far past any program whose
 * shares fit in memory.
 */
#include "program.h"

#define COST_ELL   64 /* bits of a ring element */
#define COST_LOG_P 8  /* bits of a Z_p element as sent: one byte */

/* Bytes per element or per call, from the bits of the cost table. */
#define COST_WORD    (COST_ELL / 8)
#define COST_SELECT  (5 * COST_ELL / 8)
#define COST_DRELU   ((8 * COST_ELL * COST_LOG_P + 19 * COST_ELL) / 8)
#define COST_DIV_BIT ((8 * COST_ELL * COST_LOG_P + 24 * COST_ELL) / 8)
#define COST_COMPARE ((8 * COST_ELL * COST_LOG_P + 29 * COST_ELL) / 8)
#define COST_EXP     (COST_DRELU + COST_SELECT + 10 * COST_SELECT)
#define COST_RECIP   (COST_EXP + 24 * COST_SELECT)
#define COST_RSQRT   (COST_EXP + 30 * COST_SELECT)
#define COST_TANH    (COST_DRELU + COST_EXP + 9 * COST_SELECT)
#define COST_ERF     (COST_TANH + 2 * COST_SELECT)
#define COST_LOG(t)  ((t) * COST_DRELU + 6 * COST_SELECT)

_Static_assert(COST_SELECT == 40 && COST_DRELU == 664 && COST_DIV_BIT == 704 && COST_COMPARE == 744,
               "the SecureNN table of DESIGN.md section 5");

static double elements(const prog_shapes_t *s, int v)
{
    double n = 1;
    for (int i = 0; i < s->ndim[v]; i++)
        n *= (double)s->shape[v][i];
    return n;
}

/* SecureNN's MatMul of [m,n] by [n,v]: both operands masked, the product
 * opened. */
static double matmul_bytes(double m, double n, double v)
{
    return COST_WORD * (2 * m * n + 2 * n * v + m * v);
}

static double op_bytes(const prog_t *p, size_t j, const prog_shapes_t *s, unsigned frac_bits)
{
    const prog_op_t *op = &p->ops[j];
    const size_t *a = s->shape[op->in[0]];
    double out = elements(s, op->out);
    switch (op->code) {
    case PROG_MATMUL: {
        const size_t *b = s->shape[op->in[1]];
        bool ta = op->iattr[0], tb = op->iattr[1];
        return matmul_bytes((double)a[ta], (double)a[!ta], (double)b[!tb]);
    }
    case PROG_CONV2D: {
        const size_t *w = s->shape[op->in[1]], *o = s->shape[op->out];
        return matmul_bytes((double)o[0] * (double)o[2] * (double)o[3],
                            (double)w[1] * (double)w[2] * (double)w[3], (double)w[0]);
    }
    case PROG_CONV2D_GRAD_INPUT: { /* W^T [c kh kw, oc] by dy [oc, n oh ow] */
        const size_t *w = s->shape[op->in[1]];
        return matmul_bytes((double)w[1] * (double)w[2] * (double)w[3], (double)w[0],
                            (double)a[0] * (double)a[2] * (double)a[3]);
    }
    case PROG_CONV2D_GRAD_WEIGHTS: { /* dy [oc, n oh ow] by im2col(x)^T */
        const size_t *w = s->shape[op->out];
        return matmul_bytes((double)w[0], (double)a[0] * (double)a[2] * (double)a[3],
                            (double)w[1] * (double)w[2] * (double)w[3]);
    }
    case PROG_MUL:
    case PROG_MAXPOOL_GRAD: return out * COST_SELECT;
    case PROG_RELU: return out * (COST_DRELU + COST_SELECT);
    case PROG_DRELU: return prog_op_reuses(p, j) >= 0 ? 0 : out * COST_DRELU;
    case PROG_GT: return out * COST_DRELU;
    case PROG_SIGMOID:
        return op->iattr[0] ? out * PROTO_SIGMOID_FINE_KNOTS * (COST_DRELU + COST_SELECT)
                            : out * 2 * (COST_DRELU + COST_SELECT);
    case PROG_DIV: return out * COST_DIV_BIT * ((double)op->iattr[0] + frac_bits);
    case PROG_MAXPOOL: {
        double kk = (double)op->iattr[PROG_POOL_KH] * (double)op->iattr[PROG_POOL_KW];
        return out * (kk - 1) * COST_COMPARE;
    }
    case PROG_ARGMAX: return out * ((double)a[1] - 1) * COST_COMPARE;
    case PROG_EXP: return out * COST_EXP;
    case PROG_RECIP: return out * COST_RECIP;
    case PROG_RSQRT: return out * COST_RSQRT;
    case PROG_LOG:
        return out * COST_LOG((double)(op->iattr[PROG_LOG_HI] - op->iattr[PROG_LOG_LO] - 1));
    case PROG_TANH: return out * COST_TANH;
    case PROG_ERF: return out * COST_ERF;
    case PROG_LOG_SOFTMAX: {
        double k = (double)a[s->ndim[op->in[0]] - 1], rows = out / k;
        int h = proto_log_softmax_hi((size_t)k);
        return rows * ((k - 1) * COST_COMPARE + COST_LOG((double)(h - 1))) +
               out * (COST_SELECT + COST_EXP);
    }
    case PROG_SOFTMAX: {
        double k = (double)a[s->ndim[op->in[0]] - 1], rows = out / k;
        return rows * ((k - 1) * COST_COMPARE + COST_RECIP) + out * (2 * COST_SELECT + COST_EXP);
    }
    case PROG_ADD:
    case PROG_SUB:
    case PROG_SCALE:
    case PROG_SUM:
    case PROG_AVGPOOL:
    case PROG_RESHAPE:
    case PROG_TRANSPOSE:
    case PROG_SGD:
    case PROG_CONCAT:
    case PROG_SLICE:
    case PROG_PAD:
    case PROG_OFFSET:
    case PROG_OPCODE_COUNT: break;
    }
    return 0;
}

double prog_securenn_bytes(const prog_t *p, const prog_shapes_t *s, unsigned frac_bits)
{
    double bytes = 0;
    for (size_t j = 0; j < p->nops; j++)
        bytes += op_bytes(p, j, s, frac_bits);
    return bytes;
}
