/* onnx_ops.c — one function per ONNX operator (the list is in
 * onnx_compile.h), each reading its node's attributes and operands and
 * emitting program operations through onnx_compile.c (onnx_internal.h);
 * convolution and pooling are in onnx_ops_conv.c, the recurrent layers in
 * onnx_ops_rnn.c, shapes and axes in onnx_ops_shape.c.
 */
#include "daemon/models/onnx_internal.h"

#include "daemon/common/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- elementwise ---------------------------------------------------------------- */

/* Fails on operands of which neither broadcasts to the other. */
static trine_status_t ox_fail_broadcast(ox_t *c, const ox_val_t *a, const ox_val_t *b)
{
    char da[LOG_SHAPE_CHARS], db[LOG_SHAPE_CHARS];
    return ox_fail(c, TRINE_EUNSUPPORTED,
                   "operands %s and %s: broadcasting both operands is not supported (one must "
                   "broadcast to the other)",
                   log_shape(da, a->ndim, a->shape), log_shape(db, b->ndim, b->shape));
}

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

/* Elementwise a and b where only one is a batch value keep rows apart
 * only when the other is broadcast along the batch axis (a lower rank, or
 * extent 1 there); otherwise row i meets the other's row i. */
static void ox_rows_elementwise(ox_t *c, const ox_val_t *a, const ox_val_t *b)
{
    if (a->batch0 == b->batch0)
        return;
    const ox_val_t *batch = a->batch0 ? a : b, *other = a->batch0 ? b : a;
    if (other->rank >= batch->rank && other->shape[other->ndim - batch->rank] != 1)
        c->out->rows_independent = false;
}

static trine_status_t ox_add_sub(ox_t *c, bool sub)
{
    ox_val_t av, bv, *a = &av, *b = &bv;
    trine_status_t st;
    if (ox_int_arith(c, &st))
        return st;
    if ((st = ox_pair(c, a, b)))
        return st;
    ox_rows_elementwise(c, a, b);
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
    return ox_fail_broadcast(c, a, b);
}

/* a * b, one broadcasting to the other: a broadcast operand is first
 * expanded (zeros of the other's shape plus it), then multiplied. */
static int ox_mul_vars(ox_t *c, ox_val_t *a, int va, ox_val_t *b, int vb, bool *batch0, int *rank)
{
    ox_rows_elementwise(c, a, b);
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
        ox_fail_broadcast(c, a, b);
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
    if (ox_int_arith(c, &st))
        return st;
    if ((st = ox_pair(c, &a, &b)))
        return st;
    bool batch0 = false;
    int rank;
    int r = ox_mul_vars(c, &a, a.var, &b, b.var, &batch0, &rank);
    return ox_define(c, 0, r, rank, batch0);
}

/* a / b for a private b: a times recip(b) (b in [1/64, 512]). */
static trine_status_t ox_div_private(ox_t *c)
{
    ox_val_t a, b;
    trine_status_t st;
    if ((st = ox_pair(c, &a, &b)))
        return st;
    b.var = ox_op1(c, PROG_RECIP, b.var);
    if (b.var < 0)
        return TRINE_EUNSUPPORTED;
    bool batch0 = false;
    int rank;
    int r = ox_mul_vars(c, &a, a.var, &b, b.var, &batch0, &rank);
    return ox_define(c, 0, r, rank, batch0);
}

/* a / b for a constant b: a times a weight holding 1 / b; for a private
 * b, a times recip(b). */
