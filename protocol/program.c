/* program.c — the opcode table and the checks every program passes before
 * a backend runs it (program.h).
 *
 * Programs arrive from clients over the wire, so prog_check trusts nothing:
 * counts, indices, names, kinds, attributes and shapes are all checked, in
 * that order, so that later checks may rely on earlier ones (a shape check
 * never reads a variable index that was not validated). Attribute errors
 * and structure errors are TRINE_EFORMAT, the program is malformed whatever
 * its inputs; shape errors are TRINE_ESHAPE. Messages carry the op's source
 * position and name the variables with their shapes, because they end up in
 * front of the person who wrote the program text.
 */
#include "program.h"

#include "tensor/conv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int arity;
} opcodes[PROG_OPCODE_COUNT] = {
    [PROG_MATMUL] = {"matmul", 2},
    [PROG_ADD] = {"add", 2},
    [PROG_SUB] = {"sub", 2},
    [PROG_MUL] = {"mul", 2},
    [PROG_SCALE] = {"scale", 1},
    [PROG_SUM] = {"sum", 1},
    [PROG_CONV2D] = {"conv2d", 2},
    [PROG_RELU] = {"relu", 1},
    [PROG_DRELU] = {"drelu", 1},
    [PROG_MAXPOOL] = {"maxpool", 1},
    [PROG_MAXPOOL_GRAD] = {"maxpool_grad", 2},
    [PROG_AVGPOOL] = {"avgpool", 1},
    [PROG_RESHAPE] = {"reshape", 1},
    [PROG_TRANSPOSE] = {"transpose", 1},
    [PROG_SIGMOID] = {"sigmoid", 1},
    [PROG_ARGMAX] = {"argmax", 1},
    [PROG_SGD] = {"sgd", 2},
    [PROG_DIV] = {"div", 2},
    [PROG_GT] = {"gt", 2},
    [PROG_CONCAT] = {"concat", 2},
    [PROG_SLICE] = {"slice", 1},
    [PROG_PAD] = {"pad", 1},
    [PROG_OFFSET] = {"offset", 1},
    [PROG_EXP] = {"exp", 1},
    [PROG_RECIP] = {"recip", 1},
    [PROG_RSQRT] = {"rsqrt", 1},
    [PROG_SOFTMAX] = {"softmax", 1},
    [PROG_LOG] = {"log", 1},
    [PROG_TANH] = {"tanh", 1},
    [PROG_ERF] = {"erf", 1},
    [PROG_LOG_SOFTMAX] = {"log_softmax", 1},
    [PROG_CONV2D_GRAD_INPUT] = {"conv2d_grad_input", 2},
    [PROG_CONV2D_GRAD_WEIGHTS] = {"conv2d_grad_weights", 2},
};

/* The largest start and count of a slice: past any tensor's extent. */
#define SLICE_MAX ((int64_t)1 << 40)

/* The largest learning-rate exponent j of 2^-j; the context's frac_bits
 * (checked when the job runs) is the tighter limit in practice. */
#define SGD_SHIFT_MAX 62

/* The largest int_bits of a div. proto_div needs int_bits + frac_bits <= 61
 * (checked when the job runs): 30 still leaves up to 31 fractional bits,
 * and bounds a div at 30 + frac_bits steps. */
#define DIV_INT_BITS_MAX 30

/* "[2,3,4]": four extents of up to 20 digits, commas and brackets. */
#define SHAPE_STR_MAX 96

void prog_clear(prog_t *p)
{
    if (!p)
        return;
    free(p->vars);
    free(p->ops);
    memset(p, 0, sizeof *p);
}

const char *prog_opcode_name(prog_opcode_t code)
{
    if ((unsigned)code >= PROG_OPCODE_COUNT)
        return "?";
    return opcodes[code].name;
}

int prog_opcode_find(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < PROG_OPCODE_COUNT; i++)
        if (strcmp(opcodes[i].name, name) == 0)
            return i;
    return -1;
}

int prog_opcode_arity(prog_opcode_t code)
{
    if ((unsigned)code >= PROG_OPCODE_COUNT)
        return 0;
    return opcodes[code].arity;
}

trine_status_t prog_check_job(const prog_t *p, uint64_t batch, trine_err_t *err)
{
    size_t rows = prog_batch_rows(p);
    size_t b = rows && batch > rows ? rows : (size_t)batch;
    trine_status_t st = prog_check(p, b, NULL, err);
    if (st == TRINE_OK && rows && rows % b)
        st = prog_check(p, rows % b, NULL, err);
    return st;
}

int prog_op_reuses(const prog_t *p, size_t j)
{
    const prog_op_t *use = &p->ops[j];
    prog_opcode_t code = use->code == PROG_DRELU          ? PROG_RELU
                         : use->code == PROG_MAXPOOL_GRAD ? PROG_MAXPOOL
                                                          : PROG_OPCODE_COUNT;
    int v = use->code == PROG_DRELU ? use->in[0] : use->in[1];
    for (size_t i = j; code != PROG_OPCODE_COUNT && i-- > 0;) {
        const prog_op_t *op = &p->ops[i];
        if (op->code == code && op->in[0] == v && op->out != v &&
            (code == PROG_RELU ||
             !memcmp(op->iattr, use->iattr, PROG_POOL_SLOTS * sizeof *op->iattr)))
            return (int)i;
        if (op->out == v)
            return -1;
    }
    return -1;
}

conv_geom_t prog_conv_geom(const prog_op_t *op, const size_t *x, const size_t *w)
{
    const int64_t *a = op->iattr;
    return (conv_geom_t){.n = x[0],
                         .c = x[1],
                         .h = x[2],
                         .w = x[3],
                         .kh = w[2],
                         .kw = w[3],
                         .sh = (size_t)a[PROG_CONV_SH],
                         .sw = (size_t)a[PROG_CONV_SW],
                         .pt = (size_t)a[PROG_CONV_PT],
                         .pl = (size_t)a[PROG_CONV_PL],
                         .pb = (size_t)a[PROG_CONV_PB],
                         .pr = (size_t)a[PROG_CONV_PR],
                         .groups = (size_t)a[PROG_CONV_GROUP]};
}

