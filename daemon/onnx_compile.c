/* onnx_compile.c — ONNX graph to trine program (see onnx_compile.h).
 *
 * The compiler walks the nodes in order (ONNX graphs are topologically
 * sorted) and keeps, for every ONNX value, its program variable and static
 * shape. After each emitted operation it runs prog_check over the program
 * so far: the engine's own shape rules give every result's shape, and a
 * shape the engine refuses is reported against the node that asked.
 */
#include "onnx_compile.h"

#include "log.h"
#include "wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name; /* the ONNX name, in the model */
    int var;          /* program variable, -1 when none yet */
    int rank;         /* ONNX rank; ndim is max(rank, 1) */
    int ndim;
    size_t shape[TENSOR_MAX_DIMS];
    bool constant; /* an initializer or a Constant's output */
    plain_t *data; /* a constant's values when known (NULL when
                      trine keeps them), owned */
    bool batch0;   /* axis 0 is the batch */
} ox_val_t;

typedef struct {
    const onnx_model_t *m;
    const char *what;
    const onnx_compile_opts_t *o;
    onnx_prog_t *out;
    trine_err_t *err;
    ox_val_t *vals;
    size_t nvals;
    prog_shapes_t *shapes;
    int *fold;   /* per node: the BatchNormalization folded into it, or -1 */
    bool *skip;  /* per node: folded into an earlier node */
    size_t node; /* the node being compiled */
    const Onnx__NodeProto *n;
    size_t ndata;           /* graph inputs that are not initializers */
    const char *folded_out; /* output 0's name when a BatchNormalization
                               folds into the node: the BN's output */
    unsigned temps;
} ox_t;

/* ---- messages ----------------------------------------------------------------- */

static const char *ox_str(const char *s)
{
    return s ? s : "";
}

/* Fails the current node: "WHAT: node N 'NAME' (OP): message". */
__attribute__((format(printf, 3, 4))) static trine_status_t ox_fail(ox_t *c, trine_status_t code,
                                                                    const char *fmt, ...)
{
    char msg[TRINE_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->n)
        return trine_err_set(c->err, code, "%s: node %zu '%.40s' (%s): %s", c->what, c->node,
                             ox_str(c->n->name), c->n->op_type, msg);
    return trine_err_set(c->err, code, "%s: %s", c->what, msg);
}

static trine_status_t ox_nomem(ox_t *c)
{
    return ox_fail(c, TRINE_ENOMEM, "out of memory");
}

/* ---- values and variables ------------------------------------------------------- */

static ox_val_t *ox_find(ox_t *c, const char *name)
{
    for (size_t i = c->nvals; i-- > 0;)
        if (!strcmp(c->vals[i].name, name))
            return &c->vals[i];
    return NULL;
}

static ox_val_t *ox_add(ox_t *c, const char *name)
{
    ox_val_t *v = realloc(c->vals, (c->nvals + 1) * sizeof *v);
    if (!v)
        return NULL;
    c->vals = v;
    v = &c->vals[c->nvals++];
    *v = (ox_val_t){.name = name, .var = -1};
    return v;
}

static bool ox_name_taken(const ox_t *c, const char *name)
{
    for (size_t i = 0; i < c->out->prog.nvars; i++)
        if (!strcmp(c->out->prog.vars[i].name, name))
            return true;
    return false;
}

/* A unique variable name: prefix + base (characters outside wire names
 * become '_') + suffix; "w<K>" replaces a base too long to fit. */
static void ox_name(const ox_t *c, char *buf, const char *prefix, const char *base,
                    const char *suffix)
{
    char clean[PROG_NAME_MAX];
    size_t room = PROG_NAME_MAX - 1 - strlen(prefix) - strlen(suffix) - 4;
    if (strlen(base) > room || !base[0]) {
        snprintf(clean, sizeof clean, "w%zu", c->out->prog.nvars);
    } else {
        size_t k = 0;
        for (; base[k]; k++) {
            char ch = base[k];
            bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || (ch == '.' && k);
            clean[k] = ok ? ch : '_';
        }
        clean[k] = 0;
    }
    if (snprintf(buf, PROG_NAME_MAX, "%s%s%s", prefix, clean, suffix) >= PROG_NAME_MAX)
        buf[PROG_NAME_MAX - 1] = 0;
    for (int n = 2; ox_name_taken(c, buf) && n < 1000; n++)
        if (snprintf(buf, PROG_NAME_MAX, "%s%s%s-%d", prefix, clean, suffix, n) >= PROG_NAME_MAX)
            buf[PROG_NAME_MAX - 1] = 0;
}

/* A new program variable; -1 when the program is full or memory runs out
 * (the failure set). */
static int ox_newvar(ox_t *c, prog_var_kind_t kind, const char *name)
{
    prog_t *p = &c->out->prog;
    if (p->nvars == PROG_VARS_MAX) {
        ox_fail(c, TRINE_EUNSUPPORTED, "the model needs more than %d program variables",
                PROG_VARS_MAX);
        return -1;
    }
    prog_var_t *v = &p->vars[p->nvars];
    *v = (prog_var_t){.kind = kind};
    snprintf(v->name, sizeof v->name, "%s", name);
    return (int)p->nvars++;
}

/* Records weight variable var with its value (NULL when trine keeps it). */
static trine_status_t ox_weight(ox_t *c, int var, plain_t *value)
{
    onnx_weight_t *w = realloc(c->out->weights, (c->out->nweights + 1) * sizeof *w);
    if (!w) {
        plain_destroy(&value);
        return ox_nomem(c);
    }
    c->out->weights = w;
    w[c->out->nweights++] = (onnx_weight_t){var, value};
    return TRINE_OK;
}

/* A weight named after base + suffix with the shape of ndim/shape and the
 * value *value (taken; NULL when trine keeps it). Returns the variable or
 * -1. */
static int ox_new_weight(ox_t *c, const char *base, const char *suffix, int ndim,
                         const size_t *shape, plain_t *value)
{
    char name[PROG_NAME_MAX];
    ox_name(c, name, c->out->stored[0] ? c->out->stored : ox_str(c->o->prefix), base, suffix);
    int var = ox_newvar(c, PROG_VAR_INPUT, name);
    if (var < 0) {
        plain_destroy(&value);
        return -1;
    }
    prog_var_t *v = &c->out->prog.vars[var];
    v->ndim = ndim;
    memcpy(v->shape, shape, sizeof v->shape);
    if (ox_weight(c, var, value) != TRINE_OK)
        return -1;
    return var;
}

/* A copy of p as reals. */
static plain_t *ox_real_copy(const plain_t *p)
{
    plain_t *q = plain_alloc(PLAIN_F8, p->ndim, p->shape);
    for (size_t i = 0; q && i < p->count; i++)
        q->real[i] = p->real ? p->real[i] : (double)(int64_t)p->ints[i];
    return q;
}

/* The program variable of value v, making a constant a weight. */
static int ox_var(ox_t *c, ox_val_t *v)
{
    if (v->var >= 0)
        return v->var;
    plain_t *value = NULL;
    if (v->data && !(value = ox_real_copy(v->data))) {
        ox_nomem(c);
        return -1;
    }
    v->var = ox_new_weight(c, v->name, "", v->ndim, v->shape, value);
    return v->var;
}

/* Sets v's shape from its variable: declared for an input, else from the
 * program's checked shapes. */
static void ox_shape_from_var(ox_t *c, ox_val_t *v, int rank)
{
    const prog_var_t *pv = &c->out->prog.vars[v->var];
    bool declared = pv->kind != PROG_VAR_TEMP;
    v->ndim = declared ? pv->ndim : c->shapes->ndim[v->var];
    memcpy(v->shape, declared ? pv->shape : c->shapes->shape[v->var], sizeof v->shape);
    v->rank = rank;
}

/* ---- emitting ----------------------------------------------------------------- */

/* Appends op (its out set here to a new temp) and checks the program so
 * far; returns the temp or -1. */
static int ox_emit(ox_t *c, prog_op_t op)
{
    prog_t *p = &c->out->prog;
    if (p->nops == PROG_OPS_MAX) {
        ox_fail(c, TRINE_EUNSUPPORTED, "the model needs more than %d program operations",
                PROG_OPS_MAX);
        return -1;
    }
    char name[PROG_NAME_MAX];
    do
        snprintf(name, sizeof name, "_%u", ++c->temps);
    while (ox_name_taken(c, name));
    int var = ox_newvar(c, PROG_VAR_TEMP, name);
    if (var < 0)
        return -1;
    op.out = var;
    p->ops[p->nops++] = op;
    trine_err_t e;
    size_t rows = prog_batch_rows(p);
    if (prog_check(p, rows ? rows : 1, c->shapes, &e) != TRINE_OK) {
        ox_fail(c, TRINE_EUNSUPPORTED, "%s", e.msg);
        return -1;
    }
    return var;
}

static int ox_op1(ox_t *c, prog_opcode_t code, int a)
{
    return ox_emit(c, (prog_op_t){.code = code, .in = {a, -1}});
}

static int ox_op2(ox_t *c, prog_opcode_t code, int a, int b)
{
    return ox_emit(c, (prog_op_t){.code = code, .in = {a, b}});
}

static int ox_scale(ox_t *c, int a, double factor)
{
    return ox_emit(c, (prog_op_t){.code = PROG_SCALE, .in = {a, -1}, .fattr = factor});
}