static trine_status_t ox_div(ox_t *c)
{
    ox_val_t *a, *b;
    trine_status_t st;
    if (ox_int_arith(c, &st))
        return st;
    if ((st = ox_known(c, "broadcast", "axis", NULL)) || (st = ox_arity(c, 2, 2, 1)) ||
        (st = ox_in(c, 0, false, &a)) || (st = ox_in(c, 1, false, &b)))
        return st;
    if (!b->constant)
        return ox_div_private(c);
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

/* MatMul of rank 3 or 4 (numpy's: the last two axes multiply, the others
 * are a batch of matrices, broadcast where one side has one): one 2-D
 * product per matrix of the batch, sliced out and concatenated back; both
 * operands may be private (attention's Q K^T). With a 2-D right operand
 * the left one's matrices are stacked into one product. */
static trine_status_t ox_matmul_batched(ox_t *c, ox_val_t *a, int va, ox_val_t *b, int vb)
{
    int ra = a->rank, rb = b->rank, r = ra > rb ? ra : rb;
    size_t m = a->shape[ra - 2], k = a->shape[ra - 1], n = b->shape[rb - 1];
    if (b->shape[rb - 2] != k)
        return ox_fail(c, TRINE_ESHAPE, "inner extents %zu and %zu differ", k, b->shape[rb - 2]);
    size_t out[TENSOR_MAX_DIMS], nb = 1, na = ox_count(ra - 2, a->shape),
                                 nbb = ox_count(rb - 2, b->shape);
    for (int i = 0; i < r - 2; i++) { /* right-aligned batch extents */
        int ia = i - (r - ra), ib = i - (r - rb);
        size_t ea = ia >= 0 ? a->shape[ia] : 1, eb = ib >= 0 ? b->shape[ib] : 1;
        if (ea != eb && ea != 1 && eb != 1)
            return ox_fail(c, TRINE_ESHAPE, "batch extents %zu and %zu do not broadcast", ea, eb);
        out[i] = ea > eb ? ea : eb;
        nb *= out[i];
    }
    if (na != nb && na != 1)
        return ox_fail(c, TRINE_EUNSUPPORTED, "a batch broadcast within the left operand's "
                                              "batch axes is not supported");
    if (nbb != nb && nbb != 1)
        return ox_fail(c, TRINE_EUNSUPPORTED, "a batch broadcast within the right operand's "
                                              "batch axes is not supported");
    out[r - 2] = m, out[r - 1] = n;
    bool b0;
    int y;
    if (rb == 2) { /* [.., m, k] as one [na m, k] */
        size_t s2[2] = {na * m, k};
        int x2 = ox_reshape_var(c, va, ra, a->shape, a->batch0, 2, s2, &b0);
        int p = x2 < 0 ? -1 : ox_op2(c, PROG_MATMUL, x2, vb);
        size_t ps[2] = {na * m, n};
        y = ox_reshape_var(c, p, 2, ps, b0, r, out, &b0);
        return ox_define(c, 0, y, r, b0);
    }
    if (a->batch0 || b->batch0) /* matrices sliced by index: the data is one batch */
        c->out->rows_independent = false;
    size_t a3[3] = {na, m, k}, b3[3] = {nbb, k, n}, am[2] = {m, k}, bm[2] = {k, n}, one[3] = {1, m, n};
    int xa = ox_reshape_var(c, va, ra, a->shape, a->batch0, 3, a3, &b0);
    int xb = ox_reshape_var(c, vb, rb, b->shape, b->batch0, 3, b3, &b0);
    int acc = -1;
    for (size_t i = 0; i < nb && xa >= 0 && xb >= 0; i++) {
        int sa = ox_slice_var(c, xa, 0, na == 1 ? 0 : (int64_t)i, 1, 1);
        int sb = ox_slice_var(c, xb, 0, nbb == 1 ? 0 : (int64_t)i, 1, 1);
        size_t s1a[3] = {1, m, k}, s1b[3] = {1, k, n};
        sa = ox_reshape_var(c, sa, 3, s1a, false, 2, am, &b0);
        sb = ox_reshape_var(c, sb, 3, s1b, false, 2, bm, &b0);
        int p = sa < 0 || sb < 0 ? -1 : ox_op2(c, PROG_MATMUL, sa, sb);
        size_t pm[2] = {m, n};
        p = ox_reshape_var(c, p, 2, pm, false, 3, one, &b0);
        if (p < 0)
            return TRINE_EUNSUPPORTED;
        acc = acc < 0 ? p
                      : ox_emit(c, (prog_op_t){.code = PROG_CONCAT, .in = {acc, p}, .iattr = {0}});
        if (acc < 0)
            return TRINE_EUNSUPPORTED;
    }
    size_t all[3] = {nb, m, n};
    y = acc < 0 ? -1 : ox_reshape_var(c, acc, 3, all, false, r, out, &b0);
    return ox_define(c, 0, y, r, false);
}

static trine_status_t ox_matmul(ox_t *c)
{
    ox_val_t *a, *b;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 2, 2, 1)) || (st = ox_in(c, 0, false, &a)) ||
        (st = ox_in(c, 1, false, &b)))
        return st;
    if (a->rank < 2 || b->rank < 2 || a->rank > TENSOR_MAX_DIMS || b->rank > TENSOR_MAX_DIMS)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "operands of rank %d and %d: trine multiplies matrices and batches of "
                       "them, ranks 2 to 4 (no vector MatMul)",
                       a->rank, b->rank);
    int va = ox_var(c, a), vb = ox_var(c, b);
    if (va < 0 || vb < 0)
        return TRINE_EUNSUPPORTED;
    if (b->batch0) /* a batch's rows as the inner extent: every row counts */
        c->out->rows_independent = false;
    if (a->rank > 2 || b->rank > 2)
        return ox_matmul_batched(c, a, va, b, vb);
    return ox_define(c, 0, ox_op2(c, PROG_MATMUL, va, vb), 2, a->batch0);
}

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

trine_status_t ox_fold_begin(ox_t *c, int bn, const ox_val_t *w, const ox_val_t *b, size_t n,
                             ox_bn_t *f, plain_t **ww, plain_t **wb)
{
    *ww = *wb = NULL;
    trine_status_t st = ox_bn_params(c, c->m->proto->graph->node[bn], n, f);
    if (st || !f->s)
        return st;
    size_t shape[1] = {n};
    if (!w->data || (b && !b->data))
        st = ox_fail(c, TRINE_EFORMAT, "the weights must hold values to fold into");
    else if (b && b->data->count != n && b->data->count != 1)
        st = ox_fail(c, TRINE_EFORMAT, "the bias has %zu values for %zu outputs", b->data->count,
                     n);
    else if (!(*ww = ox_real_copy(w->data)) || !(*wb = plain_alloc(PLAIN_F8, 1, shape)))
        st = ox_nomem(c);
    if (st) {
        plain_destroy(ww);
        plain_destroy(wb);
        ox_bn_clear(f);
    }
    return st;
}

