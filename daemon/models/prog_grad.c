/* prog_grad.c — the backward pass and the optimizer of a forward program
 * (prog_grad.h): reverse mode over the op list, each op's gradient built
 * from existing opcodes; the shapes come from prog_check of the forward
 * program for one full batch.
 */
#include "daemon/models/prog_grad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int prog_grad_loss_find(const char *name)
{
    return !strcmp(name, "mse")             ? PROG_LOSS_MSE
           : !strcmp(name, "bce")           ? PROG_LOSS_BCE
           : !strcmp(name, "cross-entropy") ? PROG_LOSS_CE
                                            : -1;
}

int prog_grad_opt_find(const char *name)
{
    return !strcmp(name, "sgd")        ? PROG_OPT_SGD
           : !strcmp(name, "momentum") ? PROG_OPT_MOMENTUM
           : !strcmp(name, "adam")     ? PROG_OPT_ADAM
                                       : -1;
}

typedef struct {
    prog_t *p;              /* the training program being built */
    const prog_shapes_t *s; /* the forward program's shapes */
    unsigned temps;         /* gradient temps named so far */
    trine_err_t *err;
} grad_t;

static int grad_find(const prog_t *p, const char *name)
{
    for (size_t i = 0; i < p->nvars; i++)
        if (!strcmp(p->vars[i].name, name))
            return (int)i;
    return -1;
}

/* A new variable; -1 (err set) past PROG_VARS_MAX or on a taken name. */
static int grad_var(grad_t *g, const char *name, prog_var_kind_t kind)
{
    if (g->p->nvars == PROG_VARS_MAX) {
        trine_err_set(g->err, TRINE_ELIMIT, "the training program needs more than %d variables",
                      PROG_VARS_MAX);
        return -1;
    }
    if (grad_find(g->p, name) >= 0) {
        trine_err_set(g->err, TRINE_EFORMAT,
                      "the model already has a variable '%s', a name training adds", name);
        return -1;
    }
    prog_var_t *v = &g->p->vars[g->p->nvars];
    *v = (prog_var_t){.kind = kind};
    snprintf(v->name, sizeof v->name, "%s", name);
    return (int)g->p->nvars++;
}

/* A fresh temp "_gN" (skipping names the model uses). */
static int grad_temp(grad_t *g)
{
    char name[PROG_NAME_MAX];
    do
        snprintf(name, sizeof name, "_g%u", ++g->temps);
    while (grad_find(g->p, name) >= 0);
    return grad_var(g, name, PROG_VAR_TEMP);
}

/* Appends op code(a, b) writing out (a fresh temp when out < 0); NULL with
 * err set past the limits. */
static prog_op_t *grad_op(grad_t *g, prog_opcode_t code, int a, int b, int out)
{
    if (out < 0 && (out = grad_temp(g)) < 0)
        return NULL;
    if (g->p->nops == PROG_OPS_MAX) {
        trine_err_set(g->err, TRINE_ELIMIT, "the training program needs more than %d operations",
                      PROG_OPS_MAX);
        return NULL;
    }
    prog_op_t *op = &g->p->ops[g->p->nops++];
    *op = (prog_op_t){.code = code, .out = out, .in = {a, b}};
    return op;
}

/* grad_op's output variable, or -1. */
static int grad_emit(grad_t *g, prog_opcode_t code, int a, int b)
{
    prog_op_t *op = grad_op(g, code, a, b, -1);
    return op ? op->out : -1;
}

static int grad_scale(grad_t *g, int a, double c)
{
    prog_op_t *op = grad_op(g, PROG_SCALE, a, -1, -1);
    if (!op)
        return -1;
    op->fattr = c;
    return op->out;
}

static int grad_matmul(grad_t *g, int a, bool ta, int b, bool tb)
{
    prog_op_t *op = grad_op(g, PROG_MATMUL, a, b, -1);
    if (!op)
        return -1;
    op->iattr[0] = ta, op->iattr[1] = tb;
    return op->out;
}

/* A reshape of a to shape (shape[0] 0: a's first extent). */
static int grad_reshape(grad_t *g, int a, int ndim, const size_t *shape)
{
    prog_op_t *op = grad_op(g, PROG_RESHAPE, a, -1, -1);
    if (!op)
        return -1;
    op->ndim = ndim;
    memcpy(op->shape, shape, (size_t)ndim * sizeof *shape);
    return op->out;
}

static int grad_permute(grad_t *g, int a, int ndim, const int *perm)
{
    prog_op_t *op = grad_op(g, PROG_TRANSPOSE, a, -1, -1);
    if (!op)
        return -1;
    op->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        op->shape[i] = (size_t)perm[i];
    return op->out;
}

/* Adds contribution t to the gradient of v; -1 on failure. */
static int grad_add(grad_t *g, int *grad, int v, int t)
{
    if (t < 0)
        return -1;
    grad[v] = grad[v] < 0 ? t : grad_emit(g, PROG_ADD, grad[v], t);
    return grad[v];
}

/* dy (a's shape, a the broadcast target of an add) summed to b's shape,
 * over the axes b repeats: any b when a has no batch axis; else b
 * repeated along the batch axis alone (a bias [v] over [n, v]) or varying
 * along one axis alone (a bias [c, 1, 1] over [n, c, h, w]). */