static size_t ox_count(int ndim, const size_t *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

/* Reshapes value v (its variable) to ndim/shape. Axis 0 stays the batch
 * when the first extent is unchanged (rows map to rows); a reshape of a
 * batch value that changes it makes the model one batch. */
static int ox_reshape(ox_t *c, ox_val_t *v, int ndim, const size_t *shape, bool *batch0)
{
    prog_op_t op = {.code = PROG_RESHAPE, .in = {v->var, -1}, .ndim = ndim};
    memcpy(op.shape, shape, (size_t)ndim * sizeof *shape);
    *batch0 = v->batch0 && shape[0] == v->shape[0];
    if (*batch0)
        op.shape[0] = 0;
    else if (v->batch0)
        c->out->rows_independent = false;
    return ox_emit(c, op);
}

/* ---- attributes --------------------------------------------------------------- */

static const Onnx__AttributeProto *ox_attr(const ox_t *c, const char *name)
{
    for (size_t i = 0; i < c->n->n_attribute; i++)
        if (c->n->attribute[i]->name && !strcmp(c->n->attribute[i]->name, name))
            return c->n->attribute[i];
    return NULL;
}

/* Fails on an attribute not in the NULL-terminated list of known names. */
static trine_status_t ox_known(ox_t *c, ...)
{
    for (size_t i = 0; i < c->n->n_attribute; i++) {
        const char *name = ox_str(c->n->attribute[i]->name);
        if (c->m->opset < 6 && !strcmp(name, "consumed_inputs"))
            continue; /* a memory hint of opsets 1 to 5, no meaning */
        va_list ap;
        va_start(ap, c);
        bool found = false;
        for (const char *k; !found && (k = va_arg(ap, const char *));)
            found = !strcmp(k, name);
        va_end(ap);
        if (!found)
            return ox_fail(c, TRINE_EUNSUPPORTED, "attribute '%s' is not supported", name);
    }
    return TRINE_OK;
}

static trine_status_t ox_int(ox_t *c, const char *name, int64_t dflt, int64_t *v)
{
    const Onnx__AttributeProto *a = ox_attr(c, name);
    *v = dflt;
    if (!a)
        return TRINE_OK;
    if (!a->has_i && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        return ox_fail(c, TRINE_EFORMAT, "attribute '%s' must be an integer", name);
    *v = a->i;
    return TRINE_OK;
}

static trine_status_t ox_float(ox_t *c, const char *name, double dflt, double *v)
{
    const Onnx__AttributeProto *a = ox_attr(c, name);
    *v = dflt;
    if (!a)
        return TRINE_OK;
    if (!a->has_f && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        return ox_fail(c, TRINE_EFORMAT, "attribute '%s' must be a float", name);
    *v = a->f;
    return TRINE_OK;
}

/* An INTS attribute of exactly n entries (any count when n < 0, at most
 * max); *found false when absent. */
static trine_status_t ox_ints(ox_t *c, const char *name, int n, int64_t *v, size_t max,
                              size_t *count)
{
    const Onnx__AttributeProto *a = ox_attr(c, name);
    *count = 0;
    if (!a)
        return TRINE_OK;
    if ((n >= 0 && a->n_ints != (size_t)n) || a->n_ints > max)
        return ox_fail(c, TRINE_EUNSUPPORTED, "attribute '%s' has %zu entries, not %d", name,
                       a->n_ints, n >= 0 ? n : (int)max);
    memcpy(v, a->ints, a->n_ints * sizeof *v);
    *count = a->n_ints;
    return TRINE_OK;
}

/* A STRING attribute into buf ("" when absent). */
static void ox_string(ox_t *c, const char *name, char *buf, size_t size)
{
    const Onnx__AttributeProto *a = ox_attr(c, name);
    size_t n = a && a->has_s ? a->s.len : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(buf, a->s.data, n);
    buf[n] = 0;
}

/* ---- operands ----------------------------------------------------------------- */

/* Input k of the current node (NULL when absent or empty; optional says
 * whether that is allowed). */
static trine_status_t ox_in(ox_t *c, size_t k, bool optional, ox_val_t **v)
{
    *v = NULL;
    if (k >= c->n->n_input || !c->n->input[k][0]) {
        if (optional)
            return TRINE_OK;
        return ox_fail(c, TRINE_EFORMAT, "input %zu is missing", k);
    }
    *v = ox_find(c, c->n->input[k]);
    if (!*v)
        return ox_fail(c, TRINE_EFORMAT, "input '%s' is not defined before this node",
                       c->n->input[k]);
    return TRINE_OK;
}

/* Checks the node's input and output counts. */
static trine_status_t ox_arity(ox_t *c, size_t in_min, size_t in_max, size_t outs)
{
    for (size_t k = outs; k < c->n->n_output; k++)
        if (c->n->output[k][0])
            return ox_fail(c, TRINE_EUNSUPPORTED, "output %zu ('%s') is not supported", k,
                           c->n->output[k]);
    if (c->n->n_input < in_min || c->n->n_input > in_max || c->n->n_output < 1 ||
        !c->n->output[0][0])
        return ox_fail(c, TRINE_EFORMAT, "takes %zu to %zu inputs and an output, not %zu and %zu",
                       in_min, in_max, c->n->n_input, c->n->n_output);
    return TRINE_OK;
}

/* Defines the node's output k as variable var of the given rank. */
static trine_status_t ox_define(ox_t *c, size_t k, int var, int rank, bool batch0)
{
    if (var < 0)
        return TRINE_EUNSUPPORTED; /* the failure is set */
    ox_val_t *v = ox_add(c, k == 0 && c->folded_out ? c->folded_out : c->n->output[k]);
    if (!v)
        return ox_nomem(c);
    v->var = var;
    v->batch0 = batch0;
    ox_shape_from_var(c, v, rank);
    return TRINE_OK;
}

/* Defines output 0 as the same value as src (Identity, Dropout). */
static trine_status_t ox_alias(ox_t *c, const ox_val_t *src)
{
    size_t i = (size_t)(src - c->vals);
    ox_val_t *v = ox_add(c, c->n->output[0]);
    if (!v)
        return ox_nomem(c);
    ox_val_t copy = c->vals[i];
    copy.name = v->name;
    if (copy.data && !(copy.data = ox_real_copy(copy.data)))
        return ox_nomem(c);
    *v = copy;
    return TRINE_OK;
}

/* True when b's shape broadcasts to a's as prog's add does: right-aligned,
 * each extent of b equal to a's or 1, b no longer than a. */
static bool ox_broadcasts(const ox_val_t *b, const ox_val_t *a)
{
    if (b->rank > a->rank)
        return false;
    for (int i = 1; i <= b->rank; i++)
        if (b->shape[b->ndim - i] != 1 && b->shape[b->ndim - i] != a->shape[a->ndim - i])
            return false;
    return true;
}

static bool ox_same_shape(const ox_val_t *a, const ox_val_t *b)
{
    return a->ndim == b->ndim && !memcmp(a->shape, b->shape, sizeof a->shape);
}

/* ---- elementwise ---------------------------------------------------------------- */

/* Opset 6's broadcasting: with broadcast 1 and an axis, b's dims line up
 * with a's from that axis on, so b (a copy, its variable set) gets trailing
 * extents of 1 by a reshape. */
static trine_status_t ox_legacy(ox_t *c, const ox_val_t *a, ox_val_t *b)
{
    int64_t bc, axis;
    trine_status_t st;
    if ((st = ox_int(c, "broadcast", 0, &bc)) || (st = ox_int(c, "axis", -1, &axis)))
        return st;
    if (!bc || !ox_attr(c, "axis"))
        return TRINE_OK;
    if (axis < 0)
        axis += a->rank;
    int r = a->rank - (int)axis;
    if (axis < 0 || r < b->rank || r > TENSOR_MAX_DIMS)
        return ox_fail(c, TRINE_EFORMAT, "axis %lld does not place B (rank %d) in A (rank %d)",
                       (long long)axis, b->rank, a->rank);
    if (r == b->rank)
        return TRINE_OK;
    size_t shape[TENSOR_MAX_DIMS] = {1, 1, 1, 1};
    memcpy(shape, b->shape, (size_t)b->ndim * sizeof *shape);
    bool batch0;
    b->var = ox_reshape(c, b, r, shape, &batch0);
    if (b->var < 0)
        return TRINE_EUNSUPPORTED;
    ox_shape_from_var(c, b, r);
    return TRINE_OK;
}

/* The two operands of an elementwise node, as copies with their variables
 * (b aligned as opset 6 says). */
static trine_status_t ox_pair(ox_t *c, ox_val_t *a, ox_val_t *b)
{
    ox_val_t *pa, *pb;
    trine_status_t st;
    if ((st = ox_known(c, "broadcast", "axis", NULL)) || (st = ox_arity(c, 2, 2, 1)) ||
        (st = ox_in(c, 0, false, &pa)) || (st = ox_in(c, 1, false, &pb)))
        return st;
    *a = *pa, *b = *pb;
    if ((a->var = ox_var(c, pa)) < 0 || (b->var = ox_var(c, pb)) < 0)
        return TRINE_EUNSUPPORTED;
    return ox_legacy(c, a, b);
}

static trine_status_t ox_add_sub(ox_t *c, bool sub)
{
    ox_val_t av, bv, *a = &av, *b = &bv;
    trine_status_t st;
    if ((st = ox_pair(c, a, b)))
        return st;
    int va = a->var, vb = b->var;
    prog_opcode_t code = sub ? PROG_SUB : PROG_ADD;
    if (ox_broadcasts(b, a))
        return ox_define(c, 0, ox_op2(c, code, va, vb), a->rank, a->batch0);
    if (ox_broadcasts(a, b)) {
        int r = ox_op2(c, code, vb, va);
        if (sub && r >= 0)
            r = ox_scale(c, r, -1.0);
        return ox_define(c, 0, r, b->rank, b->batch0);
    }
    char da[LOG_SHAPE_CHARS], db[LOG_SHAPE_CHARS];
    return ox_fail(c, TRINE_EUNSUPPORTED,
                   "operands %s and %s: broadcasting both operands is not supported (one must "
                   "broadcast to the other)",
                   log_shape(da, a->ndim, a->shape), log_shape(db, b->ndim, b->shape));
}

/* a * b, one broadcasting to the other: a broadcast operand is first
 * expanded (zeros of the other's shape plus it), then multiplied. */
static int ox_mul_vars(ox_t *c, ox_val_t *a, int va, ox_val_t *b, int vb, bool *batch0, int *rank)
{
    if (!ox_same_shape(a, b) && !ox_broadcasts(b, a)) {
        ox_val_t *t = a;
        a = b, b = t;
        int tv = va;
        va = vb, vb = tv;
    }
    *batch0 = a->batch0;
    *rank = a->rank > b->rank ? a->rank : b->rank;
    if (ox_same_shape(a, b))
        return ox_op2(c, PROG_MUL, va, vb);
    if (!ox_broadcasts(b, a)) {
        char da[LOG_SHAPE_CHARS], db[LOG_SHAPE_CHARS];
        ox_fail(c, TRINE_EUNSUPPORTED,
                "operands %s and %s: broadcasting both operands is not supported (one must "
                "broadcast to the other)",
                log_shape(da, a->ndim, a->shape), log_shape(db, b->ndim, b->shape));
        return -1;
    }
    int zeros = ox_scale(c, va, 0.0);
    int wide = zeros < 0 ? -1 : ox_op2(c, PROG_ADD, zeros, vb);
    return wide < 0 ? -1 : ox_op2(c, PROG_MUL, va, wide);
}

static trine_status_t ox_mul(ox_t *c)
{
    ox_val_t a, b;
    trine_status_t st;
    if ((st = ox_pair(c, &a, &b)))
        return st;
    bool batch0 = false;
    int rank;
    int r = ox_mul_vars(c, &a, a.var, &b, b.var, &batch0, &rank);
    return ox_define(c, 0, r, rank, batch0);
}

/* a / b for a constant b: a times a weight holding 1 / b. */
static trine_status_t ox_div(ox_t *c)
{
    ox_val_t *a, *b;
    trine_status_t st;
    if ((st = ox_known(c, "broadcast", "axis", NULL)) || (st = ox_arity(c, 2, 2, 1)) ||
        (st = ox_in(c, 0, false, &a)) || (st = ox_in(c, 1, false, &b)))
        return st;
    if (!b->constant)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "the divisor '%s' is not a constant (trine divides by initializers and "
                       "Constant tensors)",
                       b->name);
    plain_t *recip = NULL;
    if (b->data) {
        if (!(recip = ox_real_copy(b->data)))
            return ox_nomem(c);
        for (size_t i = 0; i < recip->count; i++) {
            if (recip->real[i] == 0) {
                plain_destroy(&recip);
                return ox_fail(c, TRINE_ERANGE, "the divisor '%s' has a zero", b->name);
            }
            recip->real[i] = 1.0 / recip->real[i];
        }
    }
    int vb = ox_new_weight(c, b->name, ".recip", b->ndim, b->shape, recip);
    int va = ox_var(c, a);
    if (va < 0 || vb < 0)
        return TRINE_EUNSUPPORTED;
    ox_val_t rb = *b;
    rb.var = vb;
    if ((st = ox_legacy(c, a, &rb)))
        return st;
    bool batch0 = false;
    int rank;
    int r = ox_mul_vars(c, a, va, &rb, rb.var, &batch0, &rank);
    return ox_define(c, 0, r, rank, batch0);
}

static trine_status_t ox_unary(ox_t *c, prog_opcode_t code, int64_t iattr0)
{
    ox_val_t *a;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 1, 1, 1)) || (st = ox_in(c, 0, false, &a)))
        return st;
    int va = ox_var(c, a);
    if (va < 0)
        return TRINE_EUNSUPPORTED;
    int r = ox_emit(c, (prog_op_t){.code = code, .in = {va, -1}, .iattr = {iattr0}});
    return ox_define(c, 0, r, a->rank, a->batch0);
}