void ox_fold_end(ox_t *c, ox_bn_t *f, const ox_val_t *w, const ox_val_t *b, size_t n,
                 plain_t *ww, plain_t *wb, int *vw, int *vb)
{
    ox_bn_clear(f);
    *vw = ox_new_weight(c, w->name, ".bn", w->ndim, w->shape, ww);
    size_t shape[1] = {n};
    *vb = ox_new_weight(c, b ? b->name : w->name, b ? ".bn" : ".bnshift", 1, shape, wb);
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
    if ((a->batch0 && ta) || b->batch0) /* a batch's rows as columns or inner extent */
        c->out->rows_independent = false;
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
        ox_fold_end(c, &f, b, cc, out_n, wb, wc, &vb, &vc);
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
        /* a static export's batch baked into the target ([1, -1]) */
        if (i == 0 && x->batch0 && c->export_batch && d == (int64_t)c->export_batch)
            d = (int64_t)x->shape[0];
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
    if (x->batch0 && perm[0] != 0) /* before *batch0: it may be &x->batch0 */
        c->out->rows_independent = false;
    *batch0 = x->batch0 && perm[0] == 0;
    if (identity)
        return vx;
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

typedef enum { OX_V_SUM, OX_V_MEAN, OX_V_MAX, OX_V_MIN } ox_variadic_t;

/* Sum, Mean, Max and Min of one or more tensors of the first's shape, or
 * broadcasting to it: folded pairwise, max(a, b) = a + relu(b - a) and
 * min(a, b) = a - relu(a - b), exact. */
static trine_status_t ox_variadic(ox_t *c, ox_variadic_t kind)
{
    ox_val_t *a, *b;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 1, 16, 1)) || (st = ox_in(c, 0, false, &a)))
        return st;
    int acc = ox_var(c, a);
    bool batch0 = a->batch0;
    for (size_t k = 1; acc >= 0 && k < c->n->n_input; k++) {
        if ((st = ox_in(c, k, false, &b)))
            return st;
        if (!ox_same_shape(a, b) && !ox_broadcasts(b, a))
            return ox_fail(c, TRINE_EUNSUPPORTED,
                           "input %zu ('%s') must have the first input's shape or broadcast to "
                           "it",
                           k, b->name);
        int vb = ox_var(c, b);
        if (vb < 0)
            return TRINE_EUNSUPPORTED;
        ox_rows_elementwise(c, a, b);
        if (kind == OX_V_SUM || kind == OX_V_MEAN) {
            acc = ox_op2(c, PROG_ADD, acc, vb);
        } else {
            int d = ox_op2(c, PROG_SUB, acc, vb); /* acc - b */
            if (kind == OX_V_MAX) {
                int r = d < 0 ? -1 : ox_op1(c, PROG_RELU, ox_scale(c, d, -1.0));
                acc = r < 0 ? -1 : ox_op2(c, PROG_ADD, acc, r);
            } else {
                int r = d < 0 ? -1 : ox_op1(c, PROG_RELU, d);
                acc = r < 0 ? -1 : ox_op2(c, PROG_SUB, acc, r);
            }
        }
    }
    if (acc >= 0 && kind == OX_V_MEAN)
        acc = ox_scale(c, acc, 1.0 / (double)c->n->n_input);
    else if (acc >= 0 && c->n->n_input == 1)
        acc = ox_scale(c, acc, 1.0); /* a copy: its own name */
    return ox_define(c, 0, acc, a->rank, batch0);
}

static trine_status_t ox_sum(ox_t *c)
{
    return ox_variadic(c, OX_V_SUM);
}

static trine_status_t ox_mean(ox_t *c)
{
    return ox_variadic(c, OX_V_MEAN);
}

static trine_status_t ox_max(ox_t *c)
{
    return ox_variadic(c, OX_V_MAX);
}

static trine_status_t ox_min(ox_t *c)
{
    return ox_variadic(c, OX_V_MIN);
}

/* ArgMax, or ArgMin (min: the ArgMax of -x), at a graph output. */
static trine_status_t ox_arg_extreme(ox_t *c, bool min)
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
                       "select_last_index 1 is not supported (trine takes the first one)");
    if (!ox_at_output(c))
        return ox_fail(c, TRINE_EUNSUPPORTED, "%s is supported only as a graph output",
                       min ? "ArgMin" : "ArgMax");
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis >= (x->rank ? x->rank : 1))
        return ox_fail(c, TRINE_EFORMAT, "axis is outside rank %d", x->rank);
    int rank = 0;
    bool batch0 = false;
    ox_val_t neg = *x;
    int vx = ox_var(c, x);
    if (vx < 0 || (min && (neg.var = ox_scale(c, vx, -1.0)) < 0))
        return TRINE_EUNSUPPORTED;
    int y = ox_argmax_axis(c, min ? &neg : x, (int)axis, false, keep != 0, &rank, &batch0);
    return ox_define(c, 0, y, rank, batch0);
}

static trine_status_t ox_argmax(ox_t *c)
{
    return ox_arg_extreme(c, false);
}

static trine_status_t ox_argmin(ox_t *c)
{
    return ox_arg_extreme(c, true);
}

/* Softmax with probabilities (code PROG_SOFTMAX) or LogSoftmax
 * (PROG_LOG_SOFTMAX): the op over the last axis, the axis moved there and
 * back by transposes (opsets before 13: the dims from axis on flattened
 * into one). */
