/* prog_mem.c — the memory one party needs for a job (program.h), from the
 * shapes prog_check gives, so that a job too large for the party is
 * refused before anything is allocated.
 *
 * Bytes per party, e the elements of the op's result, m n v matrix
 * extents (a conv2d's are those of its im2col product: m = N oh ow,
 * n = C kh kw, v = O). Each formula is a bound on what the protocol
 * allocates at once, with room to spare:
 *
 *   matmul, conv2d     8 (8 (mn + nv) + 6 mv): the masked operands, the
 *                      triple, the opened differences and the GEMM's limbs
 *                      (three per operand as doubles) and partial products;
 *                      for conv2d also the im2col expansion
 *   conv2d_grad_input  the same for W^T dy: m = C kh kw, n = O, v = N oh ow
 *   conv2d_grad_weights  the same for dy im2col(x)^T: m = O, n = N oh ow,
 *                      v = C kh kw
 *   relu drelu gt div  MEM_COMPARE each: PrivateCompare's 64 Z_p digits
 *                      per element, with their masks and shares; and,
 *                      for up to MEM_FSS_CHUNK of them, MEM_FSS_KEY: a
 *                      chunk of comparison keys by fss (relu_fss.c);
 *                      carry's buffers (relu_carry.c) are fewer;
 *                      "a comparison" below is both
 *   sigmoid            2 comparisons each, the fine one 8
 *   maxpool            a comparison per window element (e kh kw)
 *   argmax [m,k]       a comparison per element of the operand, or
 *                      k (k + 1) / 2 a row for k <= 16 (all pairs: k (k
 *                      - 1) / 2 comparisons and k zero tests, each
 *                      counted as one)
 *   maxpool_grad       32 per window element of the gradient
 *   mul                48 each: the triple and the opened differences
 *   exp                a comparison + 256 each: its ReLU and the powers
 *   recip rsqrt        a comparison + 320 each: exp and the iterates
 *   softmax            10 comparisons + 512 each: argmax (all pairs of a
 *                      row of up to 16 under fss), exp, copies
 *   log [lo, hi)       (hi - lo - 1) comparisons + 320 each: the
 *                      batched comparisons and the powers
 *   tanh erf           2 comparisons + 384 each: DReLU, exp, the iterates
 *   log_softmax        11 comparisons + 512 each: softmax's and the log
 *                      of each row (fewer comparisons than values)
 *   other ops          16 each: a result and one temporary
 *
 * On top of the largest of these come the values themselves: every
 * variable of a step (none is freed early in this bound), the job's copy
 * of each input whole, the masked form of each input a matmul or conv2d
 * takes as its fixed operand (3 words an element: its share, its mask's
 * and W - B, held for the whole job and then kept; prog_exec.c), and
 * each batched output whole (all its rows);
 * and the comparison keys of PROTO_PACE_AHEAD + 1 steps (MEM_FSS_KEY for
 * each comparison by fss of a step, a division counting one a quotient
 * bit), which P2 may have sent ahead (pace.c), or under carry its
 * records (MEM_CARRY_DEAL each). An op's comparisons count as fss when
 * the op has at most fss_max elements (its calls, none larger than
 * e kh kw or a row's pairs, may be fewer: an estimate above), the others
 * as carry's when carry is set.
 */
#include "program.h"
#include "proto.h"

#include <stdlib.h>

#define MEM_WORD    8.0   /* bytes of a ring element */
#define MEM_COMPARE   640.0  /* bytes per element of a comparison */
#define MEM_FSS_KEY   2816.0 /* per element of a chunk of fss keys, with its buffers */
#define MEM_FSS_CHUNK 4096.0 /* elements of a chunk (relu_fss.c's FSS_CHUNK) */
/* per element of carry's record to P1: 101 bytes, and 10 after a truncation */
#define MEM_CARRY_DEAL 112.0
#define MEM_MUL     48.0
#define MEM_LOCAL   16.0

static double mem_elements(int ndim, const size_t *shape)
{
    double n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (double)shape[i];
    return n;
}

/* The comparisons by fss and by carry counted so far, the size up to
 * which an op's go by fss (0 under securenn and carry, UINT64_MAX under
 * fss; ctx.h), and whether the larger ones go by carry. */
typedef struct {
    double count, dealt;
    uint64_t fss_max;
    bool carry;
} mem_keys_t;

/* Adds batched comparisons of ops of e elements to keys. */
static void mem_count(mem_keys_t *keys, double e, double batched)
{
    if (e <= (double)keys->fss_max)
        keys->count += batched;
    else if (keys->carry)
        keys->dealt += batched;
}

/* k comparisons of e elements each, batched as the protocols batch them;
 * adds them to keys when they go by fss. */
static double mem_compare(double e, double k, mem_keys_t *keys)
{
    double batched = e * k;
    mem_count(keys, e, batched);
    double chunk = batched < MEM_FSS_CHUNK ? batched : MEM_FSS_CHUNK;
    return batched * MEM_COMPARE + chunk * MEM_FSS_KEY;
}

static double mem_product(double m, double n, double v)
{
    return MEM_WORD * (8 * (m * n + n * v) + 6 * m * v);
}

/* The working memory of op j beyond its operands and result; its
 * comparisons by fss are added to keys. */