static int grad_unbroadcast(grad_t *g, const prog_op_t *op, int dy, int b)
{
    const prog_shapes_t *s = g->s;
    int a = op->in[0], an = s->ndim[a], bn = s->ndim[b], lead = an - bn;
    int perm[TENSOR_MAX_DIMS], nrep = 0, nkeep = 0, r = dy;
    size_t rows = 1, kept = 1;
    bool keep[TENSOR_MAX_DIMS];
    for (int d = 0; d < an; d++) {
        size_t be = d < lead ? 1 : s->shape[b][d - lead];
        keep[d] = be != 1 || s->shape[a][d] == 1;
        if (keep[d])
            kept *= s->shape[a][d], nkeep++;
        else
            rows *= s->shape[a][d], perm[nrep++] = d;
    }
    for (int d = 0, k = nrep; d < an; d++)
        if (keep[d])
            perm[k++] = d;
    bool ident = true;
    for (int d = 0; d < an; d++)
        ident &= perm[d] == d;
    if (nrep == 0)
        return bn == an ? dy : grad_reshape(g, dy, bn, s->shape[b]);
    if (s->batched[a] && !(nrep == 1 && perm[0] == 0) && nkeep != 1) {
        trine_err_set(g->err, TRINE_EFORMAT,
                      "line %u: the gradient of an add or sub that repeats its right operand "
                      "along the batch and other axes, varying along several, is not supported",
                      (unsigned)op->line);
        return -1;
    }
    if (s->batched[a] && !(nrep == 1 && perm[0] == 0)) {
        /* [.., c, ..] -> [c, rest] (flatten keeps the first extent) ->
         * [rest, c], summed below */
        int to_front[TENSOR_MAX_DIMS], k = 0;
        for (int d = 0; d < an; d++)
            if (keep[d])
                to_front[k++] = d;
        for (int d = 0; d < an; d++)
            if (!keep[d])
                to_front[k++] = d;
        size_t flat[2] = {0, 0};
        if ((r = grad_permute(g, r, an, to_front)) < 0 || (r = grad_reshape(g, r, 2, flat)) < 0 ||
            (r = grad_emit(g, PROG_TRANSPOSE, r, -1)) < 0)
            return -1;
    } else if (!s->batched[a]) {
        size_t two[2] = {rows, kept};
        if ((!ident && (r = grad_permute(g, r, an, perm)) < 0) ||
            (!(an == 2 && nrep == 1) && (r = grad_reshape(g, r, 2, two)) < 0))
            return -1;
    }
    if ((r = grad_emit(g, PROG_SUM, r, -1)) < 0)
        return -1;
    /* r is a's shape past axis 0 (the batch summed away) or [kept] */
    bool rest = s->batched[a] && nrep == 1 && perm[0] == 0;
    bool same = rest ? bn == an - 1 : bn == 1;
    for (int d = 0; same && d < bn; d++)
        same = s->shape[b][d] == (rest ? s->shape[a][d + 1] : kept);
    return same ? r : grad_reshape(g, r, bn, s->shape[b]);
}

static int grad_refuse(grad_t *g, const prog_op_t *op, const char *why)
{
    char pos[32] = "";
    if (op->line)
        snprintf(pos, sizeof pos, "line %u col %u: ", (unsigned)op->line, (unsigned)op->col);
    trine_err_set(g->err, TRINE_EFORMAT, "%s%s: %s", pos, prog_opcode_name(op->code), why);
    return -1;
}

/* count elements of v along axis from start (a slice, step 1); -1 on failure. */
static int grad_slice(grad_t *g, int v, int axis, int64_t start, int64_t count)
{
    prog_op_t *sl = grad_op(g, PROG_SLICE, v, -1, -1);
    if (!sl)
        return -1;
    sl->iattr[PROG_SLICE_AXIS] = axis;
    sl->iattr[PROG_SLICE_START] = start;
    sl->iattr[PROG_SLICE_STEP] = 1;
    sl->iattr[PROG_SLICE_COUNT] = count;
    return sl->out;
}

/* conv2d(x, w): dx = conv2d_grad_input(dy, w), dw = conv2d_grad_weights(dy,
 * x), each with the convolution's geometry (one group) and the extents dy
 * does not give (x's height and width, the filter's). A convolution of G
 * groups is G convolutions of one: group k's slices of x's channels, of
 * w's filters and of dy's channels, its gradients joined back (two
 * products per group). */
static int grad_conv2d(grad_t *g, const prog_op_t *op, int dy, int *grad, bool na, bool nb)
{
    int64_t groups = op->iattr[PROG_CONV_GROUP] > 1 ? op->iattr[PROG_CONV_GROUP] : 1;
    int x = op->in[0], w = op->in[1];
    int64_t cin = (int64_t)g->s->shape[x][1] / groups, cout = (int64_t)g->s->shape[w][0] / groups;
    for (int k = 0; k < 2; k++) {
        if (!(k ? nb : na))
            continue;
        int v = op->in[k], sum = -1;
        for (int64_t i = 0; i < groups; i++) {
            int xg = groups == 1 ? x : grad_slice(g, x, 1, i * cin, cin);
            int wg = groups == 1 ? w : grad_slice(g, w, 0, i * cout, cout);
            int dg = groups == 1 ? dy : grad_slice(g, dy, 1, i * cout, cout);
            prog_op_t *c = xg < 0 || wg < 0 || dg < 0
                               ? NULL
                               : grad_op(g, k ? PROG_CONV2D_GRAD_WEIGHTS : PROG_CONV2D_GRAD_INPUT,
                                         dg, k ? xg : wg, -1);
            if (!c)
                return -1;
            memcpy(c->iattr, op->iattr, sizeof c->iattr);
            c->iattr[PROG_CONV_GROUP] = 1;
            c->iattr[PROG_CONV_RH] = (int64_t)g->s->shape[v][2];
            c->iattr[PROG_CONV_RW] = (int64_t)g->s->shape[v][3];
            prog_op_t *j = sum < 0 ? NULL : grad_op(g, PROG_CONCAT, sum, c->out, -1);
            if (sum >= 0 && !j)
                return -1;
            if (j)
                j->iattr[0] = k ? 0 : 1; /* dw: filters; dx: channels */
            sum = j ? j->out : c->out;
        }
        if (grad_add(g, grad, v, sum) < 0)
            return -1;
    }
    return 0;
}