static trine_status_t ox_softmax_op(ox_t *c, prog_opcode_t code)
{
    ox_val_t *x;
    int64_t axis;
    trine_status_t st;
    bool flat = c->m->opset < 13;
    if ((st = ox_known(c, "axis", NULL)) || (st = ox_arity(c, 1, 1, 1)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_int(c, "axis", flat ? 1 : -1, &axis)))
        return st;
    int r = x->rank ? x->rank : 1;
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis >= r)
        return ox_fail(c, TRINE_EFORMAT, "axis is outside rank %d", x->rank);
    ox_val_t v = *x;
    if ((v.var = ox_var(c, x)) < 0)
        return TRINE_EUNSUPPORTED;
    bool batch0 = v.batch0, b0;
    if (axis == 0 && batch0 && r > 1 - flat)
        c->out->rows_independent = false;
    if (flat || axis == r - 1) {
        size_t two[2] = {ox_count((int)axis, v.shape), ox_count(v.ndim - (int)axis, v.shape + axis)};
        int m = flat && axis != r - 1 ? ox_reshape(c, &v, 2, two, &b0) : v.var;
        int y = m < 0 ? -1 : ox_op1(c, code, m);
        if (y >= 0 && m != v.var) {
            ox_val_t yv = {.var = y, .batch0 = b0};
            ox_shape_from_var(c, &yv, 2);
            y = ox_reshape(c, &yv, v.ndim, v.shape, &b0);
        }
        return ox_define(c, 0, y, x->rank, batch0 && (axis != 0 || r > 1));
    }
    int64_t perm[TENSOR_MAX_DIMS];
    for (int i = 0; i < r; i++)
        perm[i] = i;
    perm[axis] = r - 1, perm[r - 1] = axis; /* a swap: its own inverse */
    int t = ox_permute(c, &v, v.var, perm, &b0);
    ox_val_t tv = {.var = t, .batch0 = b0, .rank = r};
    if (t >= 0)
        ox_shape_from_var(c, &tv, r);
    int y = t < 0 ? -1 : ox_op1(c, code, t);
    tv.var = y;
    y = y < 0 ? -1 : ox_permute(c, &tv, y, perm, &b0);
    return ox_define(c, 0, y, x->rank, batch0 && axis != 0);
}

static trine_status_t ox_softmax(ox_t *c)
{
    return ox_softmax_op(c, PROG_SOFTMAX);
}

static trine_status_t ox_log_softmax(ox_t *c)
{
    return ox_softmax_op(c, PROG_LOG_SOFTMAX);
}

/* ---- constants and batch normalization ------------------------------------------ */

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
/* ---- the operators --------------------------------------------------------------- */

static trine_status_t ox_relu(ox_t *c)
{
    return ox_unary(c, PROG_RELU, 0);
}

static trine_status_t ox_sigmoid(ox_t *c)
{
    return ox_unary(c, PROG_SIGMOID, 1);
}

static trine_status_t ox_operand(ox_t *c, ox_val_t *v);
static int ox_offset(ox_t *c, int a, double by);

static trine_status_t ox_exp(ox_t *c)
{
    return ox_unary(c, PROG_EXP, 0);
}

/* Reciprocal of either sign: s = 2 drelu(x) - 1, then s recip(s x), for
 * |x| in [1/64, 512]. */
static trine_status_t ox_reciprocal(ox_t *c)
{
    ox_val_t x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 1, 1, 1)) || (st = ox_operand(c, &x)))
        return st;
    int s = ox_offset(c, ox_scale(c, ox_op1(c, PROG_DRELU, x.var), 2), -1);
    int ax = s < 0 ? -1 : ox_op2(c, PROG_MUL, x.var, s);
    int r = ax < 0 ? -1 : ox_op1(c, PROG_RECIP, ax);
    return ox_define(c, 0, r < 0 ? -1 : ox_op2(c, PROG_MUL, r, s), x.rank, x.batch0);
}

/* The node's one operand (no attributes but those listed) and its variable. */
static trine_status_t ox_operand(ox_t *c, ox_val_t *v)
{
    ox_val_t *a;
    trine_status_t st;
    if ((st = ox_arity(c, 1, 3, 1)) || (st = ox_in(c, 0, false, &a)))
        return st;
    *v = *a;
    v->var = ox_var(c, a);
    return v->var < 0 ? TRINE_EUNSUPPORTED : TRINE_OK;
}

/* sqrt(x) = x rsqrt(x), for x in [1/256, 128]. */
static trine_status_t ox_sqrt(ox_t *c)
{
    ox_val_t x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_operand(c, &x)))
        return st;
    int r = ox_op1(c, PROG_RSQRT, x.var);
    r = r < 0 ? -1 : ox_op2(c, PROG_MUL, x.var, r);
    return ox_define(c, 0, r, x.rank, x.batch0);
}

/* Pow(x, e) for a constant scalar e whose value the model holds (a
 * decomposed LayerNorm's x^2): 1, 2 and 3 by products, 0.5 and -0.5 by
 * rsqrt (x in [1/256, 128]). */
static trine_status_t ox_pow(ox_t *c)
{
    ox_val_t *x, *e;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_arity(c, 2, 2, 1)) || (st = ox_in(c, 0, false, &x)) ||
        (st = ox_in(c, 1, false, &e)))
        return st;
    if (!e->constant || !e->data || e->data->count != 1)
        return ox_fail(c, TRINE_EUNSUPPORTED,
                       "the exponent '%s' must be a constant (a scalar whose value the model "
                       "holds)",
                       e->name);
    double p = e->data->real ? e->data->real[0] : (double)(int64_t)e->data->ints[0];
    int v = ox_var(c, x), y = -1;
    if (v < 0)
        return TRINE_EUNSUPPORTED;
    if (p == 1) {
        y = ox_scale(c, v, 1.0);
    } else if (p == 2 || p == 3) {
        y = ox_op2(c, PROG_MUL, v, v);
        if (y >= 0 && p == 3)
            y = ox_op2(c, PROG_MUL, y, v);
    } else if (p == 0.5 || p == -0.5) {
        y = ox_op1(c, PROG_RSQRT, v);
        if (y >= 0 && p == 0.5)
            y = ox_op2(c, PROG_MUL, v, y);
    } else {
        return ox_fail(c, TRINE_EUNSUPPORTED, "exponent %g (trine: 1, 2, 3, 0.5, -0.5)", p);
    }
    return ox_define(c, 0, y, x->rank, x->batch0);
}

static int ox_offset(ox_t *c, int a, double by)
{
    return a < 0 ? -1 : ox_emit(c, (prog_op_t){.code = PROG_OFFSET, .in = {a, -1}, .fattr = by});
}