proto_pool_t prog_pool_geom(const prog_op_t *op)
{
    const int64_t *a = op->iattr;
    return (proto_pool_t){.kh = (size_t)a[PROG_POOL_KH],
                          .kw = (size_t)a[PROG_POOL_KW],
                          .sh = (size_t)a[PROG_POOL_SH],
                          .sw = (size_t)a[PROG_POOL_SW],
                          .pt = (size_t)a[PROG_POOL_PT],
                          .pl = (size_t)a[PROG_POOL_PL],
                          .pb = (size_t)a[PROG_POOL_PB],
                          .pr = (size_t)a[PROG_POOL_PR],
                          .count_pad = a[PROG_POOL_COUNT_PAD] != 0};
}

void prog_axis_copy(const prog_op_t *op, int ndim, const size_t *as, size_t nb, size_t no,
                    const uint64_t *a, const uint64_t *b, uint64_t *out)
{
    int axis = (int)op->iattr[0];
    size_t outer = 1, inner = 1, na = as[axis];
    for (int d = 0; d < ndim; d++) {
        if (d < axis)
            outer *= as[d];
        else if (d > axis)
            inner *= as[d];
    }
    const int64_t *v = op->iattr;
    for (size_t o = 0; o < outer; o++) {
        uint64_t *dst = out + o * no * inner;
        const uint64_t *src = a + o * na * inner;
        if (op->code == PROG_SLICE) {
            for (int64_t k = 0; k < v[PROG_SLICE_COUNT]; k++)
                memcpy(dst + (size_t)k * inner,
                       src + (size_t)(v[PROG_SLICE_START] + k * v[PROG_SLICE_STEP]) * inner,
                       inner * sizeof *dst);
            continue;
        }
        size_t at = op->code == PROG_PAD ? (size_t)v[PROG_PAD_BEFORE] * inner : 0;
        memcpy(dst + at, src, na * inner * sizeof *dst);
        if (op->code == PROG_CONCAT)
            memcpy(dst + na * inner, b + o * nb * inner, nb * inner * sizeof *dst);
    }
}

/* Whether op o, one of whose operands depends on the batch (a, b say
 * which), keeps rows apart. */
static bool prog_op_keeps_rows(const prog_op_t *o, bool a, bool b)
{
    switch (o->code) {
    case PROG_ADD:
    case PROG_SUB:
    case PROG_MUL:
    case PROG_DIV:
    case PROG_GT: return a; /* a batch b broadcast over a plain a would mix */
    case PROG_SCALE:
    case PROG_RELU:
    case PROG_DRELU:
    case PROG_SIGMOID:
    case PROG_OFFSET:
    case PROG_EXP:
    case PROG_RECIP:
    case PROG_RSQRT:
    case PROG_LOG:
    case PROG_TANH:
    case PROG_ERF:
    case PROG_LOG_SOFTMAX:
    case PROG_SOFTMAX: /* along the last axis: axis 0 only for a 1-D a */
    case PROG_ARGMAX:
    case PROG_MAXPOOL:
    case PROG_AVGPOOL: return true;
    case PROG_MATMUL: return !b && o->iattr[0] == 0;
    case PROG_CONV2D:
    case PROG_CONV2D_GRAD_INPUT: return !b;
    case PROG_RESHAPE: return o->ndim > 0 && o->shape[0] == 0;
    case PROG_TRANSPOSE: return o->ndim > 0 && o->shape[0] == 0;
    case PROG_CONCAT: return a && b && o->iattr[0] != 0;
    case PROG_SLICE:
    case PROG_PAD: return o->iattr[0] != 0;
    case PROG_SUM:
    case PROG_MAXPOOL_GRAD:
    case PROG_CONV2D_GRAD_WEIGHTS: /* sums over the batch */
    case PROG_SGD:
    case PROG_OPCODE_COUNT: return false;
    }
    return false;
}

bool prog_mixes_rows(const prog_t *p)
{
    bool *dep = calloc(p->nvars ? p->nvars : 1, sizeof *dep);
    if (!dep)
        return true; /* the safe answer */
    for (size_t i = 0; i < p->nvars; i++)
        dep[i] = p->vars[i].kind == PROG_VAR_BATCH;
    bool mixes = false;
    for (size_t j = 0; j < p->nops && !mixes; j++) {
        const prog_op_t *o = &p->ops[j];
        bool a = o->in[0] >= 0 && dep[o->in[0]], b = o->in[1] >= 0 && dep[o->in[1]];
        if (!a && !b)
            continue;
        mixes = !prog_op_keeps_rows(o, a, b) || p->vars[o->out].kind == PROG_VAR_INPUT;
        dep[o->out] = true;
    }
    free(dep);
    return mixes;
}

size_t prog_batch_rows(const prog_t *p)
{
    if (!p || !p->vars)
        return 0;
    for (size_t i = 0; i < p->nvars; i++)
        if (p->vars[i].kind == PROG_VAR_BATCH && p->vars[i].ndim >= 1)
            return p->vars[i].shape[0];
    return 0;
}

uint64_t prog_job_steps(const prog_job_t *job)
{
    if (!job || !job->prog)
        return 0;
    size_t n = prog_batch_rows(job->prog);
    if (n == 0)
        return 1;
    if (job->batch == 0 || job->epochs == 0)
        return 0;
    uint64_t per_epoch = n / job->batch + (n % job->batch != 0);
    if (per_epoch > UINT64_MAX / job->epochs)
        return UINT64_MAX;
    return per_epoch * job->epochs;
}

/* ---- messages ----------------------------------------------------------- */

static const char *shape_str(char *buf, int ndim, const size_t *shape)
{
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < ndim && len < SHAPE_STR_MAX; i++)
        len += (size_t)snprintf(buf + len, SHAPE_STR_MAX - len, i ? ",%zu" : "%zu", shape[i]);
    if (len < SHAPE_STR_MAX - 1) {
        buf[len++] = ']';
        buf[len] = '\0';
    } else {
        buf[SHAPE_STR_MAX - 1] = '\0';
    }
    return buf;
}