static trine_status_t ox_identity(ox_t *c)
{
    ox_val_t *a;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 1, 1, 1)) || (st = ox_in(c, 0, false, &a)))
        return st;
    return ox_alias(c, a);
}

static trine_status_t ox_dropout(ox_t *c)
{
    ox_val_t *a, *mode;
    trine_status_t st;
    if ((st = ox_known(c, "ratio", "seed", "is_test", NULL)) || (st = ox_arity(c, 1, 3, 1)) ||
        (st = ox_in(c, 0, false, &a)) || (st = ox_in(c, 2, true, &mode)))
        return st;
    if (mode && (!mode->data || mode->data->count != 1 ||
                 (mode->data->ints ? mode->data->ints[0] != 0 : mode->data->real[0] != 0)))
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "training_mode must be a constant false (trine runs inference)");
    return ox_alias(c, a);
}

/* ---- matrix products -------------------------------------------------------------- */

static trine_status_t ox_matmul(ox_t *c)
{
    ox_val_t *a, *b;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 2, 2, 1)) || (st = ox_in(c, 0, false, &a)) ||
        (st = ox_in(c, 1, false, &b)))
        return st;
    if (a->rank != 2 || b->rank != 2)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "operands of rank %d and %d: trine multiplies 2-D matrices (no batched or "
                       "vector MatMul)",
                       a->rank, b->rank);
    int va = ox_var(c, a), vb = ox_var(c, b);
    if (va < 0 || vb < 0)
        return TRINE_EUNSUPPORTED;
    return ox_define(c, 0, ox_op2(c, PROG_MATMUL, va, vb), 2, a->batch0);
}

/* The folding of BatchNormalization node bn into a layer with out_ch output
 * channels: per channel, scale s = gamma / sqrt(var + eps) and shift
 * beta - mean s (NULL values when trine keeps them). */
typedef struct {
    plain_t *s, *t;
} ox_bn_t;

static trine_status_t ox_bn_params(ox_t *c, const Onnx__NodeProto *bn, size_t channels, ox_bn_t *f)
{
    *f = (ox_bn_t){0};
    ox_val_t *p[4];
    for (int k = 0; k < 4; k++) {
        p[k] = ox_find(c, bn->input[k + 1]);
        if (!p[k] || !p[k]->constant || ox_count(p[k]->ndim, p[k]->shape) != channels)
            return ox_fail(c, TRINE_EUNSUPPORTED,
                           "BatchNormalization's scale, B, mean and var must be initializers of "
                           "%zu values (trine folds them into weights)",
                           channels);
    }
    double eps = 1e-5;
    for (size_t i = 0; i < bn->n_attribute; i++)
        if (!strcmp(ox_str(bn->attribute[i]->name), "epsilon"))
            eps = bn->attribute[i]->f;
    if (!p[0]->data)
        return TRINE_OK;
    size_t shape[1] = {channels};
    f->s = plain_alloc(PLAIN_F8, 1, shape);
    f->t = plain_alloc(PLAIN_F8, 1, shape);
    if (!f->s || !f->t) {
        plain_destroy(&f->s);
        plain_destroy(&f->t);
        return ox_nomem(c);
    }
    for (size_t i = 0; i < channels; i++) {
        double g = p[0]->data->real[i], beta = p[1]->data->real[i];
        double mean = p[2]->data->real[i], var = p[3]->data->real[i];
        f->s->real[i] = g / sqrt(var + eps);
        f->t->real[i] = beta - mean * f->s->real[i];
    }
    return TRINE_OK;
}

static void ox_bn_clear(ox_bn_t *f)
{
    plain_destroy(&f->s);
    plain_destroy(&f->t);
}

/* Starts folding BatchNormalization node bn into a layer with weight w,
 * bias b (may be NULL) and n output channels: *f its per-channel scale and
 * shift, *ww a copy of w's values and *wb n zeros for the new bias, all
 * NULL when trine keeps the values. */
static trine_status_t ox_fold_begin(ox_t *c, int bn, const ox_val_t *w, const ox_val_t *b, size_t n,
                                    ox_bn_t *f, plain_t **ww, plain_t **wb)
{
    *ww = *wb = NULL;
    trine_status_t st = ox_bn_params(c, c->m->proto->graph->node[bn], n, f);
    if (st || !f->s)
        return st;
    size_t shape[1] = {n};
    if (!w->data || (b && !b->data))
        st = ox_fail(c, TRINE_EFORMAT, "the weights must hold values to fold into");
    else if (!(*ww = ox_real_copy(w->data)) || !(*wb = plain_alloc(PLAIN_F8, 1, shape)))
        st = ox_nomem(c);
    if (st) {
        plain_destroy(ww);
        plain_destroy(wb);
        ox_bn_clear(f);
    }
    return st;
}