static double mem_op(const prog_t *p, size_t j, const prog_shapes_t *s, mem_keys_t *keys)
{
    const prog_op_t *op = &p->ops[j];
    const size_t *a = s->shape[op->in[0]];
    double e = mem_elements(s->ndim[op->out], s->shape[op->out]);
    switch (op->code) {
    case PROG_MATMUL: {
        const size_t *b = s->shape[op->in[1]];
        bool ta = op->iattr[0], tb = op->iattr[1];
        return mem_product((double)a[ta], (double)a[!ta], (double)b[!tb]);
    }
    case PROG_CONV2D: {
        const size_t *w = s->shape[op->in[1]], *o = s->shape[op->out];
        return mem_product((double)o[0] * (double)o[2] * (double)o[3],
                           (double)w[1] * (double)w[2] * (double)w[3], (double)w[0]);
    }
    case PROG_CONV2D_GRAD_INPUT: {
        const size_t *w = s->shape[op->in[1]];
        return mem_product((double)w[1] * (double)w[2] * (double)w[3], (double)w[0],
                           (double)a[0] * (double)a[2] * (double)a[3]);
    }
    case PROG_CONV2D_GRAD_WEIGHTS: {
        const size_t *w = s->shape[op->out];
        return mem_product((double)w[0], (double)a[0] * (double)a[2] * (double)a[3],
                           (double)w[1] * (double)w[2] * (double)w[3]);
    }
    case PROG_RELU:
    case PROG_DRELU:
    case PROG_GT: return mem_compare(e, 1, keys);
    case PROG_DIV: /* one comparison a quotient bit, in turn: at most 64 */
        mem_count(keys, e, e * 63);
        return mem_compare(e, 1, keys);
    case PROG_SIGMOID: return mem_compare(e, op->iattr[0] ? PROTO_SIGMOID_FINE_KNOTS : 2, keys);
    case PROG_MAXPOOL:
        return mem_compare(e, (double)op->iattr[PROG_POOL_KH] * (double)op->iattr[PROG_POOL_KW],
                           keys);
    case PROG_ARGMAX: { /* [m, k]: all pairs of a short row, at most (argmax_pairs.c) */
        double k = (double)a[1], rows = (double)a[0];
        return mem_compare(rows, k <= PROTO_ARGMAX_PAIRS_MAX ? k * (k + 1) / 2 : k, keys);
    }
    case PROG_MAXPOOL_GRAD:
        return mem_elements(s->ndim[op->in[0]], a) * (double)op->iattr[PROG_POOL_KH] *
               (double)op->iattr[PROG_POOL_KW] * 4 * MEM_WORD;
    case PROG_MUL: return e * MEM_MUL;
    case PROG_EXP: return mem_compare(e, 1, keys) + e * 256;
    case PROG_RECIP:
    case PROG_RSQRT: return mem_compare(e, 1, keys) + e * 320;
    case PROG_SOFTMAX: /* argmax's pairs of a row of 16, exp's ReLU */
        return mem_compare(e, 10, keys) + e * 512;
    case PROG_LOG:
        return mem_compare(e, (double)(op->iattr[PROG_LOG_HI] - op->iattr[PROG_LOG_LO] - 1),
                           keys) +
               e * 320;
    case PROG_TANH:
    case PROG_ERF: return mem_compare(e, 2, keys) + e * 384;
    case PROG_LOG_SOFTMAX: return mem_compare(e, 11, keys) + e * 512;
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
    return e * MEM_LOCAL;
}

trine_status_t prog_job_memory(const prog_t *p, uint64_t batch, uint64_t fss_max, bool carry,
                               prog_mem_t *out, trine_err_t *err)
{
    size_t n = prog_batch_rows(p);
    size_t rows = n && batch < n ? (size_t)batch : n;
    prog_shapes_t *s = calloc(1, sizeof *s);
    if (!s)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory checking the program's shapes");
    trine_status_t st = prog_check(p, rows ? rows : 1, s, err);
    *out = (prog_mem_t){0, 0, 0, 0, 0, 0};
    for (size_t v = 0; st == TRINE_OK && v < p->nvars; v++) {
        const prog_var_t *var = &p->vars[v];
        double step = mem_elements(s->ndim[v], s->shape[v]) * MEM_WORD;
        double whole = var->output && s->batched[v] && rows ? step / (double)rows * (double)n
                                                             : step;
        out->peak += step;
        if (var->kind != PROG_VAR_TEMP)
            out->peak += mem_elements(var->ndim, var->shape) * MEM_WORD;
        else if (whole > step)
            out->peak += whole;
        if (var->output)
            out->outputs += whole;
    }
    bool *counted = st == TRINE_OK ? calloc(p->nvars ? p->nvars : 1, sizeof *counted) : NULL;
    if (st == TRINE_OK && !counted)
        st = trine_err_set(err, TRINE_ENOMEM, "out of memory checking the program's shapes");
    for (size_t j = 0; st == TRINE_OK && j < p->nops; j++) { /* each fixed operand once */
        int v = p->ops[j].in[1];
        if ((p->ops[j].code == PROG_MATMUL || p->ops[j].code == PROG_CONV2D) &&
            p->vars[v].kind == PROG_VAR_INPUT && !counted[v]) {
            counted[v] = true;
            out->masked += 3 * mem_elements(p->vars[v].ndim, p->vars[v].shape) * MEM_WORD;
        }
    }
    free(counted);
    out->peak += out->masked;
    mem_keys_t keys = {0, 0, fss_max, carry};
    for (size_t j = 0; st == TRINE_OK && j < p->nops; j++) {
        double b = mem_op(p, j, s, &keys);
        if (b > out->op_bytes) {
            out->op_bytes = b;
            out->op = j;
        }
    }
    out->keys =
        (keys.count * MEM_FSS_KEY + keys.dealt * MEM_CARRY_DEAL) * (PROTO_PACE_AHEAD + 1);
    out->peak += out->op_bytes + out->keys;
    free(s);
    return st;
}