/* t padded with zeros along axis, before and after; t itself when both
 * are 0. */
static int grad_pad0(grad_t *g, int t, int axis, int64_t before, int64_t after)
{
    if (t < 0 || (!before && !after))
        return t;
    prog_op_t *pd = grad_op(g, PROG_PAD, t, -1, -1);
    if (!pd)
        return -1;
    pd->iattr[PROG_PAD_AXIS] = axis;
    pd->iattr[PROG_PAD_BEFORE] = before, pd->iattr[PROG_PAD_AFTER] = after;
    return pd->out;
}

/* t [n, rest..., 1, e] (its last two axes) repeated k times along the
 * 1: zeros of the result's shape (a pad of 0 t) plus t, broadcast. */
static int grad_repeat(grad_t *g, int t, int axis, int64_t k)
{
    int z = grad_pad0(g, grad_scale(g, t, 0.0), axis, 0, k - 1);
    return z < 0 ? -1 : grad_emit(g, PROG_ADD, z, t);
}

/* t's extent along axis, ext, brought to want: zeros added after, or the
 * tail (zeros here) sliced away. */
static int grad_fit(grad_t *g, int t, int axis, size_t ext, size_t want)
{
    if (t < 0 || ext == want)
        return t;
    return ext < want ? grad_pad0(g, t, axis, 0, (int64_t)(want - ext))
                      : grad_slice(g, t, axis, 0, (int64_t)want);
}

/* avgpool(x): dx is dy / (kh kw) sent back over each window. Windows that
 * tile x (global average pooling among them): dy repeated over each
 * window, across then down. Otherwise (overlapping or strided windows,
 * padding counted, count_include_pad): dy spread out by the strides
 * (zeros between), shifted to each of the kh kw offsets of a window and
 * summed over the padded input, the padding cut away: all local, kh kw
 * shifts. A padded avgpool that divides by the window's elements of x
 * alone (count_include_pad 0) is refused. */
static int grad_avgpool(grad_t *g, const prog_op_t *op, int dy)
{
    const prog_shapes_t *s = g->s;
    int x = op->in[0];
    proto_pool_t p = prog_pool_geom(op);
    const size_t *xs = s->shape[x], *ys = s->shape[op->out];
    bool padded = p.pt || p.pl || p.pb || p.pr;
    if (padded && !p.count_pad)
        return grad_refuse(g, op,
                           "has a gradient with padding only when it counts the padding "
                           "(count_include_pad): each window's divisor differs otherwise");
    size_t n = s->batched[x] ? 0 : xs[0], c = xs[1], oh = ys[2], ow = ys[3];
    int t = grad_scale(g, dy, 1.0 / ((double)p.kh * (double)p.kw));
    if (!padded && p.sh == p.kh && p.sw == p.kw && oh * p.kh == xs[2] && ow * p.kw == xs[3]) {
        if (t >= 0 && p.kw > 1) {
            size_t r[3] = {n, c * oh * ow, 1};
            if ((t = grad_reshape(g, t, 3, r)) >= 0)
                t = grad_repeat(g, t, 2, (int64_t)p.kw);
        }
        if (t >= 0 && p.kh > 1) {
            size_t r[4] = {n, c * oh, 1, xs[3]};
            if ((t = grad_reshape(g, t, 4, r)) >= 0)
                t = grad_repeat(g, t, 2, (int64_t)p.kh);
        }
        size_t r[4] = {n, c, xs[2], xs[3]};
        return t < 0 ? -1 : grad_reshape(g, t, 4, r);
    }
    /* dy at (i sh, j sw) of [n, c, oh sh, ow sw], zeros elsewhere */
    if (t >= 0 && p.sw > 1) {
        size_t r[4] = {n, c * oh, ow, 1}, back[4] = {n, c, oh, ow * p.sw};
        t = grad_pad0(g, grad_reshape(g, t, 4, r), 3, 0, (int64_t)p.sw - 1);
        t = t < 0 ? -1 : grad_reshape(g, t, 4, back);
    }
    if (t >= 0 && p.sh > 1) {
        size_t r[4] = {n, c * oh, 1, ow * p.sw}, back[4] = {n, c, oh * p.sh, ow * p.sw};
        t = grad_pad0(g, grad_reshape(g, t, 4, r), 2, 0, (int64_t)p.sh - 1);
        t = t < 0 ? -1 : grad_reshape(g, t, 4, back);
    }
    size_t hp = xs[2] + p.pt + p.pb, wp = xs[3] + p.pl + p.pr;
    int acc = -1;
    for (size_t u = 0; t >= 0 && u < p.kh; u++)
        for (size_t v = 0; v < p.kw; v++) {
            int z = grad_fit(g, grad_pad0(g, t, 2, (int64_t)u, 0), 2, oh * p.sh + u, hp);
            z = grad_fit(g, grad_pad0(g, z, 3, (int64_t)v, 0), 3, ow * p.sw + v, wp);
            acc = z < 0 ? -1 : acc < 0 ? z : grad_emit(g, PROG_ADD, acc, z);
            if (acc < 0)
                return -1;
        }
    if (acc >= 0 && (p.pt || p.pb))
        acc = grad_slice(g, acc, 2, (int64_t)p.pt, (int64_t)xs[2]);
    if (acc >= 0 && (p.pl || p.pr))
        acc = grad_slice(g, acc, 3, (int64_t)p.pl, (int64_t)xs[3]);
    return acc;
}