/* clip(x, lo, hi) = lo + relu(x - lo) - relu(x - hi), exact; a missing
 * bound (infinite) drops its ReLU. */
static int ox_clip_var(ox_t *c, int x, double lo, double hi)
{
    bool has_lo = isfinite(lo), has_hi = isfinite(hi);
    int y = x;
    if (has_lo)
        y = ox_offset(c, ox_op1(c, PROG_RELU, ox_offset(c, x, -lo)), lo);
    if (has_hi && y >= 0) {
        int over = ox_op1(c, PROG_RELU, ox_offset(c, x, -hi));
        y = over < 0 ? -1 : ox_op2(c, PROG_SUB, y, over);
    }
    return y;
}

/* A public scalar bound from input k or attribute name; dflt when absent. */
static trine_status_t ox_bound(ox_t *c, size_t k, const char *name, double dflt, double *v)
{
    ox_val_t *b;
    trine_status_t st;
    if ((st = ox_float(c, name, dflt, v)) || (st = ox_in(c, k, true, &b)) || !b)
        return st;
    if (!b->data || b->data->count != 1)
        return ox_fail(c, TRINE_EUNSUPPORTED, "the bound '%s' must be a constant scalar", b->name);
    *v = b->data->real ? b->data->real[0] : (double)(int64_t)b->data->ints[0];
    return TRINE_OK;
}

static trine_status_t ox_clip(ox_t *c)
{
    ox_val_t x;
    double lo, hi;
    trine_status_t st;
    if ((st = ox_known(c, "min", "max", NULL)) || (st = ox_operand(c, &x)) ||
        (st = ox_bound(c, 1, "min", -INFINITY, &lo)) || (st = ox_bound(c, 2, "max", INFINITY, &hi)))
        return st;
    return ox_define(c, 0, ox_clip_var(c, x.var, lo, hi), x.rank, x.batch0);
}

/* ThresholdedRelu: x where x > alpha, else 0: x gt(x, alpha), exact. */
static trine_status_t ox_thresholded_relu(ox_t *c)
{
    ox_val_t x;
    double alpha;
    trine_status_t st;
    if ((st = ox_known(c, "alpha", NULL)) || (st = ox_operand(c, &x)) ||
        (st = ox_float(c, "alpha", 1.0, &alpha)))
        return st;
    int t = ox_offset(c, ox_scale(c, x.var, 0.0), alpha); /* alpha, x's shape */
    int g = t < 0 ? -1 : ox_op2(c, PROG_GT, x.var, t);
    return ox_define(c, 0, g < 0 ? -1 : ox_op2(c, PROG_MUL, x.var, g), x.rank, x.batch0);
}

/* LeakyRelu: alpha x + (1 - alpha) relu(x), exact. */
static trine_status_t ox_leaky_relu(ox_t *c)
{
    ox_val_t x;
    double alpha;
    trine_status_t st;
    if ((st = ox_known(c, "alpha", NULL)) || (st = ox_operand(c, &x)) ||
        (st = ox_float(c, "alpha", 0.01, &alpha)))
        return st;
    int r = ox_scale(c, ox_op1(c, PROG_RELU, x.var), 1 - alpha);
    int s = r < 0 ? -1 : ox_scale(c, x.var, alpha);
    return ox_define(c, 0, s < 0 ? -1 : ox_op2(c, PROG_ADD, r, s), x.rank, x.batch0);
}

/* HardSigmoid clip(alpha x + beta, 0, 1), and HardSwish x times it with
 * alpha 1/6, beta 1/2. */
static trine_status_t ox_hard(ox_t *c, bool swish)
{
    ox_val_t x;
    double alpha, beta;
    trine_status_t st;
    if ((st = swish ? ox_known(c, NULL) : ox_known(c, "alpha", "beta", NULL)) ||
        (st = ox_operand(c, &x)) || (st = ox_float(c, "alpha", swish ? 1.0 / 6 : 0.2, &alpha)) ||
        (st = ox_float(c, "beta", 0.5, &beta)))
        return st;
    int y = ox_clip_var(c, ox_offset(c, ox_scale(c, x.var, alpha), beta), 0, 1);
    if (swish && y >= 0)
        y = ox_op2(c, PROG_MUL, x.var, y);
    return ox_define(c, 0, y, x.rank, x.batch0);
}

static trine_status_t ox_hard_sigmoid(ox_t *c)
{
    return ox_hard(c, false);
}

static trine_status_t ox_hard_swish(ox_t *c)
{
    return ox_hard(c, true);
}

/* PRelu: relu(x) + slope (x - relu(x)), the slope broadcast. */
static trine_status_t ox_prelu(ox_t *c)
{
    ox_val_t a, b;
    trine_status_t st;
    if ((st = ox_pair(c, &a, &b)))
        return st;
    int r = ox_op1(c, PROG_RELU, a.var);
    int neg = r < 0 ? -1 : ox_op2(c, PROG_SUB, a.var, r);
    if (neg < 0)
        return TRINE_EUNSUPPORTED;
    bool batch0 = false;
    int rank;
    ox_val_t n = a;
    n.var = neg;
    int p = ox_mul_vars(c, &n, neg, &b, b.var, &batch0, &rank);
    return ox_define(c, 0, p < 0 ? -1 : ox_op2(c, PROG_ADD, p, r), a.rank, a.batch0);
}

/* ---- log, tanh, erf and the exp family ------------------------------------------ */

