/* onnx_compile.c — ONNX graph to trine program (see onnx_compile.h).
 *
 * The compiler walks the nodes in order (ONNX graphs are topologically
 * sorted) and keeps, for every ONNX value, its program variable and static
 * shape. After each emitted operation it runs prog_check over the program
 * so far: the engine's own shape rules give every result's shape, and a
 * shape the engine refuses is reported against the node that asked. This
 * file has the values, the emitting and the graph; onnx_ops.c compiles
 * each operator.
 */
#include "daemon/models/onnx_internal.h"

#include "daemon/wire/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ----------------------------------------------------------------- */

const char *ox_str(const char *s)
{
    return s ? s : "";
}

/* Fails the current node: "WHAT: node N 'NAME' (OP): message". */
trine_status_t ox_fail(ox_t *c, trine_status_t code, const char *fmt, ...)
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

trine_status_t ox_nomem(ox_t *c)
{
    return ox_fail(c, TRINE_ENOMEM, "out of memory");
}

/* ---- values and variables ------------------------------------------------------- */

ox_val_t *ox_find(ox_t *c, const char *name)
{
    for (size_t i = c->nvals; i-- > 0;)
        if (!strcmp(c->vals[i].name, name))
            return &c->vals[i];
    return NULL;
}

ox_val_t *ox_add(ox_t *c, const char *name)
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
int ox_new_weight(ox_t *c, const char *base, const char *suffix, int ndim, const size_t *shape,
                  plain_t *value)
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
    memset(v->shape, 0, sizeof v->shape); /* shape holds ndim extents, no more */
    memcpy(v->shape, shape, (size_t)ndim * sizeof *shape);
    if (ox_weight(c, var, value) != TRINE_OK)
        return -1;
    return var;
}

/* A copy of p as reals. */
plain_t *ox_real_copy(const plain_t *p)
{
    plain_t *q = plain_alloc(PLAIN_F8, p->ndim, p->shape);
    for (size_t i = 0; q && i < p->count; i++)
        q->real[i] = p->real ? p->real[i] : (double)(int64_t)p->ints[i];
    return q;
}

/* The program variable of value v, making a constant a weight. */
int ox_var(ox_t *c, ox_val_t *v)
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
void ox_shape_from_var(ox_t *c, ox_val_t *v, int rank)
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
int ox_emit(ox_t *c, prog_op_t op)
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

int ox_op1(ox_t *c, prog_opcode_t code, int a)
{
    return ox_emit(c, (prog_op_t){.code = code, .in = {a, -1}});
}

int ox_op2(ox_t *c, prog_opcode_t code, int a, int b)
{
    return ox_emit(c, (prog_op_t){.code = code, .in = {a, b}});
}

int ox_scale(ox_t *c, int a, double factor)
{
    return ox_emit(c, (prog_op_t){.code = PROG_SCALE, .in = {a, -1}, .fattr = factor});
}

int ox_reshape_var(ox_t *c, int var, int nfrom, const size_t *from, bool batch0, int ndim,
                    const size_t *shape, bool *b0)
{
    ox_val_t v = {.var = var, .rank = nfrom, .ndim = nfrom, .batch0 = batch0};
    memcpy(v.shape, from, (size_t)nfrom * sizeof *from);
    return var < 0 ? -1 : ox_reshape(c, &v, ndim, shape, b0);
}

int ox_slice_var(ox_t *c, int a, int axis, int64_t start, int64_t step, int64_t count)
{
    prog_op_t op = {.code = PROG_SLICE, .in = {a, -1}};
    op.iattr[PROG_SLICE_AXIS] = axis, op.iattr[PROG_SLICE_START] = start;
    op.iattr[PROG_SLICE_STEP] = step, op.iattr[PROG_SLICE_COUNT] = count;
    return a < 0 ? -1 : ox_emit(c, op);
}