static int grad_back(grad_t *g, const prog_op_t *op, int dy, int *grad, const bool *need)
{
    const prog_shapes_t *s = g->s;
    int a = op->in[0], b = op->in[1], y = op->out, t;
    bool na = need[a], nb = b >= 0 && need[b];
    switch (op->code) {
    case PROG_MATMUL: {
        bool ta = op->iattr[0], tb = op->iattr[1];
        if (na && grad_add(g, grad, a, ta ? grad_matmul(g, b, tb, dy, true)
                                          : grad_matmul(g, dy, false, b, !tb)) < 0)
            return -1;
        if (nb && grad_add(g, grad, b, tb ? grad_matmul(g, dy, true, a, ta)
                                          : grad_matmul(g, a, !ta, dy, false)) < 0)
            return -1;
        return 0;
    }
    case PROG_ADD:
    case PROG_SUB:
        if (na && grad_add(g, grad, a, dy) < 0)
            return -1;
        if (nb) {
            if ((t = grad_unbroadcast(g, op, dy, b)) < 0)
                return -1;
            if (op->code == PROG_SUB && (t = grad_scale(g, t, -1.0)) < 0)
                return -1;
            if (grad_add(g, grad, b, t) < 0)
                return -1;
        }
        return 0;
    case PROG_MUL:
        if (na && grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, b)) < 0)
            return -1;
        if (nb && grad_add(g, grad, b, grad_emit(g, PROG_MUL, dy, a)) < 0)
            return -1;
        return 0;
    case PROG_SCALE: return grad_add(g, grad, a, grad_scale(g, dy, op->fattr)) < 0 ? -1 : 0;
    case PROG_SUM: {
        /* dy repeated over a's first axis: 0 a + dy, broadcast */
        int zero = grad_scale(g, a, 0.0);
        return zero < 0 || grad_add(g, grad, a, grad_emit(g, PROG_ADD, zero, dy)) < 0 ? -1 : 0;
    }
    case PROG_RELU: {
        int d = grad_emit(g, PROG_DRELU, a, -1);
        return d < 0 || grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, d)) < 0 ? -1 : 0;
    }
    case PROG_SIGMOID: {
        if (!op->iattr[0])
            return grad_refuse(g, op, "the piecewise sigmoid has no gradient here: use "
                                      "sigmoid(x, fine=1) (ONNX's Sigmoid is the fine one)");
        /* y' = y (1 - y) = y - y^2 */
        int yy = grad_emit(g, PROG_MUL, y, y), d = yy < 0 ? -1 : grad_emit(g, PROG_SUB, y, yy);
        return d < 0 || grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, d)) < 0 ? -1 : 0;
    }
    case PROG_MAXPOOL: {
        for (int k = PROG_POOL_PT; k <= PROG_POOL_PR; k++)
            if (op->iattr[k])
                return grad_refuse(g, op, "the gradient of a padded maxpool is not supported");
        prog_op_t *m = grad_op(g, PROG_MAXPOOL_GRAD, dy, a, -1);
        if (!m)
            return -1;
        memcpy(m->iattr, op->iattr, sizeof m->iattr);
        return grad_add(g, grad, a, m->out) < 0 ? -1 : 0;
    }
    case PROG_RESHAPE: {
        size_t shape[TENSOR_MAX_DIMS];
        memcpy(shape, s->shape[a], sizeof shape);
        if (s->batched[a]) {
            if (!s->batched[y] || s->shape[y][0] != s->shape[a][0])
                return grad_refuse(g, op, "the gradient of a reshape that moves the batch axis "
                                          "is not supported");
            shape[0] = 0;
        }
        return grad_add(g, grad, a, grad_reshape(g, dy, s->ndim[a], shape)) < 0 ? -1 : 0;
    }
    case PROG_TRANSPOSE: {
        if (op->ndim == 0)
            return grad_add(g, grad, a, grad_emit(g, PROG_TRANSPOSE, dy, -1)) < 0 ? -1 : 0;
        int inv[TENSOR_MAX_DIMS];
        for (int i = 0; i < op->ndim; i++)
            inv[op->shape[i]] = i;
        return grad_add(g, grad, a, grad_permute(g, dy, op->ndim, inv)) < 0 ? -1 : 0;
    }
    case PROG_OFFSET: return grad_add(g, grad, a, dy) < 0 ? -1 : 0;
    case PROG_EXP: /* y' = y */
        return grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, y)) < 0 ? -1 : 0;
    case PROG_RECIP: { /* y' = -y^2 */
        int yy = grad_emit(g, PROG_MUL, y, y), d = yy < 0 ? -1 : grad_scale(g, yy, -1.0);
        return d < 0 || grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, d)) < 0 ? -1 : 0;
    }
    case PROG_RSQRT: { /* y' = -y^3 / 2 */
        int yy = grad_emit(g, PROG_MUL, y, y), y3 = yy < 0 ? -1 : grad_emit(g, PROG_MUL, yy, y);
        int d = y3 < 0 ? -1 : grad_scale(g, y3, -0.5);
        return d < 0 || grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, d)) < 0 ? -1 : 0;
    }
    case PROG_PAD: { /* the padding's gradient is dropped: dy sliced back to a */
        int axis = (int)op->iattr[PROG_PAD_AXIS];
        return grad_add(g, grad, a,
                        grad_slice(g, dy, axis, op->iattr[PROG_PAD_BEFORE],
                                   (int64_t)s->shape[a][axis])) < 0
                   ? -1
                   : 0;
    }
    case PROG_SLICE: { /* dy padded with zeros back to a's extent */
        if (op->iattr[PROG_SLICE_STEP] != 1)
            return grad_refuse(g, op, "the gradient of a strided slice is not supported");
        int axis = (int)op->iattr[PROG_SLICE_AXIS];
        int64_t start = op->iattr[PROG_SLICE_START];
        int64_t after = (int64_t)s->shape[a][axis] - start - op->iattr[PROG_SLICE_COUNT];
        return grad_add(g, grad, a, grad_pad0(g, dy, axis, start, after)) < 0 ? -1 : 0;
    }
    case PROG_CONCAT: { /* each operand's part of dy */
        int axis = (int)op->iattr[0];
        for (int k = 0; k < 2; k++) {
            int v = op->in[k];
            if (need[v] && grad_add(g, grad, v,
                                    grad_slice(g, dy, axis, k ? (int64_t)s->shape[a][axis] : 0,
                                               (int64_t)s->shape[v][axis])) < 0)
                return -1;
        }
        return 0;
    }
    case PROG_LOG: { /* y' = 1 / a, the reciprocal's range: a in [1/64, 512] */
        int r = grad_emit(g, PROG_RECIP, a, -1);
        return r < 0 || grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, r)) < 0 ? -1 : 0;
    }
    case PROG_TANH: { /* y' = 1 - y^2 */
        int yy = grad_emit(g, PROG_MUL, y, y), n = yy < 0 ? -1 : grad_scale(g, yy, -1.0);
        prog_op_t *one = n < 0 ? NULL : grad_op(g, PROG_OFFSET, n, -1, -1);
        if (!one)
            return -1;
        one->fattr = 1.0;
        return grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, one->out)) < 0 ? -1 : 0;
    }
    case PROG_ERF: { /* y' = 2 / sqrt(pi) e^(-a^2) */
        int aa = grad_emit(g, PROG_MUL, a, a), n = aa < 0 ? -1 : grad_scale(g, aa, -1.0);
        int e = n < 0 ? -1 : grad_emit(g, PROG_EXP, n, -1);
        int d = e < 0 ? -1 : grad_scale(g, e, 1.1283791670955126);
        return d < 0 || grad_add(g, grad, a, grad_emit(g, PROG_MUL, dy, d)) < 0 ? -1 : 0;
    }
    case PROG_CONV2D: return grad_conv2d(g, op, dy, grad, na, nb);
    case PROG_AVGPOOL: return grad_add(g, grad, a, grad_avgpool(g, op, dy)) < 0 ? -1 : 0;
    case PROG_LOG_SOFTMAX:
    case PROG_SOFTMAX:
        return grad_refuse(g, op, "has a gradient only as the model's output with the "
                                  "cross-entropy loss");
    case PROG_DRELU:
    case PROG_MAXPOOL_GRAD:
    case PROG_CONV2D_GRAD_INPUT:
    case PROG_CONV2D_GRAD_WEIGHTS:
    case PROG_ARGMAX:
    case PROG_SGD:
    case PROG_DIV:
    case PROG_GT:
    case PROG_OPCODE_COUNT: break;
    }
    return grad_refuse(g, op, "has no gradient: a model to train may not use it between its "
                              "weights and its output");
}