/* ln x for x in [2^-10, 2^20) / sqrt 2 (the default range of PROG_LOG). */
static trine_status_t ox_log(ox_t *c)
{
    ox_val_t x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_operand(c, &x)))
        return st;
    int r = ox_emit(c, (prog_op_t){.code = PROG_LOG,
                                   .in = {x.var, -1},
                                   .iattr = {PROG_LOG_LO_DEFAULT, PROG_LOG_HI_DEFAULT}});
    return ox_define(c, 0, r, x.rank, x.batch0);
}

static trine_status_t ox_tanh(ox_t *c)
{
    return ox_unary(c, PROG_TANH, 0);
}

static trine_status_t ox_erf(ox_t *c)
{
    return ox_unary(c, PROG_ERF, 0);
}

/* |x| = 2 relu(x) - x, exact. */
static int ox_abs_var(ox_t *c, int x)
{
    int r = ox_scale(c, ox_op1(c, PROG_RELU, x), 2.0);
    return r < 0 ? -1 : ox_op2(c, PROG_SUB, r, x);
}

static trine_status_t ox_abs(ox_t *c)
{
    ox_val_t x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_operand(c, &x)))
        return st;
    return ox_define(c, 0, ox_abs_var(c, x.var), x.rank, x.batch0);
}

static trine_status_t ox_neg(ox_t *c)
{
    ox_val_t x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_operand(c, &x)))
        return st;
    return ox_define(c, 0, ox_scale(c, x.var, -1.0), x.rank, x.batch0);
}

/* Elu, Selu and Celu: gamma (relu(x) + alpha (exp(min(x, 0) / beta) - 1)),
 * min(x, 0) = x - relu(x); exp's relative error on values in (0, 1]. */
static trine_status_t ox_exp_linear(ox_t *c, const char *a_name, double a_dflt, bool selu,
                                    bool celu)
{
    ox_val_t x;
    double alpha, gamma = 1.0;
    trine_status_t st;
    if ((st = selu ? ox_known(c, "alpha", "gamma", NULL) : ox_known(c, a_name, NULL)) ||
        (st = ox_operand(c, &x)) || (st = ox_float(c, a_name, a_dflt, &alpha)) ||
        (selu && (st = ox_float(c, "gamma", 1.0507009873554805, &gamma))))
        return st;
    if (celu && alpha == 0)
        return ox_fail(c, TRINE_EFORMAT, "alpha must not be 0");
    int r = ox_op1(c, PROG_RELU, x.var);
    int neg = r < 0 ? -1 : ox_op2(c, PROG_SUB, x.var, r);
    if (celu && neg >= 0)
        neg = ox_scale(c, neg, 1.0 / alpha);
    int e = neg < 0 ? -1 : ox_offset(c, ox_scale(c, ox_op1(c, PROG_EXP, neg), alpha), -alpha);
    int y = e < 0 ? -1 : ox_op2(c, PROG_ADD, r, e);
    if (selu && y >= 0)
        y = ox_scale(c, y, gamma);
    return ox_define(c, 0, y, x.rank, x.batch0);
}

static trine_status_t ox_elu(ox_t *c)
{
    return ox_exp_linear(c, "alpha", 1.0, false, false);
}

static trine_status_t ox_selu(ox_t *c)
{
    return ox_exp_linear(c, "alpha", 1.6732632423543772, true, false);
}

static trine_status_t ox_celu(ox_t *c)
{
    return ox_exp_linear(c, "alpha", 1.0, false, true);
}

/* Softplus ln(1 + e^x) = relu(x) + ln(1 + e^-|x|): the log of [1, 2]
 * over [2^0, 2^2) / sqrt 2, one comparison. */
static trine_status_t ox_softplus(ox_t *c)
{
    ox_val_t x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_operand(c, &x)))
        return st;
    int r = ox_op1(c, PROG_RELU, x.var);
    int m = r < 0 ? -1 : ox_op2(c, PROG_SUB, x.var, ox_scale(c, r, 2.0)); /* -|x| */
    int e = m < 0 ? -1 : ox_offset(c, ox_op1(c, PROG_EXP, m), 1.0);
    int l = e < 0 ? -1 : ox_emit(c, (prog_op_t){.code = PROG_LOG, .in = {e, -1}, .iattr = {0, 2}});
    return ox_define(c, 0, l < 0 ? -1 : ox_op2(c, PROG_ADD, r, l), x.rank, x.batch0);
}

/* Softsign x / (1 + |x|), |x| <= 511 (recip's range). */
static trine_status_t ox_softsign(ox_t *c)
{
    ox_val_t x;
    trine_status_t st;
    if ((st = ox_known(c, NULL)) || (st = ox_operand(c, &x)))
        return st;
    int d = ox_offset(c, ox_abs_var(c, x.var), 1.0);
    int r = d < 0 ? -1 : ox_op1(c, PROG_RECIP, d);
    return ox_define(c, 0, r < 0 ? -1 : ox_op2(c, PROG_MUL, x.var, r), x.rank, x.batch0);
}

/* ---- reductions --------------------------------------------------------------- */

typedef enum { OX_R_SUM, OX_R_MEAN, OX_R_MAX, OX_R_MIN, OX_R_SUMSQ, OX_R_L1 } ox_reduce_t;

/* The axes a Reduce node names (attribute, or input 1 from opset 13 for
 * ReduceSum and 18 for the rest) as a bit set; all axes when none. */