/* Checks a BatchNormalization node's own attributes and outputs. */
static trine_status_t ox_bn_check(ox_t *c, const Onnx__NodeProto *bn)
{
    const Onnx__NodeProto *saved = c->n;
    c->n = bn;
    int64_t spatial, training, test;
    trine_status_t st;
    if ((st = ox_known(c, "epsilon", "momentum", "spatial", "training_mode", "is_test", NULL)) ||
        (st = ox_arity(c, 5, 5, 1)) || (st = ox_int(c, "spatial", 1, &spatial)) ||
        (st = ox_int(c, "training_mode", 0, &training)) || (st = ox_int(c, "is_test", 1, &test)))
        ;
    else if (spatial != 1 || training != 0 || test != 1)
        st = ox_fail(c, TRINE_EUNSUPPORTED, "%s is not supported (inference with spatial 1 only)",
                     spatial != 1 ? "spatial 0" : "training mode");
    c->n = saved;
    return st;
}

/* Gemm: alpha op(A) op(B) + beta C. Folding a BatchNormalization after it
 * scales B's output columns and makes C's shift a new weight. */
static trine_status_t ox_gemm(ox_t *c)
{
    ox_val_t *a, *b, *cc;
    int64_t ta, tb;
    double alpha, beta;
    trine_status_t st;
    if ((st = ox_known(c, "alpha", "beta", "broadcast", "transA", "transB", NULL)) ||
        (st = ox_arity(c, 2, 3, 1)) || (st = ox_in(c, 0, false, &a)) ||
        (st = ox_in(c, 1, false, &b)) || (st = ox_in(c, 2, true, &cc)) ||
        (st = ox_int(c, "transA", 0, &ta)) || (st = ox_int(c, "transB", 0, &tb)) ||
        (st = ox_float(c, "alpha", 1.0, &alpha)) || (st = ox_float(c, "beta", 1.0, &beta)))
        return st;
    if (a->rank != 2 || b->rank != 2)
        return ox_fail(c, TRINE_EUNSUPPORTED, "A and B must be 2-D, not of rank %d and %d", a->rank,
                       b->rank);
    int bn = c->fold[c->node];
    size_t out_n = tb ? b->shape[0] : b->shape[1];
    int va = ox_var(c, a), vb, vc = -1;
    if (bn < 0) {
        vb = ox_var(c, b);
        if (cc)
            vc = ox_var(c, cc);
    } else {
        ox_bn_t f;
        plain_t *wb, *wc;
        size_t cshape[1] = {out_n};
        if ((st = ox_fold_begin(c, bn, b, cc, out_n, &f, &wb, &wc)))
            return st;
        if (f.s) {
            for (size_t i = 0; i < wb->count; i++)
                wb->real[i] *= alpha * f.s->real[tb ? i / b->shape[1] : i % b->shape[1]];
            for (size_t j = 0; j < out_n; j++) {
                double cj = cc ? cc->data->real[cc->data->count == 1 ? 0 : j] : 0;
                wc->real[j] = beta * cj * f.s->real[j] + f.t->real[j];
            }
        }
        ox_bn_clear(&f);
        vb = ox_new_weight(c, b->name, ".bn", b->ndim, b->shape, wb);
        vc = ox_new_weight(c, cc ? cc->name : b->name, cc ? ".bn" : ".bnshift", 1, cshape, wc);
        alpha = beta = 1.0;
        cc = NULL;
    }
    if (va < 0 || vb < 0 || (bn >= 0 && vc < 0) || (cc && vc < 0))
        return TRINE_EUNSUPPORTED;
    int y =
        ox_emit(c, (prog_op_t){.code = PROG_MATMUL, .in = {va, vb}, .iattr = {ta != 0, tb != 0}});
    if (y >= 0 && alpha != 1.0)
        y = ox_scale(c, y, alpha);
    if (y >= 0 && vc >= 0) {
        if (beta != 1.0)
            vc = ox_scale(c, vc, beta);
        y = vc < 0 ? -1 : ox_op2(c, PROG_ADD, y, vc);
    }
    if (bn >= 0)
        c->folded_out = c->m->proto->graph->node[bn]->output[0];
    return ox_define(c, 0, y, 2, a->batch0 && !ta);
}

/* ---- convolution and pooling ------------------------------------------------------ */

/* The spatial geometry of a Conv or pool node over value x (rank 3 or 4):
 * kernel, strides and pads (begin, end) per spatial axis, from the
 * attributes. A 1-D node has one spatial axis. */
typedef struct {
    int sd; /* spatial axes: 1 or 2 */
    size_t in[2], k[2], s[2], pb[2], pe[2];
} ox_geom_t;

static trine_status_t ox_geometry(ox_t *c, const ox_val_t *x, const size_t *kernel, bool ceil_ok,
                                  ox_geom_t *g)
{
    if (x->rank != 3 && x->rank != 4)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "input of rank %d: trine handles 1-D and 2-D (rank 3 and 4) inputs",
                       x->rank);
    g->sd = x->rank - 2;
    int64_t v[4];
    size_t n;
    trine_status_t st;
    if ((st = ox_ints(c, "dilations", g->sd, v, 4, &n)))
        return st;
    for (size_t i = 0; i < n; i++)
        if (v[i] != 1)
            return ox_fail(c, TRINE_EUNSUPPORTED, "dilations other than 1 are not supported");
    for (int i = 0; i < g->sd; i++) {
        g->in[i] = x->shape[2 + i];
        g->k[i] = kernel[i];
        g->s[i] = 1;
        g->pb[i] = g->pe[i] = 0;
    }
    if ((st = ox_ints(c, "strides", g->sd, v, 4, &n)))
        return st;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 1 || v[i] > 1 << 20)
            return ox_fail(c, TRINE_EUNSUPPORTED, "strides must be 1 or more");
        g->s[i] = (size_t)v[i];
    }
    char pad[32];
    ox_string(c, "auto_pad", pad, sizeof pad);
    if ((st = ox_ints(c, "pads", 2 * g->sd, v, 4, &n)))
        return st;
    if (n && pad[0] && strcmp(pad, "NOTSET"))
        return ox_fail(c, TRINE_EFORMAT, "pads and auto_pad %s are both given", pad);
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] > 1 << 20)
            return ox_fail(c, TRINE_EUNSUPPORTED, "pads must be 0 or more");
    for (int i = 0; i < g->sd && n; i++) {
        g->pb[i] = (size_t)v[i];
        g->pe[i] = (size_t)v[g->sd + i];
    }
    bool upper = !strcmp(pad, "SAME_UPPER"), lower = !strcmp(pad, "SAME_LOWER");
    if (pad[0] && strcmp(pad, "NOTSET") && strcmp(pad, "VALID") && !upper && !lower)
        return ox_fail(c, TRINE_EFORMAT, "auto_pad '%s' is not an ONNX value", pad);
    for (int i = 0; i < g->sd && (upper || lower); i++) {
        size_t out = (g->in[i] + g->s[i] - 1) / g->s[i];
        size_t need = (out - 1) * g->s[i] + g->k[i];
        size_t total = need > g->in[i] ? need - g->in[i] : 0;
        g->pb[i] = upper ? total / 2 : total - total / 2;
        g->pe[i] = total - g->pb[i];
    }
    int64_t ceil_mode;
    if ((st = ox_int(c, "ceil_mode", 0, &ceil_mode)))
        return st;
    for (int i = 0; i < g->sd && ceil_mode; i++) {
        if (!ceil_ok)
            return ox_fail(c, TRINE_EUNSUPPORTED,
                           "ceil_mode 1 with count_include_pad 1 is not supported");
        size_t span = g->in[i] + g->pb[i] + g->pe[i];
        if (span < g->k[i])
            break;
        size_t out = (span - g->k[i] + g->s[i] - 1) / g->s[i] + 1;
        if ((out - 1) * g->s[i] >= g->in[i] + g->pb[i])
            out--;
        size_t need = (out - 1) * g->s[i] + g->k[i];
        if (need > span)
            g->pe[i] += need - span;
    }
    return TRINE_OK;
}

/* x lifted to 4-D NCHW (a 1-D input becomes [N, C, 1, W]); *lifted the
 * variable. */
static int ox_lift(ox_t *c, ox_val_t *x, int var)
{
    if (x->rank == 4)
        return var;
    ox_val_t v = *x;
    v.var = var;
    size_t shape[4] = {x->shape[0], x->shape[1], 1, x->shape[2]};
    bool batch0 = false;
    return ox_reshape(c, &v, 4, shape, &batch0);
}

/* The node's 4-D result r back at rank 3 when the node is 1-D. */
static trine_status_t ox_define_spatial(ox_t *c, const ox_geom_t *g, int r, bool batch0)
{
    if (r < 0)
        return TRINE_EUNSUPPORTED;
    if (g->sd == 2)
        return ox_define(c, 0, r, 4, batch0);
    ox_val_t v = {.var = r, .batch0 = batch0};
    ox_shape_from_var(c, &v, 4);
    size_t shape[3] = {v.shape[0], v.shape[1], v.shape[3]};
    bool b0;
    int flat = ox_reshape(c, &v, 3, shape, &b0);
    return ox_define(c, 0, flat, 3, b0);
}

/* conv iattr: {sh, pt, sw, pl, pb, pr}; pool: {kh, sh, kw, sw, pt, pl, pb, pr}. */
static void ox_geom_axes(const ox_geom_t *g, size_t *k, size_t *s, size_t *pb, size_t *pe)
{
    int h = g->sd == 2 ? 0 : -1, w = g->sd - 1;
    k[0] = h < 0 ? 1 : g->k[h], k[1] = g->k[w];
    s[0] = h < 0 ? 1 : g->s[h], s[1] = g->s[w];
    pb[0] = h < 0 ? 0 : g->pb[h], pb[1] = g->pb[w];
    pe[0] = h < 0 ? 0 : g->pe[h], pe[1] = g->pe[w];
}