/* Allocates *out and *s, copies fwd into *out (no outputs) and checks fwd
 * for `rows` batch rows into *s. */
static trine_status_t grad_begin(prog_t *out, prog_shapes_t **s, const prog_t *fwd, size_t rows,
                                 trine_err_t *err)
{
    *s = malloc(sizeof **s);
    out->vars = calloc(PROG_VARS_MAX, sizeof *out->vars);
    out->ops = calloc(PROG_OPS_MAX, sizeof *out->ops);
    if (!*s || !out->vars || !out->ops)
        return trine_err_set(err, TRINE_ENOMEM, "out of memory deriving from the model");
    trine_status_t st = prog_check(fwd, rows, *s, err);
    if (st != TRINE_OK)
        return st;
    memcpy(out->vars, fwd->vars, fwd->nvars * sizeof *out->vars);
    memcpy(out->ops, fwd->ops, fwd->nops * sizeof *out->ops);
    out->nvars = fwd->nvars, out->nops = fwd->nops;
    for (size_t i = 0; i < out->nvars; i++)
        out->vars[i].output = false;
    return TRINE_OK;
}

static trine_status_t grad_check_forward(const prog_t *fwd, int *data, int *z, trine_err_t *err)
{
    *data = *z = -1;
    for (size_t i = 0; i < fwd->nvars; i++) {
        const prog_var_t *v = &fwd->vars[i];
        if (v->kind == PROG_VAR_BATCH && *data >= 0)
            return trine_err_set(err, TRINE_EFORMAT,
                                 "a model to train has one batch input (the data), not '%s' too",
                                 v->name);
        if (v->kind == PROG_VAR_BATCH)
            *data = (int)i;
        if (v->output && (*z >= 0 || v->kind != PROG_VAR_TEMP))
            return trine_err_set(err, TRINE_EFORMAT,
                                 "a model to train has one output, computed by it ('%s' is not)",
                                 v->name);
        if (v->output)
            *z = (int)i;
    }
    if (*data < 0 || *z < 0)
        return trine_err_set(err, TRINE_EFORMAT,
                             "a model to train has one batch input (the data) and one output");
    for (size_t j = 0; j < fwd->nops; j++)
        if (fwd->vars[fwd->ops[j].out].kind != PROG_VAR_TEMP)
            return trine_err_set(err, TRINE_EFORMAT,
                                 "a model to train may not write its input '%s': give the "
                                 "forward pass alone",
                                 fwd->vars[fwd->ops[j].out].name);
    return TRINE_OK;
}

/* A state input named prefix + weight w's name, of w's shape, an output
 * (it carries over to the next step and job); -1 with err set. */
static int grad_state(grad_t *g, const char *prefix, int w)
{
    char name[PROG_NAME_MAX];
    const char *wn = g->p->vars[w].name;
    if (snprintf(name, sizeof name, "%s%s", prefix, wn) >= (int)sizeof name) {
        trine_err_set(g->err, TRINE_EFORMAT, "the weight name '%s' is too long for its state '%s%s'",
                      wn, prefix, wn);
        return -1;
    }
    int v = grad_var(g, name, PROG_VAR_INPUT);
    if (v < 0)
        return -1;
    g->p->vars[v].ndim = g->s->ndim[w];
    memcpy(g->p->vars[v].shape, g->s->shape[w], sizeof g->p->vars[v].shape);
    g->p->vars[v].output = true;
    return v;
}