static trine_status_t ox_reduce_axes(ox_t *c, const ox_val_t *x, unsigned *set)
{
    int64_t axes[TENSOR_MAX_DIMS], noop;
    size_t n = 0;
    ox_val_t *in;
    trine_status_t st;
    if ((st = ox_ints(c, "axes", -1, axes, TENSOR_MAX_DIMS, &n)) || (st = ox_in(c, 1, true, &in)) ||
        (st = ox_int(c, "noop_with_empty_axes", 0, &noop)))
        return st;
    if (in) {
        if (!ox_is_ints(in) || in->data->count > TENSOR_MAX_DIMS)
            return ox_fail(c, TRINE_EUNSUPPORTED, "axes '%s' must be a constant integer tensor",
                           in->name);
        n = in->data->count;
        for (size_t i = 0; i < n; i++)
            axes[i] = (int64_t)in->data->ints[i];
    }
    if (!n && noop)
        return ox_fail(c, TRINE_EUNSUPPORTED, "noop_with_empty_axes with no axes is not supported");
    int r = x->rank ? x->rank : 1;
    *set = n ? 0 : (1u << r) - 1;
    for (size_t i = 0; i < n; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
        if (a < 0 || a >= r)
            return ox_fail(c, TRINE_EFORMAT, "axis %lld is outside rank %d", (long long)axes[i], r);
        *set |= 1u << a;
    }
    return TRINE_OK;
}

/* Reduce x over a set of axes: the reduced axes moved first (sums: the sum
 * op over axis 0 of [R, K]) or last (max, min: a maxpool of window R over
 * [1, 1, K, R]), then the result reshaped to keepdims' shape or without;
 * the result's variable, or -1 (and its rank in *rank). */
static int ox_reduce_var(ox_t *c, const ox_val_t *xv, unsigned set, bool keep, ox_reduce_t kind,
                         int *rank)
{
    ox_val_t x = *xv;
    bool pool = kind == OX_R_MAX || kind == OX_R_MIN;
    int r = x.rank ? x.rank : 1, np = 0, nout = 0;
    int64_t perm[TENSOR_MAX_DIMS];
    size_t red = 1, kept = 1, out[TENSOR_MAX_DIMS];
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < r; i++)
            if (((set >> i & 1) != 0) == (pass == (pool ? 1 : 0)))
                perm[np++] = i;
    for (int i = 0; i < r; i++) {
        if (set >> i & 1)
            red *= x.shape[i];
        else
            kept *= x.shape[i];
        if (!(set >> i & 1) || keep)
            out[nout++] = set >> i & 1 ? 1 : x.shape[i];
    }
    int v = x.var;
    if (kind == OX_R_MIN)
        v = ox_scale(c, v, -1.0);
    else if (kind == OX_R_SUMSQ)
        v = ox_op2(c, PROG_MUL, v, v);
    else if (kind == OX_R_L1)
        v = ox_abs_var(c, v);
    ox_val_t t = x;
    bool b0 = x.batch0;
    t.var = v < 0 ? -1 : ox_permute(c, &x, v, perm, &b0);
    if (t.var < 0)
        return -1;
    t.batch0 = b0;
    ox_shape_from_var(c, &t, r);
    size_t two[2] = {red, kept}, four[4] = {1, 1, kept, red};
    t.var = ox_reshape(c, &t, pool ? 4 : 2, pool ? four : two, &b0);
    int y = -1;
    if (t.var >= 0 && pool)
        y = ox_emit(c, (prog_op_t){.code = PROG_MAXPOOL,
                                   .in = {t.var, -1},
                                   .iattr = {1, 1, (int64_t)red, (int64_t)red}});
    else if (t.var >= 0)
        y = ox_op1(c, PROG_SUM, t.var);
    if (y >= 0 && (kind == OX_R_MEAN || kind == OX_R_MIN))
        y = ox_scale(c, y, kind == OX_R_MIN ? -1.0 : 1.0 / (double)red);
    if (set & 1 && x.batch0)
        c->out->rows_independent = false;
    ox_val_t yv = {.var = y, .batch0 = false};
    if (y >= 0)
        ox_shape_from_var(c, &yv, pool ? 4 : 1);
    bool yb0 = false;
    if (!nout)
        out[nout++] = 1;
    *rank = keep ? r : x.rank - __builtin_popcount(set);
    return y < 0 ? -1 : ox_reshape(c, &yv, nout, out, &yb0);
}

static trine_status_t ox_reduce(ox_t *c, ox_reduce_t kind)
{
    ox_val_t x;
    int64_t keep;
    unsigned set = 0;
    trine_status_t st;
    if ((st = ox_known(c, "axes", "keepdims", "noop_with_empty_axes", NULL)) ||
        (st = ox_operand(c, &x)) || (st = ox_int(c, "keepdims", 1, &keep)) ||
        (st = ox_reduce_axes(c, &x, &set)))
        return st;
    int rank;
    int y = ox_reduce_var(c, &x, set, keep != 0, kind, &rank);
    return ox_define(c, 0, y, rank, false);
}

/* LayerNormalization: d = x - mean(x), y = d rsqrt(mean(d^2) + epsilon)
 * scale + B over the axes from `axis` on; rsqrt's range bounds the
 * variance + epsilon to [1/256, 128] (PROG_RSQRT_ERROR). The optional
 * outputs Mean and InvStdDev are the mean and the rsqrt. */