static trine_status_t ox_conv(ox_t *c)
{
    ox_val_t *x, *w, *b;
    int64_t group, ks[4];
    size_t nks;
    trine_status_t st;
    if ((st = ox_known(c, "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides",
                       NULL)) ||
        (st = ox_arity(c, 2, 3, 1)) || (st = ox_in(c, 0, false, &x)) ||
        (st = ox_in(c, 1, false, &w)) || (st = ox_in(c, 2, true, &b)) ||
        (st = ox_int(c, "group", 1, &group)) || (st = ox_ints(c, "kernel_shape", -1, ks, 4, &nks)))
        return st;
    if (group != 1)
        return ox_fail(c, TRINE_EUNSUPPORTED, "group %lld is not supported (only group 1)",
                       (long long)group);
    if (w->rank != x->rank)
        return ox_fail(c, TRINE_EUNSUPPORTED, "W has rank %d, X rank %d", w->rank, x->rank);
    size_t kernel[2] = {w->shape[2], x->rank == 4 ? w->shape[3] : 1};
    for (size_t i = 0; i < nks; i++)
        if (ks[i] != (int64_t)kernel[i])
            return ox_fail(c, TRINE_EFORMAT, "kernel_shape does not match W's dims");
    ox_geom_t g;
    if ((st = ox_geometry(c, x, kernel, false, &g)))
        return st;
    size_t oc = w->shape[0];
    int bn = c->fold[c->node];
    int vx = ox_var(c, x), vw, vb = -1;
    if (bn < 0) {
        vw = ox_var(c, w);
        if (b)
            vb = ox_var(c, b);
    } else {
        ox_bn_t f;
        plain_t *ww, *wb;
        size_t bshape[1] = {oc};
        if ((st = ox_fold_begin(c, bn, w, b, oc, &f, &ww, &wb)))
            return st;
        if (f.s) {
            size_t per = ww->count / oc;
            for (size_t i = 0; i < ww->count; i++)
                ww->real[i] *= f.s->real[i / per];
            for (size_t j = 0; j < oc; j++)
                wb->real[j] = (b ? b->data->real[j] : 0) * f.s->real[j] + f.t->real[j];
        }
        ox_bn_clear(&f);
        vw = ox_new_weight(c, w->name, ".bn", w->ndim, w->shape, ww);
        vb = ox_new_weight(c, b ? b->name : w->name, b ? ".bn" : ".bnshift", 1, bshape, wb);
    }
    if (vx < 0 || vw < 0 || ((b || bn >= 0) && vb < 0))
        return TRINE_EUNSUPPORTED;
    int x4 = ox_lift(c, x, vx);
    int w4 = x4 < 0 ? -1 : ox_lift(c, w, vw);
    if (w4 < 0)
        return TRINE_EUNSUPPORTED;
    size_t k[2], s[2], pb[2], pe[2];
    ox_geom_axes(&g, k, s, pb, pe);
    int y = ox_emit(c, (prog_op_t){.code = PROG_CONV2D,
                                   .in = {x4, w4},
                                   .iattr = {(int64_t)s[0], (int64_t)pb[0], (int64_t)s[1],
                                             (int64_t)pb[1], (int64_t)pe[0], (int64_t)pe[1]}});
    if (y >= 0 && vb >= 0) {
        ox_val_t bv = {.var = vb};
        ox_shape_from_var(c, &bv, 1);
        size_t shape[3] = {oc, 1, 1};
        bool b0;
        int b3 = ox_reshape(c, &bv, 3, shape, &b0);
        y = b3 < 0 ? -1 : ox_op2(c, PROG_ADD, y, b3);
    }
    if (bn >= 0)
        c->folded_out = c->m->proto->graph->node[bn]->output[0];
    return ox_define_spatial(c, &g, y, x->batch0);
}

static trine_status_t ox_pool(ox_t *c, prog_opcode_t code)
{
    ox_val_t *x;
    int64_t ks[4], include = 0, order = 0;
    size_t nks;
    trine_status_t st;
    bool max = code == PROG_MAXPOOL;
    if ((st = max ? ox_known(c, "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                             "storage_order", "strides", NULL)
                  : ox_known(c, "auto_pad", "ceil_mode", "count_include_pad", "kernel_shape",
                             "pads", "strides", NULL)) ||
        (st = ox_arity(c, 1, 1, 1)) || (st = ox_in(c, 0, false, &x)) ||
        (st = ox_ints(c, "kernel_shape", x->rank - 2, ks, 4, &nks)) ||
        (st = ox_int(c, "count_include_pad", 0, &include)) ||
        (st = ox_int(c, "storage_order", 0, &order)))
        return st;
    if (!nks)
        return ox_fail(c, TRINE_EFORMAT, "kernel_shape is missing");
    size_t kernel[2];
    for (size_t i = 0; i < nks; i++) {
        if (ks[i] < 1 || ks[i] > 1 << 20)
            return ox_fail(c, TRINE_EFORMAT, "kernel_shape must be 1 or more");
        kernel[i] = (size_t)ks[i];
    }
    ox_geom_t g;
    if ((st = ox_geometry(c, x, kernel, !include, &g)))
        return st;
    int vx = ox_var(c, x);
    int x4 = vx < 0 ? -1 : ox_lift(c, x, vx);
    if (x4 < 0)
        return TRINE_EUNSUPPORTED;
    size_t k[2], s[2], pb[2], pe[2];
    ox_geom_axes(&g, k, s, pb, pe);
    int y = ox_emit(c, (prog_op_t){.code = code,
                                   .in = {x4, -1},
                                   .iattr = {(int64_t)k[0], (int64_t)s[0], (int64_t)k[1],
                                             (int64_t)s[1], (int64_t)pb[0], (int64_t)pb[1],
                                             (int64_t)pe[0], (int64_t)pe[1], include != 0}});
    return ox_define_spatial(c, &g, y, x->batch0);
}

static trine_status_t ox_global_avg(ox_t *c)
{
    ox_val_t *x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 1, 1, 1)) || (st = ox_in(c, 0, false, &x)))
        return st;
    if (x->rank != 3 && x->rank != 4)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "input of rank %d: trine handles 1-D and 2-D (rank 3 and 4) inputs",
                       x->rank);
    ox_geom_t g = {.sd = x->rank - 2};
    int vx = ox_var(c, x);
    int x4 = vx < 0 ? -1 : ox_lift(c, x, vx);
    if (x4 < 0)
        return TRINE_EUNSUPPORTED;
    size_t kh = x->rank == 4 ? x->shape[2] : 1, kw = x->shape[x->rank - 1];
    int y = ox_emit(c, (prog_op_t){.code = PROG_AVGPOOL,
                                   .in = {x4, -1},
                                   .iattr = {(int64_t)kh, 1, (int64_t)kw, 1, 0, 0, 0, 0, 1}});
    return ox_define_spatial(c, &g, y, x->batch0);
}

/* ---- shapes --------------------------------------------------------------------- */