/* In place: v = beta v + x (x < 0: + 1, a constant). false with err set. */
static bool grad_average(grad_t *g, int v, double beta, int x)
{
    int bv = grad_scale(g, v, beta);
    if (bv < 0)
        return false;
    if (x < 0) {
        prog_op_t *op = grad_op(g, PROG_OFFSET, bv, -1, v);
        return op && (op->fattr = 1, true);
    }
    return grad_op(g, PROG_ADD, bv, x, v);
}

/* a [..] times the private scalar k [1, 1], as a product of a [n, 1]. */
static int grad_times_scalar(grad_t *g, int a, int k, int w)
{
    size_t n = 1, col[2];
    for (int d = 0; d < g->s->ndim[w]; d++)
        n *= g->s->shape[w][d];
    col[0] = n, col[1] = 1;
    int c = grad_reshape(g, a, 2, col);
    return c < 0 ? -1 : grad_matmul(g, c, false, k, false);
}

/* Adam's per-step scalars (prog_grad.h): Q1 and Q2 advanced, and *r1 =
 * 1 / Q1, *r2 = 1 / Q2 as [1, 1]. */
static int grad_adam_step(grad_t *g, int *r1, int *r2)
{
    const char *names[2] = {PROG_GRAD_ADAM_Q "1", PROG_GRAD_ADAM_Q "2"};
    const double beta[2] = {PROG_GRAD_ADAM_BETA1, PROG_GRAD_ADAM_BETA2};
    int *r[2] = {r1, r2};
    size_t one[2] = {1, 1};
    for (int k = 0; k < 2; k++) {
        int q = grad_var(g, names[k], PROG_VAR_INPUT);
        if (q < 0)
            return -1;
        g->p->vars[q].ndim = 1, g->p->vars[q].shape[0] = 1, g->p->vars[q].output = true;
        if (!grad_average(g, q, beta[k], -1))
            return -1;
        int rq = grad_emit(g, PROG_RECIP, q, -1); /* Q in [1, 1 / (1 - beta)] */
        if (rq < 0 || (*r[k] = grad_reshape(g, rq, 2, one)) < 0)
            return -1;
    }
    return 0;
}

/* Appends the update of weight w from its summed gradient G; r1, r2 Adam's
 * scalars (grad_adam_step). */
static int grad_update(grad_t *g, const prog_train_t *t, int w, int G, double c, int r1, int r2)
{
    if (t->weight_decay > 0) { /* G + (wd / c) w: c g + wd w over c */
        int d = grad_scale(g, w, t->weight_decay / c);
        if (d < 0 || (G = grad_emit(g, PROG_ADD, G, d)) < 0)
            return -1;
    }
    if (t->opt == PROG_OPT_ADAM) {
        int m = grad_state(g, PROG_GRAD_ADAM_M, w), v = m < 0 ? -1 : grad_state(g, PROG_GRAD_ADAM_V, w);
        int g2 = v < 0 ? -1 : grad_emit(g, PROG_MUL, G, G);
        if (g2 < 0 || !grad_average(g, m, PROG_GRAD_ADAM_BETA1, G) ||
            !grad_average(g, v, PROG_GRAD_ADAM_BETA2, g2))
            return -1;
        int vh = grad_times_scalar(g, v, r2, w); /* V / Q2 */
        prog_op_t *e = vh < 0 ? NULL : grad_op(g, PROG_OFFSET, vh, -1, -1);
        if (!e)
            return -1;
        e->fattr = PROG_GRAD_ADAM_FLOOR;
        /* at most PROG_GRAD_ADAM_CEIL, the top of rsqrt's domain: x - relu(x - ceil) */
        prog_op_t *over = grad_op(g, PROG_OFFSET, e->out, -1, -1);
        if (!over)
            return -1;
        over->fattr = -PROG_GRAD_ADAM_CEIL;
        int ro = grad_emit(g, PROG_RELU, over->out, -1);
        int x = ro < 0 ? -1 : grad_emit(g, PROG_SUB, e->out, ro);
        int rs = x < 0 ? -1 : grad_emit(g, PROG_RSQRT, x, -1);
        int mh = rs < 0 ? -1 : grad_times_scalar(g, m, r1, w); /* M / Q1 */
        int u = mh < 0 ? -1 : grad_emit(g, PROG_MUL, mh, rs);
        u = u < 0 ? -1 : grad_reshape(g, u, g->s->ndim[w], g->s->shape[w]);
        int step = u < 0 ? -1 : grad_scale(g, u, t->lr);
        return step < 0 || !grad_op(g, PROG_SUB, w, step, w) ? -1 : 0;
    }
    if (t->opt == PROG_OPT_MOMENTUM) {
        int v = grad_state(g, PROG_GRAD_STATE, w);
        int mv = v < 0 ? -1 : grad_scale(g, v, t->momentum);
        if (mv < 0 || !grad_op(g, PROG_ADD, mv, G, v))
            return -1;
        G = v;
    }
    int step = grad_scale(g, G, t->lr * c);
    return step < 0 || !grad_op(g, PROG_SUB, w, step, w) ? -1 : 0;
}

double prog_grad_loss_scale(const prog_t *p, uint64_t rows)
{
    int y = grad_find(p, PROG_GRAD_LABELS);
    double kk = 1;
    for (int d = 1; y >= 0 && d < p->vars[y].ndim; d++)
        kk *= (double)p->vars[y].shape[d];
    return 1.0 / ((double)rows * kk);
}