/* Fails op with "line L col C: name: what". */
static trine_status_t op_fail(trine_err_t *err, trine_status_t code, const prog_op_t *op,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static trine_status_t op_fail(trine_err_t *err, trine_status_t code, const prog_op_t *op,
                              const char *fmt, ...)
{
    char what[TRINE_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char name[32];
    if ((unsigned)op->code < PROG_OPCODE_COUNT)
        snprintf(name, sizeof name, "%s", opcodes[op->code].name);
    else
        snprintf(name, sizeof name, "opcode %d", (int)op->code);
    if (op->line)
        return trine_err_set(err, code, "line %u col %u: %s: %s", (unsigned)op->line,
                             (unsigned)op->col, name, what);
    return trine_err_set(err, code, "%s: %s", name, what);
}

/* ---- variables ---------------------------------------------------------- */

static bool name_valid(const char *name)
{
    return name[0] != '\0' && memchr(name, '\0', PROG_NAME_MAX) != NULL;
}

static trine_status_t check_var(const prog_var_t *v, size_t i, trine_err_t *err)
{
    if (!name_valid(v->name))
        return trine_err_set(err, TRINE_EFORMAT, "variable %zu: name empty or longer than %d bytes",
                             i, PROG_NAME_MAX - 1);
    if (v->kind != PROG_VAR_INPUT && v->kind != PROG_VAR_BATCH && v->kind != PROG_VAR_TEMP)
        return trine_err_set(err, TRINE_EFORMAT, "%s: unknown variable kind %d", v->name,
                             (int)v->kind);
    if (v->kind == PROG_VAR_TEMP)
        return TRINE_OK;
    if (v->ndim == 0)
        return trine_err_set(err, TRINE_EFORMAT, "input %s: no shape declared", v->name);
    if (v->ndim < 0 || v->ndim > TENSOR_MAX_DIMS)
        return trine_err_set(err, TRINE_EFORMAT, "input %s: %d dimensions, at most %d", v->name,
                             v->ndim, TENSOR_MAX_DIMS);
    size_t size;
    if (tensor_shape_check(v->ndim, v->shape, &size) != TRINE_OK) {
        char sh[SHAPE_STR_MAX];
        return trine_err_set(err, TRINE_ESHAPE,
                             "input %s: shape %s has a zero extent or is too large", v->name,
                             shape_str(sh, v->ndim, v->shape));
    }
    return TRINE_OK;
}

static int check_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static trine_status_t check_vars(const prog_t *p, trine_err_t *err)
{
    if (p->nvars > PROG_VARS_MAX)
        return trine_err_set(err, TRINE_EFORMAT, "program: %zu variables, at most %d", p->nvars,
                             PROG_VARS_MAX);
    if (p->nops > PROG_OPS_MAX)
        return trine_err_set(err, TRINE_EFORMAT, "program: %zu operations, at most %d", p->nops,
                             PROG_OPS_MAX);
    if (p->nops == 0 || !p->ops)
        return trine_err_set(err, TRINE_EFORMAT, "program: no operations");
    if (p->nvars == 0 || !p->vars)
        return trine_err_set(err, TRINE_EFORMAT, "program: no variables");
    const prog_var_t *first_batch = NULL;
    const char *names[PROG_VARS_MAX];
    for (size_t i = 0; i < p->nvars; i++) {
        const prog_var_t *v = &p->vars[i];
        trine_status_t st = check_var(v, i, err);
        if (st != TRINE_OK)
            return st;
        names[i] = v->name;
        if (v->kind != PROG_VAR_BATCH)
            continue;
        if (!first_batch)
            first_batch = v;
        else if (v->shape[0] != first_batch->shape[0])
            return trine_err_set(err, TRINE_ESHAPE,
                                 "batch inputs %s and %s have different rows: %zu and %zu",
                                 first_batch->name, v->name, first_batch->shape[0], v->shape[0]);
    }
    /* Sorted, so that a compiler checking its program after every op it
     * appends does not pay PROG_VARS_MAX^2 comparisons each time. */
    qsort(names, p->nvars, sizeof *names, check_name_cmp);
    for (size_t i = 1; i < p->nvars; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return trine_err_set(err, TRINE_EFORMAT, "%s: declared twice", names[i]);
    return TRINE_OK;
}

/* ---- operations --------------------------------------------------------- */

/* The shape of one operand during the check. */
typedef struct {
    const char *name;
    int ndim;
    const size_t *shape;
} operand_t;

/* A result shape being built. */
typedef struct {
    int ndim;
    size_t shape[TENSOR_MAX_DIMS];
} result_t;

static void result_set(result_t *r, int ndim, const size_t *shape)
{
    r->ndim = ndim;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++)
        r->shape[i] = i < ndim ? shape[i] : 1;
}

static bool same_shape(const operand_t *a, const operand_t *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

/* ndim 2 with shape {0, 0}: [a's first extent, the product of the rest]. */
static bool prog_reshape_is_flatten(const prog_op_t *op)
{
    return op->ndim == 2 && op->shape[0] == 0 && op->shape[1] == 0;
}

static bool geom_in(int64_t v, int64_t lo)
{
    return v >= lo && v <= PROG_GEOM_MAX;
}

static trine_status_t check_conv_attrs(const prog_op_t *op, trine_err_t *err)
{
    const int64_t *a = op->iattr;
    if (!geom_in(a[PROG_CONV_SH], 1) || !geom_in(a[PROG_CONV_SW], 1))
        return op_fail(err, TRINE_EFORMAT, op,
                       "strides must be 1 to %d, got %lld down, %lld across", PROG_GEOM_MAX,
                       (long long)a[PROG_CONV_SH], (long long)a[PROG_CONV_SW]);
    if (!geom_in(a[PROG_CONV_PT], 0) || !geom_in(a[PROG_CONV_PL], 0) ||
        !geom_in(a[PROG_CONV_PB], 0) || !geom_in(a[PROG_CONV_PR], 0))
        return op_fail(err, TRINE_EFORMAT, op,
                       "pads must be 0 to %d, got top %lld left %lld bottom %lld right %lld",
                       PROG_GEOM_MAX, (long long)a[PROG_CONV_PT], (long long)a[PROG_CONV_PL],
                       (long long)a[PROG_CONV_PB], (long long)a[PROG_CONV_PR]);
    if (!geom_in(a[PROG_CONV_GROUP], 0))
        return op_fail(err, TRINE_EFORMAT, op, "groups must be 0 to %d, got %lld", PROG_GEOM_MAX,
                       (long long)a[PROG_CONV_GROUP]);
    if (op->code != PROG_CONV2D && a[PROG_CONV_GROUP] > 1)
        return op_fail(err, TRINE_EFORMAT, op, "only one group is supported, got %lld",
                       (long long)a[PROG_CONV_GROUP]);
    if (op->code != PROG_CONV2D && (!geom_in(a[PROG_CONV_RH], 1) || !geom_in(a[PROG_CONV_RW], 1)))
        return op_fail(err, TRINE_EFORMAT, op,
                       "the result's height and width must be 1 to %d, "
                       "got %lld and %lld",
                       PROG_GEOM_MAX, (long long)a[PROG_CONV_RH], (long long)a[PROG_CONV_RW]);
    return TRINE_OK;
}

static trine_status_t check_axis(const prog_op_t *op, trine_err_t *err)
{
    if (op->iattr[0] < 0 || op->iattr[0] >= TENSOR_MAX_DIMS)
        return op_fail(err, TRINE_EFORMAT, op, "axis must be 0 to %d, got %lld",
                       TENSOR_MAX_DIMS - 1, (long long)op->iattr[0]);
    return TRINE_OK;
}

static trine_status_t check_slice_pad_attrs(const prog_op_t *op, trine_err_t *err)
{
    trine_status_t st = check_axis(op, err);
    const int64_t *a = op->iattr;
    if (st != TRINE_OK)
        return st;
    if (op->code == PROG_SLICE &&
        (a[PROG_SLICE_START] < 0 || a[PROG_SLICE_START] > SLICE_MAX || a[PROG_SLICE_STEP] < 1 ||
         a[PROG_SLICE_STEP] > SLICE_MAX || a[PROG_SLICE_COUNT] < 1 ||
         a[PROG_SLICE_COUNT] > SLICE_MAX))
        return op_fail(err, TRINE_EFORMAT, op,
                       "start must be 0 or more, step and count 1 or more (at most 2^40), got "
                       "%lld, %lld, %lld",
                       (long long)a[PROG_SLICE_START], (long long)a[PROG_SLICE_STEP],
                       (long long)a[PROG_SLICE_COUNT]);
    if (op->code == PROG_PAD &&
        (!geom_in(a[PROG_PAD_BEFORE], 0) || !geom_in(a[PROG_PAD_AFTER], 0) || !isfinite(op->fattr)))
        return op_fail(err, TRINE_EFORMAT, op,
                       "pads must be 0 to %d and the value finite, got %lld, %lld, %g",
                       PROG_GEOM_MAX, (long long)a[PROG_PAD_BEFORE], (long long)a[PROG_PAD_AFTER],
                       op->fattr);
    return TRINE_OK;
}

static trine_status_t check_pool_attrs(const prog_op_t *op, trine_err_t *err)
{
    const int64_t *a = op->iattr;
    long long kh = a[PROG_POOL_KH], kw = a[PROG_POOL_KW], pt = a[PROG_POOL_PT],
              pl = a[PROG_POOL_PL], pb = a[PROG_POOL_PB], pr = a[PROG_POOL_PR];
    if (!geom_in(kh, 1) || !geom_in(kw, 1))
        return op_fail(err, TRINE_EFORMAT, op, "the window must be 1 to %d each way, got %lldx%lld",
                       PROG_GEOM_MAX, kh, kw);
    if (!geom_in(a[PROG_POOL_SH], 1) || !geom_in(a[PROG_POOL_SW], 1))
        return op_fail(err, TRINE_EFORMAT, op,
                       "strides must be 1 to %d, got %lld down, %lld across", PROG_GEOM_MAX,
                       (long long)a[PROG_POOL_SH], (long long)a[PROG_POOL_SW]);
    if (pt < 0 || pl < 0 || pb < 0 || pr < 0)
        return op_fail(err, TRINE_EFORMAT, op,
                       "pads must be >= 0, got top %lld left %lld bottom %lld right %lld", pt, pl,
                       pb, pr);
    if (op->code == PROG_MAXPOOL_GRAD && (pt || pl || pb || pr))
        return op_fail(err, TRINE_EFORMAT, op,
                       "padding is not supported, got top %lld left %lld bottom %lld right %lld",
                       pt, pl, pb, pr);
    /* ONNX's rule too: then every window holds an element of the input */
    if (pt >= kh || pb >= kh || pl >= kw || pr >= kw)
        return op_fail(err, TRINE_EFORMAT, op,
                       "pads must be below the %lldx%lld window (top and bottom below %lld, left "
                       "and right below %lld), got top %lld left %lld bottom %lld right %lld",
                       kh, kw, kh, kw, pt, pl, pb, pr);
    long long count = a[PROG_POOL_COUNT_PAD];
    if (op->code == PROG_AVGPOOL && count != 0 && count != 1)
        return op_fail(err, TRINE_EFORMAT, op, "count_include_pad must be 0 or 1, got %lld", count);
    if (op->code != PROG_AVGPOOL && count != 0)
        return op_fail(err, TRINE_EFORMAT, op,
                       "count_include_pad (iattr[%d]) is avgpool's and must be 0 here, got %lld",
                       PROG_POOL_COUNT_PAD, count);
    return TRINE_OK;
}

static trine_status_t check_perm(const prog_op_t *op, trine_err_t *err)
{
    if (op->ndim < 0 || op->ndim > TENSOR_MAX_DIMS)
        return op_fail(err, TRINE_EFORMAT, op,
                       "the permutation has %d axes, want 0 (swap 2-D) to %d", op->ndim,
                       TENSOR_MAX_DIMS);
    unsigned seen = 0;
    for (int i = 0; i < op->ndim; i++) {
        size_t axis = op->shape[i];
        if (axis >= (size_t)op->ndim || (seen & 1u << axis)) {
            char sp[SHAPE_STR_MAX];
            return op_fail(err, TRINE_EFORMAT, op, "%s is not a permutation of the axes 0 to %d",
                           shape_str(sp, op->ndim, op->shape), op->ndim - 1);
        }
        seen |= 1u << axis;
    }
    return TRINE_OK;
}

static trine_status_t check_attrs(const prog_op_t *op, trine_err_t *err)
{
    switch (op->code) {
    case PROG_MATMUL:
        if ((op->iattr[0] != 0 && op->iattr[0] != 1) || (op->iattr[1] != 0 && op->iattr[1] != 1))
            return op_fail(err, TRINE_EFORMAT, op,
                           "transpose flags must be 0 or 1, got %lld and %lld",
                           (long long)op->iattr[0], (long long)op->iattr[1]);
        return TRINE_OK;
    case PROG_CONV2D:
    case PROG_CONV2D_GRAD_INPUT:
    case PROG_CONV2D_GRAD_WEIGHTS: return check_conv_attrs(op, err);
    case PROG_MAXPOOL:
    case PROG_MAXPOOL_GRAD:
    case PROG_AVGPOOL: return check_pool_attrs(op, err);
    case PROG_SIGMOID:
        if (op->iattr[0] != 0 && op->iattr[0] != 1)
            return op_fail(err, TRINE_EFORMAT, op,
                           "fine must be 0 (the 3-piece sigmoid) or 1 (the logistic within "
                           "0.0055), got %lld",
                           (long long)op->iattr[0]);
        return TRINE_OK;
    case PROG_TRANSPOSE: return check_perm(op, err);
    case PROG_LOG: {
        int64_t lo = op->iattr[PROG_LOG_LO], hi = op->iattr[PROG_LOG_HI];
        if (lo < -PROTO_LOG_SPAN || lo >= hi || hi > PROTO_LOG_SPAN || hi - lo > PROTO_LOG_SPAN)
            return op_fail(err, TRINE_EFORMAT, op,
                           "the range 2^lo to 2^hi needs -%d <= lo < hi <= %d and hi - lo <= "
                           "%d, got lo %lld, hi %lld",
                           PROTO_LOG_SPAN, PROTO_LOG_SPAN, PROTO_LOG_SPAN, (long long)lo,
                           (long long)hi);
        return TRINE_OK;
    }
    case PROG_CONCAT: return check_axis(op, err);
    case PROG_SLICE:
    case PROG_PAD: return check_slice_pad_attrs(op, err);
    case PROG_SCALE:
    case PROG_OFFSET:
        if (!isfinite(op->fattr))
            return op_fail(err, TRINE_EFORMAT, op, "the factor must be a finite number, got %g",
                           op->fattr);
        return TRINE_OK;
    case PROG_SGD: {
        /* frexp gives fattr = m 2^e with m in [0.5, 1): a power of two has
         * m == 0.5 exactly, and then fattr = 2^(e-1). */
        int e = 0;
        double m = isfinite(op->fattr) && op->fattr > 0 ? frexp(op->fattr, &e) : 0.0;
        if (m != 0.5 || 1 - e < 1 || 1 - e > SGD_SHIFT_MAX)
            return op_fail(err, TRINE_EFORMAT, op,
                           "the learning rate must be 2^-j with 1 <= j <= %d, got %g",
                           SGD_SHIFT_MAX, op->fattr);
        return TRINE_OK;
    }
    case PROG_DIV:
        if (op->iattr[0] < 0 || op->iattr[0] > DIV_INT_BITS_MAX)
            return op_fail(err, TRINE_EFORMAT, op, "int_bits must be 0 to %d, got %lld",
                           DIV_INT_BITS_MAX, (long long)op->iattr[0]);
        return TRINE_OK;
    case PROG_RESHAPE:
        if (op->ndim < 1 || op->ndim > TENSOR_MAX_DIMS)
            return op_fail(err, TRINE_EFORMAT, op, "target has %d dimensions, want 1 to %d",
                           op->ndim, TENSOR_MAX_DIMS);
        for (int i = 1; i < op->ndim; i++)
            if (op->shape[i] == 0 && !prog_reshape_is_flatten(op))
                return op_fail(err, TRINE_EFORMAT, op,
                               "target extent %d is 0 (only the first may be 0, for the batch)", i);
        return TRINE_OK;
    default: return TRINE_OK;
    }
}

static trine_status_t shape_matmul(const prog_op_t *op, const operand_t *a, const operand_t *b,
                                   result_t *r, trine_err_t *err)
{
    char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
    if (a->ndim != 2 || b->ndim != 2)
        return op_fail(err, TRINE_ESHAPE, op, "operands must be 2-D, got %s %s and %s %s", a->name,
                       shape_str(sa, a->ndim, a->shape), b->name, shape_str(sb, b->ndim, b->shape));
    bool ta = op->iattr[0], tb = op->iattr[1];
    size_t m = a->shape[ta], n = a->shape[!ta], nb = b->shape[tb], v = b->shape[!tb];
    if (n != nb)
        return op_fail(err, TRINE_ESHAPE, op,
                       "%s%s %s times %s%s %s: inner extents %zu and %zu differ", a->name,
                       ta ? "^T" : "", shape_str(sa, a->ndim, a->shape), b->name, tb ? "^T" : "",
                       shape_str(sb, b->ndim, b->shape), n, nb);
    result_set(r, 2, (size_t[]){m, v});
    return TRINE_OK;
}

static trine_status_t shape_broadcast(const prog_op_t *op, const operand_t *a, const operand_t *b,
                                      result_t *r, trine_err_t *err)
{
    bool fits = b->ndim <= a->ndim;
    for (int i = 1; fits && i <= b->ndim; i++) {
        size_t be = b->shape[b->ndim - i];
        fits = be == 1 || be == a->shape[a->ndim - i];
    }
    if (!fits) {
        char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
        return op_fail(err, TRINE_ESHAPE, op, "%s %s does not broadcast to %s %s", b->name,
                       shape_str(sb, b->ndim, b->shape), a->name, shape_str(sa, a->ndim, a->shape));
    }
    result_set(r, a->ndim, a->shape);
    return TRINE_OK;
}

static trine_status_t shape_same(const prog_op_t *op, const operand_t *a, const operand_t *b,
                                 result_t *r, trine_err_t *err)
{
    if (!same_shape(a, b)) {
        char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
        return op_fail(err, TRINE_ESHAPE, op, "%s %s and %s %s must have the same shape", a->name,
                       shape_str(sa, a->ndim, a->shape), b->name, shape_str(sb, b->ndim, b->shape));
    }
    result_set(r, a->ndim, a->shape);
    return TRINE_OK;
}

static trine_status_t conv_fit_fail(const prog_op_t *op, const conv_geom_t *g, trine_err_t *err)
{
    return op_fail(err, TRINE_ESHAPE, op,
                   "the %zux%zu filter does not fit the %zux%zu input padded by %zu %zu %zu %zu "
                   "(top left bottom right)",
                   g->kh, g->kw, g->h, g->w, g->pt, g->pl, g->pb, g->pr);
}

static trine_status_t shape_conv2d(const prog_op_t *op, const operand_t *a, const operand_t *b,
                                   result_t *r, trine_err_t *err)
{
    char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
    if (a->ndim != 4 || b->ndim != 4)
        return op_fail(err, TRINE_ESHAPE, op,
                       "input %s %s and filters %s %s must be 4-D (NCHW and [oc,c,kh,kw])", a->name,
                       shape_str(sa, a->ndim, a->shape), b->name, shape_str(sb, b->ndim, b->shape));
    conv_geom_t g = prog_conv_geom(op, a->shape, b->shape);
    size_t ng = g.groups > 1 ? g.groups : 1;
    if (a->shape[1] != b->shape[1] * ng || b->shape[0] % ng)
        return op_fail(err, TRINE_ESHAPE, op,
                       "input %s %s has %zu channels, filters %s %s have %zu in %zu group%s",
                       a->name, shape_str(sa, a->ndim, a->shape), a->shape[1], b->name,
                       shape_str(sb, b->ndim, b->shape), b->shape[1], ng, ng > 1 ? "s" : "");
    size_t oh, ow;
    if (conv_out_size(&g, &oh, &ow) != TRINE_OK)
        return conv_fit_fail(op, &g, err);
    result_set(r, 4, (size_t[]){g.n, b->shape[0], oh, ow});
    return TRINE_OK;
}

/* conv2d_grad_input(dy, w) and conv2d_grad_weights(dy, x): the forward
 * convolution's geometry from the operands and PROG_CONV_RH, _RW must give
 * dy's extents. */
static trine_status_t shape_conv_grad(const prog_op_t *op, const operand_t *dy, const operand_t *b,
                                      result_t *r, trine_err_t *err)
{
    char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
    bool in = op->code == PROG_CONV2D_GRAD_INPUT;
    if (dy->ndim != 4 || b->ndim != 4)
        return op_fail(err, TRINE_ESHAPE, op, "gradient %s %s and %s %s %s must be 4-D", dy->name,
                       shape_str(sa, dy->ndim, dy->shape), in ? "filters" : "input", b->name,
                       shape_str(sb, b->ndim, b->shape));
    size_t rh = (size_t)op->iattr[PROG_CONV_RH], rw = (size_t)op->iattr[PROG_CONV_RW];
    size_t x[4] = {dy->shape[0], b->shape[1], in ? rh : b->shape[2], in ? rw : b->shape[3]};
    size_t w[4] = {dy->shape[1], x[1], in ? b->shape[2] : rh, in ? b->shape[3] : rw};
    conv_geom_t g = prog_conv_geom(op, x, w);
    size_t oh, ow;
    if (conv_out_size(&g, &oh, &ow) != TRINE_OK)
        return conv_fit_fail(op, &g, err);
    if ((in && b->shape[0] != dy->shape[1]) || (!in && b->shape[0] != dy->shape[0]) ||
        dy->shape[2] != oh || dy->shape[3] != ow)
        return op_fail(err, TRINE_ESHAPE, op,
                       "gradient %s %s is not the output of a convolution of [%zu,%zu,%zu,%zu] "
                       "by [%zu,%zu,%zu,%zu] ([%zu,%zu,%zu,%zu])",
                       dy->name, shape_str(sa, dy->ndim, dy->shape), x[0], x[1], x[2], x[3], w[0],
                       w[1], w[2], w[3], x[0], w[0], oh, ow);
    if (in)
        result_set(r, 4, x);
    else
        result_set(r, 4, w);
    return TRINE_OK;
}

static trine_status_t shape_pool(const prog_op_t *op, const operand_t *x, result_t *r,
                                 trine_err_t *err)
{
    char sx[SHAPE_STR_MAX];
    proto_pool_t p = prog_pool_geom(op);
    if (x->ndim != 4)
        return op_fail(err, TRINE_ESHAPE, op, "input %s %s must be 4-D (NCHW)", x->name,
                       shape_str(sx, x->ndim, x->shape));
    /* the pads are below the window and at most PROG_GEOM_MAX (check_attrs):
     * the sums cannot wrap */
    size_t ph = x->shape[2] + p.pt + p.pb, pw = x->shape[3] + p.pl + p.pr;
    if (p.kh > ph || p.kw > pw)
        return op_fail(err, TRINE_ESHAPE, op,
                       "the %zux%zu window does not fit %s %s padded by %zu %zu %zu %zu (top "
                       "left bottom right)",
                       p.kh, p.kw, x->name, shape_str(sx, x->ndim, x->shape), p.pt, p.pl, p.pb,
                       p.pr);
    result_set(
        r, 4, (size_t[]){x->shape[0], x->shape[1], (ph - p.kh) / p.sh + 1, (pw - p.kw) / p.sw + 1});
    return TRINE_OK;
}

static trine_status_t shape_maxpool_grad(const prog_op_t *op, const operand_t *g,
                                         const operand_t *x, result_t *r, trine_err_t *err)
{
    result_t pooled;
    trine_status_t st = shape_pool(op, x, &pooled, err);
    if (st != TRINE_OK)
        return st;
    operand_t want = {x->name, pooled.ndim, pooled.shape};
    if (!same_shape(g, &want)) {
        char sg[SHAPE_STR_MAX], sw[SHAPE_STR_MAX];
        return op_fail(err, TRINE_ESHAPE, op, "gradient %s %s must have maxpool(%s)'s shape %s",
                       g->name, shape_str(sg, g->ndim, g->shape), x->name,
                       shape_str(sw, pooled.ndim, pooled.shape));
    }
    result_set(r, x->ndim, x->shape);
    return TRINE_OK;
}

static trine_status_t shape_reshape(const prog_op_t *op, const operand_t *a, result_t *r,
                                    trine_err_t *err)
{
    result_set(r, op->ndim, op->shape);
    if (op->shape[0] == 0)
        r->shape[0] = a->shape[0];
    size_t have = 1, want;
    for (int i = 0; i < a->ndim; i++)
        have *= a->shape[i];
    if (prog_reshape_is_flatten(op))
        r->shape[1] = have / a->shape[0];
    char sa[SHAPE_STR_MAX], sr[SHAPE_STR_MAX];
    if (tensor_shape_check(r->ndim, r->shape, &want) != TRINE_OK || want != have)
        return op_fail(err, TRINE_ESHAPE, op, "%s %s has %zu elements, the target %s another count",
                       a->name, shape_str(sa, a->ndim, a->shape), have,
                       shape_str(sr, r->ndim, r->shape));
    return TRINE_OK;
}

static trine_status_t shape_2d(const prog_op_t *op, const operand_t *a, trine_err_t *err)
{
    if (a->ndim == 2)
        return TRINE_OK;
    char sa[SHAPE_STR_MAX];
    return op_fail(err, TRINE_ESHAPE, op, "%s %s must be 2-D", a->name,
                   shape_str(sa, a->ndim, a->shape));
}

static trine_status_t shape_transpose(const prog_op_t *op, const operand_t *a, result_t *r,
                                      trine_err_t *err)
{
    char sa[SHAPE_STR_MAX], sp[SHAPE_STR_MAX];
    if (op->ndim == 0) {
        trine_status_t st = shape_2d(op, a, err);
        if (st == TRINE_OK)
            result_set(r, 2, (size_t[]){a->shape[1], a->shape[0]});
        return st;
    }
    if (op->ndim != a->ndim)
        return op_fail(err, TRINE_ESHAPE, op, "the permutation %s has %d axes, %s %s has %d",
                       shape_str(sp, op->ndim, op->shape), op->ndim, a->name,
                       shape_str(sa, a->ndim, a->shape), a->ndim);
    size_t shape[TENSOR_MAX_DIMS];
    for (int i = 0; i < op->ndim; i++) /* a permutation: check_perm */
        shape[i] = a->shape[op->shape[i]];
    result_set(r, op->ndim, shape);
    return TRINE_OK;
}

static trine_status_t shape_concat(const prog_op_t *op, const operand_t *a, const operand_t *b,
                                   result_t *r, trine_err_t *err)
{
    int axis = (int)op->iattr[0];
    bool fits = a->ndim == b->ndim && axis < a->ndim;
    for (int i = 0; fits && i < a->ndim; i++)
        fits = i == axis || a->shape[i] == b->shape[i];
    if (!fits) {
        char sa[SHAPE_STR_MAX], sb[SHAPE_STR_MAX];
        return op_fail(err, TRINE_ESHAPE, op, "%s %s and %s %s do not join along axis %d", a->name,
                       shape_str(sa, a->ndim, a->shape), b->name, shape_str(sb, b->ndim, b->shape),
                       axis);
    }
    result_set(r, a->ndim, a->shape);
    r->shape[axis] += b->shape[axis];
    return TRINE_OK;
}

static trine_status_t shape_slice_pad(const prog_op_t *op, const operand_t *a, result_t *r,
                                      trine_err_t *err)
{
    int axis = (int)op->iattr[0];
    const int64_t *v = op->iattr;
    char sa[SHAPE_STR_MAX];
    if (axis >= a->ndim)
        return op_fail(err, TRINE_ESHAPE, op, "axis %d is outside %s %s", axis, a->name,
                       shape_str(sa, a->ndim, a->shape));
    result_set(r, a->ndim, a->shape);
    if (op->code == PROG_PAD) {
        r->shape[axis] += (size_t)(v[PROG_PAD_BEFORE] + v[PROG_PAD_AFTER]);
        return TRINE_OK;
    }
    /* each at most 2^40 (check_attrs): no overflow */
    uint64_t last = (uint64_t)v[PROG_SLICE_START] +
                    (uint64_t)(v[PROG_SLICE_COUNT] - 1) * (uint64_t)v[PROG_SLICE_STEP];
    if (last >= a->shape[axis])
        return op_fail(err, TRINE_ESHAPE, op,
                       "%lld elements from %lld every %lld run past extent %zu of %s %s",
                       (long long)v[PROG_SLICE_COUNT], (long long)v[PROG_SLICE_START],
                       (long long)v[PROG_SLICE_STEP], a->shape[axis], a->name,
                       shape_str(sa, a->ndim, a->shape));
    r->shape[axis] = (size_t)v[PROG_SLICE_COUNT];
    return TRINE_OK;
}

/* The result shape of op from its operands' shapes. */
static trine_status_t op_shape(const prog_op_t *op, const operand_t *a, const operand_t *b,
                               result_t *r, trine_err_t *err)
{
    trine_status_t st;
    switch (op->code) {
    case PROG_MATMUL: return shape_matmul(op, a, b, r, err);
    case PROG_ADD:
    case PROG_SUB: return shape_broadcast(op, a, b, r, err);
    case PROG_MUL:
    case PROG_SGD:
    case PROG_DIV:
    case PROG_GT: return shape_same(op, a, b, r, err);
    case PROG_SUM:
        if (a->ndim == 1)
            result_set(r, 1, (size_t[]){1});
        else
            result_set(r, a->ndim - 1, a->shape + 1);
        return TRINE_OK;
    case PROG_CONV2D: return shape_conv2d(op, a, b, r, err);
    case PROG_CONV2D_GRAD_INPUT:
    case PROG_CONV2D_GRAD_WEIGHTS: return shape_conv_grad(op, a, b, r, err);
    case PROG_MAXPOOL:
    case PROG_AVGPOOL: return shape_pool(op, a, r, err);
    case PROG_MAXPOOL_GRAD: return shape_maxpool_grad(op, a, b, r, err);
    case PROG_RESHAPE: return shape_reshape(op, a, r, err);
    case PROG_TRANSPOSE: return shape_transpose(op, a, r, err);
    case PROG_ARGMAX:
        if ((st = shape_2d(op, a, err)) != TRINE_OK)
            return st;
        result_set(r, 1, a->shape);
        return TRINE_OK;
    case PROG_CONCAT: return shape_concat(op, a, b, r, err);
    case PROG_SLICE:
    case PROG_PAD: return shape_slice_pad(op, a, r, err);
    case PROG_SCALE:
    case PROG_RELU:
    case PROG_DRELU:
    case PROG_SIGMOID:
    case PROG_OFFSET:
    case PROG_EXP:
    case PROG_RECIP:
    case PROG_RSQRT:
    case PROG_SOFTMAX:
    case PROG_LOG:
    case PROG_TANH:
    case PROG_ERF:
    case PROG_LOG_SOFTMAX:
    case PROG_OPCODE_COUNT: break;
    }
    result_set(r, a->ndim, a->shape);
    return TRINE_OK;
}

/* Checks op's opcode and variable indices against what was written so far. */
static trine_status_t check_refs(const prog_t *p, const prog_op_t *op, const bool *written,
                                 trine_err_t *err)
{
    if ((unsigned)op->code >= PROG_OPCODE_COUNT)
        return op_fail(err, TRINE_EFORMAT, op, "not an operation");
    int arity = opcodes[op->code].arity;
    for (int k = 0; k < PROG_ARGS_MAX; k++) {
        int v = op->in[k];
        if (k >= arity) {
            if (v != -1)
                return op_fail(err, TRINE_EFORMAT, op, "takes %d operand%s, got more", arity,
                               arity == 1 ? "" : "s");
            continue;
        }
        if (v < 0 || (size_t)v >= p->nvars)
            return op_fail(err, TRINE_EFORMAT, op, "operand %d is variable %d, not in 0..%zu",
                           k + 1, v, p->nvars - 1);
        if (p->vars[v].kind == PROG_VAR_TEMP && !written[v])
            return op_fail(err, TRINE_EFORMAT, op, "reads %s before it is written",
                           p->vars[v].name);
    }
    if (op->out < 0 || (size_t)op->out >= p->nvars)
        return op_fail(err, TRINE_EFORMAT, op, "writes variable %d, not in 0..%zu", op->out,
                       p->nvars - 1);
    const prog_var_t *out = &p->vars[op->out];
    if (out->kind == PROG_VAR_BATCH)
        return op_fail(err, TRINE_EFORMAT, op, "writes batch input %s, which is read only",
                       out->name);
    if (out->kind == PROG_VAR_TEMP && written[op->out])
        return op_fail(err, TRINE_EFORMAT, op, "writes %s a second time", out->name);
    return TRINE_OK;
}

static trine_status_t check_op(const prog_t *p, const prog_op_t *op, prog_shapes_t *s,
                               bool *written, trine_err_t *err)
{
    trine_status_t st = check_refs(p, op, written, err);
    if (st == TRINE_OK)
        st = check_attrs(op, err);
    if (st != TRINE_OK)
        return st;
    operand_t args[PROG_ARGS_MAX] = {{0}};
    bool batched = false;
    for (int k = 0; k < opcodes[op->code].arity; k++) {
        int v = op->in[k];
        args[k] = (operand_t){p->vars[v].name, s->ndim[v], s->shape[v]};
        batched |= s->batched[v];
    }
    result_t r;
    if ((st = op_shape(op, &args[0], &args[1], &r, err)) != TRINE_OK)
        return st;
    size_t size;
    char sr[SHAPE_STR_MAX], so[SHAPE_STR_MAX];
    if (tensor_shape_check(r.ndim, r.shape, &size) != TRINE_OK)
        return op_fail(err, TRINE_ESHAPE, op, "the result %s is too large",
                       shape_str(sr, r.ndim, r.shape));
    const prog_var_t *out = &p->vars[op->out];
    if (out->kind == PROG_VAR_INPUT) {
        operand_t have = {out->name, out->ndim, out->shape}, got = {"", r.ndim, r.shape};
        if (!same_shape(&have, &got))
            return op_fail(err, TRINE_ESHAPE, op,
                           "writes a %s result to input %s %s, which must keep its shape",
                           shape_str(sr, r.ndim, r.shape), out->name,
                           shape_str(so, out->ndim, out->shape));
        /* An updated weight is per job, not per row: see program.h. */
        batched = false;
    }
    s->ndim[op->out] = r.ndim;
    memcpy(s->shape[op->out], r.shape, sizeof r.shape);
    s->batched[op->out] = batched;
    written[op->out] = true;
    return TRINE_OK;
}

static trine_status_t check_ops(const prog_t *p, size_t rows, prog_shapes_t *s, trine_err_t *err)
{
    bool written[PROG_VARS_MAX] = {false};
    for (size_t i = 0; i < p->nvars; i++) {
        const prog_var_t *v = &p->vars[i];
        bool declared = v->kind != PROG_VAR_TEMP;
        s->ndim[i] = declared ? v->ndim : 0;
        for (int k = 0; k < TENSOR_MAX_DIMS; k++)
            s->shape[i][k] = declared && k < v->ndim ? v->shape[k] : 1;
        if (v->kind == PROG_VAR_BATCH)
            s->shape[i][0] = rows;
        s->batched[i] = v->kind == PROG_VAR_BATCH;
    }
    for (size_t i = 0; i < p->nops; i++) {
        trine_status_t st = check_op(p, &p->ops[i], s, written, err);
        if (st != TRINE_OK)
            return st;
    }
    for (size_t i = 0; i < p->nvars; i++)
        if (p->vars[i].kind == PROG_VAR_TEMP && !written[i])
            return trine_err_set(err, TRINE_EFORMAT, "%s: no operation writes it", p->vars[i].name);
    return TRINE_OK;
}

trine_status_t prog_check(const prog_t *p, size_t rows, prog_shapes_t *s, trine_err_t *err)
{
    if (!p)
        return trine_err_set(err, TRINE_EINVAL, "program: none given");
    trine_status_t st = check_vars(p, err);
    if (st != TRINE_OK)
        return st;
    size_t n = prog_batch_rows(p);
    if (n != 0 && (rows == 0 || rows > n))
        return trine_err_set(err, TRINE_ESHAPE,
                             "program: a step of %zu rows, but the batch inputs have %zu", rows, n);
    prog_shapes_t *own = NULL;
    if (!s) {
        own = malloc(sizeof *own);
        if (!own)
            return trine_err_set(err, TRINE_ENOMEM, "program: out of memory checking shapes");
        s = own;
    }
    st = check_ops(p, rows, s, err);
    free(own);
    return st;
}