static trine_status_t ox_flatten(ox_t *c)
{
    ox_val_t *x;
    int64_t axis;
    trine_status_t st;
    if ((st = ox_known(c, "axis", NULL)) || (st = ox_arity(c, 1, 1, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_int(c, "axis", 1, &axis)))
        return st;
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return ox_fail(c, TRINE_EFORMAT, "axis %lld is outside rank %d", (long long)axis, x->rank);
    size_t shape[2] = {ox_count((int)axis, x->shape),
                       ox_count(x->ndim - (int)axis, x->shape + axis)};
    ox_val_t v = *x;
    v.var = ox_var(c, x);
    bool batch0 = false;
    int r = v.var < 0 ? -1 : ox_reshape(c, &v, 2, shape, &batch0);
    return ox_define(c, 0, r, 2, batch0);
}

static trine_status_t ox_reshape_node(ox_t *c)
{
    ox_val_t *x, *sh;
    int64_t allowzero;
    trine_status_t st;
    if ((st = ox_known(c, "allowzero", NULL)) || (st = ox_arity(c, 2, 2, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_in(c, 1, false, &sh)) ||
        (st = ox_int(c, "allowzero", 0, &allowzero)))
        return st;
    if (!sh->data || !sh->data->ints)
        return ox_fail(c, TRINE_EUNSUPPORTED, "the shape '%s' must be a constant INT64 tensor",
                       sh->name);
    size_t n = sh->rank ? sh->data->count : 0;
    if (n < 1 || n > TENSOR_MAX_DIMS)
        return ox_fail(c, TRINE_EUNSUPPORTED, "a target of rank %zu (trine: 1 to %d)", n,
                       TENSOR_MAX_DIMS);
    size_t shape[TENSOR_MAX_DIMS], known = 1, total = ox_count(x->ndim, x->shape);
    int infer = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t d = (int64_t)sh->data->ints[i];
        if (d == 0 && !allowzero && i < (size_t)x->rank)
            d = (int64_t)x->shape[i];
        if (d == -1 && infer < 0) {
            infer = (int)i;
            shape[i] = 1;
            continue;
        }
        if (d < 1)
            return ox_fail(c, TRINE_EUNSUPPORTED, "target extent %lld is not supported",
                           (long long)d);
        shape[i] = (size_t)d;
        known *= shape[i];
    }
    if (infer >= 0 && known && total % known == 0)
        shape[infer] = total / known;
    if (ox_count((int)n, shape) != total)
        return ox_fail(c, TRINE_EFORMAT, "cannot reshape %zu values to that shape", total);
    int vx = ox_var(c, x);
    bool batch0 = false;
    ox_val_t v = *x;
    v.var = vx;
    int r = vx < 0 ? -1 : ox_reshape(c, &v, (int)n, shape, &batch0);
    return ox_define(c, 0, r, (int)n, batch0);
}

/* Emits a transpose of value x (variable vx) by perm; *batch0 for the result. */
static int ox_permute(ox_t *c, const ox_val_t *x, int vx, const int64_t *perm, bool *batch0)
{
    bool identity = true;
    for (int i = 0; i < x->rank; i++)
        identity = identity && perm[i] == i;
    *batch0 = x->batch0 && perm[0] == 0;
    if (identity)
        return vx;
    if (x->batch0 && perm[0] != 0)
        c->out->rows_independent = false;
    prog_op_t op = {.code = PROG_TRANSPOSE, .in = {vx, -1}, .ndim = x->rank};
    for (int i = 0; i < x->rank; i++)
        op.shape[i] = (size_t)perm[i];
    return ox_emit(c, op);
}

static trine_status_t ox_transpose(ox_t *c)
{
    ox_val_t *x;
    int64_t perm[TENSOR_MAX_DIMS];
    size_t n;
    trine_status_t st;
    if ((st = ox_known(c, "perm", NULL)) || (st = ox_arity(c, 1, 1, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_ints(c, "perm", x->rank, perm, 4, &n)))
        return st;
    for (int i = 0; !n && i < x->rank; i++)
        perm[i] = x->rank - 1 - i;
    unsigned seen = 0;
    for (int i = 0; i < x->rank; i++) {
        if (perm[i] < 0 || perm[i] >= x->rank || (seen & 1u << perm[i]))
            return ox_fail(c, TRINE_EFORMAT, "perm is not a permutation of the %d axes", x->rank);
        seen |= 1u << perm[i];
    }
    int vx = ox_var(c, x);
    bool batch0 = false;
    int r = vx < 0 ? -1 : ox_permute(c, x, vx, perm, &batch0);
    if (r == vx && r >= 0)
        return ox_alias(c, x);
    return ox_define(c, 0, r, x->rank, batch0);
}

/* ---- outputs: ArgMax and Softmax ------------------------------------------------- */

/* True when the current node's output 0 is a graph output read by nothing
 * else. */
static bool ox_at_output(ox_t *c)
{
    const Onnx__GraphProto *g = c->m->proto->graph;
    const char *name = c->n->output[0];
    bool output = false;
    for (size_t i = 0; i < g->n_output; i++)
        output = output || !strcmp(ox_str(g->output[i]->name), name);
    for (size_t i = c->node + 1; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++)
            if (!strcmp(g->node[i]->input[k], name))
                return false;
    return output;
}

/* The index of the maximum of x along axis (flat: over the dims from axis
 * on), as a variable shaped like x without that axis (keepdims: with it
 * as 1); *rank the ONNX rank of the result. */
static int ox_argmax_axis(ox_t *c, ox_val_t *x, int axis, bool flat, bool keepdims, int *rank,
                          bool *batch0)
{
    int vx = ox_var(c, x);
    if (vx < 0)
        return -1;
    int64_t perm[TENSOR_MAX_DIMS];
    int r = x->rank ? x->rank : 1, k = 0;
    for (int i = 0; i < r; i++)
        if (i != axis)
            perm[k++] = i;
    perm[k] = axis;
    ox_val_t v = *x;
    v.rank = r;
    size_t rows = 1, len = 1, out[TENSOR_MAX_DIMS];
    int nout = 0;
    for (int i = 0; i < r; i++) {
        if (flat ? i >= axis : i == axis)
            len *= x->shape[i];
        else
            rows *= x->shape[i];
        if (flat ? i < axis : i != axis)
            out[nout++] = x->shape[i];
        else if (keepdims && (!flat || i == axis))
            out[nout++] = 1;
    }
    if (!flat && axis != r - 1) {
        if ((v.var = ox_permute(c, &v, vx, perm, &v.batch0)) < 0)
            return -1;
        ox_shape_from_var(c, &v, r);
    } else {
        v.var = vx;
    }
    size_t two[2] = {rows, len};
    bool b0 = v.batch0;
    if (v.rank != 2 || v.shape[1] != len) {
        int m = ox_reshape(c, &v, 2, two, &b0);
        if (m < 0)
            return -1;
        v.var = m;
        ox_shape_from_var(c, &v, 2);
        v.batch0 = b0;
    }
    int y = ox_op1(c, PROG_ARGMAX, v.var);
    *rank = nout;
    *batch0 = v.batch0;
    if (y < 0 || nout == 1)
        return y;
    ox_val_t yv = {.var = y, .batch0 = v.batch0};
    ox_shape_from_var(c, &yv, 1);
    if (!nout)
        return y;
    return ox_reshape(c, &yv, nout, out, batch0);
}

static trine_status_t ox_argmax(ox_t *c)
{
    ox_val_t *x;
    int64_t axis, keep, last;
    trine_status_t st;
    if ((st = ox_known(c, "axis", "keepdims", "select_last_index", NULL)) ||
        (st = ox_arity(c, 1, 1, 1)) || (st = ox_in(c, 0, false, &x)) ||
        (st = ox_int(c, "axis", 0, &axis)) || (st = ox_int(c, "keepdims", 1, &keep)) ||
        (st = ox_int(c, "select_last_index", 0, &last)))
        return st;
    if (last)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "select_last_index 1 is not supported (trine takes the first maximum)");
    if (!ox_at_output(c))
        return ox_fail(c, TRINE_EUNSUPPORTED, "ArgMax is supported only as a graph output");
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis >= (x->rank ? x->rank : 1))
        return ox_fail(c, TRINE_EFORMAT, "axis is outside rank %d", x->rank);
    int rank;
    bool batch0 = false;
    int y = ox_argmax_axis(c, x, (int)axis, false, keep != 0, &rank, &batch0);
    return ox_define(c, 0, y, rank, batch0);
}

static trine_status_t ox_softmax(ox_t *c)
{
    ox_val_t *x;
    int64_t axis;
    trine_status_t st;
    bool flat = c->m->opset < 13;
    if ((st = ox_known(c, "axis", NULL)) || (st = ox_arity(c, 1, 1, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_int(c, "axis", flat ? 1 : -1, &axis)))
        return st;
    if (!ox_at_output(c))
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "Softmax is supported only as a graph output (argmax-only semantics)");
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis >= (x->rank ? x->rank : 1))
        return ox_fail(c, TRINE_EFORMAT, "axis is outside rank %d", x->rank);
    int rank;
    bool batch0 = false;
    int y = ox_argmax_axis(c, x, (int)axis, flat, false, &rank, &batch0);
    if ((st = ox_define(c, 0, y, rank, batch0)))
        return st;
    onnx_io_t *o = NULL;
    const Onnx__GraphProto *g = c->m->proto->graph;
    for (size_t i = 0; i < g->n_output && i < ONNX_IO_MAX; i++)
        if (!strcmp(ox_str(g->output[i]->name), c->n->output[0]))
            o = &c->out->outputs[i];
    if (o) {
        o->argmax_axis = (int)axis;
        o->argmax_flat = flat;
    }
    return TRINE_OK;
}

/* ---- constants and batch normalization --------------------------------------------- */

/* Makes v a constant whose values trine keeps under prefix (t's dims). */
static trine_status_t ox_held(ox_t *c, ox_val_t *v, const Onnx__TensorProto *t, const char *prefix,
                              const char *what)
{
    if (t->n_dims < 1 || t->n_dims > TENSOR_MAX_DIMS)
        return trine_err_set(c->err, TRINE_EUNSUPPORTED, "%s: rank %zu", what, t->n_dims);
    if (c->out->stored[0] && strcmp(c->out->stored, prefix))
        return trine_err_set(c->err, TRINE_EFORMAT,
                             "%s: weights kept under two prefixes, '%s' and '%s'", what,
                             c->out->stored, prefix);
    if (!prefix[0] || strlen(prefix) >= sizeof c->out->stored / 2 || !wire_name_valid(prefix))
        return trine_err_set(c->err, TRINE_EFORMAT, "%s: '%s' is not a tensor prefix", what,
                             prefix);
    snprintf(c->out->stored, sizeof c->out->stored, "%s", prefix);
    v->constant = true;
    v->rank = v->ndim = (int)t->n_dims;
    for (int k = 0; k < TENSOR_MAX_DIMS; k++) {
        if (k < v->rank && (t->dims[k] < 1 || t->dims[k] > (int64_t)1 << 40))
            return trine_err_set(c->err, TRINE_EFORMAT, "%s: dimension %d is %lld", what, k,
                                 (long long)t->dims[k]);
        v->shape[k] = k < v->rank ? (size_t)t->dims[k] : 1;
    }
    return TRINE_OK;
}