/* The one-hot rows [N, k] of the class indices y [N, 1] (prog_grad.h):
 * the column 1/2 - j for j = 0..k built by pads of 0 y, plus y, DReLU,
 * and bit j minus bit j + 1. */
static int grad_one_hot(grad_t *g, int y, size_t k)
{
    int zero = grad_scale(g, y, 0.0);
    prog_op_t *c = zero < 0 ? NULL : grad_op(g, PROG_OFFSET, zero, -1, -1);
    if (!c)
        return -1;
    c->fattr = 0.5;
    int t = c->out;
    for (size_t j = 1; j <= k; j++) {
        prog_op_t *pd = grad_op(g, PROG_PAD, t, -1, -1);
        if (!pd)
            return -1;
        pd->iattr[PROG_PAD_AXIS] = 1, pd->iattr[PROG_PAD_AFTER] = 1;
        pd->fattr = 0.5 - (double)j;
        t = pd->out;
    }
    int bits = (t = grad_emit(g, PROG_ADD, t, y)) < 0 ? -1 : grad_emit(g, PROG_DRELU, t, -1);
    int part[2];
    for (int h = 0; h < 2; h++) {
        prog_op_t *sl = bits < 0 ? NULL : grad_op(g, PROG_SLICE, bits, -1, -1);
        if (!sl)
            return -1;
        sl->iattr[PROG_SLICE_AXIS] = 1, sl->iattr[PROG_SLICE_START] = h;
        sl->iattr[PROG_SLICE_STEP] = 1, sl->iattr[PROG_SLICE_COUNT] = (int64_t)k;
        part[h] = sl->out;
    }
    return grad_emit(g, PROG_SUB, part[0], part[1]);
}

static trine_status_t grad_build(grad_t *g, const prog_t *fwd, const prog_train_t *t, int data,
                                 int z, int *grad, bool *need)
{
    prog_t *p = g->p;
    const prog_shapes_t *s = g->s;
    /* Which values depend on a weight. */
    for (size_t i = 0; i < fwd->nvars; i++)
        need[i] = fwd->vars[i].kind == PROG_VAR_INPUT;
    for (size_t j = 0; j < fwd->nops; j++) {
        const prog_op_t *op = &fwd->ops[j];
        need[op->out] = need[op->in[0]] || (op->in[1] >= 0 && need[op->in[1]]);
    }
    if (!need[z])
        return trine_err_set(g->err, TRINE_EFORMAT, "the output '%s' depends on no weight",
                             fwd->vars[z].name);
    /* The labels, z's shape with the data's rows. */
    int y = grad_var(g, PROG_GRAD_LABELS, PROG_VAR_BATCH);
    if (y < 0)
        return g->err->code;
    p->vars[y].ndim = s->ndim[z];
    memcpy(p->vars[y].shape, s->shape[z], sizeof p->vars[y].shape);
    p->vars[y].shape[0] = fwd->vars[data].shape[0];
    if (!s->batched[z] || s->shape[z][0] != s->shape[data][0])
        return trine_err_set(g->err, TRINE_EFORMAT,
                             "the output '%s' must have a row per data row", fwd->vars[z].name);
    int hot = y;
    if (t->class_labels) {
        if (t->loss != PROG_LOSS_CE || s->ndim[z] != 2)
            return trine_err_set(g->err, TRINE_EFORMAT,
                                 "class-index labels need the cross-entropy loss and an output "
                                 "of a row of scores per data row ('%s' has %d axes)",
                                 fwd->vars[z].name, s->ndim[z]);
        p->vars[y].shape[1] = 1;
        if ((hot = grad_one_hot(g, y, s->shape[z][1])) < 0)
            return g->err->code;
    }
    /* The seed: d = z - y at z; p - y at the sigmoid's input for BCE; for
     * cross-entropy p - y at the logits, p the model's final softmax or,
     * for a model that ends in its logits, their softmax. */
    size_t last = fwd->nops;
    int at = z, p_of = z;
    const prog_op_t *end = &fwd->ops[fwd->nops - 1];
    if (t->loss == PROG_LOSS_BCE) {
        if (end->out != z || end->code != PROG_SIGMOID)
            return trine_err_set(g->err, TRINE_EFORMAT,
                                 "the bce loss needs a model that ends in a sigmoid: its "
                                 "output '%s' is not one",
                                 fwd->vars[z].name);
        at = end->in[0], last--;
    } else if (t->loss == PROG_LOSS_CE && end->out == z && end->code == PROG_SOFTMAX) {
        at = end->in[0], last--;
    } else if (t->loss == PROG_LOSS_CE && end->out == z && end->code == PROG_LOG_SOFTMAX) {
        at = end->in[0], last--; /* p = e^z */
        if ((p_of = grad_emit(g, PROG_EXP, z, -1)) < 0)
            return g->err->code;
    } else if (t->loss == PROG_LOSS_CE && (p_of = grad_emit(g, PROG_SOFTMAX, z, -1)) < 0) {
        return g->err->code;
    }
    int d = grad_emit(g, PROG_SUB, p_of, hot);
    if (d < 0)
        return g->err->code;
    grad[at] = d;
    if (t->loss == PROG_LOSS_MSE) {
        int l = grad_var(g, PROG_GRAD_LOSS, PROG_VAR_INPUT), sq = -1, s1 = -1, s2 = -1;
        if (l < 0)
            return g->err->code;
        p->vars[l].ndim = 1, p->vars[l].shape[0] = 1, p->vars[l].output = true;
        if ((sq = grad_emit(g, PROG_MUL, d, d)) < 0 || (s1 = grad_emit(g, PROG_SUM, sq, -1)) < 0 ||
            (s2 = s->ndim[z] == 1 ? s1 : grad_emit(g, PROG_SUM, s1, -1)) < 0 ||
            !grad_op(g, PROG_ADD, l, s2, l))
            return g->err->code;
    }
    for (size_t j = last; j-- > 0;) {
        const prog_op_t *op = &fwd->ops[j];
        if (grad[op->out] >= 0 && need[op->out] && grad_back(g, op, grad[op->out], grad, need) < 0)
            return g->err->code;
    }
    size_t kk = 1; /* cross-entropy averages over the rows alone */
    for (int k = 1; t->loss != PROG_LOSS_CE && k < s->ndim[z]; k++)
        kk *= s->shape[z][k];
    double c = (t->loss == PROG_LOSS_MSE ? 2.0 : 1.0) / ((double)t->batch * (double)kk);
    bool any = false;
    int r1 = -1, r2 = -1;
    if (t->opt == PROG_OPT_ADAM && grad_adam_step(g, &r1, &r2) < 0)
        return g->err->code;
    for (size_t i = 0; i < fwd->nvars; i++) {
        if (fwd->vars[i].kind != PROG_VAR_INPUT || grad[i] < 0)
            continue;
        p->vars[i].output = any = true;
        if (grad_update(g, t, (int)i, grad[i], c, r1, r2) < 0)
            return g->err->code;
    }
    return any ? TRINE_OK
               : trine_err_set(g->err, TRINE_EFORMAT, "the model has no weight to train");
}