size_t ox_count(int ndim, const size_t *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

/* Reshapes value v (its variable) to ndim/shape. Axis 0 stays the batch
 * when the first extent is unchanged (rows map to rows); a reshape of a
 * batch value that changes it makes the model one batch. */
int ox_reshape(ox_t *c, ox_val_t *v, int ndim, const size_t *shape, bool *batch0)
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

const Onnx__AttributeProto *ox_attr(const ox_t *c, const char *name)
{
    for (size_t i = 0; i < c->n->n_attribute; i++)
        if (c->n->attribute[i]->name && !strcmp(c->n->attribute[i]->name, name))
            return c->n->attribute[i];
    return NULL;
}

/* Fails on an attribute not in the NULL-terminated list of known names. */
trine_status_t ox_known(ox_t *c, ...)
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

trine_status_t ox_int(ox_t *c, const char *name, int64_t dflt, int64_t *v)
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

trine_status_t ox_float(ox_t *c, const char *name, double dflt, double *v)
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
 * max); *count 0 when absent. */
trine_status_t ox_ints(ox_t *c, const char *name, int n, int64_t *v, size_t max, size_t *count)
{
    const Onnx__AttributeProto *a = ox_attr(c, name);
    *count = 0;
    if (!a)
        return TRINE_OK;
    if ((n >= 0 && a->n_ints != (size_t)n) || a->n_ints > max)
        return ox_fail(c, TRINE_EUNSUPPORTED, "attribute '%s' has %zu entries, not %d", name,
                       a->n_ints, n >= 0 ? n : (int)max);
    if (a->n_ints) /* protobuf-c leaves ints NULL for none */
        memcpy(v, a->ints, a->n_ints * sizeof *v);
    *count = a->n_ints;
    return TRINE_OK;
}

/* A STRING attribute into buf ("" when absent). */
void ox_string(ox_t *c, const char *name, char *buf, size_t size)
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
trine_status_t ox_in(ox_t *c, size_t k, bool optional, ox_val_t **v)
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
trine_status_t ox_arity(ox_t *c, size_t in_min, size_t in_max, size_t outs)
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
trine_status_t ox_define(ox_t *c, size_t k, int var, int rank, bool batch0)
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
trine_status_t ox_alias(ox_t *c, const ox_val_t *src)
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
bool ox_broadcasts(const ox_val_t *b, const ox_val_t *a)
{
    if (b->rank > a->rank)
        return false;
    for (int i = 1; i <= b->rank; i++)
        if (b->shape[b->ndim - i] != 1 && b->shape[b->ndim - i] != a->shape[a->ndim - i])
            return false;
    return true;
}

bool ox_same_shape(const ox_val_t *a, const ox_val_t *b)
{
    return a->ndim == b->ndim && !memcmp(a->shape, b->shape, sizeof a->shape);
}

/* ---- constants trine keeps, and folding ------------------------------------------- */

/* Makes v a constant whose values trine keeps under prefix (t's dims). */
trine_status_t ox_held(ox_t *c, ox_val_t *v, const Onnx__TensorProto *t, const char *prefix,
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

int ox_uses(const ox_t *c, const char *name)
{
    const Onnx__GraphProto *g = c->m->proto->graph;
    int uses = 0;
    for (size_t a = 0; a < g->n_node; a++)
        for (size_t k = 0; k < g->node[a]->n_input; k++)
            uses += !strcmp(g->node[a]->input[k], name);
    for (size_t a = 0; a < g->n_output; a++)
        uses += !strcmp(ox_str(g->output[a]->name), name);
    return uses;
}

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
            int uses = ox_uses(c, l->output[0]);
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
        /* A private integer input (token ids) is held as reals, exactly. */
        if (et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
            et != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
            et != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 && et != ONNX__TENSOR_PROTO__DATA_TYPE__INT32)
            return trine_err_set(c->err, TRINE_EUNSUPPORTED,
                                 "%s: input '%s' is %s; trine computes on real numbers (FLOAT, "
                                 "DOUBLE) and whole ones (INT64, INT32)",
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
        if (batch && s && s->n_dim &&
            s->dim[0]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            s->dim[0]->dim_value > 0)
            c->export_batch = (size_t)s->dim[0]->dim_value;
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
        const Onnx__TypeProto *type = g->output[i]->type;
        int32_t elem = type && type->tensor_type ? type->tensor_type->elem_type : 0;
        io->integer = elem == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
                      elem == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
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
        trine_status_t st = ox_compile_node(c);
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