static trine_status_t ox_constant(ox_t *c)
{
    trine_status_t st;
    if ((st = ox_arity(c, 0, 0, 1)))
        return st;
    if (c->n->n_attribute != 1)
        return ox_fail(c, TRINE_EFORMAT, "needs exactly one value attribute");
    const Onnx__AttributeProto *a = c->n->attribute[0];
    const char *an = ox_str(a->name);
    plain_t *p = NULL;
    int rank = 0;
    char what[160];
    snprintf(what, sizeof what, "%s: node %zu (Constant)", c->what, c->node);
    if (!strcmp(an, "value") && a->t) {
        const char *prefix = NULL;
        st = onnx_tensor_plain(a->t, what, &p, &rank, &prefix, c->err);
        if (st == TRINE_ENOENT) {
            ox_val_t *v = ox_add(c, c->n->output[0]);
            if (!v)
                return ox_nomem(c);
            return ox_held(c, v, a->t, prefix, what);
        }
        if (st)
            return st;
    } else if (!strcmp(an, "value_float") || !strcmp(an, "value_int")) {
        size_t one[1] = {1};
        bool f = an[6] == 'f';
        if (!(p = plain_alloc(f ? PLAIN_F8 : PLAIN_I8, 1, one)))
            return ox_nomem(c);
        if (f)
            p->real[0] = a->f;
        else
            p->ints[0] = (uint64_t)a->i;
    } else if (!strcmp(an, "value_floats") || !strcmp(an, "value_ints")) {
        bool f = an[6] == 'f';
        size_t n[1] = {f ? a->n_floats : a->n_ints};
        if (!n[0])
            return ox_fail(c, TRINE_EUNSUPPORTED, "an empty constant is not supported");
        if (!(p = plain_alloc(f ? PLAIN_F8 : PLAIN_I8, 1, n)))
            return ox_nomem(c);
        for (size_t i = 0; i < n[0]; i++) {
            if (f)
                p->real[i] = a->floats[i];
            else
                p->ints[i] = (uint64_t)a->ints[i];
        }
        rank = 1;
    } else {
        return ox_fail(c, TRINE_EUNSUPPORTED, "attribute '%s' is not supported", an);
    }
    ox_val_t *v = ox_add(c, c->n->output[0]);
    if (!v) {
        plain_destroy(&p);
        return ox_nomem(c);
    }
    v->constant = true;
    v->data = p;
    v->rank = rank;
    v->ndim = p->ndim;
    memcpy(v->shape, p->shape, sizeof v->shape);
    return TRINE_OK;
}

/* A BatchNormalization with nothing to fold into: x s + t per channel
 * (axis 1), s and t weights shaped [C, 1, ...] to broadcast. */
static trine_status_t ox_batchnorm(ox_t *c)
{
    ox_val_t *x;
    trine_status_t st;
    if ((st = ox_bn_check(c, c->n)) || (st = ox_in(c, 0, false, &x)))
        return st;
    if (x->rank < 2)
        return ox_fail(c, TRINE_EUNSUPPORTED, "input of rank %d (needs N and C)", x->rank);
    size_t ch = x->shape[1];
    ox_bn_t f;
    if ((st = ox_bn_params(c, c->n, ch, &f)))
        return st;
    size_t shape[TENSOR_MAX_DIMS] = {ch, 1, 1, 1};
    int nd = x->rank - 1;
    if (f.s) {
        f.s->ndim = f.t->ndim = nd;
        memcpy(f.s->shape, shape, sizeof shape);
        memcpy(f.t->shape, shape, sizeof shape);
    }
    int vs = ox_new_weight(c, c->n->input[1], ".bnscale", nd, shape, f.s);
    int vt = ox_new_weight(c, c->n->input[2], ".bnshift", nd, shape, f.t);
    int vx = ox_var(c, x);
    if (vs < 0 || vt < 0 || vx < 0)
        return TRINE_EUNSUPPORTED;
    ox_val_t sv = {.var = vs};
    ox_shape_from_var(c, &sv, nd);
    bool batch0 = false;
    int rank;
    int y = ox_mul_vars(c, x, vx, &sv, vs, &batch0, &rank);
    y = y < 0 ? -1 : ox_op2(c, PROG_ADD, y, vt);
    return ox_define(c, 0, y, x->rank, x->batch0);
}

/* Marks in c->fold the BatchNormalization nodes that fold into the Conv or
 * Gemm before them: constant weights and parameters, and the layer's
 * output read only by the BatchNormalization. */
static void ox_find_folds(ox_t *c)
{
    const Onnx__GraphProto *g = c->m->proto->graph;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *bn = g->node[i];
        if (strcmp(bn->op_type, "BatchNormalization") || bn->n_input != 5 || bn->n_output != 1)
            continue;
        bool params = true;
        for (int k = 1; k < 5; k++) {
            ox_val_t *p = ox_find(c, bn->input[k]);
            params = params && p && p->constant;
        }
        for (size_t j = 0; params && j < i; j++) {
            const Onnx__NodeProto *l = g->node[j];
            bool conv = !strcmp(l->op_type, "Conv"), gemm = !strcmp(l->op_type, "Gemm");
            if ((!conv && !gemm) || l->n_output != 1 || strcmp(l->output[0], bn->input[0]))
                continue;
            int uses = 0;
            for (size_t a = 0; a < g->n_node; a++)
                for (size_t k = 0; k < g->node[a]->n_input; k++)
                    uses += !strcmp(g->node[a]->input[k], l->output[0]);
            for (size_t a = 0; a < g->n_output; a++)
                uses += !strcmp(ox_str(g->output[a]->name), l->output[0]);
            ox_val_t *w = l->n_input > 1 ? ox_find(c, l->input[1]) : NULL;
            ox_val_t *b = l->n_input > 2 && l->input[2][0] ? ox_find(c, l->input[2]) : NULL;
            bool bias_ok = l->n_input < 3 || !l->input[2][0] || (b && b->constant);
            if (gemm && b && ox_count(b->ndim, b->shape) != 1 && b->rank != 1)
                bias_ok = false;
            if (uses == 1 && w && w->constant && bias_ok) {
                c->fold[j] = (int)i;
                c->skip[i] = true;
            }
        }
    }
}

/* ---- the graph ---------------------------------------------------------------- */

typedef struct {
    const char *op;
    trine_status_t (*fn)(ox_t *c);
} ox_handler_t;

static trine_status_t ox_relu(ox_t *c)
{
    return ox_unary(c, PROG_RELU, 0);
}

static trine_status_t ox_sigmoid(ox_t *c)
{
    return ox_unary(c, PROG_SIGMOID, 1);
}

static trine_status_t ox_add_node(ox_t *c)
{
    return ox_add_sub(c, false);
}

static trine_status_t ox_sub_node(ox_t *c)
{
    return ox_add_sub(c, true);
}

static trine_status_t ox_maxpool(ox_t *c)
{
    return ox_pool(c, PROG_MAXPOOL);
}

static trine_status_t ox_avgpool(ox_t *c)
{
    return ox_pool(c, PROG_AVGPOOL);
}

static const ox_handler_t ox_handlers[] = {
    {"Add", ox_add_node},
    {"ArgMax", ox_argmax},
    {"AveragePool", ox_avgpool},
    {"BatchNormalization", ox_batchnorm},
    {"Constant", ox_constant},
    {"Conv", ox_conv},
    {"Div", ox_div},
    {"Dropout", ox_dropout},
    {"Flatten", ox_flatten},
    {"Gemm", ox_gemm},
    {"GlobalAveragePool", ox_global_avg},
    {"Identity", ox_identity},
    {"MatMul", ox_matmul},
    {"MaxPool", ox_maxpool},
    {"Mul", ox_mul},
    {"Relu", ox_relu},
    {"Reshape", ox_reshape_node},
    {"Sigmoid", ox_sigmoid},
    {"Softmax", ox_softmax},
    {"Sub", ox_sub_node},
    {"Transpose", ox_transpose},
};

/* The initializers, as constants. */
static trine_status_t ox_initializers(ox_t *c)
{
    const Onnx__GraphProto *g = c->m->proto->graph;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        char what[200];
        snprintf(what, sizeof what, "%s: initializer '%.80s'", c->what, ox_str(t->name));
        if (!t->name || !t->name[0])
            return trine_err_set(c->err, TRINE_EFORMAT, "%s: initializer %zu has no name", c->what,
                                 i);
        plain_t *p = NULL;
        int rank = 0;
        const char *prefix = NULL;
        trine_status_t st = onnx_tensor_plain(t, what, &p, &rank, &prefix, c->err);
        if (st != TRINE_OK && st != TRINE_ENOENT)
            return st;
        ox_val_t *v = ox_add(c, t->name);
        if (!v) {
            plain_destroy(&p);
            return ox_nomem(c);
        }
        v->constant = true;
        v->data = p;
        if (st == TRINE_ENOENT) {
            if ((st = ox_held(c, v, t, prefix, what)))
                return st;
        } else {
            v->rank = rank;
            v->ndim = p->ndim;
            memcpy(v->shape, p->shape, sizeof v->shape);
        }
    }
    return TRINE_OK;
}