static trine_status_t ox_layer_norm(ox_t *c)
{
    ox_val_t *x, *scale, *bias;
    int64_t axis, stash;
    double eps;
    trine_status_t st;
    if ((st = ox_known(c, "axis", "epsilon", "stash_type", NULL)) || (st = ox_arity(c, 2, 3, 3)) ||
        (st = ox_in(c, 0, false, &x)) || (st = ox_in(c, 1, false, &scale)) ||
        (st = ox_in(c, 2, true, &bias)) || (st = ox_int(c, "axis", -1, &axis)) ||
        (st = ox_float(c, "epsilon", 1e-5, &eps)) || (st = ox_int(c, "stash_type", 1, &stash)))
        return st;
    int r = x->rank ? x->rank : 1;
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis >= r)
        return ox_fail(c, TRINE_EFORMAT, "axis %lld is outside rank %d", (long long)axis, r);
    unsigned set = 0;
    for (int i = (int)axis; i < r; i++)
        set |= 1u << i;
    ox_val_t xv = *x;
    if ((xv.var = ox_var(c, x)) < 0)
        return TRINE_EUNSUPPORTED;
    int rank;
    int mean = ox_reduce_var(c, &xv, set, true, OX_R_MEAN, &rank);
    int d = mean < 0 ? -1 : ox_op2(c, PROG_SUB, xv.var, mean); /* mean broadcasts */
    ox_val_t dv = xv;
    dv.var = d;
    int var = d < 0 ? -1 : ox_reduce_var(c, &dv, set, true, OX_R_SUMSQ, &rank);
    var = var < 0 ? -1 : ox_scale(c, var, 1.0 / (double)ox_count(r - (int)axis, x->shape + axis));
    int rs = var < 0 ? -1 : ox_op1(c, PROG_RSQRT, ox_offset(c, var, eps));
    ox_val_t rv = xv, sv = *scale;
    rv.var = rs;
    for (int i = (int)axis; i < r; i++)
        rv.shape[i] = 1;
    bool b0;
    int rank_out;
    int y = rs < 0 ? -1 : ox_mul_vars(c, &dv, d, &rv, rs, &b0, &rank_out);
    if ((sv.var = ox_var(c, scale)) < 0 || y < 0)
        return TRINE_EUNSUPPORTED;
    dv.var = y;
    y = ox_mul_vars(c, &dv, y, &sv, sv.var, &b0, &rank_out);
    if (y >= 0 && bias) {
        int vb = ox_var(c, bias);
        y = vb < 0 ? -1 : ox_op2(c, PROG_ADD, y, vb); /* B broadcasts over the rows */
    }
    /* read x now: defining an output may move the values x points into */
    const int extra[2] = {mean, rs}, xrank = x->rank;
    const bool xbatch0 = x->batch0;
    for (size_t k = 1; st == TRINE_OK && k < 3 && k < c->n->n_output; k++)
        if (c->n->output[k][0])
            st = ox_define(c, k, extra[k - 1], xrank, false);
    return st == TRINE_OK ? ox_define(c, 0, y, xrank, xbatch0) : st;
}

static trine_status_t ox_reduce_sum(ox_t *c)
{
    return ox_reduce(c, OX_R_SUM);
}

static trine_status_t ox_reduce_mean(ox_t *c)
{
    return ox_reduce(c, OX_R_MEAN);
}

static trine_status_t ox_reduce_max(ox_t *c)
{
    return ox_reduce(c, OX_R_MAX);
}

static trine_status_t ox_reduce_min(ox_t *c)
{
    return ox_reduce(c, OX_R_MIN);
}

static trine_status_t ox_reduce_sumsq(ox_t *c)
{
    return ox_reduce(c, OX_R_SUMSQ);
}

static trine_status_t ox_reduce_l1(ox_t *c)
{
    return ox_reduce(c, OX_R_L1);
}

static trine_status_t ox_add_node(ox_t *c)
{
    return ox_add_sub(c, false);
}

static trine_status_t ox_sub_node(ox_t *c)
{
    return ox_add_sub(c, true);
}

static const ox_handler_t ox_handlers[] = {
    {"Add", ox_add_node},
    {"Abs", ox_abs},
    {"Celu", ox_celu},
    {"Elu", ox_elu},
    {"Erf", ox_erf},
    {"Log", ox_log},
    {"LogSoftmax", ox_log_softmax},
    {"Neg", ox_neg},
    {"ReduceL1", ox_reduce_l1},
    {"ReduceMax", ox_reduce_max},
    {"ReduceMean", ox_reduce_mean},
    {"LayerNormalization", ox_layer_norm},
    {"Pow", ox_pow},
    {"GRU", ox_gru},
    {"LSTM", ox_lstm},
    {"RNN", ox_rnn},
    {"ReduceMin", ox_reduce_min},
    {"ReduceSum", ox_reduce_sum},
    {"ReduceSumSquare", ox_reduce_sumsq},
    {"Selu", ox_selu},
    {"Softplus", ox_softplus},
    {"Softsign", ox_softsign},
    {"Tanh", ox_tanh},
    {"Clip", ox_clip},
    {"Exp", ox_exp},
    {"HardSigmoid", ox_hard_sigmoid},
    {"HardSwish", ox_hard_swish},
    {"LeakyRelu", ox_leaky_relu},
    {"PRelu", ox_prelu},
    {"Reciprocal", ox_reciprocal},
    {"Sqrt", ox_sqrt},
    {"ArgMax", ox_argmax},
    {"ArgMin", ox_argmin},
    {"ThresholdedRelu", ox_thresholded_relu},
    {"Sum", ox_sum},
    {"Mean", ox_mean},
    {"Max", ox_max},
    {"Min", ox_min},
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

trine_status_t ox_compile_node(ox_t *c)
{
    if (c->skip[c->node])
        return ox_bn_check(c, c->n);
    c->folded_out = NULL;
    for (size_t k = 0; k < sizeof ox_handlers / sizeof ox_handlers[0]; k++)
        if (!strcmp(ox_handlers[k].op, c->n->op_type))
            return ox_handlers[k].fn(c);
    const ox_handler_t *h = ox_shape_handler(c->n->op_type);
    if (h)
        return h->fn(c);
    return ox_fail(c, TRINE_EUNSUPPORTED, "operator %s is not supported", c->n->op_type);
}