trine_status_t prog_grad_train(prog_t *out, const prog_t *fwd, const prog_train_t *t,
                               trine_err_t *err)
{
    *out = (prog_t){0};
    if (!(t->lr > 0 && isfinite(t->lr)) || !(t->weight_decay >= 0 && isfinite(t->weight_decay)) ||
        !(t->momentum >= 0 && t->momentum < 1) || t->batch == 0)
        return trine_err_set(err, TRINE_EINVAL,
                             "training wants lr > 0, 0 <= momentum < 1, weight decay >= 0 and a "
                             "batch >= 1");
    int data, z;
    trine_status_t st = grad_check_forward(fwd, &data, &z, err);
    if (st != TRINE_OK)
        return st;
    size_t n = fwd->vars[data].shape[0];
    prog_shapes_t *s = NULL;
    int *grad = malloc(PROG_VARS_MAX * sizeof *grad);
    bool *need = calloc(PROG_VARS_MAX, sizeof *need);
    if (!grad || !need)
        st = trine_err_set(err, TRINE_ENOMEM, "out of memory for the training program");
    else
        st = grad_begin(out, &s, fwd, t->batch < n ? t->batch : n, err);
    if (st == TRINE_OK) {
        for (size_t i = 0; i < PROG_VARS_MAX; i++)
            grad[i] = -1;
        grad_t g = {out, s, 0, err};
        st = grad_build(&g, fwd, t, data, z, grad, need);
    }
    free(s), free(grad), free(need);
    if (st != TRINE_OK)
        prog_clear(out);
    return st;
}

trine_status_t prog_grad_validation(prog_t *out, const prog_t *fwd, bool class_labels,
                                    trine_err_t *err)
{
    *out = (prog_t){0};
    int data, z;
    prog_shapes_t *s = NULL;
    trine_status_t st = grad_check_forward(fwd, &data, &z, err);
    if (st == TRINE_OK)
        st = grad_begin(out, &s, fwd, 1, err);
    if (st == TRINE_OK && (s->ndim[z] != 2 || !s->batched[z]))
        st = trine_err_set(err, TRINE_EFORMAT,
                           "validation counts the rows whose largest score is the label's: the "
                           "output '%s' must be a row of scores per data row",
                           fwd->vars[z].name);
    grad_t g = {out, s, 0, err};
    int y = st == TRINE_OK ? grad_var(&g, PROG_GRAD_LABELS, PROG_VAR_BATCH) : -1;
    int c = y < 0 ? -1 : grad_var(&g, PROG_GRAD_CORRECT, PROG_VAR_INPUT);
    if (c >= 0) {
        prog_var_t *v = &out->vars[y];
        v->ndim = 2, v->shape[0] = fwd->vars[data].shape[0];
        v->shape[1] = class_labels ? 1 : s->shape[z][1];
        out->vars[c].ndim = 1, out->vars[c].shape[0] = 1, out->vars[c].output = true;
    }
    /* eq = [d >= -1/2] - [d >= 1/2] for the whole difference d of the
     * predicted and the true class: 1 where they agree */
    int pred = c < 0 ? -1 : grad_emit(&g, PROG_ARGMAX, z, -1), label = -1, d = -1, eq = -1;
    if (pred >= 0)
        label = class_labels ? grad_reshape(&g, y, 1, (size_t[]){0})
                             : grad_emit(&g, PROG_ARGMAX, y, -1);
    if (label >= 0 && (d = grad_emit(&g, PROG_SUB, pred, label)) >= 0) {
        prog_op_t *hi = grad_op(&g, PROG_OFFSET, d, -1, -1);
        prog_op_t *lo = hi ? grad_op(&g, PROG_OFFSET, d, -1, -1) : NULL;
        if (lo) {
            hi->fattr = 0.5, lo->fattr = -0.5;
            int bh = grad_emit(&g, PROG_DRELU, hi->out, -1);
            int bl = bh < 0 ? -1 : grad_emit(&g, PROG_DRELU, lo->out, -1);
            eq = bl < 0 ? -1 : grad_emit(&g, PROG_SUB, bh, bl);
        }
    }
    int sum = eq < 0 ? -1 : grad_emit(&g, PROG_SUM, eq, -1);
    if (st == TRINE_OK && (sum < 0 || !grad_op(&g, PROG_ADD, c, sum, c)))
        st = err->code;
    free(s);
    if (st != TRINE_OK)
        prog_clear(out);
    return st;
}