/* The graph inputs that are not initializers: the data. */
static trine_status_t ox_inputs(ox_t *c)
{
    const Onnx__GraphProto *g = c->m->proto->graph;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *in = g->input[i];
        const char *name = ox_str(in->name);
        if (ox_find(c, name))
            continue; /* an initializer listed as an input (IR version < 4) */
        size_t k = c->ndata++;
        if (k == ONNX_IO_MAX)
            return trine_err_set(c->err, TRINE_EUNSUPPORTED, "%s: more than %d graph inputs",
                                 c->what, ONNX_IO_MAX);
        const Onnx__TypeProto *t = in->type;
        if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type)
            return trine_err_set(c->err, TRINE_EUNSUPPORTED, "%s: input '%s' is not a tensor",
                                 c->what, name);
        int32_t et = t->tensor_type->elem_type;
        const plain_t *pub = k < c->o->nshapes && c->o->ints ? c->o->ints[k] : NULL;
        if (pub && pub->ints &&
            (et == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
             et == ONNX__TENSOR_PROTO__DATA_TYPE__INT32)) {
            /* a public integer input: structure, like Reshape's shape */
            ox_val_t *v = ox_add(c, name);
            if (!v || !(v->data = plain_alloc(PLAIN_I8, pub->ndim, pub->shape)))
                return ox_nomem(c);
            memcpy(v->data->ints, pub->ints, pub->count * sizeof *pub->ints);
            const Onnx__TensorShapeProto *s = t->tensor_type->shape;
            v->constant = true;
            v->rank = s ? (int)s->n_dim : pub->ndim;
            v->ndim = pub->ndim;
            memcpy(v->shape, pub->shape, sizeof v->shape);
            continue;
        }
        if (et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
            et != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
            return trine_err_set(c->err, TRINE_EUNSUPPORTED,
                                 "%s: input '%s' is %s; trine computes on real numbers (FLOAT, "
                                 "DOUBLE)",
                                 c->what, name, onnx_type_name(et));
        const Onnx__TensorShapeProto *s = t->tensor_type->shape;
        ox_val_t *v = ox_add(c, name);
        if (!v)
            return ox_nomem(c);
        v->rank = s ? (int)s->n_dim : 0;
        if (k < c->o->nshapes) {
            const onnx_shape_t *p = &c->o->shapes[k];
            if (s && (int)s->n_dim != p->ndim &&
                !(s->n_dim == 0 && p->ndim == 1 && p->shape[0] == 1))
                return trine_err_set(c->err, TRINE_ESHAPE,
                                     "%s: input '%s' has rank %zu, the data %d", c->what, name,
                                     s->n_dim, p->ndim);
            v->ndim = p->ndim;
            memcpy(v->shape, p->shape, sizeof v->shape);
            for (size_t d = 0; s && d < s->n_dim && d < (size_t)p->ndim; d++)
                if (s->dim[d]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                    (size_t)s->dim[d]->dim_value != p->shape[d] &&
                    !(c->o->batch && k == 0 && d == 0))
                    return trine_err_set(c->err, TRINE_ESHAPE,
                                         "%s: input '%s' has extent %lld on axis %zu, the data "
                                         "%zu",
                                         c->what, name, (long long)s->dim[d]->dim_value, d,
                                         p->shape[d]);
        } else {
            if (!s || s->n_dim > TENSOR_MAX_DIMS)
                return trine_err_set(c->err, TRINE_EUNSUPPORTED,
                                     "%s: input '%s' needs a shape of rank 1 to %d", c->what, name,
                                     TENSOR_MAX_DIMS);
            v->ndim = s->n_dim ? (int)s->n_dim : 1;
            for (int d = 0; d < TENSOR_MAX_DIMS; d++)
                v->shape[d] = 1;
            for (size_t d = 0; d < s->n_dim; d++) {
                if (d == 0 && k == 0 && c->o->batch &&
                    s->dim[d]->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
                    continue; /* the batch: 1 row */
                if (s->dim[d]->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
                    s->dim[d]->dim_value < 1)
                    return trine_err_set(c->err, TRINE_EUNSUPPORTED,
                                         "%s: input '%s' has no fixed extent on axis %zu; give "
                                         "its data",
                                         c->what, name, d);
                v->shape[d] = (size_t)s->dim[d]->dim_value;
            }
        }
        if (v->rank > TENSOR_MAX_DIMS)
            return trine_err_set(c->err, TRINE_EUNSUPPORTED,
                                 "%s: input '%s' has rank %d (trine tensors have at most %d dims)",
                                 c->what, name, v->rank, TENSOR_MAX_DIMS);
        bool batch = c->o->batch && k == 0;
        char vname[PROG_NAME_MAX];
        ox_name(c, vname, "", name, "");
        int var = ox_newvar(c, batch ? PROG_VAR_BATCH : PROG_VAR_INPUT, vname);
        if (var < 0)
            return TRINE_EUNSUPPORTED;
        prog_var_t *pv = &c->out->prog.vars[var];
        pv->ndim = v->ndim;
        memcpy(pv->shape, v->shape, sizeof pv->shape);
        v->var = var;
        v->batch0 = batch;
        onnx_io_t *io = &c->out->inputs[c->out->ninputs++];
        snprintf(io->name, sizeof io->name, "%s", name);
        io->index = (int)k;
        io->var = var;
        io->rank = v->rank;
        io->argmax_axis = -1;
    }
    return TRINE_OK;
}

/* Marks the graph outputs. */
static trine_status_t ox_outputs(ox_t *c)
{
    const Onnx__GraphProto *g = c->m->proto->graph;
    if (g->n_output == 0 || g->n_output > ONNX_IO_MAX)
        return trine_err_set(c->err, TRINE_EUNSUPPORTED, "%s: %zu graph outputs (trine: 1 to %d)",
                             c->what, g->n_output, ONNX_IO_MAX);
    for (size_t i = 0; i < g->n_output; i++) {
        const char *name = ox_str(g->output[i]->name);
        ox_val_t *v = ox_find(c, name);
        if (!v)
            return trine_err_set(c->err, TRINE_EFORMAT, "%s: output '%s' is never computed",
                                 c->what, name);
        int var = ox_var(c, v);
        if (var < 0)
            return TRINE_EUNSUPPORTED;
        prog_var_t *pv = &c->out->prog.vars[var];
        if (pv->kind != PROG_VAR_TEMP || pv->output) {
            /* An input or weight (Identity, Constant), or a value that is
             * already an output: a copy, stored under this name. */
            if ((var = ox_scale(c, var, 1.0)) < 0)
                return TRINE_EUNSUPPORTED;
            pv = &c->out->prog.vars[var];
        }
        pv->output = true;
        char vname[PROG_NAME_MAX];
        pv->name[0] = 0;
        ox_name(c, vname, "", name, "");
        snprintf(pv->name, sizeof pv->name, "%s", vname);
        onnx_io_t *io = &c->out->outputs[i];
        snprintf(io->name, sizeof io->name, "%s", name);
        io->var = var;
        io->rank = v->rank;
    }
    c->out->noutputs = g->n_output;
    c->out->ndata = c->ndata;
    return TRINE_OK;
}

static trine_status_t ox_nodes(ox_t *c)
{
    const Onnx__GraphProto *g = c->m->proto->graph;
    for (c->node = 0; c->node < g->n_node; c->node++) {
        c->n = g->node[c->node];
        if (c->skip[c->node]) {
            trine_status_t st = ox_bn_check(c, c->n);
            if (st)
                return st;
            continue;
        }
        const ox_handler_t *h = NULL;
        for (size_t k = 0; !h && k < sizeof ox_handlers / sizeof ox_handlers[0]; k++)
            if (!strcmp(ox_handlers[k].op, c->n->op_type))
                h = &ox_handlers[k];
        if (!h)
            return ox_fail(c, TRINE_EUNSUPPORTED, "operator %s is not supported", c->n->op_type);
        c->folded_out = NULL;
        trine_status_t st = h->fn(c);
        if (st)
            return st;
    }
    c->n = NULL;
    return TRINE_OK;
}

trine_status_t onnx_compile(const onnx_model_t *m, const char *what,
                            const onnx_compile_opts_t *opts, onnx_prog_t *out, trine_err_t *err)
{
    memset(out, 0, sizeof *out);
    out->rows_independent = true;
    for (size_t i = 0; i < ONNX_IO_MAX; i++)
        out->outputs[i].argmax_axis = -1;
    const Onnx__GraphProto *g = m->proto->graph;
    ox_t c = {.m = m, .what = what, .o = opts, .out = out, .err = err};
    out->prog.vars = calloc(PROG_VARS_MAX, sizeof *out->prog.vars);
    out->prog.ops = calloc(PROG_OPS_MAX, sizeof *out->prog.ops);
    c.shapes = malloc(sizeof *c.shapes);
    c.fold = malloc((g->n_node + 1) * sizeof *c.fold);
    c.skip = calloc(g->n_node + 1, sizeof *c.skip);
    trine_status_t st;
    if (!out->prog.vars || !out->prog.ops || !c.shapes || !c.fold || !c.skip) {
        st = trine_err_set(err, TRINE_ENOMEM, "%s: out of memory", what);
    } else {
        for (size_t i = 0; i < g->n_node; i++)
            c.fold[i] = -1;
        if ((st = ox_initializers(&c)) == TRINE_OK && (st = ox_inputs(&c)) == TRINE_OK) {
            ox_find_folds(&c);
            st = ox_nodes(&c);
        }
        if (st == TRINE_OK)
            st = ox_outputs(&c);
        if (st == TRINE_OK && out->prog.nops == 0)
            st = trine_err_set(err, TRINE_EUNSUPPORTED,
                               "%s: the graph computes nothing (no operation to run)", what);
        trine_err_t e;
        size_t rows = prog_batch_rows(&out->prog);
        if (st == TRINE_OK && prog_check(&out->prog, rows ? rows : 1, NULL, &e) != TRINE_OK)
            st = trine_err_set(err, TRINE_EUNSUPPORTED, "%s: %s", what, e.msg);
    }
    for (size_t i = 0; i < c.nvals; i++)
        plain_destroy(&c.vals[i].data);
    free(c.vals);
    free(c.shapes);
    free(c.fold);
    free(c.skip);
    if (st != TRINE_OK)
        onnx_prog_clear(out);
    return st;
}

void onnx_prog_clear(onnx_prog_t *out)
{
    for (size_t i = 0; i < out->nweights; i++)
        plain_destroy(&out->weights[i].value);
    free(out->weights);
    prog_clear(&out->prog);
    memset(out, 0, sizeof *out);
}
